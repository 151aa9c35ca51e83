/**
 * Writes a group commit's change sets (group-commit.ts) in one transaction, with as few statement
 * executions as the rows allow. Statement executions, not rows, are most of SQLite's cost here:
 * - Each table's rows go in multi-row statements bound by position (prepared once per row count).
 * - An order or deal written by several change sets is written once, as its last state, and an
 *   account once per batch, its version moved by the number of change sets that wrote it.
 *
 * Rows end as writing each change set in turn would leave them. So do the history pages' counts,
 * which their triggers only add and move; their time bounds may come out narrower, as a skipped
 * intermediate state widens nothing, and still cover every row, which is all they promise.
 *
 * An account reset (account-reset.ts) is a batch item too, so it lands between the change sets
 * submitted before and after it: the change sets on each side of it are written as above, and the
 * reset in between, all in the one transaction.
 */
import type Database from 'better-sqlite3';
import type { ChangeSet } from '../../../engine/engine.ts';
import type { Account, Deal, Order, Quote } from '../../../engine/model.ts';
import type { AccountReset, AccountResetResult } from '../../../application/storage.ts';
import { parseId } from '../../../engine/ids.ts';
import { EVENT_COLUMNS, eventValues } from '../event-rows.ts';
import { OPENING_ENTRY_COMMENT, RESET_TABLES, deleteHistoryPagesSql } from '../account-reset.ts';
import {
  DEAL_COLUMNS,
  DEAL_KEEP,
  FILL_COLUMNS,
  LEDGER_COLUMNS,
  ORDER_COLUMNS,
  ORDER_KEEP,
  QUOTE_COLUMNS,
  dealValues,
  fillValues,
  ledgerValues,
  orderValues,
  quoteValues,
  upsertedColumns,
} from '../rows.ts';

export interface ChangeBatchItem {
  changes: ChangeSet;
  quotes: readonly Quote[];
}

/** What the writer takes: change sets, and account resets among them. */
export type WriteBatchItem = ChangeBatchItem | AccountResetItem;

/** Accounts to reset; the writer fills in `results` when it writes them. */
export interface AccountResetItem {
  reset: readonly AccountReset[];
  now: number;
  results: AccountResetResult[];
}

/** Rows per statement: a batch rarely holds more, and 64 rows of the widest table bind 1,088 values. */
const MAX_ROWS_PER_STATEMENT = 64;

/** Prepares the statements on `db` and returns the batch writer (one transaction per call). */
export function changeWriter(db: Database.Database): (batch: readonly WriteBatchItem[]) => void {
  const orders = new RowsStatement(db, 'orders', ORDER_COLUMNS, upsertTail('id', ORDER_COLUMNS, ORDER_KEEP));
  const deals = new RowsStatement(db, 'deals', DEAL_COLUMNS, upsertTail('id', DEAL_COLUMNS, DEAL_KEEP));
  const ledger = new RowsStatement(db, 'ledger', LEDGER_COLUMNS, '');
  const fills = new RowsStatement(db, 'fills', FILL_COLUMNS, '');
  const quotes = new RowsStatement(db, 'quotes', QUOTE_COLUMNS, upsertTail('ticker', QUOTE_COLUMNS, []));
  const events = new RowsStatement(db, 'account_events', EVENT_COLUMNS, '');
  const updateAccount = db.prepare(
    `UPDATE accounts SET name = ?, status = ?, balance = ?, version = version + ?,
       last_event_id = MAX(last_event_id, ?) WHERE id = ?`,
  );
  const resetAccounts = accountResetter(db);
  const writeChanges = (batch: readonly WriteBatchItem[]): void => {
    const lastOrders = new Map<string, Order>();
    const lastDeals = new Map<string, Deal>();
    const lastAccounts = new Map<string, { account: Account; writes: number }>();
    const lastQuotes = new Map<string, Quote>();
    const ledgerRows: unknown[][] = [];
    const fillRows: unknown[][] = [];
    const eventRows: unknown[][] = [];
    const lastEvents = new Map<string, number>();
    for (const item of batch) {
      if ('reset' in item) continue;
      const { changes, quotes: batchQuotes } = item;
      for (const order of changes.orders) lastOrders.set(order.id, order);
      for (const deal of changes.deals) lastDeals.set(deal.id, deal);
      for (const account of changes.accounts) {
        const earlier = lastAccounts.get(account.id);
        lastAccounts.set(account.id, { account, writes: (earlier?.writes ?? 0) + 1 });
      }
      for (const entry of changes.ledger) ledgerRows.push(ledgerValues(entry));
      for (const fill of changes.fills) fillRows.push(fillValues(fill));
      for (const event of changes.events) {
        eventRows.push(eventValues(event));
        lastEvents.set(event.accountId, event.id);
      }
      for (const quote of batchQuotes) lastQuotes.set(quote.ticker, quote);
    }
    orders.run(Array.from(lastOrders.values(), orderValues));
    deals.run(Array.from(lastDeals.values(), dealValues));
    for (const { account, writes } of lastAccounts.values()) {
      const lastEvent = lastEvents.get(account.id) ?? 0;
      updateAccount.run(account.name, account.status, account.balance, writes, lastEvent, Number(account.id));
    }
    ledger.run(ledgerRows);
    fills.run(fillRows);
    events.run(eventRows);
    quotes.run(Array.from(lastQuotes.values(), quoteValues));
  };
  return db.transaction((batch: readonly WriteBatchItem[]) => {
    let start = 0;
    batch.forEach((item, index) => {
      if (!('reset' in item)) return;
      writeChanges(batch.slice(start, index));
      resetAccounts(item);
      start = index + 1;
    });
    writeChanges(start === 0 ? batch : batch.slice(start));
  });
}

/** Prepares the statements of an account reset (see account-reset.ts) on `db`; runs inside the caller's transaction. */
function accountResetter(db: Database.Database): (item: AccountResetItem) => void {
  const account = db.prepare('SELECT opening_balance, version FROM accounts WHERE id = ?');
  const deletes = [
    ...RESET_TABLES.map((table) => db.prepare(`DELETE FROM ${table} WHERE account_id = ?`)),
    db.prepare(deleteHistoryPagesSql('?')),
  ];
  const update = db.prepare('UPDATE accounts SET balance = ?, opening_balance = ?, version = ? WHERE id = ?');
  const opening = db.prepare(
    'INSERT INTO ledger (account_id, amount, balance_after, comment, time) VALUES (?, ?, ?, ?, ?)',
  );
  const highest = {
    order: db.prepare('SELECT MAX(id) AS id FROM orders'),
    deal: db.prepare('SELECT MAX(id) AS id FROM deals'),
  };
  const watermark = db.prepare(
    `INSERT INTO id_watermarks (kind, last_id) VALUES (?, ?)
       ON CONFLICT (kind) DO UPDATE SET last_id = MAX(last_id, excluded.last_id)`,
  );
  return (item) => {
    // Ids are counted on from the highest stored at start: remember it before its row may go.
    for (const [kind, statement] of Object.entries(highest)) {
      const { id } = statement.get() as { id: number | null };
      if (id !== null) watermark.run(kind, id);
    }
    item.results = [];
    for (const reset of item.reset) {
      const id = parseId(reset.accountId);
      const row =
        id === undefined
          ? undefined
          : (account.get(id) as { opening_balance: number; version: number } | undefined);
      if (id === undefined || !row) continue;
      const balance = reset.balance ?? row.opening_balance;
      for (const statement of deletes) statement.run(id);
      update.run(balance, balance, row.version + 1, id);
      if (balance !== 0) opening.run(id, balance, balance, OPENING_ENTRY_COMMENT, item.now);
      item.results.push({ accountId: reset.accountId, balance, version: row.version + 1 });
    }
  };
}

/** `ON CONFLICT (key) DO UPDATE` of every column but the key and those kept as first written. */
function upsertTail(key: string, columns: readonly string[], keep: readonly string[]): string {
  const updates = upsertedColumns(columns, key, keep);
  return `ON CONFLICT (${key}) DO UPDATE SET ${updates.map((column) => `${column} = excluded.${column}`).join(', ')}`;
}

/** `INSERT INTO table (columns) VALUES (?, …), … tail`, prepared once per row count it is run with. */
class RowsStatement {
  readonly #db: Database.Database;
  readonly #head: string;
  readonly #tuple: string;
  readonly #tail: string;
  readonly #byRows = new Map<number, Database.Statement>();

  constructor(db: Database.Database, table: string, columns: readonly string[], tail: string) {
    this.#db = db;
    this.#head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
    this.#tuple = `(${columns.map(() => '?').join(', ')})`;
    this.#tail = tail;
  }

  /** Writes the rows (each a record's values in column order), in order. */
  run(rows: readonly unknown[][]): void {
    for (let start = 0; start < rows.length; start += MAX_ROWS_PER_STATEMENT) {
      const chunk =
        rows.length <= MAX_ROWS_PER_STATEMENT ? rows : rows.slice(start, start + MAX_ROWS_PER_STATEMENT);
      this.#statement(chunk.length).run(...chunk);
    }
  }

  #statement(rows: number): Database.Statement {
    let statement = this.#byRows.get(rows);
    if (statement === undefined) {
      const tuples = Array.from({ length: rows }, () => this.#tuple).join(', ');
      statement = this.#db.prepare(`${this.#head}${tuples} ${this.#tail}`);
      this.#byRows.set(rows, statement);
    }
    return statement;
  }
}
