/**
 * One Server-Sent Events stream of the /stream/v1 extension (docs/streaming.md) as an async
 * iterator that outlives its connections. What each message means is the decoder's business
 * (stream-decoders.ts); this module connects, reads, reconnects and stops.
 *
 * - Transport: fetch and the response's ReadableStream, parsed by eventsource-parser, and no
 *   node:* module, so the SDK runs in browsers too. (The browser's EventSource cannot send an
 *   Authorization header, nor tell a 401 from a lost connection, so it is not used.)
 * - Reconnects after a network error, a 5xx, 408 or 429 answer, a stream the server ended (its
 *   final `error` message: shutdown, slow consumer), or a connection silent for `idleTimeoutMs`
 *   (the server sends a heartbeat comment every 15 s). Between attempts it waits an
 *   exponentially growing delay with jitter, from `minRetryDelayMs` up to `maxRetryDelayMs`
 *   (at least a 429's Retry-After); a connection that delivered a message starts the count anew.
 * - Resumes: every connection sends `Last-Event-ID` = the decoder's resume id (the last id it
 *   saw), so the server sends exactly what follows it.
 * - Gives up only on answers retrying cannot fix (other 4xx, a 200 that is not an event stream,
 *   a message that is not JSON): the iterator throws StocksTraderError with the server's msg.
 * - Stops when the consumer leaves `for await` (return()) or `signal` aborts: the request is
 *   aborted, which closes the connection at once; the iteration then ends without an error.
 * - Back-pressure: the next chunk is read only when the consumer asks for the next item, so a
 *   slow consumer leaves data in the socket rather than in memory.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { StocksTraderError, errorFromAnswer, type TransportOptions } from './http.ts';

export interface StreamOptions {
  /** Aborting it closes the connection and ends the iteration (without an error). */
  signal?: AbortSignal;
  /** The first reconnection delay in milliseconds (250); it doubles per failed attempt. */
  minRetryDelayMs?: number;
  /** The longest reconnection delay in milliseconds (10 000). */
  maxRetryDelayMs?: number;
  /** A connection silent this long is taken for dead (37 500 ms: 2.5 of the server's heartbeats). */
  idleTimeoutMs?: number;
  /** Hears of every reconnection, before its delay: to log it. */
  onReconnect?: (reconnect: Reconnect) => void;
}

export interface Reconnect {
  /** 1 for the first attempt after a connection that delivered messages, then 2, 3… */
  attempt: number;
  delayMs: number;
  /** Why the previous connection ended, in words. */
  reason: string;
}

export const DEFAULT_STREAM_SETTINGS = {
  minRetryDelayMs: 250,
  maxRetryDelayMs: 10_000,
  idleTimeoutMs: 37_500,
} as const;

/** What one message of a stream means. */
export type Decoded<T> = { item: T } | { skip: true } | { end: string };

export interface StreamDecoder<T> {
  /** The stream's path and query, under the server root. */
  readonly path: string;
  /** The id to send as Last-Event-ID on the next connection, if any. */
  resumeId(): string | undefined;
  decode(message: EventSourceMessage): Decoded<T>;
}

type Settings = Required<Omit<StreamOptions, 'signal' | 'onReconnect'>>;

/** How a connection ended, when it ended in a way worth another attempt. */
interface Ended {
  reason: string;
  delivered: boolean;
  retryAfterMs?: number;
}

/** The decoder's items, across as many connections as it takes, until stopped. */
export async function* reconnectingStream<T>(
  transport: TransportOptions,
  decoder: StreamDecoder<T>,
  options: StreamOptions = {},
): AsyncGenerator<T, void, undefined> {
  const settings: Settings = {
    minRetryDelayMs: options.minRetryDelayMs ?? DEFAULT_STREAM_SETTINGS.minRetryDelayMs,
    maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_STREAM_SETTINGS.maxRetryDelayMs,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_STREAM_SETTINGS.idleTimeoutMs,
  };
  const { signal } = options;
  let failures = 0;
  while (!signal?.aborted) {
    const ended = yield* readConnection(transport, decoder, settings, signal);
    if (signal?.aborted) return;
    failures = ended.delivered ? 0 : failures + 1;
    const delayMs = Math.max(retryDelay(failures, settings), ended.retryAfterMs ?? 0);
    options.onReconnect?.({ attempt: failures + 1, delayMs, reason: ended.reason });
    await sleep(delayMs, signal);
  }
}

/** Exponential back-off with jitter: half the capped delay, plus up to as much again at random. */
function retryDelay(failures: number, settings: Settings): number {
  const cap = Math.min(settings.maxRetryDelayMs, settings.minRetryDelayMs * 2 ** failures);
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}

/** One connection: yields its items, returns how it ended, throws what retrying cannot fix. */
async function* readConnection<T>(
  transport: TransportOptions,
  decoder: StreamDecoder<T>,
  settings: Settings,
  signal: AbortSignal | undefined,
): AsyncGenerator<T, Ended, undefined> {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  signal?.addEventListener('abort', abort);
  const watchdog = new Watchdog(settings.idleTimeoutMs, abort);
  let delivered = false;
  try {
    const response = await watchdog.watch(connect(transport, decoder, controller.signal));
    const refused = await watchdog.watch(refusal(response));
    if (refused) return { ...refused, delivered };
    if (!response.body) return { reason: 'the answer had no body', delivered };
    const reader = response.body.getReader();
    const text = new TextDecoder();
    const messages: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (message) => messages.push(message) });
    for (;;) {
      const chunk = await watchdog.watch(reader.read());
      if (chunk.done) return { reason: 'the server closed the stream', delivered };
      parser.feed(text.decode(chunk.value, { stream: true }));
      for (const message of messages.splice(0)) {
        const decoded = decoder.decode(message);
        delivered = true;
        if ('end' in decoded) return { reason: decoded.end, delivered };
        if ('item' in decoded) yield decoded.item;
      }
    }
  } catch (error) {
    if (error instanceof StocksTraderError) throw error;
    if (watchdog.fired) return { reason: `no data for ${settings.idleTimeoutMs} ms`, delivered };
    return { reason: describe(error), delivered };
  } finally {
    watchdog.stop();
    signal?.removeEventListener('abort', abort);
    // Closes the connection, also when the consumer left in the middle of a chunk's messages.
    controller.abort();
  }
}

function connect(
  transport: TransportOptions,
  decoder: StreamDecoder<unknown>,
  signal: AbortSignal,
): Promise<Response> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${transport.token}`,
    accept: 'text/event-stream',
  };
  const resumeId = decoder.resumeId();
  if (resumeId !== undefined) headers['last-event-id'] = resumeId;
  const url = transport.baseUrl.replace(/\/+$/, '') + decoder.path;
  return (transport.fetch ?? fetch)(url, { headers, signal });
}

/** Undefined for an event stream; how it ended for an answer worth retrying; throws otherwise. */
async function refusal(response: Response): Promise<Omit<Ended, 'delivered'> | undefined> {
  const { status } = response;
  if (status === 200) {
    const type = response.headers.get('content-type') ?? '';
    if (type.startsWith('text/event-stream')) return undefined;
    await response.body?.cancel();
    throw new StocksTraderError(200, `expected an event stream, got ${type || 'no content type'}`, undefined);
  }
  const body = await response.text();
  const error = errorFromAnswer(status, body);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw error;
  const retryAfter = Number(response.headers.get('retry-after'));
  return {
    reason: `HTTP ${status}: ${error.message}`,
    ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
  };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch's "fetch failed" hides the useful part (ECONNREFUSED…) in its cause.
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}

/** Calls `onSilence` when a watched promise takes longer than `ms` to settle. */
class Watchdog {
  fired = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly ms: number,
    readonly onSilence: () => void,
  ) {}

  async watch<V>(promise: Promise<V>): Promise<V> {
    this.#timer = setTimeout(() => {
      this.fired = true;
      this.onSilence();
    }, this.ms);
    try {
      return await promise;
    } finally {
      this.stop();
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

/** Waits `ms`, or less if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
