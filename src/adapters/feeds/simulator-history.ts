/**
 * A day of made-up history for a fresh simulator, so a chart has something to show from the first
 * second: one-minute bid bars per instrument over the day before the start, walked backwards from
 * the opening price by the simulator's own model (geometric Brownian motion at the instrument's
 * volatility, times the feed's time acceleration). Four points per minute give each bar its high
 * and low. The last bar closes at the opening quote's bid, and each bar opens where the one before
 * it closed.
 *
 * Deterministic: the same seed, instruments, opening mids and end time give the same bars. Each
 * instrument draws from a generator of its own, seeded from the seed and the ticker but apart from
 * the live walk's, so the history never changes the quotes that follow it. A minute whose market is
 * closed has no bar. Limitation: it is synthetic, like the simulator; volume is 0.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import type { FeedBar } from '../../application/market-data/candles.ts';
import type { Instrument } from '../../engine/model.ts';
import { trackSeed, tradingYearSeconds, type MarketHours } from './simulator-feed.ts';

export const HISTORY_SECONDS = 86_400;
const BAR_SECONDS = 60;
const POINTS_PER_BAR = 4;

export interface HistoryRequest {
  instrument: Instrument;
  /** The opening mid, in ticks (fractional), which the history leads up to. */
  midTicks: number;
}

export interface HistoryOptions {
  seed: number;
  /** Unix seconds: the history covers the whole minutes of the day before it. */
  endSeconds: number;
  isOpen: MarketHours;
  timeAcceleration: number;
}

/** The bars of every requested instrument, oldest first per instrument. */
export function simulatedHistory(requests: readonly HistoryRequest[], options: HistoryOptions): FeedBar[] {
  return requests.flatMap((request) => instrumentHistory(request, options));
}

function instrumentHistory({ instrument, midTicks }: HistoryRequest, options: HistoryOptions): FeedBar[] {
  const rng = xoroshiro128plus(trackSeed(options.seed, `history:${instrument.ticker}`));
  const maxMidTicks = Math.floor(Number.MAX_SAFE_INTEGER / instrument.minTick / 4);
  const dtYears =
    ((BAR_SECONDS / POINTS_PER_BAR) * options.timeAcceleration) / tradingYearSeconds(instrument.calendar);
  const sigma = instrument.volatility;
  // The opening quote's bid for a mid, as the simulator cuts it (simulator-feed.ts openingQuotes).
  const bid = (mid: number): number =>
    Math.max(1, Math.floor(mid - instrument.spreadTicks / 2)) * instrument.minTick;
  const end = Math.floor(options.endSeconds / BAR_SECONDS) * BAR_SECONDS;
  const bars: FeedBar[] = [];
  let mid = midTicks;
  for (let start = end - BAR_SECONDS; start >= end - HISTORY_SECONDS; start -= BAR_SECONDS) {
    if (!options.isOpen(instrument, start)) continue;
    const close = bid(mid);
    let high = close;
    let low = close;
    // Backwards from the close: each step undoes one forward step of the walk.
    for (let point = 0; point < POINTS_PER_BAR; point++) {
      if (sigma > 0) {
        const step = -0.5 * sigma * sigma * dtYears + sigma * Math.sqrt(dtYears) * normal(rng);
        mid = Math.min(maxMidTicks, Math.max(1, mid * Math.exp(-step)));
      }
      const price = bid(mid);
      high = Math.max(high, price);
      low = Math.min(low, price);
    }
    bars.push({
      ticker: instrument.ticker,
      time: start,
      seconds: BAR_SECONDS,
      open: bid(mid),
      high,
      low,
      close,
      volume: 0,
    });
  }
  return bars.reverse();
}

/** A standard normal by Box–Muller (one of the pair: the history needs no speed). */
function normal(rng: RandomGenerator): number {
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const radius = Math.sqrt(-2 * Math.log(1 - uniformFloat64(rng)));
  return radius * Math.cos(2 * Math.PI * uniformFloat64(rng));
}
