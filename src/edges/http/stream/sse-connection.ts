/**
 * A Server-Sent Events connection: the stream sink (application/streaming/stream-sink.ts) written
 * straight onto the raw HTTP response. Written by hand rather than with a plugin: the format is
 * four line types (`id:`, `event:`, `data:`, `:` comments), and the flow control below (ready
 * threshold, hard cut-off, heartbeats, shutdown) is the part that matters and no plugin offers.
 *
 * - Each message is `id: <n>` (account streams only), `event: <type>`, `data: <one JSON line>`.
 * - A comment line (`: heartbeat`) goes out every heartbeat interval, so proxies and clients see
 *   a live connection.
 * - Flow control: the sink is ready while the response needs no drain (Node's high-water mark,
 *   16 KiB); a message that would take what the client has not read past `bufferBytes` is not
 *   sent: the client gets a final `error` event (`slow_consumer`) and the connection closes.
 *   Memory per connection is thus bounded by `bufferBytes` plus one message.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply } from 'fastify';
import type { StreamMessage } from '../../../application/streaming/stream-sink.ts';
import type { ErrorCode } from '../../../application/errors.ts';
import { FINAL_MESSAGE_GRACE_MS, StreamConnection, type StreamLimits } from './stream-connection.ts';
import { toWireMessage } from './stream-format.ts';

export class SseConnection extends StreamConnection {
  readonly #raw: ServerResponse;
  readonly #socket: Socket | null;
  protected readonly resumeHint = 'reconnect with Last-Event-ID to resume';

  /** Takes over the reply (Fastify sends nothing more) and sends the stream's headers. */
  constructor(reply: FastifyReply, limits: StreamLimits) {
    super(limits);
    reply.hijack();
    this.#raw = reply.raw;
    this.#socket = reply.raw.socket;
    // The connection is the stream's: it closes when the stream ends, never kept alive for reuse.
    this.#raw.shouldKeepAlive = false;
    this.#raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-request-id': reply.request.id,
      // Proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    this.#raw.write(': connected\n\n');
    this.#raw.on('close', () => this.markClosed());
  }

  protected heartbeat(): void {
    if (!this.cutOffIfBehind()) this.#raw.write(': heartbeat\n\n');
  }

  protected encode(message: StreamMessage): string {
    const wire = toWireMessage(message);
    return `${wire.id === undefined ? '' : `id: ${wire.id}\n`}event: ${wire.event}\ndata: ${JSON.stringify(wire.data)}\n\n`;
  }

  protected unreadBytes(): number {
    return this.#raw.writableLength;
  }

  protected write(text: string): void {
    this.#raw.write(text);
  }

  isReady(): boolean {
    return !this.closed && !this.#raw.writableNeedDrain;
  }

  ready(): Promise<void> {
    if (this.isReady() || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#raw.off('drain', done);
        this.#raw.off('close', done);
        resolve();
      };
      this.#raw.on('drain', done);
      this.#raw.on('close', done);
    });
  }

  /** Sends a final `error` event saying why, then closes the stream. */
  fail(error: ErrorCode, msg: string): void {
    if (this.closed) return;
    this.#raw.write(`event: error\ndata: ${JSON.stringify({ type: 'error', error, msg })}\n\n`);
    this.#raw.end();
    // A client that reads nothing would hold the socket (and what it has not read) until it
    // times out: the final message gets a moment, then the socket goes.
    const socket = this.#socket;
    if (socket) setTimeout(() => socket.destroy(), FINAL_MESSAGE_GRACE_MS).unref();
    this.markClosed();
  }
}
