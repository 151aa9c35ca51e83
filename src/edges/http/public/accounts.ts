import type { TradingService } from '../../../application/trading-service.ts';
import { PublicRoutes } from '../../../contract/public-routes.ts';
import { accountStateToWire, accountToWire } from '../wire-format.ts';
import type { TypedApp } from '../typed-app.ts';

export function accountRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...PublicRoutes.accounts,
    handler: async (request) => ({
      code: 'ok' as const,
      data: trading.accounts(request.userId).map(accountToWire),
    }),
  });

  app.route({
    ...PublicRoutes.accountState,
    handler: async (request) => ({
      code: 'ok' as const,
      data: accountStateToWire(trading.accountState(request.userId, request.params.account_id)),
    }),
  });
}
