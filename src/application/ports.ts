/**
 * Ports of the application layer. Adapters implement them; the engine never sees them.
 */
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

/** A source of market data. */
export interface Feed {
  readonly name: string;
  start(sink: QuoteSink): void;
  stop(): Promise<void>;
}

/** Structured logging, pino-compatible. */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}
