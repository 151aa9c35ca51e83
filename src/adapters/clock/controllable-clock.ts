/**
 * The server's clock: real time by default, manual (set and advanced through the admin API), or
 * replay (driven by the timestamps of a replayed data file).
 *
 * Time never runs backwards: setting a manual time earlier than now, or switching back to real
 * time while the manual clock is ahead of it, is refused.
 */
import type { Clock } from '../../application/ports.ts';

export type ClockMode = 'real' | 'manual' | 'replay';

export class ClockError extends Error {}

export class ControllableClock implements Clock {
  #mode: ClockMode = 'real';
  #manualMs = 0;
  readonly #wallMs: () => number;

  constructor(wallMs: () => number = Date.now) {
    this.#wallMs = wallMs;
  }

  get mode(): ClockMode {
    return this.#mode;
  }

  nowMs(): number {
    return this.#mode === 'real' ? this.#wallMs() : this.#manualMs;
  }

  /** Replay mode: time is the timestamp of the data being replayed; it never moves backwards. */
  setReplay(nowMs: number): void {
    if (this.#mode !== 'replay') {
      this.#mode = 'replay';
      this.#manualMs = nowMs;
      return;
    }
    this.#manualMs = Math.max(this.#manualMs, nowMs);
  }

  setManual(nowMs: number): void {
    if (this.#mode === 'replay') throw new ClockError('the clock follows the replay feed and cannot be set');
    if (!Number.isFinite(nowMs) || nowMs < 0) throw new ClockError('now must be a Unix time in seconds');
    const current = this.nowMs();
    // Times come in whole seconds: the current second is "now", not the past.
    if (nowMs < Math.floor(current / 1000) * 1000) {
      throw new ClockError(
        `the clock cannot go backwards: ${Math.floor(nowMs / 1000)} is before now (${Math.floor(current / 1000)})`,
      );
    }
    this.#manualMs = Math.max(nowMs, current);
    this.#mode = 'manual';
  }

  advance(ms: number): void {
    if (this.#mode === 'replay')
      throw new ClockError('the clock follows the replay feed and cannot be advanced');
    if (this.#mode !== 'manual')
      throw new ClockError('the clock is in real mode: set it to manual before advancing it');
    if (!Number.isFinite(ms) || ms <= 0) throw new ClockError('seconds must be greater than 0');
    this.#manualMs += ms;
  }

  setReal(): void {
    if (this.#mode === 'replay')
      throw new ClockError('the clock follows the replay feed and cannot be switched');
    if (this.#mode === 'manual' && this.#manualMs > this.#wallMs()) {
      throw new ClockError(
        'the manual clock is ahead of real time: switching back would move time backwards',
      );
    }
    this.#mode = 'real';
  }
}
