/**
 * The server's clock, in one of four modes:
 * - `real`: the machine's time;
 * - `manual`: frozen at a set time, moved only by `advance`;
 * - `running`: starts at a chosen time and runs at `speed` times real speed (a real clock with an
 *   offset and a rate);
 * - `replay`: the timestamps of a replayed data file.
 *
 * Whether time may move backwards is the caller's decision (`backwards`): the application allows it
 * only while the database has no trading history. Without it, a change that would move the clock
 * before the current second is refused with a ClockError, and the clock is left as it was.
 * `snapshot()` and `restore()` carry a clock across restarts; a running clock keeps running while
 * the server is down, as real time does.
 */
import {
  ClockBackwardsError,
  ClockError,
  type ClockMode,
  type ClockSnapshot,
  type ClockTarget,
  type SettableClock,
  type SettableClockMode,
} from '../../application/ports.ts';

/** The fastest a running clock may go: a year of clock time in about half a minute. */
export const MAX_CLOCK_SPEED = 1_000_000;

export class ControllableClock implements SettableClock {
  #mode: ClockMode = 'real';
  /** Manual and replay: the time. Running: the time at `#anchorWallMs`. */
  #timeMs = 0;
  #anchorWallMs = 0;
  #speed = 1;
  readonly #wallMs: () => number;

  constructor(wallMs: () => number = Date.now) {
    this.#wallMs = wallMs;
  }

  get mode(): ClockMode {
    return this.#mode;
  }

  /** Clock seconds per real second: 0 when frozen (manual, or replay between quotes). */
  get speed(): number {
    if (this.#mode === 'real') return 1;
    return this.#mode === 'running' ? this.#speed : 0;
  }

  nowMs(): number {
    switch (this.#mode) {
      case 'real':
        return this.#wallMs();
      case 'running':
        return Math.floor(this.#timeMs + (this.#wallMs() - this.#anchorWallMs) * this.#speed);
      default:
        return this.#timeMs;
    }
  }

  /** Replay mode: time is the timestamp of the data being replayed; it never moves backwards. */
  setReplay(nowMs: number): void {
    if (this.#mode !== 'replay') {
      this.#mode = 'replay';
      this.#timeMs = nowMs;
      return;
    }
    this.#timeMs = Math.max(this.#timeMs, nowMs);
  }

  /**
   * Moves the clock to `target`. Refused (ClockError, nothing changed) in replay mode, for a bad
   * time or speed, and, unless `backwards`, when the new time is before the current second.
   */
  set(target: ClockTarget, { backwards }: { backwards: boolean }): void {
    if (this.#mode === 'replay') throw new ClockError('the clock follows the replay feed and cannot be set');
    const current = this.nowMs();
    const targetMs = target.mode === 'real' ? this.#wallMs() : (target.nowMs ?? current);
    if (!Number.isFinite(targetMs) || targetMs < 0)
      throw new ClockError('now must be a Unix time in seconds');
    const speed = target.mode === 'running' ? (target.speed ?? 1) : 1;
    if (!(speed > 0 && speed <= MAX_CLOCK_SPEED))
      throw new ClockError(`speed must be greater than 0 and at most ${MAX_CLOCK_SPEED}`);
    // Times come in whole seconds: the current second is "now", not the past.
    const earliest = Math.floor(current / 1000) * 1000;
    if (!backwards && targetMs < earliest)
      throw new ClockBackwardsError(backwardsMessage(target.mode, targetMs, current));
    // Within the current second, keep the clock where it is rather than a few milliseconds back.
    const nowMs = backwards ? targetMs : Math.max(targetMs, current);
    this.#mode = target.mode;
    this.#timeMs = nowMs;
    this.#anchorWallMs = this.#wallMs();
    this.#speed = speed;
  }

  /** Moves a manual or running clock forwards by `ms`. */
  advance(ms: number): void {
    if (this.#mode === 'replay')
      throw new ClockError('the clock follows the replay feed and cannot be advanced');
    if (this.#mode === 'real')
      throw new ClockError('the clock is in real mode: set it to manual or running before advancing it');
    if (!Number.isFinite(ms) || ms <= 0) throw new ClockError('seconds must be greater than 0');
    this.#timeMs += ms;
  }

  /** The state to store; `restore` of it resumes the same timeline. */
  snapshot(): ClockSnapshot {
    switch (this.#mode) {
      case 'manual':
      case 'replay':
        // A replay clock is rebuilt from its data, so only its time is worth keeping.
        return { mode: 'manual', nowMs: this.#timeMs };
      case 'running':
        return { mode: 'running', nowMs: this.#timeMs, wallMs: this.#anchorWallMs, speed: this.#speed };
      case 'real':
        return { mode: 'real' };
    }
  }

  /** Resumes a stored clock. A running clock continues as if the server had never stopped. */
  restore(snapshot: ClockSnapshot): void {
    this.#mode = snapshot.mode;
    if (snapshot.mode === 'real') return;
    this.#timeMs = snapshot.nowMs;
    if (snapshot.mode === 'running') {
      this.#anchorWallMs = snapshot.wallMs;
      this.#speed = snapshot.speed;
    }
  }
}

/** ISO 8601 and Unix seconds, as a person and a script would each read a time. */
export function describeTime(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')} (${seconds})`;
}

function backwardsMessage(mode: SettableClockMode, targetMs: number, currentMs: number): string {
  const what =
    mode === 'real'
      ? `switching to real time would move it back to ${describeTime(targetMs)}`
      : `${describeTime(targetMs)} is before now, ${describeTime(currentMs)}`;
  return (
    `the clock cannot go backwards: ${what}. This database has trading history, and time never ` +
    'moves back over it; to go back in time, reset the accounts (POST /admin/v1/reset, or ' +
    '`stockstrader admin reset`) or start on a fresh database'
  );
}
