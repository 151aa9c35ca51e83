/**
 * Candles for charts: bid-based OHLC per instrument and interval, bucketed in UTC. Pure logic,
 * no I/O; the recorder (candle-recorder.ts) feeds it quotes and bars, the storage port keeps the
 * result.
 *
 * Invariants:
 * - A candle covers [time, time + interval) in Unix seconds; `time` is a multiple of the interval
 *   (days start at 00:00 UTC).
 * - low ≤ open, close ≤ high. Prices are the instrument's fixed-point prices (decimal.ts), volume a
 *   fixed-point quantity (1e-6 units); quotes carry no volume, so a quote adds 0 (bars add theirs).
 * - `openTime` and `closeTime` are the data times of the candle's first and last price. Merging two
 *   candles of one bucket keeps the earlier open and the later close (on a tie, the open already
 *   there and the close merged in, the order in which they arrived), the highest high, the lowest
 *   low, and adds the volumes. So merging is associative, and commutative apart from same-second
 *   ties and volume: the merge of the 1-minute candles inside a 5-minute bucket is that bucket's
 *   5-minute candle, and a stored candle can take in a later partial one (after a restart, or from
 *   another process) without losing its open.
 */
import type { Price, Quantity } from '../../engine/decimal.ts';
import type { Quote } from '../../engine/model.ts';
import { CANDLE_INTERVALS } from '../../contract/enums.ts';

export { CANDLE_INTERVALS };
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

export const INTERVAL_SECONDS: Readonly<Record<CandleInterval, number>> = {
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '1h': 3_600,
  '1d': 86_400,
};

/** The finest interval: what quotes and bars are first gathered into. */
export const BASE_INTERVAL_SECONDS = INTERVAL_SECONDS['1m'];

export interface Candle {
  ticker: string;
  /** Seconds per candle: one of INTERVAL_SECONDS. */
  intervalSeconds: number;
  /** Unix seconds of the bucket's start. */
  time: number;
  open: Price;
  high: Price;
  low: Price;
  close: Price;
  volume: Quantity;
  /** Unix seconds of the first and the last price taken in. */
  openTime: number;
  closeTime: number;
}

/** A bar a feed delivers (bid prices, as replay files carry them), covering [time, time + seconds). */
export interface FeedBar {
  ticker: string;
  /** Unix seconds of the bar's start. */
  time: number;
  /** The bar's length in seconds. */
  seconds: number;
  open: Price;
  high: Price;
  low: Price;
  close: Price;
  /** Fixed-point quantity (1e-6 units); 0 when the feed has none. */
  volume: Quantity;
}

/** The start of the bucket of `intervalSeconds` that holds `time` (Unix seconds, UTC). */
export function bucketStart(time: number, intervalSeconds: number): number {
  return Math.floor(time / intervalSeconds) * intervalSeconds;
}

/** A candle of one quote: its bid, no volume. */
export function candleOfQuote(quote: Quote, intervalSeconds: number): Candle {
  const time = Math.floor(quote.time);
  return {
    ticker: quote.ticker,
    intervalSeconds,
    time: bucketStart(time, intervalSeconds),
    open: quote.bid,
    high: quote.bid,
    low: quote.bid,
    close: quote.bid,
    volume: 0,
    openTime: time,
    closeTime: time,
  };
}

/** A candle of one bar, in the bucket of the bar's start: its open at the start, its close at the end. */
export function candleOfBar(bar: FeedBar, intervalSeconds: number): Candle {
  const time = Math.floor(bar.time);
  return {
    ticker: bar.ticker,
    intervalSeconds,
    time: bucketStart(time, intervalSeconds),
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
    openTime: time,
    closeTime: Math.max(time, time + Math.floor(bar.seconds) - 1),
  };
}

/** Takes one more quote's bid into a candle of its bucket (in place: the recorder's hot path). */
export function addQuote(candle: Candle, quote: Quote): void {
  const bid = quote.bid;
  const time = Math.floor(quote.time);
  if (bid > candle.high) candle.high = bid;
  if (bid < candle.low) candle.low = bid;
  if (time < candle.openTime) {
    candle.open = bid;
    candle.openTime = time;
  }
  if (time >= candle.closeTime) {
    candle.close = bid;
    candle.closeTime = time;
  }
}

/** `into` with `later` merged in (see the module comment); both must be of the same bucket. */
export function mergeCandles(into: Candle, later: Candle): Candle {
  const laterOpens = later.openTime < into.openTime;
  const laterCloses = later.closeTime >= into.closeTime;
  return {
    ticker: into.ticker,
    intervalSeconds: into.intervalSeconds,
    time: into.time,
    open: laterOpens ? later.open : into.open,
    high: Math.max(into.high, later.high),
    low: Math.min(into.low, later.low),
    close: laterCloses ? later.close : into.close,
    volume: saturatingAdd(into.volume, later.volume),
    openTime: laterOpens ? later.openTime : into.openTime,
    closeTime: laterCloses ? later.closeTime : into.closeTime,
  };
}

/** Volumes stay safe integers: a sum past 2^53 − 1 (9·10^9 units in one candle) stops there. */
function saturatingAdd(a: number, b: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, a + b);
}

function bucketKey(candle: Candle): string {
  return `${candle.ticker}\u0000${candle.intervalSeconds}\u0000${candle.time}`;
}

/**
 * The candles of `intervalSeconds` made of finer (or equal) ones, merged in the order given:
 * one per ticker and bucket, ordered by ticker, then time.
 */
export function aggregateCandles(candles: Iterable<Candle>, intervalSeconds: number): Candle[] {
  const buckets = new Map<string, Candle>();
  for (const candle of candles) {
    const rebucketed: Candle = {
      ...candle,
      intervalSeconds,
      time: bucketStart(candle.time, intervalSeconds),
    };
    const key = bucketKey(rebucketed);
    const existing = buckets.get(key);
    buckets.set(key, existing ? mergeCandles(existing, rebucketed) : rebucketed);
  }
  return [...buckets.values()].sort(compareCandles);
}

/** Orders candles by ticker, interval, then time: the order storage writes them in (no deadlocks). */
export function compareCandles(a: Candle, b: Candle): number {
  if (a.ticker !== b.ticker) return a.ticker < b.ticker ? -1 : 1;
  if (a.intervalSeconds !== b.intervalSeconds) return a.intervalSeconds - b.intervalSeconds;
  return a.time - b.time;
}
