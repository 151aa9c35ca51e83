/**
 * The processes of one cluster talk only through PostgreSQL: NOTIFY announces quotes and account
 * changes (delivered to LISTENing processes when the announcing transaction commits), and a
 * session-level advisory lock elects the one process that runs the feed. No protocol of our own.
 *
 * Each process listens on a connection of its own. If that connection breaks, it reconnects and
 * tells its listener to resync, since announcements made meanwhile were lost. The feed lock lives
 * on another dedicated connection: when a process dies, its session ends, the lock is released,
 * and the next contender to try (every second) takes the feed over.
 */
import pg from 'pg';
import type { Quote } from '../../../engine/model.ts';
import type { ClusterChange, ClusterListener, FeedContender } from '../../../application/storage.ts';

export const QUOTES_CHANNEL = 'stockstrader_quotes';
export const CHANGES_CHANNEL = 'stockstrader_changes';
/** NOTIFY payloads must stay below 8,000 bytes. */
const MAX_PAYLOAD = 7_000;
const FEED_LOCK_KEY = 0x5354_4645; // 'STFE'
const RETRY_MS = 1_000;

type QuoteTuple = [string, number, number, number, number | null, number | null];

/** Announcements as NOTIFY payloads: quotes are chunked to fit, changes are one each. */
export function quotePayloads(origin: string, quotes: readonly Quote[]): string[] {
  const payloads: string[] = [];
  let chunk: QuoteTuple[] = [];
  let size = 0;
  for (const quote of quotes) {
    const tuple: QuoteTuple = [
      quote.ticker,
      quote.bid,
      quote.ask,
      quote.time,
      quote.last ?? null,
      quote.lastTime ?? null,
    ];
    const length = JSON.stringify(tuple).length + 1;
    if (size + length > MAX_PAYLOAD && chunk.length > 0) {
      payloads.push(JSON.stringify({ origin, quotes: chunk }));
      chunk = [];
      size = 0;
    }
    chunk.push(tuple);
    size += length;
  }
  if (chunk.length > 0) payloads.push(JSON.stringify({ origin, quotes: chunk }));
  return payloads;
}

export function changePayload(origin: string, change: ClusterChange): string {
  return JSON.stringify({ origin, change });
}

function parseQuotes(tuples: QuoteTuple[]): Quote[] {
  return tuples.map(([ticker, bid, ask, time, last, lastTime]) => {
    const quote: Quote = { ticker, bid, ask, time };
    if (last !== null) quote.last = last;
    if (lastTime !== null) quote.lastTime = lastTime;
    return quote;
  });
}

export interface ChannelOptions {
  url: string;
  /** This process's name in payloads: its own announcements are not delivered back to it. */
  origin: string;
  onError(error: unknown): void;
}

/** A dedicated connection that reconnects after a delay whenever it breaks, until closed. */
class DedicatedConnection {
  readonly #options: ChannelOptions;
  readonly #setUp: (client: pg.Client) => Promise<void>;
  readonly #onDown: () => void;
  #client: pg.Client | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ChannelOptions, setUp: (client: pg.Client) => Promise<void>, onDown: () => void) {
    this.#options = options;
    this.#setUp = setUp;
    this.#onDown = onDown;
  }

  get client(): pg.Client | undefined {
    return this.#client;
  }

  async connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#options.url });
    client.on('error', (error) => this.#broken(client, error));
    client.on('end', () => this.#broken(client, undefined));
    await client.connect();
    this.#client = client;
    await this.#setUp(client);
  }

  #broken(client: pg.Client, error: unknown): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    if (this.#closed) return;
    if (error) this.#options.onError(error);
    this.#onDown();
    this.retryLater();
  }

  retryLater(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.connect().catch((error: unknown) => {
        this.#options.onError(error);
        this.retryLater();
      });
    }, RETRY_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/** Delivers the other processes' announcements to a listener. */
export class ClusterChannel {
  readonly #connection: DedicatedConnection;

  constructor(options: ChannelOptions, listener: ClusterListener) {
    let connectedBefore = false;
    this.#connection = new DedicatedConnection(
      options,
      async (client) => {
        client.on('notification', (message) => {
          if (!message.payload) return;
          try {
            const parsed = JSON.parse(message.payload) as {
              origin: string;
              quotes?: QuoteTuple[];
              change?: ClusterChange;
            };
            if (parsed.origin === options.origin) return;
            if (message.channel === QUOTES_CHANNEL && parsed.quotes)
              listener.quotes(parseQuotes(parsed.quotes));
            if (message.channel === CHANGES_CHANNEL && parsed.change) listener.change(parsed.change);
          } catch (error) {
            options.onError(error);
          }
        });
        await client.query(`LISTEN ${QUOTES_CHANNEL}`);
        await client.query(`LISTEN ${CHANGES_CHANNEL}`);
        // Whatever was announced while we were not listening is lost: catch up from the tables.
        if (connectedBefore) listener.resync();
        connectedBefore = true;
      },
      () => undefined,
    );
  }

  start(): Promise<void> {
    return this.#connection.connect();
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}

/** Tries every second to take the feed lock; reports when it is taken and when it is lost. */
export class FeedLock {
  readonly #connection: DedicatedConnection;
  #held = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ChannelOptions, contender: FeedContender) {
    this.#connection = new DedicatedConnection(
      options,
      async () => this.#try(contender, options),
      () => {
        if (this.#held) {
          this.#held = false;
          contender.lost();
        }
      },
    );
  }

  /**
   * Resolves once the first attempt is decided: the lock taken (the contender told), held by
   * another process, or not reachable (tried again later, like a refusal).
   */
  start(): Promise<void> {
    return this.#connection.connect().catch(() => this.#connection.retryLater());
  }

  async #try(contender: FeedContender, options: ChannelOptions): Promise<void> {
    const client = this.#connection.client;
    if (this.#closed || !client || this.#held) return;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        FEED_LOCK_KEY,
      ]);
      if (rows[0]?.locked && !this.#closed) {
        this.#held = true;
        contender.acquired();
        return;
      }
    } catch (error) {
      options.onError(error);
    }
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#try(contender, options);
    }, RETRY_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#connection.close();
  }
}
