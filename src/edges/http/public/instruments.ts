import type { TradingService } from '../../../application/trading-service.ts';
import { PublicRoutes } from '../../../contract/public-routes.ts';
import { conditionsToWire, instrumentShortToWire } from '../wire-format.ts';
import type { TypedApp } from '../typed-app.ts';

export function instrumentRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...PublicRoutes.instruments,
    handler: async () => ({ code: 'ok' as const, data: trading.instruments().map(instrumentShortToWire) }),
  });

  app.route({
    ...PublicRoutes.accountInstruments,
    handler: async (request) => ({
      code: 'ok' as const,
      data: trading
        .accountInstruments(request.userId, request.params.account_id)
        .map(({ instrument, conditions }) => ({
          ...instrumentShortToWire(instrument),
          ...conditionsToWire(conditions),
        })),
    }),
  });

  app.route({
    ...PublicRoutes.accountInstrument,
    handler: async (request) => {
      const { conditions } = trading.accountInstrument(
        request.userId,
        request.params.account_id,
        request.params.ticker,
      );
      return { code: 'ok' as const, data: conditionsToWire(conditions) };
    },
  });
}
