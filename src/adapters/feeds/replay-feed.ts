/**
 * A feed that replays historical ticks or bars from CSV files (formats in `replay-csv.ts` and
 * docs/replay.md), driving the replay clock from the data's timestamps. It runs the replay and answers
 * its control surface (start, pause, resume, step, stop, status); the parts live beside it:
 * `replay-reader.ts` reads the files and applies the malformed-line policy, `replay-timeline.ts` orders
 * rows into batches (and spreads bars into quotes), `replay-pacing.ts` times the batches, `replay-step.ts`
 * steps a paused replay, and `replay-progress.ts` counts the bytes applied.
 *
 * Invariants:
 * - Quotes reach the sink in time order. Before each batch the clock is set to the batch's data time
 *   (`ControllableClock.setReplay`, which never moves backwards). Quotes with the same millisecond go to
 *   the sink in one call, in file order. The sink is awaited before anything else is delivered, so a
 *   slow sink slows the replay down. Every batch first yields to the event loop (setImmediate), so the
 *   HTTP server keeps being served during a fast replay.
 * - With `onMalformed: 'fail'` a malformed line stops the replay with state 'failed' and the reason in
 *   `last_error`, and the quotes still buffered are not delivered.
 * - A sink failure also fails the replay: delivering the rest after a lost batch would no longer replay
 *   the data. So does a file that cannot be read when its turn comes.
 * - States: running, paused, finished, failed, stopped. `last_error` is set exactly when the state is
 *   'failed', as `file:line: reason`, and the status's `file` and `line` then name that same line.
 * - Progress is 100% exactly when the state is 'finished'.
 * - The clock is set to the first row's time when the replay starts (`replay-extent.ts`), running or
 *   paused, so clients see data time before the first quote.
 *
 * Steps: while paused, `step` delivers the next n quotes or every quote up to s data seconds past the
 * replay's position, which then moves (with the clock) to the end of that window. It resolves once the
 * sink has taken the last of them; pacing afterwards counts from the step's end.
 */
import { statSync } from 'node:fs';
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
import type { Instrument } from '../../engine/model.ts';
import type { ControllableClock } from '../clock/controllable-clock.ts';
import type { ReplayMalformedPolicy, ReplayRowParserOptions } from './replay-csv.ts';
import { replayExtent, type ReplayExtent } from './replay-extent.ts';
import { ReplayPacing } from './replay-pacing.ts';
import { ReplayProgress } from './replay-progress.ts';
import { ReplayReader } from './replay-reader.ts';
import { ReplayStep, stepLimit, stepRefusal } from './replay-step.ts';
import { ReplayTimeline, type ReplayBatch } from './replay-timeline.ts';

const DEFAULT_REPLAY_PROGRESS_INTERVAL_MS = 5000;

export const REPLAY_STARTS = ['running', 'paused'] as const;
export type ReplayStart = (typeof REPLAY_STARTS)[number];

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

/** Replays CSV files of ticks or bars through the sink; see the module comment. */
export class ReplayFeed implements Feed {
  readonly name = 'replay';
  readonly #options: ReplayFeedOptions;
  readonly #extent: ReplayExtent;
  readonly #progressIntervalMs: number;
  readonly #timeline = new ReplayTimeline();
  readonly #progress: ReplayProgress;
  readonly #reader: ReplayReader;
  readonly #pacing: ReplayPacing;

  #state: FeedState = 'stopped';
  #started = false;
  #stopRequested = false;
  #run: Promise<void> = Promise.resolve();
  #progressTimer: NodeJS.Timeout | undefined;
  #step: ReplayStep | undefined;

  /** Where the replay stands in data time: the latest quotes delivered, or the end of a step's window. */
  #positionMs: number | undefined;
  /** The batch being delivered or waiting to be, once the timeline has made it final. */
  #next: ReplayBatch | undefined;
  #quotesSent = 0;
  #batchesSent = 0;
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
    this.#progress = new ReplayProgress(fileSizes(options.files));
    this.#progressIntervalMs = interval;
    this.#options = options;
    this.#pacing = new ReplayPacing(options.speed);
    const parser: ReplayRowParserOptions = {
      instruments: options.instruments,
      barSpreadTicks: options.barSpreadTicks,
    };
    this.#reader = new ReplayReader({
      files: options.files,
      parser,
      onMalformed: options.onMalformed,
      logger: options.logger,
      timeline: this.#timeline,
      progress: this.#progress,
      fail: (file, line, reason) => this.#fail(file, line, reason),
    });
    try {
      this.#extent = replayExtent(options.files, parser, options.onMalformed);
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
      this.#pacing.paused();
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
    this.#pacing.notify();
    await this.#run;
    if (this.#state === 'running' || this.#state === 'paused') this.#state = 'stopped';
    this.#stopProgress();
  }

  /** Stops delivering after the batch in flight; the clock stays where the data left it. */
  pause(): void {
    if (this.#state !== 'running') return;
    this.#state = 'paused';
    this.#pacing.paused();
    this.#pacing.notify();
  }

  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    this.#pacing.resumed();
    this.#pacing.notify();
  }

  /**
   * While paused, delivers the next `quotes` quotes (splitting a same-time batch if need be), or every
   * quote up to `seconds` of data time past the replay's position, then moves the clock to the end of
   * that window. Resolves once the last of them has gone through the sink, still paused. A step the
   * data ends in delivers what is left; a step with nothing left to deliver is refused.
   */
  step(request: FeedStep): Promise<FeedStepOutcome> {
    const refusal = stepRefusal(this.#state, this.#started, this.#step !== undefined, this.#lastError);
    if (refusal !== undefined) return Promise.resolve({ refused: refusal });
    const limit = stepLimit(request);
    return new Promise((resolve) => {
      this.#step = new ReplayStep(limit, resolve);
      this.#pacing.notify();
    });
  }

  /** The time of the first row to replay, in milliseconds; undefined when no row has a time. */
  get dataStartMs(): number | undefined {
    return this.#extent.startMs;
  }

  status(): FeedStatus {
    const finished = this.#state === 'finished';
    const failed = this.#state === 'failed' ? this.#failedAt : undefined;
    const file = failed?.file ?? this.#options.files[this.#reader.fileIndex];
    const endMs = this.#dataEndMs();
    const fromMs = this.#positionMs ?? this.#extent.startMs;
    return {
      name: this.name,
      state: this.#state,
      detail: {
        file: this.#started && file !== undefined ? file : null,
        line: failed?.line ?? this.#reader.line,
        files_done: finished ? this.#options.files.length : this.#reader.fileIndex,
        files_total: this.#options.files.length,
        percent: this.#progress.percent(finished),
        bytes_applied: this.#progress.bytesApplied(finished),
        bytes_read: this.#progress.bytesRead(finished),
        bytes_total: this.#progress.bytesTotal,
        data_start: isoTime(this.#extent.startMs),
        data_time: isoTime(this.#positionMs),
        next_data_time: isoTime(this.#next?.timeMs),
        data_end: isoTime(endMs),
        data_remaining_seconds:
          endMs === undefined || fromMs === undefined ? null : Math.max(0, endMs - fromMs) / 1000,
        quotes_sent: this.#quotesSent,
        batches_sent: this.#batchesSent,
        skipped_lines: this.#reader.skippedLines,
        skipped_files: this.#reader.skippedFiles,
        speed: this.#options.speed,
        last_error: this.#lastError,
      },
    };
  }

  async #replay(sink: QuoteSink): Promise<void> {
    const { files, logger } = this.#options;
    try {
      const read = await this.#reader.readAll(
        () => this.#drain(sink),
        () => this.#stopRequested,
      );
      if (!read) return;
      this.#timeline.finish();
      if (!(await this.#drain(sink))) return;
      this.#state = 'finished';
      logger.info(
        {
          event: 'replay_finished',
          quotes_sent: this.#quotesSent,
          files: files.length,
          skipped_lines: this.#reader.skippedLines,
          data_time: isoTime(this.#positionMs),
        },
        `replay finished: ${this.#quotesSent} quotes from ${files.length} files`,
      );
    } catch (error) {
      const file = files[this.#reader.fileIndex] ?? '';
      this.#fail(file, this.#reader.line + 1, `the file cannot be read: ${errorMessage(error)}`);
    } finally {
      this.#stopProgress();
      if (this.#stopRequested && (this.#state === 'running' || this.#state === 'paused')) {
        this.#state = 'stopped';
      }
      this.#next = undefined;
      this.#endStepAtEnd();
    }
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
    const count = await this.#awaitTurn(batch);
    if (count === undefined) return false;
    const quotes = batch.quotes.splice(0, count);
    const sources = batch.sources.splice(0, count);
    const bars = batch.bars.splice(0, count).filter((bar) => bar !== undefined);
    this.#options.clock.setReplay(batch.timeMs);
    this.#pacing.handedOver();
    try {
      await (bars.length > 0 ? sink(quotes, bars) : sink(quotes));
    } catch (error) {
      const source = sources[0];
      const file = this.#options.files[source?.file ?? this.#reader.fileIndex] ?? '';
      this.#fail(
        file,
        source?.line ?? this.#reader.line,
        `the quotes at ${new Date(batch.timeMs).toISOString()} could not be applied: ${errorMessage(error)}`,
      );
      return false;
    }
    this.#positionMs = Math.max(this.#positionMs ?? batch.timeMs, batch.timeMs);
    this.#pacing.reached(batch.timeMs);
    this.#quotesSent += quotes.length;
    if (batch.quotes.length === 0) this.#batchesSent++;
    this.#progress.delivered(sources);
    if (this.#step?.took(quotes.length) === true) this.#endStep(undefined);
    return true;
  }

  /**
   * Waits until the batch may go: a step lets (some of) it through, or, running, its time is due. How
   * many of its quotes go; undefined when the replay is stopped.
   */
  async #awaitTurn(batch: ReplayBatch): Promise<number | undefined> {
    for (;;) {
      if (this.#stopRequested) return undefined;
      const step = this.#step;
      if (step !== undefined) {
        const allowed = step.allowance(batch.timeMs, this.#positionMs, batch.quotes.length);
        if ('quotes' in allowed) return allowed.quotes;
        this.#endStep(allowed.windowEndMs);
        continue;
      }
      if (this.#state === 'paused') {
        await this.#pacing.nextChange();
        continue;
      }
      const waitMs = this.#pacing.waitMs(batch.timeMs);
      if (waitMs <= 0) return batch.quotes.length;
      await this.#pacing.nextChange(waitMs);
    }
  }

  /** Ends the step in progress; a step by seconds moves the replay (and the clock) to its window's end. */
  #endStep(untilMs: number | undefined): void {
    const step = this.#step;
    if (step === undefined) return;
    this.#step = undefined;
    if (untilMs !== undefined) {
      this.#options.clock.setReplay(untilMs);
      this.#positionMs = Math.max(this.#positionMs ?? untilMs, untilMs);
    }
    // Pacing after a resume counts from the end of the step, not from before it.
    this.#pacing.stepEnded(untilMs === undefined ? undefined : this.#positionMs);
    step.finish();
  }

  /** Ends a step the replay's end overtook. */
  #endStepAtEnd(): void {
    const step = this.#step;
    if (step === undefined) return;
    this.#step = undefined;
    step.finishAtEnd(stepRefusal(this.#state, this.#started, false, this.#lastError));
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
    const percent = this.#progress.percent(false);
    const skippedLines = this.#reader.skippedLines;
    this.#options.logger.info(
      {
        event: 'replay_progress',
        percent,
        data_time: dataTime,
        quotes_sent: this.#quotesSent,
        skipped_lines: skippedLines,
      },
      `replay ${percent}% applied: data time ${dataTime ?? 'not yet'}, ${this.#quotesSent} quotes sent, ` +
        `${skippedLines} lines skipped`,
    );
  }

  #stopProgress(): void {
    clearInterval(this.#progressTimer);
    this.#progressTimer = undefined;
  }
}

/** Each file's size; checked up front so that a typo in a path fails at start-up, not minutes into a replay. */
function fileSizes(files: readonly string[]): number[] {
  return files.map((file) => {
    let stats;
    try {
      stats = statSync(file);
    } catch (error) {
      throw new Error(`replay file ${file} cannot be read: ${errorMessage(error)}`, { cause: error });
    }
    if (!stats.isFile()) throw new Error(`replay file ${file} is not a file`);
    return stats.size;
  });
}

function isoTime(timeMs: number | undefined): string | null {
  return timeMs === undefined ? null : new Date(timeMs).toISOString();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
