/**
 * PostgreSQL storage through a `pg` connection pool.
 *
 * Durability: every write is a committed transaction, and `open` refuses a server or session where
 * fsync or synchronous_commit is off (the pool asks for synchronous_commit=on unless the URL
 * carries its own `options`), so a write has reached the disk before its promise resolves. `commit` writes one engine step in one
 * transaction on one pooled connection, one multi-row statement per table; commits are applied
 * one at a time, in call order, even when a caller submits the next before the previous resolves.
 *
 * Integers: ids, times, money (cents), prices (1e-8) and volumes (1e-6) are BIGINT and come back
 * as JS numbers through this pool's own type parser, which throws rather than round a value
 * beyond Number.MAX_SAFE_INTEGER.
 *
 * Migrations are the numbered SQL files of ./migrations, applied in order inside one transaction
 * that holds a database-wide advisory lock, so processes starting together migrate exactly once.
 * Each applied migration's checksum is recorded and checked at every start: an edited migration
 * is refused rather than skipped.
 *
 * Ids: accounts are allocated inside the database under a table lock, so processes cannot
 * collide. Order and deal ids are counted in memory from the highest stored ids read at open, so
 * this adapter assumes a single writer process per database.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, TypeOverrides } from 'pg';
import type { PoolClient } from 'pg';
import type { ChangeSet, Fill, LedgerEntry } from '../../../engine/engine.ts';
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
  ClusterChange,
  ClusterListener,
  FeedContender,
  HistoryQuery,
  NewAccount,
  Page,
  SharedStorage,
  Storage,
} from '../../../application/storage.ts';
import {
  CHANGES_CHANNEL,
  ClusterChannel,
  FeedLock,
  QUOTES_CHANNEL,
  changePayload,
  quotePayloads,
} from './cluster-channel.ts';
import { ReservedIds } from './reserved-ids.ts';
import { ACCOUNT_ID_WIDTH, FIRST_ACCOUNT_ID, formatId, parseId } from '../../../engine/ids.ts';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { changedMigrationError, readMigrations, type Migration } from '../migrations.ts';
import { GroupCommit } from '../group-commit.ts';
import {
  OPENING_ENTRY_COMMENT,
  RESET_TABLES,
  LATEST_TRADE_TIME_SQL,
  TRADING_HISTORY_SQL,
  deleteHistoryPagesSql,
} from '../account-reset.ts';
import { readHistoryPage, type HistoryDialect, type HistoryKind } from '../history-pages.ts';
import {
  DEAL_COLUMNS as DEAL_COLUMN_NAMES,
  FILL_COLUMNS as FILL_COLUMN_NAMES,
  LEDGER_COLUMNS as LEDGER_COLUMN_NAMES,
  ORDER_COLUMNS as ORDER_COLUMN_NAMES,
  QUOTE_COLUMNS as QUOTE_COLUMN_NAMES,
  accountFromRow,
  dealFromRow,
  DEAL_KEEP,
  dealRow,
  fillFromRow,
  fillRow,
  instrumentFromRow,
  instrumentRow,
  ledgerFromRow,
  ledgerRow,
  orderFromRow,
  ORDER_KEEP,
  orderRow,
  overridesFromRow,
  overridesRow,
  quoteFromRow,
  quoteRow,
  upsertedColumns,
  type Row,
} from '../rows.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface PostgresOpenOptions {
  /** Where the numbered migrations live; tests point it at a copy to prove edits are refused. */
  migrationsDir?: string;
  /** Errors of the background connections (listening, feed lock); they reconnect by themselves. */
  onBackgroundError?: (error: unknown) => void;
}

/** The advisory lock key of SharedStorage.exclusively ("STEXCL01" in ASCII). */
const EXCLUSIVE_LOCK = 0x53544558434c3031n;
/** The advisory lock key that serialises migrations of one database ("STMIGR01" in ASCII). */
const MIGRATION_LOCK = 0x53544d4947523031n;
const BIGINT_OID = 20;

type Columns = Readonly<Record<string, 'bigint' | 'text'>>;

/**
 * A change-set table's columns (rows.ts) with their PostgreSQL types: the named ones are text, the
 * rest bigint. The multi-row statements bind one array per column, in this order.
 */
function typedColumns(columns: readonly string[], text: readonly string[]): Columns {
  return Object.fromEntries(columns.map((column) => [column, text.includes(column) ? 'text' : 'bigint']));
}

const ORDER_COLUMNS = typedColumns(ORDER_COLUMN_NAMES, [
  'ticker',
  'side',
  'type',
  'status',
  'comment',
  'deals',
]);
const DEAL_COLUMNS = typedColumns(DEAL_COLUMN_NAMES, ['ticker', 'side', 'status']);
const ACCOUNT_COLUMNS = typedColumns(['id', 'name', 'status', 'balance'], ['name', 'status']);
const LEDGER_COLUMNS = typedColumns(LEDGER_COLUMN_NAMES, ['comment']);
const FILL_COLUMNS = typedColumns(FILL_COLUMN_NAMES, ['ticker', 'side', 'order_type', 'rule', 'deal_ids']);
const QUOTE_COLUMNS = typedColumns(QUOTE_COLUMN_NAMES, ['ticker']);
const INSTRUMENT_COLUMNS = [
  'ticker',
  'description',
  'contract_size',
  'units',
  'min_volume',
  'max_volume',
  'volume_step',
  'min_tick',
  'leverage',
  'trade_mode',
  'quote_currency',
  'calendar',
  'volatility',
  'spread_ticks',
  'reference_price',
] as const;
const OVERRIDE_COLUMNS = [
  'account_id',
  'ticker',
  'min_volume',
  'max_volume',
  'volume_step',
  'min_tick',
  'leverage',
  'trade_mode',
] as const;

/**
 * Rows from one array parameter per column, numbered from `first`, optionally filtered, in array
 * order: `SELECT … FROM unnest($1::bigint[], …) WITH ORDINALITY … ORDER BY ordinality`.
 */
function unnestRows(columns: Columns, first = 1, where = ''): string {
  const names = Object.keys(columns);
  const arrays = Object.values(columns).map((type, index) => `$${first + index}::${type}[]`);
  return `SELECT ${names.map((name) => `u.${name}`).join(', ')}
    FROM unnest(${arrays.join(', ')}) WITH ORDINALITY AS u(${names.join(', ')}, ordinality)
    ${where} ORDER BY u.ordinality`;
}

function upsertSql(
  table: string,
  columns: Columns,
  key: string,
  keep: readonly string[],
  first = 1,
  where = '',
): string {
  const names = Object.keys(columns);
  const updates = upsertedColumns(names, key, keep);
  return `INSERT INTO ${table} (${names.join(', ')}) ${unnestRows(columns, first, where)}
    ON CONFLICT (${key}) DO UPDATE SET ${updates.map((name) => `${name} = EXCLUDED.${name}`).join(', ')}`;
}

/**
 * One account step as one statement (so one round trip, and atomic on its own): the account moves
 * from the expected version to the next, and only if it did are the step's rows written and the
 * change announced (NOTIFY is delivered at commit). Parameters: $1 name, $2 status, $3 balance,
 * $4 new version, $5 account id, $6 expected version, $7 channel, $8 payload, then the arrays of
 * orders, deals, ledger entries and fills.
 */
function accountStepSql(): string {
  const gate = 'WHERE EXISTS (SELECT 1 FROM moved)';
  const orders = 9;
  const deals = orders + Object.keys(ORDER_COLUMNS).length;
  const ledger = deals + Object.keys(DEAL_COLUMNS).length;
  const fills = ledger + Object.keys(LEDGER_COLUMNS).length;
  return `WITH moved AS (
      UPDATE accounts SET name = COALESCE($1, name), status = COALESCE($2, status),
        balance = COALESCE($3, balance), version = $4
      WHERE id = $5 AND version = $6 RETURNING id),
    o AS (${upsertSql('orders', ORDER_COLUMNS, 'id', ORDER_KEEP, orders, gate)}),
    d AS (${upsertSql('deals', DEAL_COLUMNS, 'id', DEAL_KEEP, deals, gate)}),
    l AS (INSERT INTO ledger (${Object.keys(LEDGER_COLUMNS).join(', ')}) ${unnestRows(LEDGER_COLUMNS, ledger, gate)}),
    f AS (INSERT INTO fills (${Object.keys(FILL_COLUMNS).join(', ')}) ${unnestRows(FILL_COLUMNS, fills, gate)}),
    n AS (SELECT pg_notify($7, $8) FROM moved)
    SELECT (SELECT COUNT(*) FROM moved) AS moved, (SELECT COUNT(*) FROM n) AS announced`;
}

/** Named, so each pooled connection parses a statement once. */
const STATEMENTS = {
  // On conflict, the columns the SQLite adapter leaves alone stay as first written.
  upsertOrders: {
    name: 'stockstrader-upsert-orders',
    text: upsertSql('orders', ORDER_COLUMNS, 'id', ORDER_KEEP),
  },
  upsertDeals: {
    name: 'stockstrader-upsert-deals',
    text: upsertSql('deals', DEAL_COLUMNS, 'id', DEAL_KEEP),
  },
  updateAccounts: {
    name: 'stockstrader-update-accounts',
    text: `UPDATE accounts SET name = u.name, status = u.status, balance = u.balance, version = accounts.version + 1
      FROM (${unnestRows(ACCOUNT_COLUMNS)}) AS u WHERE accounts.id = u.id`,
  },
  insertLedger: {
    name: 'stockstrader-insert-ledger',
    text: `INSERT INTO ledger (${Object.keys(LEDGER_COLUMNS).join(', ')}) ${unnestRows(LEDGER_COLUMNS)}`,
  },
  insertFills: {
    name: 'stockstrader-insert-fills',
    text: `INSERT INTO fills (${Object.keys(FILL_COLUMNS).join(', ')}) ${unnestRows(FILL_COLUMNS)}`,
  },
  upsertQuotes: {
    name: 'stockstrader-upsert-quotes',
    text: upsertSql('quotes', QUOTE_COLUMNS, 'ticker', []),
  },
  accountStep: { name: 'stockstrader-account-step', text: accountStepSql() },
  findToken: {
    name: 'stockstrader-find-token',
    text: 'SELECT user_id FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL',
  },
} as const;

export class PostgresStorage implements Storage, SharedStorage {
  readonly dialect = 'postgres' as const;
  readonly ids: ReservedIds;
  readonly shared: SharedStorage = this;
  /** Names this process in its announcements. */
  readonly origin = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #pool: Pool;
  readonly #url: string;
  readonly #onBackgroundError: (error: unknown) => void;
  readonly #background: { close(): Promise<void> }[] = [];
  #closed = false;
  /** The last commit submitted; the next one starts after it has settled (see `commit`). */
  readonly #commits = new GroupCommit<BatchItem>((batch) => this.#commitNow(batch));

  /** Connects, checks durability settings and migrates. Throws with a clear message. */
  static async open(url: string, options: PostgresOpenOptions = {}): Promise<PostgresStorage> {
    const types = new TypeOverrides();
    types.setTypeParser(BIGINT_OID, parseSafeInteger);
    const pool = new Pool({ connectionString: url, types, options: '-c synchronous_commit=on' });
    // An idle pooled connection that breaks (a server restart) is discarded by the pool; the
    // next query opens a new one or fails itself. Without a listener the error would crash us.
    pool.on('error', () => undefined);
    try {
      await checkDurability(pool);
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
    this.#url = url;
    this.#onBackgroundError = onBackgroundError;
    this.ids = new ReservedIds(pool);
  }

  async loadInstruments(): Promise<Instrument[]> {
    const { rows } = await this.#pool.query<Row>('SELECT * FROM instruments ORDER BY ticker');
    return rows.map(instrumentFromRow);
  }

  async loadBooks(): Promise<AccountBook[]> {
    return this.#readBooks(undefined);
  }

  /** Books of every account, or of one; one snapshot for all four reads, so a commit can't split a book. */
  #readBooks(accountId: string | undefined): Promise<AccountBook[]> {
    const only = accountId === undefined ? [] : [requireId(accountId, 'account')];
    const where = (column: string): string => (only.length > 0 ? `${column} = $1` : 'TRUE');
    return this.#transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
      const books = new Map<string, AccountBook>();
      const accounts = await client.query<Row>(
        `SELECT * FROM accounts WHERE ${where('id')} ORDER BY id`,
        only,
      );
      for (const row of accounts.rows) {
        const account = accountFromRow(row);
        books.set(account.id, {
          account,
          orders: new Map(),
          deals: new Map(),
          overrides: new Map(),
          version: Number(row.version),
        });
      }
      const active = await client.query<Row>(
        `SELECT * FROM orders WHERE ${where('account_id')} AND status IN ('active', 'in_execution') ORDER BY id`,
        only,
      );
      for (const row of active.rows) {
        const order = orderFromRow(row);
        books.get(order.accountId)?.orders.set(order.id, order);
      }
      const open = await client.query<Row>(
        `SELECT * FROM deals WHERE ${where('account_id')} AND status <> 'closed' ORDER BY id`,
        only,
      );
      for (const row of open.rows) {
        const deal = dealFromRow(row);
        books.get(deal.accountId)?.deals.set(deal.id, deal);
      }
      const overrides = await client.query<Row>(
        `SELECT * FROM instrument_overrides WHERE ${where('account_id')} ORDER BY account_id, ticker`,
        only,
      );
      for (const row of overrides.rows) {
        books
          .get(formatId(Number(row.account_id), ACCOUNT_ID_WIDTH))
          ?.overrides.set(String(row.ticker), overridesFromRow(row));
      }
      return [...books.values()];
    });
  }

  // ---- Several processes on one database (SharedStorage) ----

  reserveIds(orders: number, deals: number): Promise<void> {
    return this.ids.reserve(orders, deals);
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
        ...columnArrays(ORDER_COLUMNS, lastByKey(changes.orders, (order) => order.id).map(orderRow)),
        ...columnArrays(DEAL_COLUMNS, lastByKey(changes.deals, (deal) => deal.id).map(dealRow)),
        ...columnArrays(LEDGER_COLUMNS, changes.ledger.map(ledgerRow)),
        ...columnArrays(FILL_COLUMNS, changes.fills.map(fillRow)),
      ],
    });
    return Number(rows[0]?.moved) === 1;
  }

  async loadBook(accountId: string): Promise<AccountBook | undefined> {
    if (parseId(accountId) === undefined) return undefined;
    return (await this.#readBooks(accountId))[0];
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
    await this.#transaction('BEGIN', async (client) => {
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
    this.#background.push(channel);
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

  contendForFeed(contender: FeedContender): void {
    const lock = new FeedLock(this.#backgroundOptions(), contender);
    this.#background.push(lock);
    lock.start();
  }

  #backgroundOptions() {
    return { url: this.#url, origin: this.origin, onError: this.#onBackgroundError };
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
    const accounts = lastByKey(changes.accounts, (account) => account.id).map((account) => ({
      id: Number(account.id),
      name: account.name,
      status: account.status,
      balance: account.balance,
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
      changePayload(this.origin, { type: 'account', accountId: result.accountId, version: result.version }),
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
          amount: account.balance,
          balanceAfter: account.balance,
          comment: OPENING_ENTRY_COMMENT,
          time: now,
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

  async listLedger(accountId: string, page: Page): Promise<LedgerEntry[]> {
    const { rows } = await this.#pool.query<Row>(
      'SELECT * FROM ledger WHERE account_id = $1 ORDER BY id LIMIT $2 OFFSET $3',
      [requireId(accountId, 'account'), page.limit, page.skip],
    );
    return rows.map(ledgerFromRow);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#background.map((connection) => connection.close()));
    await this.#commits.idle();
    await this.#pool.end();
  }

  /** Runs `work` between `begin` and COMMIT on one pooled connection; rolls back if it throws. */
  async #transaction<T>(begin: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(await this.#pool.connect(), begin, work);
  }
}

async function inTransaction<T>(
  client: PoolClient,
  begin: string,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    // A connection whose rollback failed is in an unknown state: destroy it rather than reuse it.
    const broken = await client.query('ROLLBACK').then(
      () => undefined,
      (rollbackError: unknown) => rollbackError,
    );
    client.release(broken instanceof Error ? broken : undefined);
    throw error;
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

function parseSafeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new Error(`BIGINT value ${text} is beyond Number.MAX_SAFE_INTEGER and cannot be read exactly`);
  }
  return value;
}

async function checkDurability(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ fsync: string; synchronous_commit: string }>(
    `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit`,
  );
  const settings = rows[0];
  if (settings?.fsync !== 'on' || settings.synchronous_commit === 'off') {
    throw new Error(
      `PostgreSQL must run with fsync=on and synchronous_commit on so that a committed change survives a crash; ` +
        `this connection has fsync=${settings?.fsync} and synchronous_commit=${settings?.synchronous_commit}`,
    );
  }
}

async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<void> {
  await inTransaction(await pool.connect(), 'BEGIN', async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations
         (number INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const { rows } = await client.query<{ number: number; checksum: string }>(
      'SELECT number, checksum FROM schema_migrations',
    );
    const applied = new Map(rows.map((row) => [row.number, row.checksum]));
    for (const migration of migrations) {
      const checksum = applied.get(migration.number);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) throw changedMigrationError(migration);
        continue;
      }
      await client.query(migration.sql);
      await client.query(
        'INSERT INTO schema_migrations (number, name, checksum, applied_at) VALUES ($1, $2, $3, $4)',
        [migration.number, migration.name, migration.checksum, Math.floor(Date.now() / 1000)],
      );
    }
  });
}

/** Rows to one array per column, in the order of `columns`, for the unnest statements. */
function columnArrays(columns: Columns, rows: readonly Row[]): unknown[][] {
  return Object.keys(columns).map((name) => rows.map((row) => row[name]));
}

function lastByKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

/** An id the caller guarantees (an account it holds, a user it created); a malformed one is a bug. */
function requireId(text: string, kind: string): number {
  const id = parseId(text);
  if (id === undefined) throw new Error(`${kind} id ${JSON.stringify(text)} is not a stored id`);
  return id;
}
