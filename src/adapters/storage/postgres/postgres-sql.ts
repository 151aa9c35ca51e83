/**
 * The SQL of the PostgreSQL adapter's change-set writes. Rows (rows.ts) travel as one array
 * parameter per column and are expanded with `unnest … WITH ORDINALITY`, so a table's rows of a
 * whole batch are one statement, written in array order. A multi-row upsert may touch each key
 * once, so callers pass each key's last version only (`lastByKey`). On conflict, the columns the
 * SQLite adapter leaves alone (ORDER_KEEP, DEAL_KEEP) stay as first written.
 */
import {
  DEAL_COLUMNS as DEAL_COLUMN_NAMES,
  FILL_COLUMNS as FILL_COLUMN_NAMES,
  LEDGER_COLUMNS as LEDGER_COLUMN_NAMES,
  ORDER_COLUMNS as ORDER_COLUMN_NAMES,
  QUOTE_COLUMNS as QUOTE_COLUMN_NAMES,
  DEAL_KEEP,
  ORDER_KEEP,
  upsertedColumns,
  type Row,
} from '../rows.ts';
import { EVENT_COLUMNS as EVENT_COLUMN_NAMES } from '../event-rows.ts';
import { parseId } from '../../../engine/ids.ts';

export type Columns = Readonly<Record<string, 'bigint' | 'text'>>;

/**
 * A change-set table's columns (rows.ts) with their PostgreSQL types: the named ones are text, the
 * rest bigint. The multi-row statements bind one array per column, in this order.
 */
function typedColumns(columns: readonly string[], text: readonly string[]): Columns {
  return Object.fromEntries(columns.map((column) => [column, text.includes(column) ? 'text' : 'bigint']));
}

export const ORDER_COLUMNS = typedColumns(ORDER_COLUMN_NAMES, [
  'ticker',
  'side',
  'type',
  'status',
  'comment',
  'deals',
]);
export const DEAL_COLUMNS = typedColumns(DEAL_COLUMN_NAMES, ['ticker', 'side', 'status']);
export const ACCOUNT_COLUMNS = typedColumns(
  ['id', 'name', 'status', 'balance', 'last_event_id'],
  ['name', 'status'],
);
export const EVENT_COLUMNS = typedColumns(EVENT_COLUMN_NAMES, ['payload']);
export const LEDGER_COLUMNS = typedColumns(LEDGER_COLUMN_NAMES, ['type', 'comment']);
export const FILL_COLUMNS = typedColumns(FILL_COLUMN_NAMES, [
  'ticker',
  'side',
  'order_type',
  'rule',
  'deal_ids',
]);
export const QUOTE_COLUMNS = typedColumns(QUOTE_COLUMN_NAMES, ['ticker']);
export const INSTRUMENT_COLUMNS = [
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
  'trigger_source',
] as const;
export const OVERRIDE_COLUMNS = [
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
 * $4 new version, $5 account id, $6 expected version, $7 channel, $8 payload, $9 the step's last
 * event id (0 for none), then the arrays of orders, deals, ledger entries, fills and events.
 */
function accountStepSql(): string {
  const gate = 'WHERE EXISTS (SELECT 1 FROM moved)';
  const orders = 10;
  const deals = orders + Object.keys(ORDER_COLUMNS).length;
  const ledger = deals + Object.keys(DEAL_COLUMNS).length;
  const fills = ledger + Object.keys(LEDGER_COLUMNS).length;
  const events = fills + Object.keys(FILL_COLUMNS).length;
  return `WITH moved AS (
      UPDATE accounts SET name = COALESCE($1, name), status = COALESCE($2, status),
        balance = COALESCE($3, balance), version = $4, last_event_id = GREATEST(last_event_id, $9)
      WHERE id = $5 AND version = $6 RETURNING id),
    o AS (${upsertSql('orders', ORDER_COLUMNS, 'id', ORDER_KEEP, orders, gate)}),
    d AS (${upsertSql('deals', DEAL_COLUMNS, 'id', DEAL_KEEP, deals, gate)}),
    l AS (INSERT INTO ledger (${Object.keys(LEDGER_COLUMNS).join(', ')}) ${unnestRows(LEDGER_COLUMNS, ledger, gate)}),
    f AS (INSERT INTO fills (${Object.keys(FILL_COLUMNS).join(', ')}) ${unnestRows(FILL_COLUMNS, fills, gate)}),
    e AS (INSERT INTO account_events (${Object.keys(EVENT_COLUMNS).join(', ')}) ${unnestRows(EVENT_COLUMNS, events, gate)}),
    n AS (SELECT pg_notify($7, $8) FROM moved)
    SELECT (SELECT COUNT(*) FROM moved) AS moved, (SELECT COUNT(*) FROM n) AS announced`;
}

/** Named, so each pooled connection parses a statement once. */
export const STATEMENTS = {
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
    text: `UPDATE accounts SET name = u.name, status = u.status, balance = u.balance, version = accounts.version + 1,
        last_event_id = GREATEST(accounts.last_event_id, u.last_event_id)
      FROM (${unnestRows(ACCOUNT_COLUMNS)}) AS u WHERE accounts.id = u.id`,
  },
  insertLedger: {
    name: 'stockstrader-insert-ledger',
    text: `INSERT INTO ledger (${Object.keys(LEDGER_COLUMNS).join(', ')}) ${unnestRows(LEDGER_COLUMNS)}`,
  },
  insertEvents: {
    name: 'stockstrader-insert-events',
    text: `INSERT INTO account_events (${Object.keys(EVENT_COLUMNS).join(', ')}) ${unnestRows(EVENT_COLUMNS)}`,
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

/** Rows to one array per column, in the order of `columns`, for the unnest statements. */
export function columnArrays(columns: Columns, rows: readonly Row[]): unknown[][] {
  return Object.keys(columns).map((name) => rows.map((row) => row[name]));
}

export function lastByKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

/** An id the caller guarantees (an account it holds, a user it created); a malformed one is a bug. */
export function requireId(text: string, kind: string): number {
  const id = parseId(text);
  if (id === undefined) throw new Error(`${kind} id ${JSON.stringify(text)} is not a stored id`);
  return id;
}
