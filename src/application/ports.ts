/**
 * Ports of the application layer. Adapters implement them; the engine never sees them.
 */
import type { ChangeSet } from '../engine/engine.ts';
import type { Quote } from '../engine/model.ts';

/** The only source of time. Real, manual or replay-driven. */
export interface Clock {
  /** Milliseconds since the Unix epoch, in the clock's timeline. */
  nowMs(): number;
}

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.nowMs() / 1000);
}

/** Where a feed delivers quotes. Resolves once the quotes' consequences (fills) are durable. */
export type QuoteSink = (quotes: readonly Quote[]) => Promise<void>;

/**
 * `failing`: running, but its last requests all failed (an upstream that is down or refuses us);
 * `failed`: stopped by an error. Either makes the server not ready.
 */
export type FeedState = 'running' | 'failing' | 'paused' | 'finished' | 'stopped' | 'failed' | 'standby';

export interface FeedStatus {
  name: string;
  state: FeedState;
  /** Feed-specific figures: progress, request counts, back-off, last error… */
  detail: Record<string, string | number | boolean | null>;
}

/** A source of market data. Pausing is optional: a feed that cannot pause throws. */
export interface Feed {
  readonly name: string;
  /**
   * Starts delivering. A feed that publishes quotes at once (the simulator's opening quotes)
   * returns a promise that resolves when they have been delivered; the server is ready only then.
   */
  start(sink: QuoteSink): void | Promise<void>;
  stop(): Promise<void>;
  status(): FeedStatus;
  pause?(): void;
  resume?(): void;
}

/** Structured logging, pino-compatible. */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/** Receives what the trading service did, for metrics. Calls must be cheap and never throw. */
export interface TradingObserver {
  orderPlaced(): void;
  step(changes: ChangeSet): void;
  quotes(count: number): void;
}
