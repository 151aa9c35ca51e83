/**
 * What a stream delivers and where: the messages of the account and quote streams, and the sink
 * an edge connection (SSE or WebSocket) implements to receive them.
 *
 * Flow control: a sink has a small `ready` threshold and a hard limit. Catch-up from storage
 * waits until the sink is ready before each message, so it never buffers more than the threshold
 * and one message; live events are sent at once, and a consumer that lets them pile up past the
 * hard limit is cut off (`send` answers false, having told the client why). Quotes are conflated
 * instead: only the latest per ticker waits, so they never cut anyone off.
 */
import type { EngineEvent } from '../../engine/engine.ts';
import type { Quote } from '../../engine/model.ts';

export type StreamMessage =
  /** An account subscription has started: events after `lastId` follow, in id order. */
  | { kind: 'subscribed'; accountId: string; lastId: number }
  | { kind: 'event'; event: EngineEvent }
  /** Events the client asked for are gone: it resynchronises through the REST API, then reads on. */
  | { kind: 'reset'; accountId: string; oldestId: number | undefined; lastId: number; message: string }
  | { kind: 'quote'; quote: Quote };

export interface StreamSink {
  /** Sends a message; false when the consumer is too far behind, the sink then being closed. */
  send(message: StreamMessage): boolean;
  /** True when the consumer has read enough for more to be sent now. */
  isReady(): boolean;
  /** Resolves when the sink is ready again, or closed. */
  ready(): Promise<void>;
  readonly closed: boolean;
}
