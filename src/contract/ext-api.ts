/**
 * Wire schemas of the REST extensions for users under /ext/v1 (outside the 0.12.1 reference; see
 * docs/compatibility.md). Same conventions as the public API: the `{"code":"ok","data":…}`
 * envelope, Unix seconds, prices as plain JSON numbers.
 */
import { Type, type Static } from '@sinclair/typebox';
import { CANDLE_INTERVALS } from './enums.ts';
import { StringEnum, TickerParam } from './public-api.ts';

export const DEFAULT_CANDLE_LIMIT = 500;
export const MAX_CANDLE_LIMIT = 5_000;

export const CandleParams = Type.Object({ ticker: TickerParam });

const Timestamp = (description: string) => Type.Number({ minimum: 0, maximum: 1e11, description });

export const CandlesQuery = Type.Object({
  interval: StringEnum(CANDLE_INTERVALS, { description: 'Candle length: 1m, 5m, 15m, 1h or 1d (UTC).' }),
  from: Type.Optional(
    Timestamp('Unix seconds: the first candle is the one whose interval holds this time, or the next.'),
  ),
  to: Type.Optional(Timestamp('Unix seconds: the last candle is the one starting at or before this time.')),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_CANDLE_LIMIT,
      description: `At most this many candles; default ${DEFAULT_CANDLE_LIMIT}, at most ${MAX_CANDLE_LIMIT}. With \`from\`, the first ones from it; without, the newest.`,
    }),
  ),
});
export type CandlesQuery = Static<typeof CandlesQuery>;

export const Candle = Type.Object({
  time: Type.Integer({ description: 'Unix seconds of the candle start (UTC).' }),
  open: Type.Number({ description: 'First bid of the interval.' }),
  high: Type.Number({ description: 'Highest bid.' }),
  low: Type.Number({ description: 'Lowest bid.' }),
  close: Type.Number({ description: 'Last bid.' }),
  volume: Type.Number({ description: 'Traded volume where the feed provides it (replayed bars), else 0.' }),
});
export type Candle = Static<typeof Candle>;
