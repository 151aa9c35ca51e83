/**
 * A feed that replays historical ticks or bars from CSV files (formats in `replay-csv.ts` and
 * docs/replay.md), driving the replay clock from the data's timestamps.
 *
 * Invariants:
 * - Files are streamed line by line (readline over a read stream, which applies back-pressure), in the
 *   order given. Memory holds only the quotes not yet delivered: those of the current timestamp and the
 *   unfinished bars (see "Bars" below), never a whole file.
 * - The files form one timeline: every row's time is at or after the previous row's, within a file and
 *   across files. A row that goes backwards is malformed, so quotes reach the sink in time order.
 * - Before each batch the clock is set to the batch's data time (`ControllableClock.setReplay`, which
 *   never moves backwards). Quotes with the same millisecond go to the sink in one call, in file order.
 *   The sink is awaited before anything else is delivered, so a slow sink slows the replay down.
 * - A malformed line is always reported as `file:line: reason` (logger.warn). With `onMalformed: 'skip'`
 *   it is counted and skipped; with 'fail' the replay stops with state 'failed' and the reason in
 *   `last_error`, and the quotes still buffered are not delivered. A line is never half-used. A bad
 *   header in 'skip' mode skips the rest of its file, since its rows cannot be read.
 * - A sink failure also fails the replay: delivering the rest after a lost batch would no longer replay
 *   the data.
 *
 * Timing: at `speed` s data seconds per wall second, a batch is due (Δdata / speed) wall ms after the
 * previous batch was handed to the sink, so a slow sink delays the next batch without accumulating a
 * debt to catch up on. Speed 0 delivers as fast as the sink allows. Every batch first yields to the event
 * loop (setImmediate), so the HTTP server keeps being served during a fast replay. Paused time does not
 * count towards the wait.
 *
 * Bars: a bar becomes four quotes spread evenly over its interval (`barPathQuotes` gives their prices).
 * The interval runs to the next bar of the same ticker, but no longer than the shortest interval seen so
 * far between two bars of that ticker, so the last bar before a night or weekend is not stretched over
 * the gap. A bar with no next bar uses that shortest interval, or, for a ticker seen only once, the
 * shortest interval seen for any ticker, or 60 s when there is none. The open quote is known at once;
 * the other three wait until the interval is settled, and the timeline delivers nothing at or after the
 * start of an unsettled bar, which keeps the output in time order. A bar is settled as soon as the
 * reading has passed its start by the ticker's shortest interval, since no later bar can change it.
 *
 * Limitation: a ticker with a single bar so far has no interval to settle by; if more than
 * `MAX_BUFFERED_QUOTES` quotes pile up behind it (a file where a ticker appears once, early), it is
 * settled with the fallback interval to bound memory, even if a later bar of it would have said otherwise.
 */
import { createReadStream, statSync, type ReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Feed, FeedState, FeedStatus, Logger, QuoteSink } from '../../application/ports.ts';
import { KeyedHeap } from '../../engine/keyed-heap.ts';
import type { Instrument, Quote } from '../../engine/model.ts';
import type { ControllableClock } from '../clock/controllable-clock.ts';
import { isMalformed, parseHeader, ReplayRowParser, type PathQuote, type ReplayRow } from './replay-csv.ts';

export const DEFAULT_REPLAY_PROGRESS_INTERVAL_MS = 5000;
/** Interval of a bar when nothing better is known: the common one-minute bar. */
export const DEFAULT_BAR_INTERVAL_MS = 60_000;
/** Buffered quotes beyond which a once-seen ticker's bar is settled early (see the module comment). */
export const MAX_BUFFERED_QUOTES = 100_000;
/** setTimeout takes at most a signed 32-bit delay; longer waits are slept in slices. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type ReplayMalformedPolicy = 'skip' | 'fail';

export interface ReplayFeedOptions {
  files: readonly string[];
  instruments: (ticker: string) => Instrument | undefined;
  clock: ControllableClock;
  /** Data seconds per wall second; 0 replays as fast as the sink allows. */
  speed: number;
  /** Spread of bar quotes in ticks; defaults to each instrument's `spreadTicks` (at least one). */
  barSpreadTicks?: number;
  onMalformed: ReplayMalformedPolicy;
  logger: Logger;
  /** Wall milliseconds between progress log lines; defaults to 5000. */
  progressIntervalMs?: number;
}

/** A group of quotes with the same data time, delivered in one sink call. */
export interface ReplayBatch {
  timeMs: number;
  quotes: Quote[];
}

interface TimedQuote {
  timeMs: number;
  quote: Quote;
}

interface PendingBar {
  ticker: string;
  startMs: number;
  path: readonly PathQuote[];
}

interface BarHistory {
  lastStartMs: number;
  shortestGapMs: number | undefined;
}

/**
 * Orders parsed rows into time-ordered batches; pure apart from its own state. Rows must be added in
 * non-decreasing time order (the feed checks that before adding).
 */
export class ReplayTimeline {
  readonly #quotes = new KeyedHeap<TimedQuote>('min');
  /** Unsettled bars by ticker, earliest start first. */
  readonly #pending = new KeyedHeap<PendingBar>('min');
  readonly #bars = new Map<string, BarHistory>();
  #shortestGapMs: number | undefined;
  #sequence = 0;
  /** Time of the latest row added; Infinity once the input has ended. */
  #readMs = -Infinity;

  /** Adds a row; returns a reason when the row conflicts with the ones before it. */
  add(row: ReplayRow): string | undefined {
    if (row.kind === 'tick') {
      this.#readMs = row.timeMs;
      this.#push(row.timeMs, row.quote);
    } else {
      const history = this.#bars.get(row.ticker);
      if (history?.lastStartMs === row.timeMs) {
        return `a second bar for ${row.ticker} at the same time ${new Date(row.timeMs).toISOString()}`;
      }
      this.#readMs = row.timeMs;
      if (history !== undefined) {
        const gap = row.timeMs - history.lastStartMs;
        history.shortestGapMs = Math.min(gap, history.shortestGapMs ?? gap);
        this.#shortestGapMs = Math.min(gap, this.#shortestGapMs ?? gap);
        history.lastStartMs = row.timeMs;
        const previous = this.#pending.get(row.ticker);
        if (previous !== undefined) {
          this.#pending.remove(row.ticker);
          this.#settle(previous, history.shortestGapMs);
        }
      } else {
        this.#bars.set(row.ticker, { lastStartMs: row.timeMs, shortestGapMs: undefined });
      }
      const [open] = row.path;
      if (open)
        this.#push(row.timeMs, {
          ticker: row.ticker,
          bid: open.bid,
          ask: open.ask,
          time: seconds(row.timeMs),
        });
      this.#pending.upsert(row.ticker, row.timeMs, {
        ticker: row.ticker,
        startMs: row.timeMs,
        path: row.path,
      });
    }
    this.#settleDue();
    return undefined;
  }

  /** Marks the end of the input: every bar is settled and every quote becomes deliverable. */
  finish(): void {
    this.#readMs = Infinity;
    for (let bar = this.#pending.pop(); bar !== undefined; bar = this.#pending.pop()) {
      this.#settle(bar, this.#fallbackIntervalMs(bar.ticker));
    }
  }

  /** The next batch that no later row can join or precede, if any. */
  nextBatch(): ReplayBatch | undefined {
    const timeMs = this.#quotes.peekPriority();
    if (timeMs === undefined) return undefined;
    const barrier = Math.min(this.#readMs, this.#pending.peekPriority() ?? Infinity);
    // A later row may still carry this same time, so only times strictly before the barrier are final.
    if (timeMs >= barrier) return undefined;
    const quotes: Quote[] = [];
    while (this.#quotes.peekPriority() === timeMs) {
      const entry = this.#quotes.pop();
      if (entry) quotes.push(entry.quote);
    }
    return { timeMs, quotes };
  }

  /** Quotes waiting for delivery. */
  get buffered(): number {
    return this.#quotes.size;
  }

  #push(timeMs: number, quote: Quote): void {
    // Zero-padded so that equal times pop in insertion order (the heap breaks ties by key).
    this.#quotes.upsert(String(this.#sequence++).padStart(16, '0'), timeMs, { timeMs, quote });
  }

  /** Schedules the three quotes after the open, spread evenly over the bar's interval. */
  #settle(bar: PendingBar, intervalMs: number): void {
    for (let index = 1; index < bar.path.length; index++) {
      const point = bar.path[index];
      if (point === undefined) continue;
      const timeMs = bar.startMs + Math.floor((index * intervalMs) / bar.path.length);
      this.#push(timeMs, { ticker: bar.ticker, bid: point.bid, ask: point.ask, time: seconds(timeMs) });
    }
  }

  #settleDue(): void {
    for (let bar = this.#pending.peek(); bar !== undefined; bar = this.#pending.peek()) {
      const shortest = this.#bars.get(bar.ticker)?.shortestGapMs;
      if (shortest !== undefined && this.#readMs >= bar.startMs + shortest) {
        this.#settle(bar, shortest);
      } else if (shortest === undefined && this.#quotes.size > MAX_BUFFERED_QUOTES) {
        this.#settle(bar, this.#fallbackIntervalMs(bar.ticker));
      } else {
        return;
      }
      this.#pending.remove(bar.ticker);
    }
  }

  #fallbackIntervalMs(ticker: string): number {
    return this.#bars.get(ticker)?.shortestGapMs ?? this.#shortestGapMs ?? DEFAULT_BAR_INTERVAL_MS;
  }
}

/** Replays CSV files of ticks or bars through the sink; see the module comment. */
export class ReplayFeed implements Feed {
  readonly name = 'replay';
  readonly #options: ReplayFeedOptions;
  readonly #sizes: readonly number[];
  readonly #bytesTotal: number;
  readonly #progressIntervalMs: number;
  readonly #timeline = new ReplayTimeline();

  #state: FeedState = 'stopped';
  #started = false;
  #stopRequested = false;
  #run: Promise<void> = Promise.resolve();
  /** Resolvers of everything waiting for a pause, resume or stop (sleeps and the pause gate). */
  readonly #waiters = new Set<() => void>();
  #progressTimer: NodeJS.Timeout | undefined;

  #fileIndex = 0;
  #line = 0;
  #stream: ReadStream | undefined;
  #bytesDone = 0;
  /** Time of the last row accepted, across files. */
  #lastRowMs = -Infinity;
  #dataTimeMs: number | undefined;
  /** Wall time (performance.now) when the previous batch was handed to the sink. */
  #lastBatchWallMs = 0;
  #pausedAtWallMs: number | undefined;
  #quotesSent = 0;
  #batchesSent = 0;
  #skippedLines = 0;
  #skippedFiles = 0;
  #lastError: string | null = null;

  constructor(options: ReplayFeedOptions) {
    if (options.files.length === 0) throw new RangeError('the replay feed needs at least one file');
    if (!Number.isFinite(options.speed) || options.speed < 0) {
      throw new RangeError('the replay speed must be 0 (as fast as possible) or greater');
    }
    const spread = options.barSpreadTicks;
    if (spread !== undefined && (!Number.isSafeInteger(spread) || spread < 0)) {
      throw new RangeError('the replay bar spread must be a whole number of ticks, 0 or more');
    }
    const interval = options.progressIntervalMs ?? DEFAULT_REPLAY_PROGRESS_INTERVAL_MS;
    if (!Number.isFinite(interval) || interval <= 0) {
      throw new RangeError('the replay progress interval must be greater than 0');
    }
    // Checked up front so that a typo in a path fails at start-up, not minutes into a replay.
    this.#sizes = options.files.map((file) => {
      let stats;
      try {
        stats = statSync(file);
      } catch (error) {
        throw new Error(`replay file ${file} cannot be read: ${errorMessage(error)}`, { cause: error });
      }
      if (!stats.isFile()) throw new Error(`replay file ${file} is not a file`);
      return stats.size;
    });
    this.#bytesTotal = this.#sizes.reduce((sum, size) => sum + size, 0);
    this.#progressIntervalMs = interval;
    this.#options = options;
  }

  start(sink: QuoteSink): void {
    if (this.#started) throw new Error('the replay feed has already been started; a replay runs once');
    this.#started = true;
    this.#state = 'running';
    this.#progressTimer = setInterval(() => this.#logProgress(), this.#progressIntervalMs);
    this.#progressTimer.unref();
    this.#run = this.#replay(sink);
  }

  /** Resolves when the replay ends: finished, failed or stopped (immediately if never started). */
  async done(): Promise<FeedState> {
    await this.#run;
    return this.#state;
  }

  /** Ends the replay; resolves once the sink call in flight (if any) has settled. */
  async stop(): Promise<void> {
    this.#stopRequested = true;
    this.#notify();
    await this.#run;
    if (this.#state === 'running' || this.#state === 'paused') this.#state = 'stopped';
    this.#stopProgress();
  }

  /** Stops delivering after the batch in flight; the clock stays where the data left it. */
  pause(): void {
    if (this.#state !== 'running') return;
    this.#state = 'paused';
    this.#pausedAtWallMs = performance.now();
    this.#notify();
  }

  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    if (this.#pausedAtWallMs !== undefined) this.#lastBatchWallMs += performance.now() - this.#pausedAtWallMs;
    this.#pausedAtWallMs = undefined;
    this.#notify();
  }

  status(): FeedStatus {
    const file = this.#options.files[this.#fileIndex];
    return {
      name: this.name,
      state: this.#state,
      detail: {
        file: this.#started && file !== undefined ? file : null,
        line: this.#line,
        files_done: this.#state === 'finished' ? this.#options.files.length : this.#fileIndex,
        files_total: this.#options.files.length,
        percent: this.#percent(),
        bytes_read: this.#bytesRead(),
        bytes_total: this.#bytesTotal,
        data_time: this.#dataTimeMs === undefined ? null : new Date(this.#dataTimeMs).toISOString(),
        quotes_sent: this.#quotesSent,
        batches_sent: this.#batchesSent,
        skipped_lines: this.#skippedLines,
        skipped_files: this.#skippedFiles,
        speed: this.#options.speed,
        last_error: this.#lastError,
      },
    };
  }

  async #replay(sink: QuoteSink): Promise<void> {
    const { files, logger } = this.#options;
    try {
      for (const [index, file] of files.entries()) {
        this.#fileIndex = index;
        this.#line = 0;
        if (!(await this.#replayFile(file, sink))) return;
        this.#bytesDone += this.#sizes[index] ?? 0;
      }
      this.#timeline.finish();
      if (!(await this.#drain(sink))) return;
      this.#state = 'finished';
      logger.info(
        {
          event: 'replay_finished',
          quotes_sent: this.#quotesSent,
          files: files.length,
          skipped_lines: this.#skippedLines,
          data_time: this.#dataTimeMs === undefined ? null : new Date(this.#dataTimeMs).toISOString(),
        },
        `replay finished: ${this.#quotesSent} quotes from ${files.length} files`,
      );
    } catch (error) {
      const file = files[this.#fileIndex] ?? '';
      this.#fail(`${file}:${this.#line}: ${errorMessage(error)}`);
    } finally {
      this.#stopProgress();
      if (this.#stopRequested && (this.#state === 'running' || this.#state === 'paused')) {
        this.#state = 'stopped';
      }
    }
  }

  /** Streams one file into the timeline, delivering what becomes final; false when the replay must end. */
  async #replayFile(file: string, sink: QuoteSink): Promise<boolean> {
    const stream = createReadStream(file);
    this.#stream = stream;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let parser: ReplayRowParser | undefined;
    try {
      for await (const raw of lines) {
        if (this.#stopRequested) return false;
        this.#line++;
        // A byte-order mark (as Excel writes) would otherwise stick to the first column's name.
        const text = (this.#line === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
        if (text === '' || text.startsWith('#')) continue;
        if (parser === undefined) {
          const header = parseHeader(text);
          if (!isMalformed(header)) {
            parser = new ReplayRowParser(header, {
              instruments: this.#options.instruments,
              barSpreadTicks: this.#options.barSpreadTicks,
            });
            continue;
          }
          if (!this.#malformed(file, header.reason + '; skipping the rest of the file')) return false;
          this.#skippedFiles++;
          return true;
        }
        const row = parser.parse(text);
        if (isMalformed(row)) {
          if (!this.#malformed(file, row.reason)) return false;
          continue;
        }
        if (row.timeMs < this.#lastRowMs) {
          const reason =
            `time ${new Date(row.timeMs).toISOString()} is before the previous row's ` +
            `${new Date(this.#lastRowMs).toISOString()}: rows (and files) must be in time order`;
          if (!this.#malformed(file, reason)) return false;
          continue;
        }
        const conflict = this.#timeline.add(row);
        if (conflict !== undefined) {
          if (!this.#malformed(file, conflict)) return false;
          continue;
        }
        this.#lastRowMs = row.timeMs;
        if (!(await this.#drain(sink))) return false;
      }
    } finally {
      lines.close();
      stream.destroy();
      this.#stream = undefined;
    }
    return true;
  }

  /** Reports a malformed line; false when the policy is to fail. */
  #malformed(file: string, reason: string): boolean {
    const where = `${file}:${this.#line}`;
    this.#options.logger.warn(
      { event: 'replay_malformed_line', file, line: this.#line, reason },
      `${where}: ${reason}`,
    );
    if (this.#options.onMalformed === 'skip') {
      this.#skippedLines++;
      return true;
    }
    this.#fail(`${where}: ${reason}`);
    return false;
  }

  #fail(message: string): void {
    this.#state = 'failed';
    this.#lastError = message;
    this.#options.logger.error({ event: 'replay_failed', error: message }, `replay failed: ${message}`);
  }

  /** Delivers every batch the timeline has made final; false when the replay must end. */
  async #drain(sink: QuoteSink): Promise<boolean> {
    for (let batch = this.#timeline.nextBatch(); batch !== undefined; batch = this.#timeline.nextBatch()) {
      if (!(await this.#deliver(batch, sink))) return false;
    }
    return true;
  }

  async #deliver(batch: ReplayBatch, sink: QuoteSink): Promise<boolean> {
    await yieldToEventLoop();
    for (;;) {
      if (this.#stopRequested) return false;
      if (this.#state === 'paused') {
        await this.#nextChange();
        continue;
      }
      const waitMs = this.#dueWallMs(batch.timeMs) - performance.now();
      if (waitMs <= 0) break;
      await this.#nextChange(Math.min(waitMs, MAX_TIMER_MS));
    }
    this.#options.clock.setReplay(batch.timeMs);
    this.#lastBatchWallMs = performance.now();
    try {
      await sink(batch.quotes);
    } catch (error) {
      this.#fail(
        `the sink refused the quotes at ${new Date(batch.timeMs).toISOString()}: ${errorMessage(error)}`,
      );
      return false;
    }
    this.#dataTimeMs = batch.timeMs;
    this.#quotesSent += batch.quotes.length;
    this.#batchesSent++;
    return true;
  }

  #dueWallMs(timeMs: number): number {
    const speed = this.#options.speed;
    if (speed === 0 || this.#dataTimeMs === undefined) return -Infinity;
    return this.#lastBatchWallMs + (timeMs - this.#dataTimeMs) / speed;
  }

  /** Resolves on the next pause, resume or stop, or after `timeoutMs` when given. */
  #nextChange(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      this.#waiters.add(done);
    });
  }

  #notify(): void {
    for (const done of [...this.#waiters]) done();
  }

  #bytesRead(): number {
    if (this.#state === 'finished') return this.#bytesTotal;
    return Math.min(this.#bytesTotal, this.#bytesDone + (this.#stream?.bytesRead ?? 0));
  }

  #percent(): number {
    if (this.#bytesTotal === 0) return this.#state === 'finished' ? 100 : 0;
    return Math.floor((this.#bytesRead() / this.#bytesTotal) * 1000) / 10;
  }

  #logProgress(): void {
    if (this.#state !== 'running') return;
    const dataTime = this.#dataTimeMs === undefined ? null : new Date(this.#dataTimeMs).toISOString();
    this.#options.logger.info(
      {
        event: 'replay_progress',
        percent: this.#percent(),
        data_time: dataTime,
        quotes_sent: this.#quotesSent,
        skipped_lines: this.#skippedLines,
      },
      `replay ${this.#percent()}%: data time ${dataTime ?? 'not yet'}, ${this.#quotesSent} quotes sent, ` +
        `${this.#skippedLines} lines skipped`,
    );
  }

  #stopProgress(): void {
    clearInterval(this.#progressTimer);
    this.#progressTimer = undefined;
  }
}

function seconds(timeMs: number): number {
  return Math.floor(timeMs / 1000);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
