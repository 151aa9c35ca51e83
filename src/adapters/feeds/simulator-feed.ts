/**
 * A seeded, reproducible market simulator: each instrument's mid follows geometric Brownian motion at
 * the instrument's annualised volatility, and quotes are cut from the mid on the instrument's tick grid.
 *
 * Invariants:
 * - Every emitted quote has 0 < bid < ask, both on the min tick grid; stocks (`us_equities`) also carry a
 *   `last` on the grid within [bid, ask].
 * - The spread is a whole number of ticks drawn from `spreadBounds(instrument.spreadTicks)`, never below 1.
 * - `PriceWalk` is pure apart from its own state: the same seed, instruments, initial quotes and sequence
 *   of `step` calls give the same quotes. Each instrument draws from its own generator, seeded from the
 *   walk's seed and the ticker, so adding or removing an instrument does not change the others' paths.
 * - An instrument whose market is closed neither moves nor consumes randomness, and is not quoted.
 *
 * Time acceleration: at true volatility a mid moves about σ·√dt per step, which for a quarter-second step
 * is well under one tick for most instruments, so a demo would show little more than spread flicker.
 * `timeAcceleration` multiplies the simulated time per step (1 = real volatility; 3600 makes each real
 * second behave like a simulated hour) without changing how often quotes are emitted.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import {
  nowSeconds,
  type Clock,
  type Feed,
  type FeedStatus,
  type QuoteSink,
} from '../../application/ports.ts';
import { isMarketOpen } from '../../engine/calendar/trading-calendar.ts';
import type { Price } from '../../engine/decimal.ts';
import type { CalendarId, Instrument, Quote } from '../../engine/model.ts';
import type { FeedBar } from '../../application/market-data/candles.ts';

export const DEFAULT_SIMULATOR_SEED = 42;
export const DEFAULT_TICK_INTERVAL_MS = 250;

/** Chance that an open instrument is quoted in a step: most are, so each sees several ticks a second. */
export const QUOTE_PROBABILITY = 0.8;

const SECONDS_PER_STOCK_YEAR = 252 * 6.5 * 3600;
const SECONDS_PER_CALENDAR_YEAR = 365 * 24 * 3600;

/** Seconds of trading in a year, the unit volatility is annualised over. */
export function tradingYearSeconds(calendar: CalendarId): number {
  return calendar === 'us_equities' ? SECONDS_PER_STOCK_YEAR : SECONDS_PER_CALENDAR_YEAR;
}

/**
 * The range of spreads, in ticks, the simulator draws from for a typical spread of `spreadTicks`:
 * a quarter either side (at least one tick), never below one tick.
 */
export function spreadBounds(spreadTicks: number): { min: number; max: number } {
  const typical = Math.max(1, Math.round(spreadTicks));
  const jitter = Math.max(1, Math.floor(typical / 4));
  return { min: Math.max(1, typical - jitter), max: typical + jitter };
}

export type MarketHours = (instrument: Instrument, unixSeconds: number) => boolean;

const calendarHours: MarketHours = (instrument, unixSeconds) =>
  isMarketOpen(instrument.calendar, unixSeconds);

export interface PriceWalkOptions {
  instruments: readonly Instrument[];
  seed: number;
  /** Last known quotes; an instrument resumes from its quote's mid instead of its reference price. */
  initialQuotes?: ReadonlyMap<string, Quote>;
  /** Whether an instrument's market is open; defaults to the instrument's trading calendar. */
  isOpen?: MarketHours;
  /** Simulated seconds per real second (see the module comment); defaults to 1. */
  timeAcceleration?: number;
}

interface Track {
  readonly instrument: Instrument;
  readonly rng: RandomGenerator;
  readonly spread: { min: number; max: number };
  readonly maxMidTicks: number;
  /** The mid in ticks, kept as a float so small moves accumulate instead of being rounded away. */
  midTicks: number;
  /** Box–Muller yields normals in pairs; the second waits here for the next draw. */
  spareNormal: number | undefined;
  /** Whether a quote for this instrument exists (stored at start, or published since). */
  quoted: boolean;
}

export class PriceWalk {
  readonly #tracks: readonly Track[];
  readonly #isOpen: MarketHours;
  readonly #timeAcceleration: number;

  constructor(options: PriceWalkOptions) {
    if (!Number.isSafeInteger(options.seed)) throw new RangeError('the simulator seed must be an integer');
    const timeAcceleration = options.timeAcceleration ?? 1;
    if (!Number.isFinite(timeAcceleration) || timeAcceleration <= 0) {
      throw new RangeError('the simulator time acceleration must be greater than 0');
    }
    this.#timeAcceleration = timeAcceleration;
    this.#isOpen = options.isOpen ?? calendarHours;
    this.#tracks = options.instruments.map((instrument) =>
      createTrack(instrument, options.seed, options.initialQuotes?.get(instrument.ticker)),
    );
  }

  /**
   * Advances every open instrument by `dtSeconds` of real time and returns quotes, stamped `nowSeconds`,
   * for the instruments chosen this step.
   */
  step(nowSeconds: number, dtSeconds: number): Quote[] {
    const quotes: Quote[] = [];
    for (const track of this.#tracks) {
      const { instrument, rng } = track;
      if (!this.#isOpen(instrument, nowSeconds)) continue;
      const dtYears = (dtSeconds * this.#timeAcceleration) / tradingYearSeconds(instrument.calendar);
      const sigma = instrument.volatility;
      if (sigma > 0 && dtYears > 0) {
        const drift = -0.5 * sigma * sigma * dtYears;
        const shock = sigma * Math.sqrt(dtYears) * nextNormal(track);
        // Clamped so an extreme acceleration can neither collapse the mid to zero (GBM could then never
        // recover) nor push prices past what a Price integer can hold.
        track.midTicks = Math.min(track.maxMidTicks, Math.max(1, track.midTicks * Math.exp(drift + shock)));
      }
      // Drawn every step, quoted or not, so the random stream does not depend on earlier outcomes.
      if (uniformFloat64(rng) >= QUOTE_PROBABILITY) continue;
      quotes.push(cutQuote(track, nowSeconds));
    }
    return quotes;
  }

  /**
   * One quote for every instrument that started without a stored quote, open or not, at its typical
   * spread, so a market that is closed at start-up still shows a (frozen) price. Uses no randomness.
   */
  openingQuotes(nowSeconds: number): Quote[] {
    return this.#tracks
      .filter((track) => !track.quoted)
      .map((track) => {
        track.quoted = true;
        const { instrument } = track;
        const bidTicks = Math.max(1, Math.floor(track.midTicks - instrument.spreadTicks / 2));
        const quote: Quote = {
          ticker: instrument.ticker,
          bid: bidTicks * instrument.minTick,
          ask: (bidTicks + Math.max(1, instrument.spreadTicks)) * instrument.minTick,
          time: nowSeconds,
        };
        if (instrument.calendar === 'us_equities') {
          quote.last = quote.bid;
          quote.lastTime = nowSeconds;
        }
        return quote;
      });
  }

  /** The current simulated mid of `ticker` as a fractional Price (off the tick grid); undefined if unknown. */
  mid(ticker: string): number | undefined {
    const track = this.#tracks.find((candidate) => candidate.instrument.ticker === ticker);
    return track === undefined ? undefined : track.midTicks * track.instrument.minTick;
  }
}

function createTrack(instrument: Instrument, seed: number, initial: Quote | undefined): Track {
  const tick = instrument.minTick;
  if (!Number.isSafeInteger(tick) || tick <= 0) {
    throw new RangeError(`${instrument.ticker} has no valid min tick to simulate on`);
  }
  const start =
    initial !== undefined && initial.bid > 0 && initial.ask >= initial.bid
      ? (initial.bid + initial.ask) / 2
      : instrument.referencePrice;
  const maxMidTicks = Math.floor(Number.MAX_SAFE_INTEGER / tick / 4);
  return {
    instrument,
    rng: xoroshiro128plus(trackSeed(seed, instrument.ticker)),
    spread: spreadBounds(instrument.spreadTicks),
    maxMidTicks,
    // A reference price of zero (never set) starts at 10,000 ticks, as the admin API does.
    midTicks: start > 0 ? Math.min(maxMidTicks, start / tick) : 10_000,
    spareNormal: undefined,
    quoted: initial !== undefined,
  };
}

function cutQuote(track: Track, time: number): Quote {
  const { instrument, rng, spread } = track;
  const tick: Price = instrument.minTick;
  const spreadTicks = uniformInt(rng, spread.min, spread.max);
  // Centred on the mid, so restarting from a stored quote's mid does not drift by half a spread.
  const bidTicks = Math.max(1, Math.floor(track.midTicks - spreadTicks / 2));
  const askTicks = bidTicks + spreadTicks;
  const quote: Quote = { ticker: instrument.ticker, bid: bidTicks * tick, ask: askTicks * tick, time };
  if (instrument.calendar === 'us_equities') {
    quote.last = (bidTicks + uniformInt(rng, 0, spreadTicks)) * tick;
    quote.lastTime = time;
  }
  return quote;
}

/** A standard normal by Box–Muller. */
function nextNormal(track: Track): number {
  if (track.spareNormal !== undefined) {
    const spare = track.spareNormal;
    track.spareNormal = undefined;
    return spare;
  }
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const radius = Math.sqrt(-2 * Math.log(1 - uniformFloat64(track.rng)));
  const angle = 2 * Math.PI * uniformFloat64(track.rng);
  track.spareNormal = radius * Math.sin(angle);
  return radius * Math.cos(angle);
}

/**
 * A 32-bit seed per instrument from the walk's seed and the ticker, well mixed because xoroshiro's first
 * outputs for nearby seeds are correlated.
 */
export function trackSeed(seed: number, ticker: string): number {
  // FNV-1a over the ticker's UTF-16 code units.
  let hash = 0x811c9dc5;
  for (let index = 0; index < ticker.length; index++) {
    hash = Math.imul(hash ^ ticker.charCodeAt(index), 0x01000193);
  }
  const high = Math.floor(seed / 2 ** 32);
  return mix32(hash ^ mix32(seed | 0) ^ mix32(high + 0x9e3779b9));
}

/** MurmurHash3's 32-bit finaliser: every input bit affects every output bit. */
function mix32(value: number): number {
  let h = value | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export interface SimulatorFeedOptions extends PriceWalkOptions {
  clock: Clock;
  /** Real milliseconds between steps; defaults to 250. */
  tickIntervalMs?: number;
  /**
   * Called when a step or the sink fails; the feed carries on with the next step. Defaults to ignoring
   * the error, since the trading service reports its own failures.
   */
  onError?: (error: unknown) => void;
  /**
   * Bars leading up to the opening quotes of instruments that had none (simulatedHistory in
   * simulator-history.ts), sent with those quotes, for charts: given each instrument and its
   * opening mid in ticks, and the start time (Unix seconds). None when absent.
   */
  history?: (
    opening: readonly { instrument: Instrument; midTicks: number }[],
    endSeconds: number,
  ) => FeedBar[];
}

/**
 * Drives a `PriceWalk` from a timer. Steps never overlap: the next one is scheduled only once the sink
 * has settled, so a slow sink slows the feed down instead of queueing batches. The opening quotes go
 * out at once, on `start`, whose promise resolves when the sink has taken them: from then on every
 * instrument has a quote.
 */
export class SimulatorFeed implements Feed {
  readonly name = 'simulator';
  readonly #walk: PriceWalk;
  readonly #clock: Clock;
  readonly #tickIntervalMs: number;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by every start and stop, so a step still in flight from an earlier run schedules nothing. */
  #run = 0;
  #running = false;
  readonly #seed: number;
  readonly #tickers: readonly string[];
  readonly #options: SimulatorFeedOptions;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(options: SimulatorFeedOptions) {
    const tickIntervalMs = options.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS;
    if (!Number.isFinite(tickIntervalMs) || tickIntervalMs <= 0) {
      throw new RangeError('the simulator tick interval must be greater than 0');
    }
    this.#walk = new PriceWalk(options);
    this.#seed = options.seed;
    this.#tickers = options.instruments.map((instrument) => instrument.ticker);
    this.#options = options;
    this.#clock = options.clock;
    this.#tickIntervalMs = tickIntervalMs;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Every instrument: each has a quote once `start` resolves (stored before, or opening). */
  openingTickers(): readonly string[] {
    return this.#tickers;
  }

  status(): FeedStatus {
    return { name: this.name, state: this.#running ? 'running' : 'stopped', detail: { seed: this.#seed } };
  }

  start(sink: QuoteSink): Promise<void> {
    if (this.#running) throw new Error('the simulator feed is already running');
    this.#running = true;
    const run = ++this.#run;
    const now = nowSeconds(this.#clock);
    const opening = this.#walk.openingQuotes(now);
    this.#inFlight = (async () => {
      try {
        const history = this.#history(opening, now);
        if (opening.length > 0) await (history.length > 0 ? sink(opening, history) : sink(opening));
      } catch (error) {
        this.#onError(error);
      }
      if (run === this.#run) this.#schedule(sink, run);
    })();
    return this.#inFlight;
  }

  /** The bars before the opening quotes of instruments that had none (see the `history` option). */
  #history(opening: readonly Quote[], now: number): FeedBar[] {
    const history = this.#options.history;
    if (!history || opening.length === 0) return [];
    const requests = opening.flatMap((quote) => {
      const instrument = this.#options.instruments.find((candidate) => candidate.ticker === quote.ticker);
      const mid = this.#walk.mid(quote.ticker);
      return instrument && mid !== undefined ? [{ instrument, midTicks: mid / instrument.minTick }] : [];
    });
    return history(requests, now);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#run++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  #schedule(sink: QuoteSink, run: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#step(sink, run);
    }, this.#tickIntervalMs);
    // The feed alone must not keep the process alive.
    this.#timer.unref();
  }

  async #step(sink: QuoteSink, run: number): Promise<void> {
    try {
      const now = nowSeconds(this.#clock);
      const quotes = this.#walk.step(now, this.#tickIntervalMs / 1000);
      if (quotes.length > 0) await sink(quotes);
    } catch (error) {
      this.#onError(error);
    }
    if (run === this.#run) this.#schedule(sink, run);
  }
}
