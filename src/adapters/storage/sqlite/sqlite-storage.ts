/**
 * SQLite storage through better-sqlite3: one file, WAL journal, synchronous=FULL so that a
 * committed transaction survives a crash or power loss before the reply is sent.
 *
 * Migrations are numbered SQL files applied in order; each applied migration's checksum is
 * recorded and checked at every start, so an edited migration is refused rather than skipped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
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
import type { HistoryQuery, NewAccount, Page, Storage } from '../../../application/storage.ts';
import {
  ACCOUNT_ID_WIDTH,
  DEAL_ID_WIDTH,
  FIRST_ACCOUNT_ID,
  ORDER_ID_WIDTH,
  SequentialIds,
  formatId,
} from '../../../engine/ids.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface SqliteOpenOptions {
  /** Where the numbered migrations live; tests point it at a copy to prove edits are refused. */
  migrationsDir?: string;
}

type Row = Record<string, unknown>;

export interface Migration {
  number: number;
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(directory: string): Migration[] {
  const files = readdirSync(directory)
    .filter((file) => file.endsWith('.sql'))
    .sort();
  return files.map((file, index) => {
    const match = /^(\d{4})-[a-z0-9-]+\.sql$/.exec(file);
    if (!match) throw new Error(`migration file ${file} must be named NNNN-name.sql`);
    const number = Number(match[1]);
    if (number !== index + 1) throw new Error(`migration ${file} is out of sequence: expected ${index + 1}`);
    const sql = readFileSync(join(directory, file), 'utf8');
    return { number, name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

export class SqliteStorage implements Storage {
  readonly dialect = 'sqlite' as const;
  readonly ids: SequentialIds;
  readonly #db: Database.Database;
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #commitTransaction: (changes: ChangeSet, quotes: readonly Quote[]) => void;

  /** Opens (creating if needed) the database file and migrates it. Throws with a clear message. */
  static open(path: string, options: SqliteOpenOptions = {}): SqliteStorage {
    if (path !== ':memory:') ensureDirectory(dirname(path));
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
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, readMigrations(migrationsDir));
    this.#statements = prepareStatements(db);
    const maxOrder = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM orders').get() as { id: number };
    const maxDeal = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM deals').get() as { id: number };
    this.ids = new SequentialIds(maxOrder.id, maxDeal.id);
    this.#commitTransaction = db.transaction((changes: ChangeSet, quotes: readonly Quote[]) => {
      const s = this.#statements;
      for (const order of changes.orders) s.upsertOrder.run(orderRow(order));
      for (const deal of changes.deals) s.upsertDeal.run(dealRow(deal));
      for (const account of changes.accounts) {
        s.updateAccount.run({
          id: Number(account.id),
          name: account.name,
          status: account.status,
          balance: account.balance,
        });
      }
      for (const entry of changes.ledger) s.insertLedger.run(ledgerRow(entry));
      for (const fill of changes.fills) s.insertFill.run(fillRow(fill));
      for (const quote of quotes) s.upsertQuote.run(quoteRow(quote));
    });
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

  async commit(changes: ChangeSet, quotes: readonly Quote[] = []): Promise<void> {
    this.#commitTransaction(changes, quotes);
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
          `INSERT INTO accounts (id, user_id, name, type, system, currency, status, balance, version, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'enabled', ?, 0, ?)`,
        )
        .run(
          id,
          Number(account.userId),
          account.name,
          account.type,
          account.system,
          account.currency,
          account.balance,
          now,
        );
      const created: Account = { ...account, id: formatId(id, ACCOUNT_ID_WIDTH), status: 'enabled' };
      if (account.balance !== 0) {
        this.#statements.insertLedger.run(
          ledgerRow({
            accountId: created.id,
            amount: account.balance,
            balanceAfter: account.balance,
            comment: 'initial deposit',
            time: now,
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
      .run({
        account_id: Number(accountId),
        ticker,
        min_volume: overrides.minVolume ?? null,
        max_volume: overrides.maxVolume ?? null,
        volume_step: overrides.volumeStep ?? null,
        min_tick: overrides.minTick ?? null,
        leverage: overrides.leverage ?? null,
        trade_mode: overrides.tradeMode ?? null,
      });
  }

  async listOrders(accountId: string, query: HistoryQuery): Promise<Order[]> {
    const { sql, params } = historySql('orders', 'create_time', 'last_modified', accountId, query);
    return (this.#db.prepare(sql).all(params) as Row[]).map(orderFromRow);
  }

  async listDeals(accountId: string, query: HistoryQuery): Promise<Deal[]> {
    const { sql, params } = historySql('deals', 'open_time', 'close_time', accountId, query);
    return (this.#db.prepare(sql).all(params) as Row[]).map(dealFromRow);
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
    return rows.map((row) => ({
      accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
      amount: Number(row.amount),
      balanceAfter: Number(row.balance_after),
      comment: String(row.comment),
      time: Number(row.time),
    }));
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

/**
 * Creates a folder and its missing parents one level at a time. (Node's recursive mkdir can spin
 * forever on pseudo file systems such as /proc instead of failing.)
 */
function ensureDirectory(path: string): void {
  if (existsSync(path)) return;
  const parent = dirname(path);
  if (parent !== path) ensureDirectory(parent);
  mkdirSync(path);
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
        throw new Error(
          `migration ${migration.name} was changed after it was applied; migrations are append-only`,
        );
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

function prepareStatements(db: Database.Database) {
  return {
    upsertOrder: db.prepare(
      `INSERT INTO orders (id, account_id, ticker, side, type, volume, price, filled_price, expiration, stop_loss, take_profit,
         status, comment, create_time, last_modified, deals, target_deal_id)
       VALUES (@id, @account_id, @ticker, @side, @type, @volume, @price, @filled_price, @expiration, @stop_loss, @take_profit,
         @status, @comment, @create_time, @last_modified, @deals, @target_deal_id)
       ON CONFLICT (id) DO UPDATE SET volume = excluded.volume, price = excluded.price, filled_price = excluded.filled_price,
         expiration = excluded.expiration, stop_loss = excluded.stop_loss, take_profit = excluded.take_profit,
         status = excluded.status, comment = excluded.comment, last_modified = excluded.last_modified, deals = excluded.deals`,
    ),
    upsertDeal: db.prepare(
      `INSERT INTO deals (id, account_id, ticker, side, volume, open_price, open_time, stop_loss, take_profit, status,
         close_price, close_time, profit, last_modified)
       VALUES (@id, @account_id, @ticker, @side, @volume, @open_price, @open_time, @stop_loss, @take_profit, @status,
         @close_price, @close_time, @profit, @last_modified)
       ON CONFLICT (id) DO UPDATE SET volume = excluded.volume, open_price = excluded.open_price,
         stop_loss = excluded.stop_loss, take_profit = excluded.take_profit, status = excluded.status,
         close_price = excluded.close_price, close_time = excluded.close_time, profit = excluded.profit,
         last_modified = excluded.last_modified`,
    ),
    updateAccount: db.prepare(
      'UPDATE accounts SET name = @name, status = @status, balance = @balance, version = version + 1 WHERE id = @id',
    ),
    insertLedger: db.prepare(
      `INSERT INTO ledger (account_id, amount, balance_after, comment, time)
       VALUES (@account_id, @amount, @balance_after, @comment, @time)`,
    ),
    insertFill: db.prepare(
      `INSERT INTO fills (order_id, account_id, ticker, side, order_type, volume, price, time, quote_time, bid, ask, rule, deal_ids)
       VALUES (@order_id, @account_id, @ticker, @side, @order_type, @volume, @price, @time, @quote_time, @bid, @ask, @rule, @deal_ids)`,
    ),
    upsertQuote: db.prepare(
      `INSERT INTO quotes (ticker, bid, ask, time, last, last_time) VALUES (@ticker, @bid, @ask, @time, @last, @last_time)
       ON CONFLICT (ticker) DO UPDATE SET bid = excluded.bid, ask = excluded.ask, time = excluded.time,
         last = excluded.last, last_time = excluded.last_time`,
    ),
    upsertInstrument: db.prepare(
      `INSERT INTO instruments (ticker, description, contract_size, units, min_volume, max_volume, volume_step, min_tick,
         leverage, trade_mode, quote_currency, calendar, volatility, spread_ticks, reference_price)
       VALUES (@ticker, @description, @contract_size, @units, @min_volume, @max_volume, @volume_step, @min_tick,
         @leverage, @trade_mode, @quote_currency, @calendar, @volatility, @spread_ticks, @reference_price)
       ON CONFLICT (ticker) DO UPDATE SET description = excluded.description, contract_size = excluded.contract_size,
         units = excluded.units, min_volume = excluded.min_volume, max_volume = excluded.max_volume,
         volume_step = excluded.volume_step, min_tick = excluded.min_tick, leverage = excluded.leverage,
         trade_mode = excluded.trade_mode, quote_currency = excluded.quote_currency, calendar = excluded.calendar,
         volatility = excluded.volatility, spread_ticks = excluded.spread_ticks, reference_price = excluded.reference_price`,
    ),
    findToken: db.prepare('SELECT user_id FROM tokens WHERE token_hash = ? AND revoked_at IS NULL'),
  };
}

function historySql(
  table: 'orders' | 'deals',
  firstTime: string,
  secondTime: string,
  accountId: string,
  query: HistoryQuery,
): { sql: string; params: Record<string, number | string> } {
  const params: Record<string, number | string> = {
    account_id: Number(accountId),
    limit: query.limit,
    skip: query.skip,
  };
  const where = ['account_id = @account_id'];
  if (query.statuses.length > 0) {
    const names = query.statuses.map((status, index) => {
      params[`status${index}`] = status;
      return `@status${index}`;
    });
    where.push(`status IN (${names.join(', ')})`);
  }
  if (query.from !== null || query.to !== null) {
    params.from = query.from ?? 0;
    params.to = query.to ?? Number.MAX_SAFE_INTEGER;
    where.push(`((${firstTime} BETWEEN @from AND @to) OR (${secondTime} BETWEEN @from AND @to))`);
  }
  return {
    sql: `SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit OFFSET @skip`,
    params,
  };
}

// ---- Row mapping ----

const nullable = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

function orderRow(order: Order): Row {
  return {
    id: Number(order.id),
    account_id: Number(order.accountId),
    ticker: order.ticker,
    side: order.side,
    type: order.type,
    volume: order.volume,
    price: order.price,
    filled_price: order.filledPrice,
    expiration: order.expiration,
    stop_loss: order.stopLoss,
    take_profit: order.takeProfit,
    status: order.status,
    comment: order.comment,
    create_time: order.createTime,
    last_modified: order.lastModified,
    deals: order.deals.map(Number).join(','),
    target_deal_id: order.targetDealId === null ? null : Number(order.targetDealId),
  };
}

function orderFromRow(row: Row): Order {
  const deals = String(row.deals);
  return {
    id: formatId(Number(row.id), ORDER_ID_WIDTH),
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    ticker: String(row.ticker),
    side: row.side as Order['side'],
    type: row.type as Order['type'],
    volume: Number(row.volume),
    price: nullable(row.price),
    filledPrice: nullable(row.filled_price),
    expiration: Number(row.expiration),
    stopLoss: nullable(row.stop_loss),
    takeProfit: nullable(row.take_profit),
    status: row.status as Order['status'],
    comment: String(row.comment),
    createTime: Number(row.create_time),
    lastModified: Number(row.last_modified),
    deals: deals === '' ? [] : deals.split(',').map((id) => formatId(Number(id), DEAL_ID_WIDTH)),
    targetDealId: row.target_deal_id === null ? null : formatId(Number(row.target_deal_id), DEAL_ID_WIDTH),
  };
}

function dealRow(deal: Deal): Row {
  return {
    id: Number(deal.id),
    account_id: Number(deal.accountId),
    ticker: deal.ticker,
    side: deal.side,
    volume: deal.volume,
    open_price: deal.openPrice,
    open_time: deal.openTime,
    stop_loss: deal.stopLoss,
    take_profit: deal.takeProfit,
    status: deal.status,
    close_price: deal.closePrice,
    close_time: deal.closeTime,
    profit: deal.profit,
    last_modified: deal.lastModified,
  };
}

function dealFromRow(row: Row): Deal {
  return {
    id: formatId(Number(row.id), DEAL_ID_WIDTH),
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    ticker: String(row.ticker),
    side: row.side as Deal['side'],
    volume: Number(row.volume),
    openPrice: Number(row.open_price),
    openTime: Number(row.open_time),
    stopLoss: nullable(row.stop_loss),
    takeProfit: nullable(row.take_profit),
    status: row.status as Deal['status'],
    closePrice: nullable(row.close_price),
    closeTime: nullable(row.close_time),
    profit: Number(row.profit),
    lastModified: Number(row.last_modified),
  };
}

function accountFromRow(row: Row): Account {
  return {
    id: formatId(Number(row.id), ACCOUNT_ID_WIDTH),
    userId: String(row.user_id),
    name: String(row.name),
    type: row.type as Account['type'],
    system: row.system as Account['system'],
    currency: String(row.currency),
    status: row.status as Account['status'],
    balance: Number(row.balance),
  };
}

function ledgerRow(entry: LedgerEntry): Row {
  return {
    account_id: Number(entry.accountId),
    amount: entry.amount,
    balance_after: entry.balanceAfter,
    comment: entry.comment,
    time: entry.time,
  };
}

function fillRow(fill: Fill): Row {
  return {
    order_id: Number(fill.orderId),
    account_id: Number(fill.accountId),
    ticker: fill.ticker,
    side: fill.side,
    order_type: fill.orderType,
    volume: fill.volume,
    price: fill.price,
    time: fill.time,
    quote_time: fill.quoteTime,
    bid: fill.bid,
    ask: fill.ask,
    rule: fill.rule,
    deal_ids: fill.dealIds.map(Number).join(','),
  };
}

function fillFromRow(row: Row): Fill {
  const deals = String(row.deal_ids);
  return {
    orderId: formatId(Number(row.order_id), ORDER_ID_WIDTH),
    accountId: formatId(Number(row.account_id), ACCOUNT_ID_WIDTH),
    ticker: String(row.ticker),
    side: row.side as Fill['side'],
    orderType: row.order_type as Fill['orderType'],
    volume: Number(row.volume),
    price: Number(row.price),
    time: Number(row.time),
    quoteTime: Number(row.quote_time),
    bid: Number(row.bid),
    ask: Number(row.ask),
    rule: String(row.rule),
    dealIds: deals === '' ? [] : deals.split(',').map((id) => formatId(Number(id), DEAL_ID_WIDTH)),
  };
}

function quoteRow(quote: Quote): Row {
  return {
    ticker: quote.ticker,
    bid: quote.bid,
    ask: quote.ask,
    time: quote.time,
    last: quote.last ?? null,
    last_time: quote.lastTime ?? null,
  };
}

function quoteFromRow(row: Row): Quote {
  const quote: Quote = {
    ticker: String(row.ticker),
    bid: Number(row.bid),
    ask: Number(row.ask),
    time: Number(row.time),
  };
  if (row.last !== null) quote.last = Number(row.last);
  if (row.last_time !== null) quote.lastTime = Number(row.last_time);
  return quote;
}

function instrumentRow(instrument: Instrument): Row {
  return {
    ticker: instrument.ticker,
    description: instrument.description,
    contract_size: instrument.contractSize,
    units: instrument.units,
    min_volume: instrument.minVolume,
    max_volume: instrument.maxVolume,
    volume_step: instrument.volumeStep,
    min_tick: instrument.minTick,
    leverage: instrument.leverage,
    trade_mode: instrument.tradeMode,
    quote_currency: instrument.quoteCurrency,
    calendar: instrument.calendar,
    volatility: instrument.volatility,
    spread_ticks: instrument.spreadTicks,
    reference_price: instrument.referencePrice,
  };
}

function instrumentFromRow(row: Row): Instrument {
  return {
    ticker: String(row.ticker),
    description: String(row.description),
    contractSize: Number(row.contract_size),
    units: String(row.units),
    minVolume: Number(row.min_volume),
    maxVolume: Number(row.max_volume),
    volumeStep: Number(row.volume_step),
    minTick: Number(row.min_tick),
    leverage: Number(row.leverage),
    tradeMode: row.trade_mode as Instrument['tradeMode'],
    quoteCurrency: String(row.quote_currency),
    calendar: row.calendar as Instrument['calendar'],
    volatility: Number(row.volatility),
    spreadTicks: Number(row.spread_ticks),
    referencePrice: Number(row.reference_price),
  };
}

function overridesFromRow(row: Row): ConditionOverrides {
  const overrides: ConditionOverrides = {};
  if (row.min_volume !== null) overrides.minVolume = Number(row.min_volume);
  if (row.max_volume !== null) overrides.maxVolume = Number(row.max_volume);
  if (row.volume_step !== null) overrides.volumeStep = Number(row.volume_step);
  if (row.min_tick !== null) overrides.minTick = Number(row.min_tick);
  if (row.leverage !== null) overrides.leverage = Number(row.leverage);
  if (row.trade_mode !== null) overrides.tradeMode = row.trade_mode as Instrument['tradeMode'];
  return overrides;
}
