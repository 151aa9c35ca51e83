/**
 * SQLite storage through better-sqlite3: one file, WAL journal, and a committed transaction
 * survives a crash or power loss before the reply is sent.
 *
 * Administrative writes (users, tokens, accounts, settings) commit with synchronous=FULL: COMMIT
 * flushes the log. Trading change sets, the hot path, are group-committed (group-commit.ts) through
 * a second connection that commits without flushing, and the log is then flushed on libuv's thread
 * pool (wal-flusher.ts); a caller hears "done" only after that flush. The flush is the same one
 * FULL would do inside COMMIT, but the event loop serves requests meanwhile.
 *
 * Migrations are numbered SQL files applied in order; each applied migration's checksum is
 * recorded and checked at every start, so an edited migration is refused rather than skipped.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
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
import type { Money } from '../../../engine/decimal.ts';
import { GroupCommit } from '../group-commit.ts';
import { LATEST_TRADE_TIME_SQL, OPENING_ENTRY_COMMENT, TRADING_HISTORY_SQL } from '../account-reset.ts';
import { changeWriter, type AccountResetItem, type WriteBatchItem } from './change-writer.ts';
import { WalFlusher } from './wal-flusher.ts';
import { MAX_EVENTS_PER_READ, eventFromRow } from '../event-rows.ts';
import { SqliteCandles } from './sqlite-candles.ts';
import { changedMigrationError, readMigrations, type Migration } from '../migrations.ts';
import {
  accountFromRow,
  dealFromRow,
  fillFromRow,
  instrumentFromRow,
  instrumentRow,
  LEDGER_COLUMNS,
  ledgerFromRow,
  ledgerRow,
  orderFromRow,
  overridesFromRow,
  overridesRow,
  quoteFromRow,
  type Row,
} from '../rows.ts';
import { readHistoryPage, type HistoryDialect, type HistoryKind } from '../history-pages.ts';
import { ACCOUNT_ID_WIDTH, FIRST_ACCOUNT_ID, SequentialIds, formatId, parseId } from '../../../engine/ids.ts';

/** Change sets written before WAL checkpoints move to a thread of their own. */
const CHECKPOINTER_AFTER_COMMITS = 500;

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface SqliteOpenOptions {
  /** Where the numbered migrations live; tests point it at a copy to prove edits are refused. */
  migrationsDir?: string;
}

export class SqliteStorage implements Storage {
  readonly dialect = 'sqlite' as const;
  readonly ids: SequentialIds;
  readonly #db: Database.Database;
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #statementCache = new Map<string, Database.Statement>();
  /** Change sets written so far, and the checkpoint thread started once they are many. */
  #committed = 0;
  #checkpointer: Worker | undefined;
  readonly #commits: GroupCommit<WriteBatchItem>;
  /** The connection change sets are committed through, and what makes them durable. */
  readonly #changeDb: Database.Database | undefined;
  readonly #flusher: WalFlusher | undefined;
  readonly #candles: SqliteCandles;

  /** Opens (creating if needed) the database file and migrates it. Throws with a clear message. */
  static open(path: string, options: SqliteOpenOptions = {}): SqliteStorage {
    if (path !== ':memory:') {
      ensureDirectory(dirname(path));
      createOwnerOnly(path);
    }
    const db = new Database(path);
    try {
      return new SqliteStorage(db, options.migrationsDir ?? MIGRATIONS_DIR);
    } catch (error) {
      // A refused or failed migration must not leave the file open (and locked) behind it.
      db.close();
      throw error;
    }
  }

  private constructor(db: Database.Database, migrationsDir: string) {
    this.#db = db;
    db.pragma('journal_mode = WAL');
    configureConnection(db, 'FULL');
    migrate(db, readMigrations(migrationsDir));
    this.#statements = prepareStatements(db);
    // Ids go on from the highest ever stored: a reset deletes rows, but leaves their ids' watermark.
    const highest = (table: string, kind: string): number =>
      (
        db
          .prepare(
            `SELECT MAX(COALESCE((SELECT MAX(id) FROM ${table}), 0),
                        COALESCE((SELECT last_id FROM id_watermarks WHERE kind = ?), 0)) AS id`,
          )
          .get(kind) as { id: number }
      ).id;
    this.ids = new SequentialIds(highest('orders', 'order'), highest('deals', 'deal'));
    // Change sets are written through a connection of their own that commits without flushing;
    // the flusher then makes them durable off the event loop (wal-flusher.ts). Every other write
    // (accounts, users, tokens, settings) commits through the main connection, flushed in COMMIT.
    // A private in-memory database has no second connection and nothing to flush.
    if (!db.memory) {
      this.#changeDb = new Database(db.name);
      configureConnection(this.#changeDb, 'NORMAL');
      this.#flusher = new WalFlusher(db.name);
    }
    const writeDb = this.#changeDb ?? db;
    const writeBatch = changeWriter(writeDb);
    const flusher = this.#flusher;
    this.#commits = new GroupCommit(
      (batch) => {
        writeBatch(batch);
        this.#committed += batch.length;
        if (this.#committed >= CHECKPOINTER_AFTER_COMMITS) this.#startCheckpointer();
      },
      flusher && (() => flusher.flush()),
    );
    this.#candles = new SqliteCandles(db, writeDb, () => flusher?.flush() ?? Promise.resolve());
  }

  async loadInstruments(): Promise<Instrument[]> {
    return (this.#db.prepare('SELECT * FROM instruments ORDER BY ticker').all() as Row[]).map(
      instrumentFromRow,
    );
  }

  async loadBooks(): Promise<AccountBook[]> {
    const books = new Map<string, AccountBook>();
    for (const row of this.#db.prepare('SELECT * FROM accounts ORDER BY id').all() as Row[]) {
      const account = accountFromRow(row);
      books.set(account.id, {
        account,
        orders: new Map(),
        deals: new Map(),
        overrides: new Map(),
        version: Number(row.version),
        lastEventId: Number(row.last_event_id),
      });
    }
    const active = this.#db.prepare(
      `SELECT * FROM orders WHERE status IN ('active', 'in_execution') ORDER BY id`,
    );
    for (const row of active.all() as Row[]) {
      const order = orderFromRow(row);
      books.get(order.accountId)?.orders.set(order.id, order);
    }
    for (const row of this.#db
      .prepare(`SELECT * FROM deals WHERE status <> 'closed' ORDER BY id`)
      .all() as Row[]) {
      const deal = dealFromRow(row);
      books.get(deal.accountId)?.deals.set(deal.id, deal);
    }
    for (const row of this.#db.prepare('SELECT * FROM instrument_overrides').all() as Row[]) {
      books
        .get(formatId(Number(row.account_id), ACCOUNT_ID_WIDTH))
        ?.overrides.set(String(row.ticker), overridesFromRow(row));
    }
    return [...books.values()];
  }

  async loadQuotes(): Promise<Quote[]> {
    return (this.#db.prepare('SELECT * FROM quotes ORDER BY ticker').all() as Row[]).map(quoteFromRow);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = this.#db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    this.#db
      .prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  /** Group-committed: change sets submitted in two consecutive event-loop turns share one transaction. */
  commit(changes: ChangeSet, quotes: readonly Quote[] = []): Promise<void> {
    return this.#commits.submit({ changes, quotes });
  }

  /** Queued with the change sets, so it lands between the steps submitted before and after it. */
  async resetAccounts(resets: readonly AccountReset[], now: number): Promise<AccountResetResult[]> {
    const item: AccountResetItem = { reset: resets, now, results: [] };
    await this.#commits.submit(item);
    return item.results;
  }

  async openingBalances(accountIds?: readonly string[]): Promise<Map<string, Money>> {
    const rows = this.#db.prepare('SELECT id, opening_balance FROM accounts ORDER BY id').all() as {
      id: number;
      opening_balance: number;
    }[];
    const wanted = accountIds && new Set(accountIds.map(parseId));
    return new Map(
      rows
        .filter((row) => !wanted || wanted.has(row.id))
        .map((row) => [formatId(row.id, ACCOUNT_ID_WIDTH), row.opening_balance]),
    );
  }

  async hasTradingHistory(): Promise<boolean> {
    return (this.#db.prepare(TRADING_HISTORY_SQL).get() as { history: number }).history === 1;
  }

  async latestTradeTime(): Promise<number | undefined> {
    return (this.#db.prepare(LATEST_TRADE_TIME_SQL).get() as { latest: number | null }).latest ?? undefined;
  }

  async createUser(name: string, now: number): Promise<string> {
    const result = this.#db.prepare('INSERT INTO users (name, created_at) VALUES (?, ?)').run(name, now);
    return String(result.lastInsertRowid);
  }

  async userExists(userId: string): Promise<boolean> {
    return this.#db.prepare('SELECT 1 FROM users WHERE id = ?').get(Number(userId)) !== undefined;
  }

  async createToken(userId: string, tokenHash: string, now: number): Promise<string> {
    const result = this.#db
      .prepare('INSERT INTO tokens (user_id, token_hash, created_at) VALUES (?, ?, ?)')
      .run(Number(userId), tokenHash, now);
    return String(result.lastInsertRowid);
  }

  async revokeToken(tokenHash: string, now: number): Promise<boolean> {
    const result = this.#db
      .prepare('UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL')
      .run(now, tokenHash);
    return result.changes > 0;
  }

  async revokeTokenById(userId: string, tokenId: string, now: number): Promise<boolean> {
    const result = this.#db
      .prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL')
      .run(now, Number(tokenId), Number(userId));
    return result.changes > 0;
  }

  async findTokenUser(tokenHash: string): Promise<string | undefined> {
    const row = this.#statements.findToken.get(tokenHash) as { user_id: number } | undefined;
    return row === undefined ? undefined : String(row.user_id);
  }

  async createAccount(account: NewAccount, now: number): Promise<Account> {
    return this.#db.transaction(() => {
      const max = this.#db.prepare('SELECT MAX(id) AS id FROM accounts').get() as { id: number | null };
      const id = max.id === null ? FIRST_ACCOUNT_ID : max.id + 1;
      this.#db
        .prepare(
          `INSERT INTO accounts (id, user_id, name, type, system, currency, status, balance, opening_balance, version, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'enabled', ?, ?, 0, ?)`,
        )
        .run(
          id,
          Number(account.userId),
          account.name,
          account.type,
          account.system,
          account.currency,
          account.balance,
          account.balance,
          now,
        );
      const created: Account = { ...account, id: formatId(id, ACCOUNT_ID_WIDTH), status: 'enabled' };
      if (account.balance !== 0) {
        this.#statements.insertLedger.run(
          ledgerRow({
            accountId: created.id,
            type: 'deposit',
            amount: account.balance,
            balanceAfter: account.balance,
            comment: OPENING_ENTRY_COMMENT,
            time: now,
            orderId: null,
            dealId: null,
          }),
        );
      }
      return created;
    })();
  }

  async putInstrument(instrument: Instrument): Promise<void> {
    this.#statements.upsertInstrument.run(instrumentRow(instrument));
  }

  async putOverrides(accountId: string, ticker: string, overrides: ConditionOverrides): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO instrument_overrides (account_id, ticker, min_volume, max_volume, volume_step, min_tick, leverage, trade_mode)
         VALUES (@account_id, @ticker, @min_volume, @max_volume, @volume_step, @min_tick, @leverage, @trade_mode)
         ON CONFLICT (account_id, ticker) DO UPDATE SET min_volume = excluded.min_volume, max_volume = excluded.max_volume,
           volume_step = excluded.volume_step, min_tick = excluded.min_tick, leverage = excluded.leverage, trade_mode = excluded.trade_mode`,
      )
      .run(overridesRow(accountId, ticker, overrides));
  }

  async listOrders(accountId: string, query: HistoryQuery): Promise<Order[]> {
    return (await this.#history('order', accountId, query)).map(orderFromRow);
  }

  async listDeals(accountId: string, query: HistoryQuery): Promise<Deal[]> {
    return (await this.#history('deal', accountId, query)).map(dealFromRow);
  }

  /** One page of history, located through the bucket counts (see history-pages.ts). */
  #history(kind: HistoryKind, accountId: string, query: HistoryQuery): Promise<Row[]> {
    return readHistoryPage(kind, Number(accountId), query, this.#historyDialect);
  }

  /**
   * Summaries and counts come back as arrays, and so do page rows, which are then keyed with the
   * statement's column names: better-sqlite3 builds arrays about twice as fast as objects.
   */
  readonly #historyDialect: HistoryDialect = {
    placeholder: numbered,
    values: async (sql) => this.#prepared(sql.text, true).all(bindNumbered(sql.params)) as unknown[][],
    rows: async (sql) => {
      const page = this.#prepared(sql.text, true);
      const names = page.columns().map((column) => column.name);
      return (page.all(bindNumbered(sql.params)) as unknown[][]).map((row) => {
        const keyed: Row = {};
        for (let index = 0; index < names.length; index += 1) keyed[names[index] as string] = row[index];
        return keyed;
      });
    },
  };

  /** Prepared statements by SQL text: history queries vary in shape, but only a little. */
  #prepared(sql: string, raw = false): Database.Statement {
    const key = raw ? `raw:${sql}` : sql;
    let statement = this.#statementCache.get(key);
    if (!statement) {
      statement = this.#db.prepare(sql);
      if (raw) statement.raw(true);
      this.#statementCache.set(key, statement);
    }
    return statement;
  }

  async readEvents(accountId: string, afterId: number, limit: number): Promise<EngineEvent[]> {
    const id = parseId(accountId);
    if (id === undefined) return [];
    const rows = this.#prepared(
      'SELECT * FROM account_events WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?',
    ).all(id, afterId, Math.min(limit, MAX_EVENTS_PER_READ)) as Row[];
    return rows.map(eventFromRow);
  }

  async eventBounds(accountId: string): Promise<EventBounds | undefined> {
    const id = parseId(accountId);
    if (id === undefined) return undefined;
    const row = this.#prepared(
      `SELECT last_event_id AS last, (SELECT MIN(id) FROM account_events WHERE account_id = accounts.id) AS oldest
         FROM accounts WHERE id = ?`,
    ).get(id) as { last: number; oldest: number | null } | undefined;
    return row && { last: Number(row.last), oldest: row.oldest === null ? undefined : Number(row.oldest) };
  }

  /** A bounded batch at a time, so the write lock it takes is brief. */
  async pruneEvents(before: number, keep: number, limit: number): Promise<number> {
    const result = this.#prepared(
      `DELETE FROM account_events WHERE seq IN (
         SELECT seq FROM account_events
          WHERE time < ? AND seq <= (SELECT COALESCE(MAX(seq), 0) FROM account_events) - ?
          ORDER BY seq LIMIT ?)`,
    ).run(before, keep, limit);
    return result.changes;
  }

  async listFills(accountId: string, page: Page): Promise<Fill[]> {
    const rows = this.#db
      .prepare('SELECT * FROM fills WHERE account_id = ? ORDER BY id LIMIT ? OFFSET ?')
      .all(Number(accountId), page.limit, page.skip) as Row[];
    return rows.map(fillFromRow);
  }

  async listLedger(accountId: string, page: Page): Promise<LedgerEntry[]> {
    const rows = this.#db
      .prepare('SELECT * FROM ledger WHERE account_id = ? ORDER BY id LIMIT ? OFFSET ?')
      .all(Number(accountId), page.limit, page.skip) as Row[];
    return rows.map(ledgerFromRow);
  }

  /**
   * A busy database gets a thread that checkpoints the WAL every quarter second: the checkpoint's
   * copying and flushing then no longer lands inside some request's commit (tail latency).
   */
  #startCheckpointer(): void {
    if (this.#checkpointer || this.#db.memory) return;
    const worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), {
      workerData: { path: this.#db.name, intervalMs: 250 },
    });
    worker.on('error', () => undefined);
    worker.unref();
    this.#checkpointer = worker;
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
    await this.#commits.idle();
    if (this.#checkpointer) {
      const exited = new Promise((resolve) => this.#checkpointer?.once('exit', resolve));
      // Referenced again while it stops, so that waiting for it keeps the process alive.
      this.#checkpointer.ref();
      this.#checkpointer.postMessage('stop');
      await exited;
      this.#checkpointer = undefined;
    }
    this.#flusher?.close();
    if (this.#changeDb?.open) this.#changeDb.close();
    if (this.#db.open) this.#db.close();
  }
}

/** Settings every connection to the file needs; `synchronous` is whether COMMIT flushes the log. */
function configureConnection(db: Database.Database, synchronous: 'FULL' | 'NORMAL'): void {
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Checkpoints run on a thread of their own once the database is busy (#startCheckpointer);
  // until then, and as a backstop, a writing connection checkpoints every 10,000 pages.
  db.pragma('wal_autocheckpoint = 10000');
}

/**
 * Creates a folder and its missing parents one level at a time. (Node's recursive mkdir can spin
 * forever on pseudo file systems such as /proc instead of failing.)
 */
/** Creates the folder and any missing parents, owner-only (0700); an existing folder is left as it is. */
function ensureDirectory(path: string): void {
  if (existsSync(path)) return;
  const parent = dirname(path);
  if (parent !== path) ensureDirectory(parent);
  mkdirSync(path, { mode: 0o700 });
}

/**
 * Creates a missing database file empty and owner-only (0600), which SQLite opens as a new
 * database. SQLite gives the `-wal` and `-shm` files it creates the database file's mode, so they
 * are owner-only too. An existing file, or anything else at the path, is left as it is.
 */
function createOwnerOnly(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  closeSync(fd);
}

function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = new Map(
    (
      db.prepare('SELECT number, name, checksum FROM schema_migrations').all() as {
        number: number;
        name: string;
        checksum: string;
      }[]
    ).map((row) => [row.number, row]),
  );
  for (const migration of migrations) {
    const done = applied.get(migration.number);
    if (done) {
      if (done.checksum !== migration.checksum) {
        throw changedMigrationError(migration);
      }
      continue;
    }
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare(
        'INSERT INTO schema_migrations (number, name, checksum, applied_at) VALUES (?, ?, ?, ?)',
      ).run(migration.number, migration.name, migration.checksum, Math.floor(Date.now() / 1000));
    })();
  }
}

const INSERT_LEDGER = `INSERT INTO ledger (${LEDGER_COLUMNS.join(', ')})
  VALUES (${LEDGER_COLUMNS.map((column) => `@${column}`).join(', ')})`;

function prepareStatements(db: Database.Database) {
  return {
    insertLedger: db.prepare(INSERT_LEDGER),
    upsertInstrument: db.prepare(
      `INSERT INTO instruments (ticker, description, contract_size, units, min_volume, max_volume, volume_step, min_tick,
         leverage, trade_mode, quote_currency, calendar, volatility, spread_ticks, reference_price,
         trigger_source)
       VALUES (@ticker, @description, @contract_size, @units, @min_volume, @max_volume, @volume_step, @min_tick,
         @leverage, @trade_mode, @quote_currency, @calendar, @volatility, @spread_ticks, @reference_price,
         @trigger_source)
       ON CONFLICT (ticker) DO UPDATE SET description = excluded.description, contract_size = excluded.contract_size,
         units = excluded.units, min_volume = excluded.min_volume, max_volume = excluded.max_volume,
         volume_step = excluded.volume_step, min_tick = excluded.min_tick, leverage = excluded.leverage,
         trade_mode = excluded.trade_mode, quote_currency = excluded.quote_currency, calendar = excluded.calendar,
         volatility = excluded.volatility, spread_ticks = excluded.spread_ticks, reference_price = excluded.reference_price,
         trigger_source = excluded.trigger_source`,
    ),
    findToken: db.prepare('SELECT user_id FROM tokens WHERE token_hash = ? AND revoked_at IS NULL'),
  };
}

/** Numbered parameters for the shared history SQL: better-sqlite3 binds them by name. */
const numbered = (index: number): string => `@p${index}`;

function bindNumbered(params: readonly (string | number)[]): Record<string, string | number> {
  const bound: Record<string, string | number> = {};
  params.forEach((value, index) => {
    bound[`p${index + 1}`] = value;
  });
  return bound;
}
