/**
 * How a listing request becomes a history query, and when it can be answered from memory.
 * The engine keeps only live orders and deals: a query for those statuses alone, with no time
 * window, never touches storage (what bots poll); anything else reads the stored history.
 */
import type { HistoryQuery } from '../storage.ts';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../../contract/enums.ts';

export interface ListQuery {
  statuses?: readonly string[];
  from?: number;
  to?: number;
  skip?: number;
  limit?: number;
}

export const LIVE_DEAL_STATUSES: readonly string[] = ['open', 'closing'];

/** The query a listing asks for: without any filter, the statuses in `current`. */
export function historyQuery(query: ListQuery, current: readonly string[]): HistoryQuery {
  const searching =
    query.statuses !== undefined ||
    query.from !== undefined ||
    query.to !== undefined ||
    query.skip !== undefined ||
    query.limit !== undefined;
  return {
    statuses: searching ? (query.statuses ?? []) : current,
    from: query.from ?? null,
    to: query.to ?? null,
    skip: query.skip ?? 0,
    limit: Math.min(query.limit ?? DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT),
  };
}

/** A query only for statuses the engine keeps in memory, with no time window. */
export function isLiveQuery(query: HistoryQuery, live: readonly string[]): boolean {
  return (
    query.from === null &&
    query.to === null &&
    query.statuses.length > 0 &&
    query.statuses.every((status) => live.includes(status))
  );
}

/** The page of in-memory items a live query asks for, by id like the stored history. */
export function livePage<T extends { id: string; status: string }>(
  items: Iterable<T>,
  query: HistoryQuery,
): T[] {
  const matching = [...items].filter((item) => query.statuses.includes(item.status));
  // Ids are fixed-width decimal text, so text order is numeric order.
  matching.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return matching.slice(query.skip, query.skip + query.limit);
}
