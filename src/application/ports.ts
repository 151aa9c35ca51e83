/**
 * Ports of the application layer. Adapters implement them; the engine never sees them.
 */
import type { ChangeSet } from '../engine/engine.ts';
import type { Quote } from '../engine/model.ts';
import type { FeedBar } from './market-data/candles.ts';

/** The only source of time. Real, manual or replay-driven. */
export interface Clock {
  /** Milliseconds since the Unix epoch, in the clock's timeline. */
  nowMs(): number;
}

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.nowMs() / 1000);
}

export type ClockMode = 'real' | 'manual' | 'running' | 'replay';
export type SettableClockMode = Exclude<ClockMode, 'replay'>;

/** Where to set the clock; `nowMs` defaults to the current clock time. */
export type ClockTarget =
  { mode: 'real' } | { mode: 'manual'; nowMs?: number } | { mode: 'running'; nowMs?: number; speed?: number };

/** A clock's state as stored. A running clock is anchored: at wall time `wallMs` it read `nowMs`. */
export type ClockSnapshot =
  | { mode: 'real' }
  | { mode: 'manual'; nowMs: number }
  | { mode: 'running'; nowMs: number; wallMs: number; speed: number };

/** A clock refused a change; the message says why. */
export class ClockError extends Error {}
/** The change would move the clock before the current second. */
export class ClockBackwardsError extends ClockError {}

/** A clock the operator sets: the application decides whether a change may move time backwards. */
export interface SettableClock extends Clock {
  readonly mode: ClockMode;
  /** Clock seconds per real second: 0 when frozen. */
  readonly speed: number;
  /** Throws ClockError and changes nothing when refused. */
  set(target: ClockTarget, options: { backwards: boolean }): void;
  advance(ms: number): void;
  snapshot(): ClockSnapshot;
  restore(snapshot: ClockSnapshot): void;
}

/**
 * Where a feed delivers quotes. Resolves once the quotes' consequences (fills) are durable. A feed
 * replaying bars passes, with a bar's first quote, the bar itself: charts show the bar (with its
 * volume), not the quotes made of it.
 */
export type QuoteSink = (quotes: readonly Quote[], bars?: readonly FeedBar[]) => Promise<void>;

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

/** What a paused feed delivers in one step: the next n quotes, or the next s seconds of data time. */
export type FeedStep = { quotes: number } | { seconds: number };

/** A step's result: how many quotes it delivered (applied and durable), or why it was refused. */
export type FeedStepOutcome = { delivered: number } | { refused: string };

/** A source of market data. Pausing and stepping are optional: a feed without them cannot do them. */
export interface Feed {
  readonly name: string;
  /**
   * Starts delivering. A feed that publishes quotes at once (the simulator's opening quotes)
   * returns a promise that resolves when they have been delivered; the server is ready only then.
   */
  start(sink: QuoteSink): void | Promise<void>;
  /**
   * The instruments such a feed has quoted once `start` resolves. A process whose feed runs on
   * another process (shared PostgreSQL) is ready once it shows a quote for each.
   */
  openingTickers?(): readonly string[];
  stop(): Promise<void>;
  status(): FeedStatus;
  pause?(): void;
  resume?(): void;
  /** Resolves once the step's quotes have gone through the sink; the feed stays paused. */
  step?(request: FeedStep): Promise<FeedStepOutcome>;
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
