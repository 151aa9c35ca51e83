import type { TradingService } from '../../../application/trading-service.ts';
import { AdminRoutes } from '../../../contract/admin-routes.ts';
import { instrumentInput, overridesInput } from '../wire-input.ts';
import type { TypedApp } from '../typed-app.ts';

/** Instruments and the trading conditions one account gets for them. */
export function instrumentRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...AdminRoutes.putInstrument,
    handler: async (request) => {
      const { ticker } = request.params;
      await trading.putInstrument(instrumentInput(ticker, request.body, trading.instrument(ticker)));
      return { code: 'ok' as const };
    },
  });

  app.route({
    ...AdminRoutes.putOverrides,
    handler: async (request) => {
      const { account_id, ticker } = request.params;
      await trading.putOverrides(account_id, ticker, overridesInput(request.body));
      return { code: 'ok' as const };
    },
  });
}
