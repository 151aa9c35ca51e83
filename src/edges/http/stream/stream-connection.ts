/**
 * What the two transports share (sse-connection.ts, ws-connection.ts): the stream sink's
 * bookkeeping (closed once, close handlers run once, whoever closes), the heartbeat timer, and the
 * bounded buffer: a message that would leave more than `bufferBytes` unread is not sent; the
 * client gets a final `slow_consumer` error and the connection closes, so one slow client never
 * grows the server's memory beyond `bufferBytes` plus one message.
 */
import type { ErrorCode } from '../../../application/errors.ts';
import type { StreamMessage, StreamSink } from '../../../application/streaming/stream-sink.ts';

export interface StreamLimits {
  /** Milliseconds between heartbeats. */
  heartbeatMs: number;
  /** Bytes a client may leave unread before it is cut off. */
  bufferBytes: number;
}

/** How long a closing connection waits for its final message to be read before it is cut. */
export const FINAL_MESSAGE_GRACE_MS = 1_000;

export abstract class StreamConnection implements StreamSink {
  protected readonly limits: StreamLimits;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #closeHandlers: (() => void)[] = [];
  #closed = false;

  protected constructor(limits: StreamLimits) {
    this.limits = limits;
    this.#heartbeat = setInterval(() => {
      if (!this.#closed) this.heartbeat();
    }, limits.heartbeatMs);
    this.#heartbeat.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs when the connection ends, whoever ends it. */
  onClose(handler: () => void): void {
    if (this.#closed) handler();
    else this.#closeHandlers.push(handler);
  }

  send(message: StreamMessage): boolean {
    if (this.#closed) return false;
    const text = this.encode(message);
    if (this.unreadBytes() + text.length > this.limits.bufferBytes) {
      this.fail('slow_consumer', `${this.#tooSlow()}; ${this.resumeHint}`);
      return false;
    }
    this.write(text);
    return true;
  }

  /** Whether more than the buffer is waiting (a heartbeat's check): then the client is cut off. */
  protected cutOffIfBehind(): boolean {
    if (this.unreadBytes() <= this.limits.bufferBytes) return false;
    this.fail('slow_consumer', this.#tooSlow());
    return true;
  }

  /** Marks the connection closed and runs the close handlers, once. */
  protected markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.released();
    for (const handler of this.#closeHandlers.splice(0)) handler();
  }

  #tooSlow(): string {
    return `the client read too slowly: over ${this.limits.bufferBytes} bytes were waiting`;
  }

  /** Runs every heartbeat interval while the connection is open. */
  protected abstract heartbeat(): void;
  /** How the client resumes after being cut off, in the transport's terms. */
  protected abstract readonly resumeHint: string;
  /** The message as the transport sends it. */
  protected abstract encode(message: StreamMessage): string;
  /** Bytes written that the client has not read yet. */
  protected abstract unreadBytes(): number;
  protected abstract write(text: string): void;
  /** Subscriptions and other resources to let go of when the connection ends. */
  protected released(): void {}
  abstract isReady(): boolean;
  abstract ready(): Promise<void>;
  /** Sends a final `error` message saying why, then closes the connection. */
  abstract fail(error: ErrorCode, msg: string): void;
}
