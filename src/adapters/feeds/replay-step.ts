/**
 * Steps through a paused replay: what a step asks for, how much of each batch it lets through, and
 * when a step is refused.
 *
 * A step delivers the next n quotes (splitting a same-time batch if need be), or every quote up to s
 * data seconds past the replay's position; the window's end is fixed when the step meets its first
 * batch. A step waits for no wall time, whatever the speed. One step runs at a time, and only while
 * paused.
 */
import type { FeedState, FeedStep, FeedStepOutcome } from '../../application/ports.ts';

/** What a step covers: a number of quotes, or a window of data milliseconds. */
export interface StepLimit {
  quotes: number | undefined;
  windowMs: number | undefined;
}

/** The limit a step request asks for; throws a RangeError for a request that asks for nothing. */
export function stepLimit(request: FeedStep): StepLimit {
  if ('quotes' in request) {
    if (!Number.isSafeInteger(request.quotes) || request.quotes < 1)
      throw new RangeError('a step needs a whole number of quotes, 1 or more');
    return { quotes: request.quotes, windowMs: undefined };
  }
  const windowMs = Math.round(request.seconds * 1000);
  if (!Number.isSafeInteger(windowMs) || windowMs < 1)
    throw new RangeError('a step needs at least one millisecond of data time');
  return { quotes: undefined, windowMs };
}

/** Why a step cannot start now, or undefined when it can. */
export function stepRefusal(
  state: FeedState,
  started: boolean,
  stepping: boolean,
  lastError: string | null,
): string | undefined {
  switch (state) {
    case 'running':
      return 'the replay is running: pause it (POST /admin/v1/feed/pause) before stepping';
    case 'finished':
      return 'the replay has finished: no data is left to step through';
    case 'failed':
      return `the replay has failed: ${lastError ?? 'unknown error'}`;
    case 'stopped':
    case 'standby':
      return started ? 'the replay has stopped' : 'the replay has not started';
    case 'paused':
      return stepping ? 'a step is already under way: wait for its answer' : undefined;
  }
}

/** A step in progress, resolved with its outcome when it ends. */
export class ReplayStep {
  /** Quotes still to deliver, for a step by quotes. */
  #quotesLeft: number | undefined;
  /** Data milliseconds to cover, for a step by seconds. */
  readonly #windowMs: number | undefined;
  /** End of the window, fixed when the step meets its first batch. */
  #untilMs: number | undefined;
  #delivered = 0;
  readonly #resolve: (outcome: FeedStepOutcome) => void;

  constructor(limit: StepLimit, resolve: (outcome: FeedStepOutcome) => void) {
    this.#quotesLeft = limit.quotes;
    this.#windowMs = limit.windowMs;
    this.#resolve = resolve;
  }

  /**
   * How many of the `count` quotes of the batch at `timeMs` the step lets through, counting the window
   * from `positionMs` (or, before any delivery, from the batch); or the window's end when the batch lies
   * past it.
   */
  allowance(
    timeMs: number,
    positionMs: number | undefined,
    count: number,
  ): { quotes: number } | { windowEndMs: number } {
    if (this.#windowMs !== undefined) {
      this.#untilMs ??= (positionMs ?? timeMs) + this.#windowMs;
      if (timeMs > this.#untilMs) return { windowEndMs: this.#untilMs };
    }
    return { quotes: this.#quotesLeft === undefined ? count : Math.min(count, this.#quotesLeft) };
  }

  /** Counts quotes the sink has taken; true when the step has delivered all it asked for. */
  took(count: number): boolean {
    this.#delivered += count;
    if (this.#quotesLeft === undefined) return false;
    this.#quotesLeft -= count;
    return this.#quotesLeft <= 0;
  }

  /** Answers the step with what it delivered. */
  finish(): void {
    this.#resolve({ delivered: this.#delivered });
  }

  /** Answers a step the replay's end overtook: what it delivered counts; if nothing, it is refused. */
  finishAtEnd(refusal: string | undefined): void {
    this.#resolve(
      this.#delivered > 0
        ? { delivered: this.#delivered }
        : { refused: refusal ?? 'the replay has ended: no data is left to step through' },
    );
  }
}
