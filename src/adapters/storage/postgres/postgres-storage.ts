/**
 * PostgreSQL storage through a `pg` connection pool (postgres-pool.ts: durability checks and
 * exact BIGINT reads), migrated at open (postgres-migrate.ts). Several server processes may share
 * one database: the cluster port (`shared`, postgres-shared-storage.ts) versions every account
 * and announces changes, and ids come from the database's sequences, reserved ahead
 * (reserved-ids.ts), so no two processes hand out the same id.
 *
 * Writes: every write is a committed transaction, so it has reached the disk before its promise
 * resolves. `commit` writes engine steps group-committed in call order, one multi-row statement
 * per table (postgres-sql.ts); an account reset is queued with them and lands where it stands.
 * Accounts are allocated under a table lock, so processes cannot collide on an account id.
 */
import type { Pool, PoolClient } from 'pg';
import type { ChangeSet, EngineEvent, Fill, LedgerEntry } from '../../../engine/engine.ts';
import type {
  Account,
  AccountBook,
  ConditionOverrides,
  Deal,
  Instrument,
  Order,
  Quote,
} from '../../../engine/model.ts';
import type { Money } from '../../../engine/decimal.ts';
import type {
  AccountReset,
  AccountResetResult,
  CandleQuery,
  EventBounds,
  HistoryQuery,
  NewAccount,
  Page,
  Storage,
} from '../../../application/storage.ts';
import type { Candle } from '../../../application/market-data/candles.ts';
import { CHANGES_CHANNEL, changePayload } from './cluster-channel.ts';
import { ReservedIds } from './reserved-ids.ts';
import { ACCOUNT_ID_WIDTH, FIRST_ACCOUNT_ID, formatId, parseId } from '../../../engine/ids.ts';
import { readMigrations } from '../migrations.ts';
import { GroupCommit } from '../group-commit.ts';
import { MAX_EVENTS_PER_READ, eventFromRow, eventRow, lastEventIds } from '../event-rows.ts';
import {
  OPENING_ENTRY_COMMENT,
  RESET_TABLES,
  LATEST_TRADE_TIME_SQL,
  TRADING_HISTORY_SQL,
  deleteHistoryPagesSql,
} from '../account-reset.ts';
import { readHistoryPage, type HistoryDialect, type HistoryKind } from '../history-pages.ts';
import {
  dealFromRow,
  dealRow,
  fillFromRow,
  fillRow,
  instrumentFromRow,
  instrumentRow,
  ledgerFromRow,
  ledgerRow,
  orderFromRow,
  orderRow,
  overridesRow,
  quoteFromRow,
  quoteRow,
  type Row,
} from '../rows.ts';
import { inTransaction, openPool } from './postgres-pool.ts';
import { MIGRATIONS_DIR, migrate } from './postgres-migrate.ts';
import {
  ACCOUNT_COLUMNS,
  DEAL_COLUMNS,
  EVENT_COLUMNS,
  FILL_COLUMNS,
  INSTRUMENT_COLUMNS,
  LEDGER_COLUMNS,
  ORDER_COLUMNS,
  OVERRIDE_COLUMNS,
  QUOTE_COLUMNS,
  STATEMENTS,
  columnArrays,
  lastByKey,
  requireId,
  type Columns,
} from './postgres-sql.ts';
import { PostgresSharedStorage } from './postgres-shared-storage.ts';
import { readBooks } from './read-books.ts';
import { PostgresCandles } from './postgres-candles.ts';

export interface PostgresOpenOptions {
  /** Where the numbered migrations live; tests point it at a copy to prove edits are refused. */
  migrationsDir?: string;
  /** Errors of the background connections (listening, feed lock); they reconnect by themselves. */
  onBackgroundError?: (error: unknown) => void;
}

export class PostgresStorage implements Storage {
  readonly dialect = 'postgres' as const;
  readonly ids: ReservedIds;
  readonly shared: PostgresSharedStorage;
  readonly #pool: Pool;
  readonly #candles: PostgresCandles;
  #closed = false;
  /** The last commit submitted; the next one starts after it has settled (see `commit`). */
  readonly #commits = new GroupCommit<BatchItem>((batch) => this.#commitNow(batch));

  /** Connects, checks durability settings and migrates. Throws with a clear message. */
  static async open(url: string, options: PostgresOpenOptions = {}): Promise<PostgresStorage> {
    const pool = await openPool(url);
    try {
      await migrate(pool, readMigrations(options.migrationsDir ?? MIGRATIONS_DIR));
      const storage = new PostgresStorage(pool, url, options.onBackgroundError ?? (() => undefined));
      await storage.ids.reserve(100, 100);
      return storage;
    } catch (error) {
      // A refused or failed open must not leave connections behind it.
      await pool.end();
      throw error;
    }
  }

  private constructor(pool: Pool, url: string, onBackgroundError: (error: unknown) => void) {
    this.#pool = pool;
    this.#candles = new PostgresCandles(pool);
    this.ids = new ReservedIds(pool);
    this.shared = new PostgresSharedStorage(pool, this.ids, { url, onError: onBackgroundError });
  }

  async loadInstruments(): Promise<Instrument[]> {
    const { rows } = await this.#pool.query<Row>('SELECT * FROM instruments ORDER BY ticker');
    return rows.map(instrumentFromRow);
  }

  loadBooks(): Promise<AccountBook[]> {
    return readBooks(this.#pool, undefined);
  }

  async loadQuotes(): Promise<Quote[]> {
    const { rows } = await this.#pool.query<Row>('SELECT * FROM quotes ORDER BY ticker');
    return rows.map(quoteFromRow);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [
      key,
    ]);
    return rows[0]?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.#pool.query(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
      [key, value],
    );
  }

  /**
   * Group-committed in call order (see group-commit.ts): the steps submitted while a transaction
   * is in flight share the next one, so one flush serves them all. (On separate pooled
   * connections a later step could otherwise commit first.) A failed step rejects only its own
   * promise.
   */
  commit(changes: ChangeSet, quotes: readonly Quote[] = []): Promise<void> {
    return this.#commits.submit({ changes, quotes });
  }

  /**
   * Writes a batch in one transaction: its change sets together, but an account reset where it
   * stands, between the change sets submitted before and after it.
   */
  async #commitNow(batch: readonly BatchItem[]): Promise<void> {
    await this.#transaction('BEGIN', async (client) => {
      let steps: StepItem[] = [];
      for (const item of batch) {
        if (!('reset' in item)) {
          steps.push(item);
          continue;
        }
        await this.#writeSteps(client, steps);
        steps = [];
        item.results = await this.#resetIn(client, item.reset, item.now);
      }
      await this.#writeSteps(client, steps);
    });
  }

  async #writeSteps(client: PoolClient, items: readonly StepItem[]): Promise<void> {
    if (items.length === 0) return;
    const steps = items.map((item) => item.changes);
    const quotes = items.flatMap((item) => item.quotes);
    // A multi-row upsert may touch each key once, so a key given twice keeps its last version,
    // which is what writing the steps one after another would have left.
    const orders = lastByKey(
      steps.flatMap((step) => step.orders),
      (order) => order.id,
    ).map(orderRow);
    const deals = lastByKey(
      steps.flatMap((step) => step.deals),
      (deal) => deal.id,
    ).map(dealRow);
    const changes = {
      accounts: steps.flatMap((step) => step.accounts),
      ledger: steps.flatMap((step) => step.ledger),
      fills: steps.flatMap((step) => step.fills),
    };
    const events = steps.flatMap((step) => step.events);
    const lastEvents = lastEventIds(events);
    const accounts = lastByKey(changes.accounts, (account) => account.id).map((account) => ({
      id: Number(account.id),
      name: account.name,
      status: account.status,
      balance: account.balance,
      last_event_id: lastEvents.get(account.id) ?? 0,
    }));
    const ledger = changes.ledger.map(ledgerRow);
    const fills = changes.fills.map(fillRow);
    const latestQuotes = lastByKey(quotes, (quote) => quote.ticker).map(quoteRow);
    const write = async (statement: { name: string; text: string }, columns: Columns, rows: Row[]) => {
      if (rows.length > 0) await client.query({ ...statement, values: columnArrays(columns, rows) });
    };
    await write(STATEMENTS.upsertOrders, ORDER_COLUMNS, orders);
    await write(STATEMENTS.upsertDeals, DEAL_COLUMNS, deals);
    await write(STATEMENTS.updateAccounts, ACCOUNT_COLUMNS, accounts);
    await write(STATEMENTS.insertLedger, LEDGER_COLUMNS, ledger);
    await write(STATEMENTS.insertFills, FILL_COLUMNS, fills);
    await write(STATEMENTS.insertEvents, EVENT_COLUMNS, events.map(eventRow));
    await write(STATEMENTS.upsertQuotes, QUOTE_COLUMNS, latestQuotes);
  }

  /** Queued with the change sets (see #commitNow), so it lands between the steps submitted before and after it. */
  async resetAccounts(resets: readonly AccountReset[], now: number): Promise<AccountResetResult[]> {
    const item: ResetItem = { reset: resets, now, results: [] };
    await this.#commits.submit(item);
    return item.results;
  }

  /**
   * Resets accounts inside the caller's transaction (see account-reset.ts). The account rows are
   * locked first, in id order: a step another process writes meanwhile either committed before
   * (and its rows are deleted here) or waits and then finds the account at a version it did not
   * expect (and writes nothing). The others hear of each account's new version at commit.
   */
  async #resetIn(
    client: PoolClient,
    resets: readonly AccountReset[],
    now: number,
  ): Promise<AccountResetResult[]> {
    const given = new Map<number, Money | undefined>();
    for (const reset of resets) {
      const id = parseId(reset.accountId);
      if (id !== undefined) given.set(id, reset.balance);
    }
    const { rows } = await client.query<{ id: number; opening_balance: number; version: number }>(
      'SELECT id, opening_balance, version FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
      [[...given.keys()]],
    );
    if (rows.length === 0) return [];
    const results = rows.map((row) => ({
      accountId: formatId(Number(row.id), ACCOUNT_ID_WIDTH),
      balance: given.get(Number(row.id)) ?? Number(row.opening_balance),
      version: Number(row.version) + 1,
    }));
    const ids = rows.map((row) => Number(row.id));
    // The counts go whole, so the row triggers need not count each deleted order and deal down
    // (migration 0003); the setting lasts until it is turned off or the transaction ends.
    await client.query(`SELECT set_config('stockstrader.dropping_history', 'on', true)`);
    for (const table of RESET_TABLES) {
      await client.query(`DELETE FROM ${table} WHERE account_id = ANY($1::bigint[])`, [ids]);
    }
    await client.query(deleteHistoryPagesSql('ANY($1::bigint[])'), [ids]);
    await client.query(`SELECT set_config('stockstrader.dropping_history', 'off', true)`);
    const balances = results.map((result) => result.balance);
    await client.query(
      `UPDATE accounts SET balance = u.balance, opening_balance = u.balance, version = u.version
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, balance, version)
        WHERE accounts.id = u.id`,
      [ids, balances, results.map((result) => result.version)],
    );
    await client.query(
      `INSERT INTO ledger (account_id, amount, balance_after, comment, time)
       SELECT u.id, u.balance, u.balance, $3, $4
         FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS u(id, balance, ordinality)
        WHERE u.balance <> 0 ORDER BY u.ordinality`,
      [ids, balances, OPENING_ENTRY_COMMENT, now],
    );
    const payloads = results.map((result) =>
      changePayload(this.shared.origin, {
        type: 'account',
        accountId: result.accountId,
        version: result.version,
        reset: true,
      }),
    );
    await client.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [
      CHANGES_CHANNEL,
      payloads,
    ]);
    return results;
  }

  async openingBalances(accountIds?: readonly string[]): Promise<Map<string, Money>> {
    const ids = accountIds?.flatMap((text) => {
      const id = parseId(text);
      return id === undefined ? [] : [id];
    });
    const { rows } = await this.#pool.query<{ id: number; opening_balance: number }>(
      `SELECT id, opening_balance FROM accounts ${ids ? 'WHERE id = ANY($1::bigint[])' : ''} ORDER BY id`,
      ids ? [ids] : [],
    );
    return new Map(
      rows.map((row) => [formatId(Number(row.id), ACCOUNT_ID_WIDTH), Number(row.opening_balance)]),
    );
  }

  async hasTradingHistory(): Promise<boolean> {
    const { rows } = await this.#pool.query<{ history: number }>(TRADING_HISTORY_SQL);
    return Number(rows[0]?.history) === 1;
  }

  async latestTradeTime(): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ latest: string | number | null }>(LATEST_TRADE_TIME_SQL);
    const latest = rows[0]?.latest;
    return latest === null || latest === undefined ? undefined : Number(latest);
  }

  async createUser(name: string, now: number): Promise<string> {
    const { rows } = await this.#pool.query<{ id: number }>(
      'INSERT INTO users (name, created_at) VALUES ($1, $2) RETURNING id',
      [name, now],
    );
    return String(rows[0]?.id);
  }

  async userExists(userId: string): Promise<boolean> {
    const id = parseId(userId);
    if (id === undefined) return false;
    const { rowCount } = await this.#pool.query('SELECT 1 FROM users WHERE id = $1', [id]);
    return rowCount === 1;
  }

  async createToken(userId: string, tokenHash: string, now: number): Promise<string> {
    const { rows } = await this.#pool.query<{ id: number }>(
      'INSERT INTO tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id',
      [requireId(userId, 'user'), tokenHash, now],
    );
    return String(rows[0]?.id);
  }

  async revokeToken(tokenHash: string, now: number): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      'UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL',
      [now, tokenHash],
    );
    return (rowCount ?? 0) > 0;
  }

  async revokeTokenById(userId: string, tokenId: string, now: number): Promise<boolean> {
    const user = parseId(userId);
    const token = parseId(tokenId);
    if (user === undefined || token === undefined) return false;
    const { rowCount } = await this.#pool.query(
      'UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL',
      [now, token, user],
    );
    return (rowCount ?? 0) > 0;
  }

  async findTokenUser(tokenHash: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query<{ user_id: number }>({
      ...STATEMENTS.findToken,
      values: [tokenHash],
    });
    return rows[0] === undefined ? undefined : String(rows[0].user_id);
  }

  async createAccount(account: NewAccount, now: number): Promise<Account> {
    return this.#transaction('BEGIN', async (client) => {
      // EXCLUSIVE blocks other writers of accounts (readers go on) until commit, so two
      // processes cannot both read the same MAX(id).
      await client.query('LOCK TABLE accounts IN EXCLUSIVE MODE');
      const { rows } = await client.query<{ id: number | null }>('SELECT MAX(id) AS id FROM accounts');
      const max = rows[0]?.id ?? null;
      const id = max === null ? FIRST_ACCOUNT_ID : max + 1;
      await client.query(
        `INSERT INTO accounts (id, user_id, name, type, system, currency, status, balance, opening_balance, version, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'enabled', $7, $7, 0, $8)`,
        [
          id,
          requireId(account.userId, 'user'),
          account.name,
          account.type,
          account.system,
          account.currency,
          account.balance,
          now,
        ],
      );
      const created: Account = { ...account, id: formatId(id, ACCOUNT_ID_WIDTH), status: 'enabled' };
      if (account.balance !== 0) {
        const opening = ledgerRow({
          accountId: created.id,
          type: 'deposit',
          amount: account.balance,
          balanceAfter: account.balance,
          comment: OPENING_ENTRY_COMMENT,
          time: now,
          orderId: null,
          dealId: null,
        });
        await client.query({ ...STATEMENTS.insertLedger, values: columnArrays(LEDGER_COLUMNS, [opening]) });
      }
      return created;
    });
  }

  async putInstrument(instrument: Instrument): Promise<void> {
    const row = instrumentRow(instrument);
    await this.#pool.query(
      `INSERT INTO instruments (${INSTRUMENT_COLUMNS.join(', ')})
       VALUES (${INSTRUMENT_COLUMNS.map((_, index) => `$${index + 1}`).join(', ')})
       ON CONFLICT (ticker) DO UPDATE SET ${INSTRUMENT_COLUMNS.slice(1)
         .map((name) => `${name} = EXCLUDED.${name}`)
         .join(', ')}`,
      INSTRUMENT_COLUMNS.map((name) => row[name]),
    );
  }

  async putOverrides(accountId: string, ticker: string, overrides: ConditionOverrides): Promise<void> {
    const row = overridesRow(accountId, ticker, overrides);
    await this.#pool.query(
      `INSERT INTO instrument_overrides (${OVERRIDE_COLUMNS.join(', ')})
       VALUES (${OVERRIDE_COLUMNS.map((_, index) => `$${index + 1}`).join(', ')})
       ON CONFLICT (account_id, ticker) DO UPDATE SET ${OVERRIDE_COLUMNS.slice(2)
         .map((name) => `${name} = EXCLUDED.${name}`)
         .join(', ')}`,
      OVERRIDE_COLUMNS.map((name) => row[name]),
    );
  }

  async listOrders(accountId: string, query: HistoryQuery): Promise<Order[]> {
    return (await this.#history('order', accountId, query)).map(orderFromRow);
  }

  async listDeals(accountId: string, query: HistoryQuery): Promise<Deal[]> {
    return (await this.#history('deal', accountId, query)).map(dealFromRow);
  }

  /** One page of history, located through the bucket counts (see history-pages.ts). */
  async #history(kind: HistoryKind, accountId: string, query: HistoryQuery): Promise<Row[]> {
    if (query.limit <= 0) return [];
    return readHistoryPage(kind, requireId(accountId, 'account'), query, this.#historyDialect);
  }

  readonly #historyDialect: HistoryDialect = {
    placeholder: (index) => `$${index}`,
    values: async (sql) =>
      (await this.#pool.query<unknown[]>({ text: sql.text, values: sql.params, rowMode: 'array' })).rows,
    rows: async (sql) => (await this.#pool.query<Row>(sql.text, sql.params)).rows,
  };

  async listFills(accountId: string, page: Page): Promise<Fill[]> {
    const { rows } = await this.#pool.query<Row>(
      'SELECT * FROM fills WHERE account_id = $1 ORDER BY id LIMIT $2 OFFSET $3',
      [requireId(accountId, 'account'), page.limit, page.skip],
    );
    return rows.map(fillFromRow);
  }

  async readEvents(accountId: string, afterId: number, limit: number): Promise<EngineEvent[]> {
    const id = parseId(accountId);
    if (id === undefined) return [];
    const { rows } = await this.#pool.query<Row>({
      name: 'stockstrader-read-events',
      text: 'SELECT * FROM account_events WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3',
      values: [id, afterId, Math.min(limit, MAX_EVENTS_PER_READ)],
    });
    return rows.map(eventFromRow);
  }

  async eventBounds(accountId: string): Promise<EventBounds | undefined> {
    const id = parseId(accountId);
    if (id === undefined) return undefined;
    const { rows } = await this.#pool.query<{ last: string; oldest: string | null }>({
      name: 'stockstrader-event-bounds',
      text: `SELECT last_event_id AS last,
               (SELECT MIN(id) FROM account_events WHERE account_id = accounts.id) AS oldest
             FROM accounts WHERE id = $1`,
      values: [id],
    });
    const row = rows[0];
    return row && { last: Number(row.last), oldest: row.oldest === null ? undefined : Number(row.oldest) };
  }

  async pruneEvents(before: number, keep: number, limit: number): Promise<number> {
    const result = await this.#pool.query(
      `DELETE FROM account_events WHERE seq IN (
         SELECT seq FROM account_events
          WHERE time < $1 AND seq <= (SELECT COALESCE(MAX(seq), 0) FROM account_events) - $2
          ORDER BY seq LIMIT $3)`,
      [before, keep, limit],
    );
    return result.rowCount ?? 0;
  }

  async listLedger(accountId: string, page: Page): Promise<LedgerEntry[]> {
    const { rows } = await this.#pool.query<Row>(
      'SELECT * FROM ledger WHERE account_id = $1 ORDER BY id LIMIT $2 OFFSET $3',
      [requireId(accountId, 'account'), page.limit, page.skip],
    );
    return rows.map(ledgerFromRow);
  }

  mergeCandles(candles: readonly Candle[]): Promise<void> {
    return this.#candles.mergeCandles(candles);
  }

  readCandles(query: CandleQuery): Promise<Candle[]> {
    return this.#candles.readCandles(query);
  }

  pruneCandles(tickers: readonly string[], intervalSeconds: number, before: number): Promise<void> {
    return this.#candles.pruneCandles(tickers, intervalSeconds, before);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.shared.close();
    await this.#commits.idle();
    await this.#pool.end();
  }

  /** Runs `work` between `begin` and COMMIT on one pooled connection; rolls back if it throws. */
  async #transaction<T>(begin: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(await this.#pool.connect(), begin, work);
  }
}

/** A change set and its quotes, or an account reset (`resetAccounts`): what the group commit queues. */
interface StepItem {
  changes: ChangeSet;
  quotes: readonly Quote[];
}
interface ResetItem {
  reset: readonly AccountReset[];
  now: number;
  results: AccountResetResult[];
}
type BatchItem = StepItem | ResetItem;
