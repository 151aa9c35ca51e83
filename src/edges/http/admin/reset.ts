import { parseMoney } from '../../../application/parse-input.ts';
import type { TradingService } from '../../../application/trading-service.ts';
import { AdminRoutes } from '../../../contract/admin-routes.ts';
import { money } from '../wire-format.ts';
import type { TypedApp } from '../typed-app.ts';

/** Putting accounts back to their opening state: one, or all of them. */
export function resetRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...AdminRoutes.resetAccount,
    handler: async (request) => {
      const { balance } = request.body;
      const reset = await trading.resetAccount(
        request.params.account_id,
        balance === undefined ? undefined : parseMoney('balance', balance),
      );
      return { code: 'ok' as const, data: { balance: money(reset) } };
    },
  });

  app.route({
    ...AdminRoutes.reset,
    handler: async () => ({ code: 'ok' as const, data: { accounts: await trading.resetAllAccounts() } }),
  });
}
