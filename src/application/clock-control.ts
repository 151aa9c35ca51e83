/**
 * Who may move the clock, and where it starts: the operator's clock use cases.
 *
 * Rules:
 * - A database with no trading history (fresh, or after a reset) accepts any time, forwards or
 *   backwards. Once history exists, time never moves back over it; the refusal says how to get
 *   there (a reset or a fresh database).
 * - Every change is stored before it is acknowledged, so a restart resumes the same timeline (a
 *   running clock keeps running while the server is down, as real time does).
 * - At start-up the stored clock is resumed, then the start-up settings (`--clock`,
 *   `--clock-start`, `--clock-speed`) are applied like any other change. A start time that already
 *   began the stored timeline is not applied again, so restarting with the same command resumes
 *   the clock instead of sending it back to where it started.
 * - After a move, time-driven work (expirations, stop-out) runs before the change is answered.
 */
import { invalid } from './errors.ts';
import {
  ClockBackwardsError,
  ClockError,
  nowSeconds,
  type ClockMode,
  type ClockSnapshot,
  type ClockTarget,
  type SettableClock,
  type SettableClockMode,
} from './ports.ts';

export const CLOCK_SETTING = 'clock';

/** How the operator asked the clock to start; undefined fields keep the stored clock's. */
export interface ClockStart {
  mode?: SettableClockMode | undefined;
  /** Where a manual or running clock starts, in milliseconds; undefined: the current time. */
  startMs?: number | undefined;
  /** Clock seconds per real second, for a running clock. */
  speed?: number | undefined;
}

export const RESUME_STORED_CLOCK: ClockStart = {};

export interface ClockView {
  mode: ClockMode;
  /** Unix seconds. */
  now: number;
  speed: number;
}

export interface ClockControlOptions {
  clock: SettableClock;
  settings: {
    getSetting(key: string): Promise<string | undefined>;
    setSetting(key: string, value: string): Promise<void>;
  };
  /** Whether any order, deal, fill or ledger entry beyond an opening deposit exists. */
  hasTradingHistory: () => Promise<boolean>;
  /** Time-driven work, run after every move. */
  afterMove: () => Promise<void>;
}

/** What is stored: the clock, and the start-up time that began its timeline, if any. */
interface StoredClock {
  snapshot: ClockSnapshot;
  originMs: number | undefined;
}

export class ClockControl {
  readonly #clock: SettableClock;
  readonly #options: ClockControlOptions;
  #originMs: number | undefined;

  constructor(options: ClockControlOptions) {
    this.#clock = options.clock;
    this.#options = options;
  }

  view(): ClockView {
    return { mode: this.#clock.mode, now: nowSeconds(this.#clock), speed: this.#clock.speed };
  }

  /**
   * Resumes the stored clock, then applies the start-up settings. Throws an AppError whose message
   * names the setting at fault when they are inconsistent or would move time back over history.
   */
  async start(start: ClockStart): Promise<void> {
    const text = await this.#options.settings.getSetting(CLOCK_SETTING);
    const stored = text === undefined ? undefined : parseStoredClock(text);
    if (stored) {
      this.#clock.restore(stored.snapshot);
      this.#originMs = stored.originMs;
    }
    const target = startTarget(start, stored?.originMs);
    if (target === undefined || this.#isCurrent(target)) return;
    await this.#move(target);
    if (start.startMs !== undefined) this.#originMs = start.startMs;
    await this.#store();
  }

  /** `PUT /admin/v1/clock`. */
  async set(target: ClockTarget): Promise<void> {
    await this.#move(target);
    await this.#store();
    await this.#options.afterMove();
  }

  /** `POST /admin/v1/clock/advance`. */
  async advance(ms: number): Promise<void> {
    try {
      this.#clock.advance(ms);
    } catch (error) {
      if (error instanceof ClockError) throw invalid(error.message);
      throw error;
    }
    await this.#store();
    await this.#options.afterMove();
  }

  /**
   * Applies a change, backwards only while there is no trading history; the history is looked up
   * only when the clock refuses to go back.
   */
  async #move(target: ClockTarget): Promise<void> {
    try {
      try {
        this.#clock.set(target, { backwards: false });
      } catch (error) {
        if (!(error instanceof ClockBackwardsError) || (await this.#options.hasTradingHistory())) throw error;
        this.#clock.set(target, { backwards: true });
      }
    } catch (error) {
      if (error instanceof ClockError) throw invalid(error.message);
      throw error;
    }
  }

  /** A start-up target that names no time and matches the resumed clock changes nothing. */
  #isCurrent(target: ClockTarget): boolean {
    if (target.mode !== this.#clock.mode) return false;
    if (target.mode === 'real') return true;
    if (target.nowMs !== undefined) return false;
    return target.mode === 'manual' || (target.speed ?? 1) === this.#clock.speed;
  }

  async #store(): Promise<void> {
    const stored: StoredClock = { snapshot: this.#clock.snapshot(), originMs: this.#originMs };
    await this.#options.settings.setSetting(
      CLOCK_SETTING,
      JSON.stringify({
        ...stored.snapshot,
        ...(stored.originMs === undefined ? {} : { originMs: stored.originMs }),
      }),
    );
  }
}

/**
 * The change the start-up settings ask for, or undefined to resume the stored clock as it is. A
 * start time that began the stored timeline is not applied again.
 */
function startTarget(start: ClockStart, originMs: number | undefined): ClockTarget | undefined {
  if (start.mode === 'real') {
    if (start.startMs !== undefined)
      throw invalid('--clock-start needs --clock manual or running: a real clock starts now');
    if (start.speed !== undefined) throw invalid('--clock-speed needs --clock running');
    return { mode: 'real' };
  }
  const mode = start.mode ?? (start.startMs === undefined ? undefined : 'running');
  if (mode === undefined) {
    if (start.speed !== undefined) throw invalid('--clock-speed needs --clock running');
    return undefined;
  }
  if (mode === 'manual' && start.speed !== undefined)
    throw invalid('--clock-speed needs --clock running: a manual clock stands still');
  const nowMs = start.startMs === undefined || start.startMs === originMs ? {} : { nowMs: start.startMs };
  return mode === 'manual' ? { mode, ...nowMs } : { mode, ...nowMs, speed: start.speed ?? 1 };
}

function parseStoredClock(text: string): StoredClock | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { mode, nowMs, wallMs, speed, originMs } = value as Record<string, unknown>;
  const time = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  const origin = time(originMs) ? originMs : undefined;
  if (mode === 'real') return { snapshot: { mode }, originMs: origin };
  if (mode === 'manual' && time(nowMs)) return { snapshot: { mode, nowMs }, originMs: origin };
  if (mode === 'running' && time(nowMs) && time(wallMs) && time(speed) && speed > 0)
    return { snapshot: { mode, nowMs, wallMs, speed }, originMs: origin };
  return undefined;
}
