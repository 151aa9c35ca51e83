/**
 * The cluster port of the PostgreSQL adapter (`SharedStorage`): what several server processes on
 * one database need beyond the trading store. Each account carries a version; a step is written
 * only if the account is still at the version it was computed from (`commitAccount`, one
 * statement), and every change is announced over NOTIFY at commit (cluster-channel.ts). Order and
 * deal ids come from the database's sequences, reserved ahead (reserved-ids.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import type { ChangeSet } from '../../../engine/engine.ts';
import type { AccountBook, Quote } from '../../../engine/model.ts';
import { ACCOUNT_ID_WIDTH, formatId, parseId } from '../../../engine/ids.ts';
import type {
  ClusterChange,
  ClusterListener,
  FeedContender,
  SharedStorage,
} from '../../../application/storage.ts';
import {
  CHANGES_CHANNEL,
  ClusterChannel,
  FeedLock,
  QUOTES_CHANNEL,
  changePayload,
  quotePayloads,
} from './cluster-channel.ts';
import { dealRow, fillRow, ledgerRow, orderRow, quoteRow } from '../rows.ts';
import { eventRow } from '../event-rows.ts';
import { inTransaction } from './postgres-pool.ts';
import {
  DEAL_COLUMNS,
  EVENT_COLUMNS,
  FILL_COLUMNS,
  LEDGER_COLUMNS,
  ORDER_COLUMNS,
  QUOTE_COLUMNS,
  STATEMENTS,
  columnArrays,
  lastByKey,
  requireId,
} from './postgres-sql.ts';
import { readBooks } from './read-books.ts';
import type { ReservedIds } from './reserved-ids.ts';

/** The advisory lock key of SharedStorage.exclusively ("STEXCL01" in ASCII). */
const EXCLUSIVE_LOCK = 0x53544558434c3031n;

export interface BackgroundOptions {
  url: string;
  /** Errors of the background connections (listening, feed lock); they reconnect by themselves. */
  onError: (error: unknown) => void;
}

export class PostgresSharedStorage implements SharedStorage {
  /** Names this process in its announcements. */
  readonly origin = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #pool: Pool;
  readonly #ids: ReservedIds;
  readonly #background: BackgroundOptions;
  readonly #connections: { close(): Promise<void> }[] = [];

  constructor(pool: Pool, ids: ReservedIds, background: BackgroundOptions) {
    this.#pool = pool;
    this.#ids = ids;
    this.#background = background;
  }

  reserveIds(orders: number, deals: number): Promise<void> {
    return this.#ids.reserve(orders, deals);
  }

  async commitAccount(accountId: string, expectedVersion: number, changes: ChangeSet): Promise<boolean> {
    const id = requireId(accountId, 'account');
    const account = changes.accounts.find((candidate) => candidate.id === accountId);
    const payload = changePayload(this.origin, { type: 'account', accountId, version: expectedVersion + 1 });
    const { rows } = await this.#pool.query<{ moved: number }>({
      ...STATEMENTS.accountStep,
      values: [
        account?.name ?? null,
        account?.status ?? null,
        account?.balance ?? null,
        expectedVersion + 1,
        id,
        expectedVersion,
        CHANGES_CHANNEL,
        payload,
        changes.events.reduce(
          (last, event) => (event.accountId === accountId ? Math.max(last, event.id) : last),
          0,
        ),
        ...columnArrays(ORDER_COLUMNS, lastByKey(changes.orders, (order) => order.id).map(orderRow)),
        ...columnArrays(DEAL_COLUMNS, lastByKey(changes.deals, (deal) => deal.id).map(dealRow)),
        ...columnArrays(LEDGER_COLUMNS, changes.ledger.map(ledgerRow)),
        ...columnArrays(FILL_COLUMNS, changes.fills.map(fillRow)),
        ...columnArrays(EVENT_COLUMNS, changes.events.map(eventRow)),
      ],
    });
    return Number(rows[0]?.moved) === 1;
  }

  async loadBook(accountId: string): Promise<AccountBook | undefined> {
    if (parseId(accountId) === undefined) return undefined;
    return (await readBooks(this.#pool, accountId))[0];
  }

  async accountVersion(accountId: string): Promise<number | undefined> {
    const id = parseId(accountId);
    if (id === undefined) return undefined;
    const { rows } = await this.#pool.query<{ version: number }>({
      name: 'stockstrader-account-version',
      text: 'SELECT version FROM accounts WHERE id = $1',
      values: [id],
    });
    return rows[0] === undefined ? undefined : Number(rows[0].version);
  }

  async accountVersions(): Promise<Map<string, number>> {
    const { rows } = await this.#pool.query<{ id: number; version: number }>(
      'SELECT id, version FROM accounts',
    );
    return new Map(rows.map((row) => [formatId(Number(row.id), ACCOUNT_ID_WIDTH), Number(row.version)]));
  }

  async publishQuotes(quotes: readonly Quote[]): Promise<void> {
    const latest = lastByKey(quotes, (quote) => quote.ticker);
    if (latest.length === 0) return;
    await inTransaction(await this.#pool.connect(), 'BEGIN', async (client) => {
      await client.query({
        ...STATEMENTS.upsertQuotes,
        values: columnArrays(QUOTE_COLUMNS, latest.map(quoteRow)),
      });
      for (const payload of quotePayloads(this.origin, quotes)) {
        await client.query('SELECT pg_notify($1, $2)', [QUOTES_CHANNEL, payload]);
      }
    });
  }

  async publishChange(change: ClusterChange): Promise<void> {
    await this.#pool.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, changePayload(this.origin, change)]);
  }

  async listen(listener: ClusterListener): Promise<void> {
    const channel = new ClusterChannel(this.#backgroundOptions(), listener);
    this.#connections.push(channel);
    await channel.start();
  }

  async exclusively<T>(work: () => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [EXCLUSIVE_LOCK.toString()]);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [EXCLUSIVE_LOCK.toString()]);
      }
    } finally {
      client.release();
    }
  }

  contendForFeed(contender: FeedContender): Promise<void> {
    const lock = new FeedLock(this.#backgroundOptions(), contender);
    this.#connections.push(lock);
    return lock.start();
  }

  /** Closes the background connections (listening, feed lock); the pool is the adapter's to end. */
  async close(): Promise<void> {
    await Promise.all(this.#connections.map((connection) => connection.close()));
  }

  #backgroundOptions() {
    return { url: this.#background.url, origin: this.origin, onError: this.#background.onError };
  }
}
