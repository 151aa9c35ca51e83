import type { TradingService } from '../../../application/trading-service.ts';
import { PublicRoutes } from '../../../contract/public-routes.ts';
import { quoteToWire } from '../wire-format.ts';
import type { TypedApp } from '../typed-app.ts';

export function quoteRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...PublicRoutes.quote,
    handler: async (request) => {
      const { quote } = trading.quote(request.userId, request.params.account_id, request.params.ticker);
      return { code: 'ok' as const, data: quoteToWire(quote) };
    },
  });
}
