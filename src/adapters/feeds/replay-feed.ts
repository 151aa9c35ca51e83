/**
 * A feed that replays historical ticks or bars from CSV files (formats in `replay-csv.ts` and
 * docs/replay.md), driving the replay clock from the data's timestamps.
 *
 * Invariants:
 * - Files are streamed line by line (`replay-lines.ts` over a read stream, which applies back-pressure),
 *   in the order given. Memory holds only the quotes not yet delivered: those of the current timestamp and the
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
 *   the data. So does a file that cannot be read when its turn comes.
 * - States: running, paused, finished, failed, stopped. `last_error` is set exactly when the state is
 *   'failed', as `file:line: reason`, and the status's `file` and `line` then name that same line.
 * - Progress counts what the engine has received, not what the reader has buffered: the bytes before the
 *   first line that still has a quote to deliver (`ReplaySource.pending`). It never decreases, stays
 *   below 100% while any quote is left, and is 100% exactly when the state is 'finished'.
 * - The clock is set to the first row's time when the replay starts (`replay-extent.ts`), running or
 *   paused, so clients see data time before the first quote.
 *
 * Steps: while paused, `step` delivers the next n quotes (splitting a same-time batch if need be) or
 * every quote up to s data seconds past the replay's position, which then moves (with the clock) to the
 * end of that window. It resolves once the sink has taken the last of them. A step waits for no wall
 * time, whatever the speed; pacing afterwards counts from the step's end.
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
import { createReadStream, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type {
  Feed,
  FeedState,
  FeedStatus,
  FeedStep,
  FeedStepOutcome,
  Logger,
  QuoteSink,
} from '../../application/ports.ts';
import { KeyedHeap } from '../../engine/keyed-heap.ts';
import type { Instrument, Quote } from '../../engine/model.ts';
import type { FeedBar } from '../../application/market-data/candles.ts';
import type { ControllableClock } from '../clock/controllable-clock.ts';
import {
  isMalformed,
  parseHeader,
  ReplayRowParser,
  type PathQuote,
  type ReplayRow,
  type ReplayRowParserOptions,
} from './replay-csv.ts';
import { dataText, replayExtent, type ReplayExtent } from './replay-extent.ts';
import { readLines } from './replay-lines.ts';

export const DEFAULT_REPLAY_PROGRESS_INTERVAL_MS = 5000;
/** Interval of a bar when nothing better is known: the common one-minute bar. */
export const DEFAULT_BAR_INTERVAL_MS = 60_000;
/** Buffered quotes beyond which a once-seen ticker's bar is settled early (see the module comment). */
export const MAX_BUFFERED_QUOTES = 100_000;
/** setTimeout takes at most a signed 32-bit delay; longer waits are slept in slices. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type ReplayMalformedPolicy = 'skip' | 'fail';
export type ReplayStart = 'running' | 'paused';

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
  /** 'paused' waits for a resume or a step before the first quote; defaults to 'running'. */
  start?: ReplayStart;
}

/**
 * The line a quote comes from. `pending` counts that line's quotes not yet delivered (one for a tick,
 * four for a bar); the bytes before the first line with pending quotes are the ones fully applied.
 */
export interface ReplaySource {
  file: number;
  line: number;
  /** Offsets across all files, as if they were one: where the line starts and where the next begins. */
  startByte: number;
  endByte: number;
  pending: number;
}

/**
 * A group of quotes with the same data time, delivered in one sink call; `sources` runs parallel,
 * and so does `bars`: the bar a quote opens (its first quote), handed to the sink for charts.
 */
export interface ReplayBatch {
  timeMs: number;
  quotes: Quote[];
  sources: (ReplaySource | undefined)[];
  bars: (FeedBar | undefined)[];
}

interface TimedQuote {
  timeMs: number;
  quote: Quote;
  source: ReplaySource | undefined;
  bar?: FeedBar | undefined;
}

interface PendingBar {
  ticker: string;
  startMs: number;
  path: readonly PathQuote[];
  source: ReplaySource | undefined;
  /** The bar for charts; its length is known once it is settled (before its open is delivered). */
  candle: FeedBar;
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
  add(row: ReplayRow, source?: ReplaySource): string | undefined {
    if (row.kind === 'tick') {
      this.#readMs = row.timeMs;
      this.#push(row.timeMs, row.quote, source);
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
      const candle: FeedBar = {
        ticker: row.ticker,
        time: seconds(row.timeMs),
        seconds: 0,
        ...row.prices,
        volume: row.volume,
      };
      const [open] = row.path;
      if (open)
        this.#push(
          row.timeMs,
          { ticker: row.ticker, bid: open.bid, ask: open.ask, time: seconds(row.timeMs) },
          source,
          candle,
        );
      this.#pending.upsert(row.ticker, row.timeMs, {
        ticker: row.ticker,
        startMs: row.timeMs,
        path: row.path,
        source,
        candle,
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
    const sources: (ReplaySource | undefined)[] = [];
    const bars: (FeedBar | undefined)[] = [];
    while (this.#quotes.peekPriority() === timeMs) {
      const entry = this.#quotes.pop();
      if (entry) {
        quotes.push(entry.quote);
        sources.push(entry.source);
        bars.push(entry.bar);
      }
    }
    return { timeMs, quotes, sources, bars };
  }

  /** Quotes waiting for delivery. */
  get buffered(): number {
    return this.#quotes.size;
  }

  #push(timeMs: number, quote: Quote, source: ReplaySource | undefined, bar?: FeedBar): void {
    // Zero-padded so that equal times pop in insertion order (the heap breaks ties by key).
    this.#quotes.upsert(String(this.#sequence++).padStart(16, '0'), timeMs, { timeMs, quote, source, bar });
  }

  /** Schedules the three quotes after the open, spread evenly over the bar's interval. */
  #settle(bar: PendingBar, intervalMs: number): void {
    bar.candle.seconds = intervalMs / 1000;
    for (let index = 1; index < bar.path.length; index++) {
      const point = bar.path[index];
      if (point === undefined) continue;
      const timeMs = bar.startMs + Math.floor((index * intervalMs) / bar.path.length);
      this.#push(
        timeMs,
        { ticker: bar.ticker, bid: point.bid, ask: point.ask, time: seconds(timeMs) },
        bar.source,
      );
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

interface ActiveStep {
  /** Quotes still to deliver, for a step by quotes. */
  quotesLeft: number | undefined;
  /** Data milliseconds to cover, for a step by seconds. */
  windowMs: number | undefined;
  /** End of the window, fixed when the step meets its first batch. */
  untilMs: number | undefined;
  delivered: number;
  resolve: (outcome: FeedStepOutcome) => void;
}

/** Replays CSV files of ticks or bars through the sink; see the module comment. */
export class ReplayFeed implements Feed {
  readonly name = 'replay';
  readonly #options: ReplayFeedOptions;
  readonly #sizes: readonly number[];
  /** Offset of each file's first byte in the files taken as one. */
  readonly #fileStarts: readonly number[];
  readonly #bytesTotal: number;
  readonly #extent: ReplayExtent;
  readonly #progressIntervalMs: number;
  readonly #timeline = new ReplayTimeline();

  #state: FeedState = 'stopped';
  #started = false;
  #stopRequested = false;
  #run: Promise<void> = Promise.resolve();
  /** Resolvers of everything waiting for a pause, resume, step or stop (sleeps and the pause gate). */
  readonly #waiters = new Set<() => void>();
  #progressTimer: NodeJS.Timeout | undefined;
  #step: ActiveStep | undefined;

  #fileIndex = 0;
  #line = 0;
  /** The current file's parser, once its header has been read. */
  #parser: ReplayRowParser | undefined;
  /** End of the last line the reader has taken in, across files. */
  #bytesRead = 0;
  /** Lines with quotes not yet delivered, in file order (a queue from `#sourcesHead`). */
  #sources: ReplaySource[] = [];
  #sourcesHead = 0;
  /** Time of the last row accepted, across files. */
  #lastRowMs = -Infinity;
  /** Where the replay stands in data time: the latest quotes delivered, or the end of a step's window. */
  #positionMs: number | undefined;
  /** The batch being delivered or waiting to be, once the timeline has made it final. */
  #next: ReplayBatch | undefined;
  /** The data time and wall time (performance.now) the wait for the next batch counts from. */
  #paceDataMs: number | undefined;
  #paceWallMs = 0;
  #pausedAtWallMs: number | undefined;
  #quotesSent = 0;
  #batchesSent = 0;
  #skippedLines = 0;
  #skippedFiles = 0;
  #lastError: string | null = null;
  #failedAt: { file: string; line: number } | undefined;

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
    let offset = 0;
    this.#fileStarts = this.#sizes.map((size) => {
      const start = offset;
      offset += size;
      return start;
    });
    this.#bytesTotal = offset;
    this.#progressIntervalMs = interval;
    this.#options = options;
    try {
      this.#extent = replayExtent(options.files, this.#parserOptions(), options.onMalformed);
    } catch {
      // A file that cannot be read now fails the replay with its own message once it starts.
      this.#extent = { startMs: undefined, endMs: undefined };
    }
  }

  /**
   * Starts the replay, running or paused (`options.start`). The clock is set to the first row's data
   * time at once, so a client that connects before any quote is delivered already sees data time.
   */
  start(sink: QuoteSink): void {
    if (this.#started) throw new Error('the replay feed has already been started; a replay runs once');
    this.#started = true;
    if (this.#options.start === 'paused') {
      this.#state = 'paused';
      this.#pausedAtWallMs = performance.now();
    } else {
      this.#state = 'running';
    }
    if (this.#extent.startMs !== undefined) this.#options.clock.setReplay(this.#extent.startMs);
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
    if (this.#pausedAtWallMs !== undefined) this.#paceWallMs += performance.now() - this.#pausedAtWallMs;
    this.#pausedAtWallMs = undefined;
    this.#notify();
  }

  /**
   * While paused, delivers the next `quotes` quotes (splitting a same-time batch if need be), or every
   * quote up to `seconds` of data time past the replay's position, then moves the clock to the end of
   * that window. Resolves once the last of them has gone through the sink, still paused. A step the
   * data ends in delivers what is left; a step with nothing left to deliver is refused.
   */
  step(request: FeedStep): Promise<FeedStepOutcome> {
    const refusal = this.#stepRefusal();
    if (refusal !== undefined) return Promise.resolve({ refused: refusal });
    let quotesLeft: number | undefined;
    let windowMs: number | undefined;
    if ('quotes' in request) {
      if (!Number.isSafeInteger(request.quotes) || request.quotes < 1)
        throw new RangeError('a step needs a whole number of quotes, 1 or more');
      quotesLeft = request.quotes;
    } else {
      windowMs = Math.round(request.seconds * 1000);
      if (!Number.isSafeInteger(windowMs) || windowMs < 1)
        throw new RangeError('a step needs at least one millisecond of data time');
    }
    return new Promise((resolve) => {
      this.#step = { quotesLeft, windowMs, untilMs: undefined, delivered: 0, resolve };
      this.#notify();
    });
  }

  /** The time of the first row to replay, in milliseconds; undefined when no row has a time. */
  get dataStartMs(): number | undefined {
    return this.#extent.startMs;
  }

  status(): FeedStatus {
    const failed = this.#state === 'failed' ? this.#failedAt : undefined;
    const file = failed?.file ?? this.#options.files[this.#fileIndex];
    const endMs = this.#dataEndMs();
    const fromMs = this.#positionMs ?? this.#extent.startMs;
    return {
      name: this.name,
      state: this.#state,
      detail: {
        file: this.#started && file !== undefined ? file : null,
        line: failed?.line ?? this.#line,
        files_done: this.#state === 'finished' ? this.#options.files.length : this.#fileIndex,
        files_total: this.#options.files.length,
        percent: this.#percent(),
        bytes_applied: this.#bytesApplied(),
        bytes_read:
          this.#state === 'finished' ? this.#bytesTotal : Math.min(this.#bytesRead, this.#bytesTotal),
        bytes_total: this.#bytesTotal,
        data_start: isoTime(this.#extent.startMs),
        data_time: isoTime(this.#positionMs),
        next_data_time: isoTime(this.#next?.timeMs),
        data_end: isoTime(endMs),
        data_remaining_seconds:
          endMs === undefined || fromMs === undefined ? null : Math.max(0, endMs - fromMs) / 1000,
        quotes_sent: this.#quotesSent,
        batches_sent: this.#batchesSent,
        skipped_lines: this.#skippedLines,
        skipped_files: this.#skippedFiles,
        speed: this.#options.speed,
        last_error: this.#lastError,
      },
    };
  }

  #stepRefusal(): string | undefined {
    switch (this.#state) {
      case 'running':
        return 'the replay is running: pause it (POST /admin/v1/feed/pause) before stepping';
      case 'finished':
        return 'the replay has finished: no data is left to step through';
      case 'failed':
        return `the replay has failed: ${this.#lastError ?? 'unknown error'}`;
      case 'stopped':
      case 'standby':
        return this.#started ? 'the replay has stopped' : 'the replay has not started';
      case 'paused':
        return this.#step === undefined ? undefined : 'a step is already under way: wait for its answer';
    }
  }

  #parserOptions(): ReplayRowParserOptions {
    return { instruments: this.#options.instruments, barSpreadTicks: this.#options.barSpreadTicks };
  }

  async #replay(sink: QuoteSink): Promise<void> {
    const { files, logger } = this.#options;
    try {
      for (const [index, file] of files.entries()) {
        this.#fileIndex = index;
        this.#line = 0;
        if (!(await this.#replayFile(file, sink))) return;
        this.#bytesRead = Math.max(
          this.#bytesRead,
          (this.#fileStarts[index] ?? 0) + (this.#sizes[index] ?? 0),
        );
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
          data_time: isoTime(this.#positionMs),
        },
        `replay finished: ${this.#quotesSent} quotes from ${files.length} files`,
      );
    } catch (error) {
      const file = files[this.#fileIndex] ?? '';
      this.#fail(file, this.#line + 1, `the file cannot be read: ${errorMessage(error)}`);
    } finally {
      this.#stopProgress();
      if (this.#stopRequested && (this.#state === 'running' || this.#state === 'paused')) {
        this.#state = 'stopped';
      }
      this.#next = undefined;
      this.#endStepAtEnd();
    }
  }

  /** Streams one file into the timeline, delivering what becomes final; false when the replay must end. */
  async #replayFile(file: string, sink: QuoteSink): Promise<boolean> {
    const stream = createReadStream(file);
    const fileStart = this.#fileStarts[this.#fileIndex] ?? 0;
    let lineStart = fileStart;
    this.#parser = undefined;
    try {
      for await (const lines of readLines(stream)) {
        for (const { text, endByte } of lines) {
          if (this.#stopRequested) return false;
          this.#line++;
          const source: ReplaySource = {
            file: this.#fileIndex,
            line: this.#line,
            startByte: lineStart,
            endByte: fileStart + endByte,
            pending: 0,
          };
          lineStart = source.endByte;
          const taken = this.#takeLine(file, text, source);
          if (taken === 'fail') return false;
          if (taken === 'skip file') {
            this.#bytesRead = fileStart + (this.#sizes[this.#fileIndex] ?? 0);
            return true;
          }
          // Only now is the line behind the reader: a line that fails the replay is not counted as read.
          this.#bytesRead = source.endByte;
          if (taken === 'row' && !(await this.#drain(sink))) return false;
        }
      }
    } finally {
      stream.destroy();
    }
    return true;
  }

  /** Parses one line into the timeline; what the reader does next. */
  #takeLine(file: string, line: string, source: ReplaySource): 'row' | 'no row' | 'skip file' | 'fail' {
    const text = dataText(line, source.line === 1);
    if (text === undefined) return 'no row';
    if (this.#parser === undefined) {
      const header = parseHeader(text);
      if (!isMalformed(header)) {
        this.#parser = new ReplayRowParser(header, this.#parserOptions());
        return 'no row';
      }
      if (!this.#malformed(file, header.reason + '; skipping the rest of the file')) return 'fail';
      this.#skippedFiles++;
      return 'skip file';
    }
    const row = this.#parser.parse(text);
    if (isMalformed(row)) return this.#malformed(file, row.reason) ? 'no row' : 'fail';
    if (row.timeMs < this.#lastRowMs) {
      const reason =
        `time ${new Date(row.timeMs).toISOString()} is before the previous row's ` +
        `${new Date(this.#lastRowMs).toISOString()}: rows (and files) must be in time order`;
      return this.#malformed(file, reason) ? 'no row' : 'fail';
    }
    source.pending = row.kind === 'tick' ? 1 : row.path.length;
    const conflict = this.#timeline.add(row, source);
    if (conflict !== undefined) return this.#malformed(file, conflict) ? 'no row' : 'fail';
    this.#sources.push(source);
    this.#lastRowMs = row.timeMs;
    return 'row';
  }

  /** Reports a malformed line; false when the policy is to fail. */
  #malformed(file: string, reason: string): boolean {
    this.#options.logger.warn(
      { event: 'replay_malformed_line', file, line: this.#line, reason },
      `${file}:${this.#line}: ${reason}`,
    );
    if (this.#options.onMalformed === 'skip') {
      this.#skippedLines++;
      return true;
    }
    this.#fail(file, this.#line, reason);
    return false;
  }

  /** Fails the replay; the state, `last_error` and the reported file and line all name the same line. */
  #fail(file: string, line: number, reason: string): void {
    const message = `${file}:${line}: ${reason}`;
    this.#state = 'failed';
    this.#lastError = message;
    this.#failedAt = { file, line };
    this.#options.logger.error({ event: 'replay_failed', error: message }, `replay failed: ${message}`);
  }

  /** Delivers every batch the timeline has made final; false when the replay must end. */
  async #drain(sink: QuoteSink): Promise<boolean> {
    for (let batch = this.#timeline.nextBatch(); batch !== undefined; batch = this.#timeline.nextBatch()) {
      this.#next = batch;
      while (batch.quotes.length > 0) {
        if (!(await this.#deliver(batch, sink))) return false;
      }
      this.#next = undefined;
    }
    return true;
  }

  /** Delivers the batch, or as much of it as a step by quotes asks for; false when the replay must end. */
  async #deliver(batch: ReplayBatch, sink: QuoteSink): Promise<boolean> {
    await yieldToEventLoop();
    let count = batch.quotes.length;
    for (;;) {
      if (this.#stopRequested) return false;
      const step = this.#step;
      if (step !== undefined) {
        if (step.windowMs !== undefined) {
          step.untilMs ??= (this.#positionMs ?? batch.timeMs) + step.windowMs;
          if (batch.timeMs > step.untilMs) {
            this.#endStep(step.untilMs);
            continue;
          }
        }
        if (step.quotesLeft !== undefined) count = Math.min(count, step.quotesLeft);
        break;
      }
      if (this.#state === 'paused') {
        await this.#nextChange();
        continue;
      }
      const waitMs = this.#dueWallMs(batch.timeMs) - performance.now();
      if (waitMs <= 0) break;
      await this.#nextChange(Math.min(waitMs, MAX_TIMER_MS));
    }
    const quotes = batch.quotes.splice(0, count);
    const sources = batch.sources.splice(0, count);
    const bars = batch.bars.splice(0, count).filter((bar) => bar !== undefined);
    this.#options.clock.setReplay(batch.timeMs);
    this.#paceWallMs = performance.now();
    try {
      await (bars.length > 0 ? sink(quotes, bars) : sink(quotes));
    } catch (error) {
      const source = sources[0];
      const file = this.#options.files[source?.file ?? this.#fileIndex] ?? '';
      this.#fail(
        file,
        source?.line ?? this.#line,
        `the quotes at ${new Date(batch.timeMs).toISOString()} could not be applied: ${errorMessage(error)}`,
      );
      return false;
    }
    this.#positionMs = Math.max(this.#positionMs ?? batch.timeMs, batch.timeMs);
    this.#paceDataMs = batch.timeMs;
    this.#quotesSent += quotes.length;
    if (batch.quotes.length === 0) this.#batchesSent++;
    for (const source of sources) if (source) source.pending--;
    this.#releaseSources();
    const step = this.#step;
    if (step !== undefined) {
      step.delivered += quotes.length;
      if (step.quotesLeft !== undefined) {
        step.quotesLeft -= quotes.length;
        if (step.quotesLeft <= 0) this.#endStep(undefined);
      }
    }
    return true;
  }

  /** Ends the step in progress; a step by seconds moves the replay (and the clock) to its window's end. */
  #endStep(untilMs: number | undefined): void {
    const step = this.#step;
    if (step === undefined) return;
    this.#step = undefined;
    if (untilMs !== undefined) {
      this.#options.clock.setReplay(untilMs);
      this.#positionMs = Math.max(this.#positionMs ?? untilMs, untilMs);
      this.#paceDataMs = this.#positionMs;
    }
    // Pacing after a resume counts from the end of the step, not from before it.
    this.#paceWallMs = performance.now();
    if (this.#pausedAtWallMs !== undefined) this.#pausedAtWallMs = this.#paceWallMs;
    step.resolve({ delivered: step.delivered });
  }

  /** Ends a step the replay's end overtook: what it delivered counts; if nothing, it is refused. */
  #endStepAtEnd(): void {
    const step = this.#step;
    if (step === undefined) return;
    this.#step = undefined;
    step.resolve(
      step.delivered > 0
        ? { delivered: step.delivered }
        : { refused: this.#stepRefusal() ?? 'the replay has ended: no data is left to step through' },
    );
  }

  #releaseSources(): void {
    while (this.#sourcesHead < this.#sources.length && this.#sources[this.#sourcesHead]?.pending === 0) {
      this.#sourcesHead++;
    }
    if (this.#sourcesHead > 1024 && this.#sourcesHead * 2 > this.#sources.length) {
      this.#sources = this.#sources.slice(this.#sourcesHead);
      this.#sourcesHead = 0;
    }
  }

  #dueWallMs(timeMs: number): number {
    const speed = this.#options.speed;
    if (speed === 0 || this.#paceDataMs === undefined) return -Infinity;
    return this.#paceWallMs + (timeMs - this.#paceDataMs) / speed;
  }

  /** Resolves on the next pause, resume, step or stop, or after `timeoutMs` when given. */
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

  /** Bytes whose every quote has been delivered: up to the first line with a quote still pending. */
  #bytesApplied(): number {
    if (this.#state === 'finished') return this.#bytesTotal;
    const first = this.#sources[this.#sourcesHead];
    return Math.min(this.#bytesTotal, first === undefined ? this.#bytesRead : first.startByte);
  }

  #percent(): number {
    if (this.#state === 'finished') return 100;
    if (this.#bytesTotal === 0) return 0;
    return Math.floor((this.#bytesApplied() / this.#bytesTotal) * 1000) / 10;
  }

  /** The last data time known: the end read from the last file, or later if the replay is already there. */
  #dataEndMs(): number | undefined {
    const { endMs } = this.#extent;
    if (this.#state === 'finished') return this.#positionMs ?? endMs;
    if (endMs === undefined) return undefined;
    return Math.max(endMs, this.#positionMs ?? endMs);
  }

  #logProgress(): void {
    if (this.#state !== 'running') return;
    const dataTime = isoTime(this.#positionMs);
    this.#options.logger.info(
      {
        event: 'replay_progress',
        percent: this.#percent(),
        data_time: dataTime,
        quotes_sent: this.#quotesSent,
        skipped_lines: this.#skippedLines,
      },
      `replay ${this.#percent()}% applied: data time ${dataTime ?? 'not yet'}, ${this.#quotesSent} quotes sent, ` +
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

function isoTime(timeMs: number | undefined): string | null {
  return timeMs === undefined ? null : new Date(timeMs).toISOString();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
