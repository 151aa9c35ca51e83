/**
 * When the next replay batch is due in wall time, and the wait for it, which a pause, resume, step or
 * stop cuts short.
 *
 * Timing: at `speed` s data seconds per wall second, a batch is due (Δdata / speed) wall ms after the
 * previous batch was handed to the sink, so a slow sink delays the next batch without accumulating a
 * debt to catch up on. Speed 0 delivers as fast as the sink allows. Paused time does not count towards
 * the wait, and after a step the wait counts from the step's end. Wall time is `performance.now`, so a
 * wall-clock step neither freezes nor rushes a replay.
 */
import { performance } from 'node:perf_hooks';

/** setTimeout takes at most a signed 32-bit delay; longer waits are slept in slices. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ReplayPacing {
  readonly #speed: number;
  /** The data time and wall time the wait for the next batch counts from. */
  #paceDataMs: number | undefined;
  #paceWallMs = 0;
  #pausedAtWallMs: number | undefined;
  /** Resolvers of everything waiting for a pause, resume, step or stop (sleeps and the pause gate). */
  readonly #waiters = new Set<() => void>();

  /** `speed`: data seconds per wall second; 0 replays as fast as the sink allows. */
  constructor(speed: number) {
    this.#speed = speed;
  }

  /** Wall ms until a batch at `timeMs` is due, at most one timer's worth; 0 or less when it is due. */
  waitMs(timeMs: number): number {
    if (this.#speed === 0 || this.#paceDataMs === undefined) return -Infinity;
    const dueWallMs = this.#paceWallMs + (timeMs - this.#paceDataMs) / this.#speed;
    return Math.min(dueWallMs - performance.now(), MAX_TIMER_MS);
  }

  /** A batch is being handed to the sink now: the next wait counts from here. */
  handedOver(): void {
    this.#paceWallMs = performance.now();
  }

  /** The sink has taken the batch at `timeMs`: the next wait counts from that data time. */
  reached(timeMs: number): void {
    this.#paceDataMs = timeMs;
  }

  /** A step has ended at data time `positionMs` (when it moved the replay): the wait restarts now. */
  stepEnded(positionMs: number | undefined): void {
    if (positionMs !== undefined) this.#paceDataMs = positionMs;
    this.#paceWallMs = performance.now();
    if (this.#pausedAtWallMs !== undefined) this.#pausedAtWallMs = this.#paceWallMs;
  }

  paused(): void {
    this.#pausedAtWallMs = performance.now();
  }

  /** The time spent paused is added to the wait's start, so it does not count. */
  resumed(): void {
    if (this.#pausedAtWallMs !== undefined) this.#paceWallMs += performance.now() - this.#pausedAtWallMs;
    this.#pausedAtWallMs = undefined;
  }

  /** Resolves on the next `notify` (a pause, resume, step or stop), or after `timeoutMs` when given. */
  nextChange(timeoutMs?: number): Promise<void> {
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

  notify(): void {
    for (const done of [...this.#waiters]) done();
  }
}
