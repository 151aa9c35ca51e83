/**
 * Gathers the candles of the quotes (and bars) this process ingests, and writes them in batches.
 *
 * - Quotes go into 1-minute candles in memory: per quote, one map lookup and a few comparisons,
 *   so the quote path does not notice it. Once a second (and on close) the 1-minute candles
 *   gathered since the last write are merged into every interval's buckets and written in one
 *   transaction (`CandleStore.mergeCandles`, an upsert that merges, see candles.ts). Memory holds
 *   only what is not yet written.
 * - What is recorded is what this process ingests: feed quotes on the process that runs the feed
 *   (one process of a cluster, edges/leadership.ts), admin quotes on the process that receives
 *   them. Quotes announced by other processes are not recorded here: their process records them.
 *   So every quote is counted once, and a restart or a leader change only adds a later partial
 *   candle to a stored bucket, which keeps its open.
 * - A bar from a feed (a replay's bar file) becomes a candle of its own, with its OHLC and volume;
 *   the quotes that replay the bar (at most `seconds` after its start) are not recorded, so the
 *   chart shows the bar, not the bid path made of it.
 * - Reads and writes take turns: a read waits for a write in flight, reads storage, then adds what
 *   memory holds for the ticker, so a chart includes the last second without counting it twice.
 *   With several processes, another process's candles are visible once it has written them (≤ 1 s).
 * - Retention (RETENTION_SECONDS, by the clock's time): `prune`, which only the process that runs
 *   the feed and the periodic work calls (a replay sets its clock to the data; another process's
 *   clock would not be), deletes old candles at its first call and then once an hour of clock time.
 * A write that fails is logged and its candles kept for the next attempt: candles are derived data,
 * so a failed write never stops trading, and a crash loses at most the last second of them.
 */
import type { Quote } from '../../engine/model.ts';
import type { Clock, Logger } from '../ports.ts';
import type { CandleStore } from '../storage.ts';
import {
  BASE_INTERVAL_SECONDS,
  CANDLE_INTERVALS,
  INTERVAL_SECONDS,
  addQuote,
  aggregateCandles,
  bucketStart,
  candleOfBar,
  candleOfQuote,
  type Candle,
  type CandleInterval,
  type FeedBar,
} from './candles.ts';

export const CANDLE_WRITE_INTERVAL_MS = 1_000;
/** 1-minute candles per transaction (about 1,300 rows with the coarser intervals). */
const WRITE_PART = 1_000;

const DAY = 86_400;
/** How long each interval's candles are kept, in seconds of clock time. */
export const RETENTION_SECONDS: Readonly<Record<CandleInterval, number>> = {
  '1m': 7 * DAY,
  '5m': 30 * DAY,
  '15m': 90 * DAY,
  '1h': 730 * DAY,
  '1d': 3_650 * DAY,
};
const PRUNE_EVERY_SECONDS = 3_600;

export interface CandleRequest {
  ticker: string;
  interval: CandleInterval;
  /** Unix seconds: candles whose interval overlaps [from, to]. */
  from: number | undefined;
  to: number | undefined;
  limit: number;
}

export interface CandleRecorderOptions {
  store: CandleStore;
  clock: Clock;
  logger: Logger;
  /** The tickers whose old candles retention deletes. */
  tickers: () => readonly string[];
}

export class CandleRecorder {
  readonly #store: CandleStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #tickers: () => readonly string[];
  /** Each ticker's newest 1-minute candle since the last write. */
  #current = new Map<string, Candle>();
  /** 1-minute candles since the last write that a newer one replaced in `#current`. */
  #finished: Candle[] = [];
  /** Per ticker, the end (exclusive, Unix seconds) and start of the latest bar: its quotes are not recorded. */
  readonly #bars = new Map<string, { start: number; end: number }>();
  /** Writes and reads, one after another. */
  #turn: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #prunedAt = -Infinity;

  constructor(options: CandleRecorderOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#tickers = options.tickers;
  }

  /** Starts the once-a-second writes. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.write(), CANDLE_WRITE_INTERVAL_MS);
    // The timer alone does not keep the process alive.
    this.#timer.unref();
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.write();
  }

  /** Takes in one ingested quote (accepted: a known instrument, a sane bid). */
  recordQuote(quote: Quote): void {
    if (this.#bars.size > 0 && this.#coveredByBar(quote)) return;
    const current = this.#current.get(quote.ticker);
    const time = bucketStart(Math.floor(quote.time), BASE_INTERVAL_SECONDS);
    if (current !== undefined && current.time === time) {
      addQuote(current, quote);
      return;
    }
    if (current !== undefined) this.#finished.push(current);
    this.#current.set(quote.ticker, candleOfQuote(quote, BASE_INTERVAL_SECONDS));
  }

  /** Takes in bars a feed delivered with its quotes (before them: the bar's own quotes are skipped). */
  recordBars(bars: readonly FeedBar[]): void {
    for (const bar of bars) {
      const current = this.#current.get(bar.ticker);
      if (current !== undefined) this.#finished.push(current);
      this.#current.set(bar.ticker, candleOfBar(bar, BASE_INTERVAL_SECONDS));
      const start = Math.floor(bar.time);
      this.#bars.set(bar.ticker, { start, end: start + Math.max(1, Math.ceil(bar.seconds)) });
    }
  }

  #coveredByBar(quote: Quote): boolean {
    const bar = this.#bars.get(quote.ticker);
    if (bar === undefined) return false;
    if (quote.time >= bar.start && quote.time < bar.end) return true;
    if (quote.time >= bar.end) this.#bars.delete(quote.ticker);
    return false;
  }

  /** Writes the candles gathered since the last write; never rejects. */
  write(): Promise<void> {
    const run = this.#turn.then(() => this.#writeNow());
    this.#turn = run;
    return run;
  }

  async #writeNow(): Promise<void> {
    const gathered = this.#take();
    // In parts, so a large backlog (a fast replay, a simulator's first day) never holds the event
    // loop for long. A coarser bucket split between parts is merged twice, which merging allows;
    // each 1-minute candle is in exactly one part, so no volume is counted twice.
    for (let start = 0; start < gathered.length; start += WRITE_PART) {
      const part = gathered.slice(start, start + WRITE_PART);
      const candles = CANDLE_INTERVALS.flatMap((interval) =>
        aggregateCandles(part, INTERVAL_SECONDS[interval]),
      );
      try {
        await this.#store.mergeCandles(candles);
      } catch (error) {
        // Kept, to be written with the next batch: a merge is all or nothing.
        this.#finished.unshift(...gathered.slice(start));
        this.#logger.error({ err: error, candles: candles.length }, 'writing candles failed; retrying');
        return;
      }
    }
  }

  /** The 1-minute candles gathered since the last write, oldest data first per ticker; memory is emptied. */
  #take(): Candle[] {
    const gathered = this.#finished;
    for (const candle of this.#current.values()) gathered.push(candle);
    this.#finished = [];
    this.#current = new Map();
    return gathered;
  }

  /** Deletes candles past their retention, when an hour of clock time has passed since the last time; never rejects. */
  async prune(): Promise<void> {
    const now = Math.floor(this.#clock.nowMs() / 1000);
    if (now >= this.#prunedAt && now < this.#prunedAt + PRUNE_EVERY_SECONDS) return;
    this.#prunedAt = now;
    try {
      for (const interval of CANDLE_INTERVALS) {
        const seconds = INTERVAL_SECONDS[interval];
        const before = bucketStart(now - RETENTION_SECONDS[interval], seconds);
        await this.#store.pruneCandles(this.#tickers(), seconds, before);
      }
    } catch (error) {
      this.#logger.error({ err: error }, 'pruning old candles failed');
    }
  }

  /**
   * The candles of a request, oldest first: with `from`, the first `limit` from it; otherwise the
   * newest `limit` up to `to` (or now). Includes what memory holds and storage does not yet.
   */
  read(request: CandleRequest): Promise<Candle[]> {
    const run = this.#turn.then(() => this.#readNow(request));
    this.#turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #readNow(request: CandleRequest): Promise<Candle[]> {
    const intervalSeconds = INTERVAL_SECONDS[request.interval];
    const from = request.from === undefined ? 0 : bucketStart(Math.floor(request.from), intervalSeconds);
    const to = request.to === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(request.to);
    const newest = request.from === undefined;
    const stored = await this.#store.readCandles({
      ticker: request.ticker,
      intervalSeconds,
      from,
      to,
      limit: request.limit,
      newest,
    });
    // Read after the storage query, in the same turn: nothing is written in between.
    const unwritten = this.#finished.filter((candle) => candle.ticker === request.ticker);
    const current = this.#current.get(request.ticker);
    if (current !== undefined) unwritten.push(current);
    const pending = aggregateCandles(unwritten, intervalSeconds).filter(
      (candle) => candle.time >= from && candle.time <= to,
    );
    if (pending.length === 0) return stored;
    const merged = aggregateCandles([...stored, ...pending], intervalSeconds);
    return newest ? merged.slice(-request.limit) : merged.slice(0, request.limit);
  }
}
