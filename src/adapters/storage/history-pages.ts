/**
 * Deep history paging without stepping over skipped rows.
 *
 * SQL `OFFSET n` walks n rows, so page 2,000 of a million-order account would cost as much as
 * reading the history up to it. Instead, every adapter keeps a `history_pages` table, maintained by
 * triggers in the same transaction as the orders and deals it counts: per kind, account, bucket of
 * BUCKET_SIZE ids and status, the exact row count and the (only ever widened) bounds of the two
 * history times (orders: create_time and last_modified; deals: open_time and close_time).
 *
 * To serve `skip`, one query summarises the account's buckets (a few hundred for a million orders):
 * rows whose bounds lie wholly inside the time window count in full, rows wholly outside count
 * nothing, and a bucket with any row in between is "cut" and counted exactly, but only if the page
 * could start there. The walk stops at the bucket where `skip` lands, so the final query starts at
 * that bucket with an offset below BUCKET_SIZE.
 *
 * Correctness rests on two facts: counts are exact, and bounds contain every time they describe,
 * so "wholly inside" and "wholly outside" are never wrong. The SQL and the walk (`readHistoryPage`)
 * are the same in SQLite and PostgreSQL; only placeholders and the way a statement is run differ,
 * and each adapter supplies them as a `HistoryDialect`.
 */
import type { HistoryQuery } from '../../application/storage.ts';
import type { Row } from './rows.ts';

const BUCKET_SIZE = 4096;

export type HistoryKind = 'order' | 'deal';

interface Window {
  from: number;
  to: number;
}

/** The time window of a query, or null when it has none. Open ends default like the SQL does. */
function queryWindow(query: HistoryQuery): Window | null {
  if (query.from === null && query.to === null) return null;
  return { from: query.from ?? 0, to: query.to ?? Number.MAX_SAFE_INTEGER };
}

/** One bucket that may hold matching rows: how many surely match, and whether more must be counted. */
interface BucketSummary {
  bucket: number;
  known: number;
  cut: boolean;
}

/** Where the requested page starts: ids in [fromId, toId), skipping `offset` matching rows. */
interface PageLocation {
  fromId: number;
  toId: number;
  offset: number;
}

export interface Sql {
  text: string;
  params: (string | number)[];
}

/** How one adapter renders placeholders and runs the paging statements. */
export interface HistoryDialect {
  /**
   * The n-th parameter (1-based) as a placeholder that may repeat: `$n` in PostgreSQL, `@pn`
   * (bound by name) in SQLite.
   */
  placeholder(index: number): string;
  /** Runs a statement and returns its rows as arrays of column values, in column order. */
  values(sql: Sql): Promise<unknown[][]>;
  /** Runs a statement and returns its rows keyed by column name. */
  rows(sql: Sql): Promise<Row[]>;
}

/**
 * One page of an account's orders or deals, in id order: the buckets are summarised, the walk
 * finds the bucket where `skip` lands (counting cut buckets exactly on the way), and the page is
 * read from there with an offset below BUCKET_SIZE.
 */
export async function readHistoryPage(
  kind: HistoryKind,
  accountId: number,
  query: HistoryQuery,
  dialect: HistoryDialect,
): Promise<Row[]> {
  if (query.limit <= 0) return [];
  const table = kind === 'order' ? 'orders' : 'deals';
  const placeholder = dialect.placeholder;
  const summary = await dialect.values(bucketSummarySql(kind, accountId, query, placeholder));
  const buckets = summary.map(([bucket, known, cut]) => ({
    bucket: Number(bucket),
    known: Number(known),
    cut: Number(cut) === 1,
  }));
  // Parameters 1–3 are the account and the id range; the filter's follow, then limit and offset.
  const filter = historyFilterSql(kind, query, placeholder, 4);
  const where = `account_id = ${placeholder(1)} AND id >= ${placeholder(2)} AND id < ${placeholder(3)} ${filter.text}`;
  const location = await locatePage(buckets, query.skip, async (bucket) => {
    const counted = await dialect.values({
      text: `SELECT COUNT(*) FROM ${table} WHERE ${where}`,
      params: [accountId, bucket * BUCKET_SIZE, (bucket + 1) * BUCKET_SIZE, ...filter.params],
    });
    return Number(counted[0]?.[0] ?? 0);
  });
  if (!location) return [];
  const last = 4 + filter.params.length;
  return dialect.rows({
    text: `SELECT * FROM ${table} WHERE ${where} ORDER BY id LIMIT ${placeholder(last)} OFFSET ${placeholder(last + 1)}`,
    params: [accountId, location.fromId, location.toId, ...filter.params, query.limit, location.offset],
  });
}

/**
 * The query summarising an account's buckets for a history query, as rows (bucket, known, cut),
 * in bucket order, leaving out buckets that cannot hold a match (placeholders: `HistoryDialect`).
 */
function bucketSummarySql(
  kind: HistoryKind,
  accountId: number,
  query: HistoryQuery,
  placeholder: (index: number) => string,
): Sql {
  const params: (string | number)[] = [];
  const param = (value: string | number): string => {
    params.push(value);
    return placeholder(params.length);
  };
  const where = [`kind = ${param(kind)}`, `account_id = ${param(accountId)}`, 'count > 0'];
  if (query.statuses.length > 0) {
    where.push(`status IN (${query.statuses.map((status) => param(status)).join(', ')})`);
  }
  const window = queryWindow(query);
  if (!window) {
    return {
      text: `SELECT bucket, SUM(count) AS known, 0 AS cut FROM history_pages WHERE ${where.join(' AND ')}
             GROUP BY bucket ORDER BY bucket`,
      params,
    };
  }
  // Numbered placeholders can be repeated, so each bound is one parameter however often it is used.
  const from = param(window.from);
  const to = param(window.to);
  const inside = `((min_first >= ${from} AND max_first <= ${to}) OR
    (null_second = 0 AND min_second IS NOT NULL AND min_second >= ${from} AND max_second <= ${to}))`;
  const outside = `((max_first < ${from} OR min_first > ${to}) AND
    (min_second IS NULL OR max_second < ${from} OR min_second > ${to}))`;
  return {
    text: `SELECT bucket,
             SUM(CASE WHEN ${inside} THEN count ELSE 0 END) AS known,
             MAX(CASE WHEN ${inside} OR ${outside} THEN 0 ELSE 1 END) AS cut
           FROM history_pages WHERE ${where.join(' AND ')} AND NOT ${outside}
           GROUP BY bucket ORDER BY bucket`,
    params,
  };
}

/**
 * Finds where page `skip` starts among the summarised buckets. `countExactly` counts the matching
 * rows of one cut bucket; it is called only for cut buckets up to the one where the page starts.
 * Returns undefined when the page is empty.
 */
async function locatePage(
  buckets: readonly BucketSummary[],
  skip: number,
  countExactly: (bucket: number) => Promise<number>,
): Promise<PageLocation | undefined> {
  const last = buckets.at(-1);
  if (!last) return undefined;
  let remaining = skip;
  for (const entry of buckets) {
    const count = entry.cut ? await countExactly(entry.bucket) : entry.known;
    if (remaining < count) {
      return { fromId: entry.bucket * BUCKET_SIZE, toId: (last.bucket + 1) * BUCKET_SIZE, offset: remaining };
    }
    remaining -= count;
  }
  return undefined;
}

/** The status and time-window conditions of a history query, to append after a WHERE. */
function historyFilterSql(
  kind: HistoryKind,
  query: HistoryQuery,
  placeholder: (index: number) => string,
  firstIndex: number,
): Sql {
  const [first, second] = kind === 'order' ? ['create_time', 'last_modified'] : ['open_time', 'close_time'];
  const params: (string | number)[] = [];
  const param = (value: string | number): string => {
    params.push(value);
    return placeholder(firstIndex + params.length - 1);
  };
  const parts: string[] = [];
  if (query.statuses.length > 0) {
    parts.push(`AND status IN (${query.statuses.map((status) => param(status)).join(', ')})`);
  }
  const window = queryWindow(query);
  if (window) {
    const from = param(window.from);
    const to = param(window.to);
    parts.push(`AND ((${first} BETWEEN ${from} AND ${to}) OR (${second} BETWEEN ${from} AND ${to}))`);
  }
  return { text: parts.join(' '), params };
}
