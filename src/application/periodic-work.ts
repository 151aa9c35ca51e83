/**
 * Time-driven work: once a second, orders past their expiry are expired and stop-outs are
 * checked (TradingService.tick). Only one process of a cluster runs it (see Leadership); a clock
 * move runs the same work at once (ClockControl). A failed run is logged, and the next runs on.
 */
import type { Logger } from './ports.ts';

export const TICK_MS = 1_000;

export interface TimedWork {
  tick(): Promise<void>;
}

export class PeriodicWork {
  readonly #work: TimedWork;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(work: TimedWork, logger: Logger) {
    this.#work = work;
    this.#logger = logger;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#work.tick().catch((error: unknown) => this.#logger.error({ err: error }, 'periodic tick failed'));
    }, TICK_MS);
    // The timer alone does not keep the process alive.
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
