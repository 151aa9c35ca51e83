import type { TradingService } from '../../../application/trading-service.ts';
import { AdminRoutes } from '../../../contract/admin-routes.ts';
import { adminQuoteToWire } from '../wire-format.ts';
import { quoteInput, ticksLimitInput } from '../wire-input.ts';
import type { TypedApp } from '../typed-app.ts';

/** Quotes an operator sets, and the current and recent ones. */
export function quoteRoutes(app: TypedApp, trading: TradingService): void {
  app.route({
    ...AdminRoutes.setQuote,
    handler: async (request) => {
      const instrument = trading.requireInstrument(request.params.ticker);
      const quote = quoteInput(request.body, instrument, trading.now());
      await trading.ingestQuotes([quote]);
      return { code: 'ok' as const, data: adminQuoteToWire(quote) };
    },
  });

  app.route({
    ...AdminRoutes.quote,
    handler: async (request) => {
      return { code: 'ok' as const, data: adminQuoteToWire(trading.currentQuote(request.params.ticker)) };
    },
  });

  app.route({
    ...AdminRoutes.ticks,
    handler: async (request) => {
      const ticks = trading.recentTicks(request.params.ticker, ticksLimitInput(request.query));
      return { code: 'ok' as const, data: ticks.map(adminQuoteToWire) };
    },
  });
}
