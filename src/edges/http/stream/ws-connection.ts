/**
 * The WebSocket stream (`GET /stream/v1/ws`): one connection carries any of the user's accounts'
 * events and any tickers' quotes, chosen by `subscribe` / `unsubscribe` messages
 * (contract/stream-api.ts). Server messages are the SSE stream's JSON with `stream` added
 * (`account` or `quotes`; `control` for answers to the client's own messages).
 *
 * - A bad client message gets an `error` message (catalogue code and msg) and changes nothing;
 *   the connection stays open. Only a message over MAX_CLIENT_MESSAGE_BYTES closes it (by ws).
 * - Flow control as for SSE (sse-connection.ts), measured by the socket's `bufferedAmount`: a
 *   client that leaves more than `bufferBytes` unread gets a final `error` (`slow_consumer`) and
 *   the connection closes. Catch-up waits while more than READY_BYTES are unread.
 * - Heartbeat: a ping every interval; a client that has not answered the previous one is gone and
 *   its connection is terminated.
 */
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { Value } from '@sinclair/typebox/value';
import { AppError, type ErrorCode } from '../../../application/errors.ts';
import type { AccountSubscription } from '../../../application/streaming/account-subscription.ts';
import type { QuoteSubscription } from '../../../application/streaming/quote-subscription.ts';
import type { StreamMessage } from '../../../application/streaming/stream-sink.ts';
import { WsClientMessage } from '../../../contract/stream-api.ts';
import { StreamRoutes } from '../../../contract/stream-routes.ts';
import type { TypedApp } from '../typed-app.ts';
import { sendError } from '../error-handling.ts';
import { FINAL_MESSAGE_GRACE_MS, StreamConnection } from './stream-connection.ts';
import { streamTickers } from './sse-routes.ts';
import { toWireMessage } from './stream-format.ts';
import type { OpenStream, StreamRouteDeps } from './stream-routes.ts';

export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
const READY_BYTES = 16 * 1024;
const READY_POLL_MS = 20;
/** The most accounts one connection may subscribe to at once. */
const MAX_ACCOUNT_SUBSCRIPTIONS = 100;

export function webSocketRoute(
  app: TypedApp,
  deps: StreamRouteDeps,
  track: (stream: OpenStream & { onClose(handler: () => void): void }) => void,
): void {
  app.route({
    ...StreamRoutes.webSocket,
    // A plain GET (no upgrade) is answered here; an upgrade goes to wsHandler.
    handler: (_request, reply) => {
      void sendError(reply, 'invalid_request', 'this route needs a WebSocket upgrade (Upgrade: websocket)');
    },
    wsHandler: (socket, request) => {
      const connection = new WsConnection(socket, request, deps);
      track(connection);
    },
  });
}

type ClientMessage = (typeof WsClientMessage)['static'];

class WsConnection extends StreamConnection implements OpenStream {
  readonly #socket: WebSocket;
  readonly #request: FastifyRequest;
  readonly #deps: StreamRouteDeps;
  readonly #accounts = new Map<string, AccountSubscription | 'starting'>();
  #quotes: QuoteSubscription | undefined;
  #answered = true;
  protected readonly resumeHint = 'reconnect and resume with since';

  constructor(socket: WebSocket, request: FastifyRequest, deps: StreamRouteDeps) {
    super(deps.limits);
    this.#socket = socket;
    this.#request = request;
    this.#deps = deps;
    socket.on('message', (data, isBinary) => {
      // A handler that threw here would take the process down: nothing a client sends may.
      try {
        this.#onMessage(isBinary ? undefined : String(data));
      } catch (error) {
        request.log.error({ err: error }, 'stream message failed');
        this.#answer('invalid_request', 'the message could not be handled');
      }
    });
    socket.on('pong', () => (this.#answered = true));
    socket.on('close', () => this.markClosed());
    socket.on('error', () => this.markClosed());
  }

  protected encode(message: StreamMessage): string {
    const wire = toWireMessage(message);
    const stream = message.kind === 'quote' ? 'quotes' : 'account';
    return JSON.stringify({ stream, ...wire.data });
  }

  protected unreadBytes(): number {
    return this.#socket.bufferedAmount;
  }

  protected write(text: string): void {
    this.#socket.send(text);
  }

  isReady(): boolean {
    return !this.closed && this.#socket.bufferedAmount < READY_BYTES;
  }

  /** ws has no drain event of its own: the buffered amount is looked at a few times a second. */
  ready(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.closed || this.isReady()) resolve();
        else setTimeout(check, READY_POLL_MS).unref();
      };
      check();
    });
  }

  /** A final `error` message saying why, then the connection closes. */
  fail(error: ErrorCode, msg: string): void {
    if (this.closed) return;
    this.#socket.send(JSON.stringify({ stream: 'control', type: 'error', error, msg }));
    this.#socket.close(error === 'not_ready' ? 1001 : 1008, error);
    setTimeout(() => this.#socket.terminate(), FINAL_MESSAGE_GRACE_MS).unref();
    this.markClosed();
  }

  #answer(error: ErrorCode, msg: string, extra: Record<string, unknown> = {}): void {
    if (!this.closed)
      this.#socket.send(JSON.stringify({ stream: 'control', type: 'error', error, msg, ...extra }));
  }

  #onMessage(text: string | undefined): void {
    let message: unknown;
    try {
      message = text === undefined ? undefined : JSON.parse(text);
    } catch {
      message = undefined;
    }
    if (message === undefined) {
      this.#answer('invalid_request', 'a message must be one JSON object in a text frame');
      return;
    }
    if (!Value.Check(WsClientMessage, message)) {
      this.#answer(
        'invalid_request',
        'a message must be {"type":"subscribe"|"unsubscribe","account_id":"…","since"?:n} or {"type":"subscribe"|"unsubscribe","tickers":["…"]}',
      );
      return;
    }
    const parsed = message as ClientMessage;
    if ('tickers' in parsed) this.#onTickers(parsed.type, parsed.tickers);
    else void this.#onAccount(parsed.type, parsed.account_id, parsed.since);
  }

  #onTickers(type: 'subscribe' | 'unsubscribe', requested: readonly string[]): void {
    const hub = this.#deps.trading.streams;
    let tickers: string[];
    try {
      tickers = streamTickers(requested.join(','), (ticker) => this.#deps.trading.requireInstrument(ticker));
    } catch (error) {
      if (error instanceof AppError) return this.#answer(error.code, error.message);
      throw error;
    }
    const current = new Set(this.#quotes?.tickers ?? []);
    for (const ticker of tickers) {
      if (type === 'subscribe') current.add(ticker);
      else current.delete(ticker);
    }
    if (this.#quotes) hub.unsubscribeQuotes(this.#quotes);
    this.#quotes = current.size > 0 ? hub.subscribeQuotes([...current], this) : undefined;
    this.#socket.send(JSON.stringify({ stream: 'quotes', type: 'subscribed', tickers: [...current] }));
  }

  async #onAccount(
    type: 'subscribe' | 'unsubscribe',
    accountId: string,
    since: number | undefined,
  ): Promise<void> {
    const { trading } = this.#deps;
    const hub = trading.streams;
    try {
      await trading.refresh(accountId, 'read');
      const book = trading.requireBook(this.#request.userId, accountId);
      const id = book.account.id;
      const existing = this.#accounts.get(id);
      if (type === 'unsubscribe') {
        if (existing && existing !== 'starting') hub.unsubscribeAccount(existing);
        this.#accounts.delete(id);
        this.#socket.send(JSON.stringify({ stream: 'account', type: 'unsubscribed', account_id: id }));
        return;
      }
      if (existing) {
        this.#answer('invalid_request', `account ${id} is already subscribed: unsubscribe first`, {
          account_id: id,
        });
        return;
      }
      if (this.#accounts.size >= MAX_ACCOUNT_SUBSCRIPTIONS) {
        this.#answer('invalid_request', `at most ${MAX_ACCOUNT_SUBSCRIPTIONS} accounts per connection`);
        return;
      }
      this.#accounts.set(id, 'starting');
      const subscription = await hub.subscribeAccount(id, since, this, (error) => {
        this.#request.log.error({ err: error }, 'account stream failed');
        this.fail('not_ready', 'the stream failed: reconnect and resume');
      });
      if (this.closed || this.#accounts.get(id) !== 'starting') hub.unsubscribeAccount(subscription);
      else this.#accounts.set(id, subscription);
    } catch (error) {
      if (error instanceof AppError) {
        this.#answer(error.code, error.message, { account_id: accountId });
        return;
      }
      this.#request.log.error({ err: error }, 'account stream failed');
      this.fail('not_ready', 'the stream failed: reconnect and resume');
    }
  }

  /** A ping; a client that has not answered the previous one is gone. */
  protected heartbeat(): void {
    if (!this.#answered) {
      this.#socket.terminate();
      this.markClosed();
      return;
    }
    if (this.cutOffIfBehind()) return;
    this.#answered = false;
    this.#socket.ping();
  }

  protected override released(): void {
    const hub = this.#deps.trading.streams;
    for (const subscription of this.#accounts.values()) {
      if (subscription !== 'starting') hub.unsubscribeAccount(subscription);
    }
    this.#accounts.clear();
    if (this.#quotes) hub.unsubscribeQuotes(this.#quotes);
    this.#quotes = undefined;
  }
}
