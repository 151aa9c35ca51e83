import type { CandleRecorder } from '../../../application/market-data/candle-recorder.ts';
import { invalid } from '../../../application/errors.ts';
import type { TradingService } from '../../../application/trading-service.ts';
import { DEFAULT_CANDLE_LIMIT } from '../../../contract/ext-api.ts';
import { ExtRoutes } from '../../../contract/ext-routes.ts';
import { candleToWire } from '../wire-format.ts';
import type { TypedApp } from '../typed-app.ts';

/** Candles for charts: `GET /ext/v1/instruments/{ticker}/candles` (docs/candles.md). */
export function candleRoutes(app: TypedApp, trading: TradingService, candles: CandleRecorder): void {
  app.route({
    ...ExtRoutes.candles,
    handler: async (request) => {
      const instrument = trading.requireInstrument(request.params.ticker);
      const { interval, from, to, limit } = request.query;
      if (from !== undefined && to !== undefined && from > to) {
        throw invalid(`from (${from}) must not be after to (${to})`);
      }
      const found = await candles.read({
        ticker: instrument.ticker,
        interval,
        from,
        to,
        limit: limit ?? DEFAULT_CANDLE_LIMIT,
      });
      return { code: 'ok' as const, data: found.map(candleToWire) };
    },
  });
}
