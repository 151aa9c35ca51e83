/**
 * The storage ports: everything the application persists or queries, split by the question a
 * caller asks (identity, settings, trading, history; `SharedStorage` when several processes share
 * the database). Every adapter implements all of them as one `Storage`, which only the
 * composition root holds; each caller depends on the narrowest port it needs. One contract test
 * suite (test/storage/storage-contract.ts) runs against every adapter.
 *
 * Durability: every write method resolves only after its change is durable on disk.
 * Atomicity: `commit` writes a whole engine step in one transaction, `resetAccounts` a whole reset.
 */
import type { ChangeSet, EngineEvent, Fill, LedgerEntry } from '../engine/engine.ts';
import type { Money } from '../engine/decimal.ts';
import type {
  Account,
  AccountBook,
  ConditionOverrides,
  Deal,
  Instrument,
  Order,
  OrderStatus,
  Quote,
} from '../engine/model.ts';
import type { IdSource } from '../engine/ports.ts';
import type { Candle } from './market-data/candles.ts';

export interface HistoryQuery {
  /** Only these statuses; empty means any. */
  statuses: readonly string[];
  /** Inclusive time window; an order matches on create_time or last_modified, a deal on open_time or close_time. */
  from: number | null;
  to: number | null;
  skip: number;
  limit: number;
}

export interface Page {
  skip: number;
  limit: number;
}

export interface NewAccount {
  userId: string;
  name: string;
  type: Account['type'];
  system: Account['system'];
  currency: string;
  balance: number;
}

/** One account to put back to its opening state (`TradingStore.resetAccounts`). */
export interface AccountReset {
  accountId: string;
  /** Its new opening balance; when absent, the one it has (what it was created with, or last reset to). */
  balance?: Money;
}

/** An account as a reset left it. */
export interface AccountResetResult {
  accountId: string;
  balance: Money;
  /** The account's version after the reset (one more than before). */
  version: number;
}

/** Users and their API tokens (tokens are stored as hashes only). */
export interface IdentityStore {
  createUser(name: string, now: number): Promise<string>;
  userExists(userId: string): Promise<boolean>;
  createToken(userId: string, tokenHash: string, now: number): Promise<string>;
  /** Revokes by hash; false when no live token has that hash. */
  revokeToken(tokenHash: string, now: number): Promise<boolean>;
  revokeTokenById(userId: string, tokenId: string, now: number): Promise<boolean>;
  /** The user owning a live (not revoked) token with this hash. */
  findTokenUser(tokenHash: string): Promise<string | undefined>;
}

/** Named values the server keeps across restarts (seeding markers, the clock). */
export interface SettingsStore {
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;
}

/** What the trading engine runs on: instruments, books and quotes in, engine steps and resets out. */
export interface TradingStore {
  /** Order and deal ids, increasing, never repeated. */
  readonly ids: IdSource;
  /**
   * Present when several server processes may share the database (PostgreSQL): then every change
   * goes through `shared.commitAccount`, and `ids` only hands out ids reserved beforehand.
   */
  readonly shared?: SharedStorage;

  loadInstruments(): Promise<Instrument[]>;
  loadBooks(): Promise<AccountBook[]>;
  loadQuotes(): Promise<Quote[]>;

  /**
   * Persists one engine step (and the quotes that caused it) atomically and durably. Steps are
   * applied in call order; a caller may submit the next before the previous resolves.
   */
  commit(changes: ChangeSet, quotes?: readonly Quote[]): Promise<void>;

  /** Creates an account with its opening balance as the first ledger entry. */
  createAccount(account: NewAccount, now: number): Promise<Account>;
  /** Each account's opening balance (what it was created with, or last reset to); all accounts when no ids are given. */
  openingBalances(accountIds?: readonly string[]): Promise<Map<string, Money>>;
  /**
   * Puts accounts back to their opening state, in one transaction: their orders, deals, fills,
   * ledger entries and history page counts go; the balance becomes the opening balance (the one
   * given, which is kept as the new opening balance, or the one the account has), written as the
   * one ledger entry ("initial deposit", unless 0); the version moves on by one. The user, tokens,
   * name, status and instrument overrides stay. Order and deal ids handed out later stay above
   * every id stored before, after a restart too. Applied in call order with `commit`: after every
   * step submitted before it, before every step submitted after. Unknown account ids are skipped.
   * With several processes (`shared`), the others are told the accounts changed.
   */
  resetAccounts(resets: readonly AccountReset[], now: number): Promise<AccountResetResult[]>;
  putInstrument(instrument: Instrument): Promise<void>;
  putOverrides(accountId: string, ticker: string, overrides: ConditionOverrides): Promise<void>;
}

/** An account's stored history, in pages, and whether there is any history at all. */
export interface HistoryStore {
  listOrders(accountId: string, query: HistoryQuery): Promise<Order[]>;
  listDeals(accountId: string, query: HistoryQuery): Promise<Deal[]>;
  listFills(accountId: string, page: Page): Promise<Fill[]>;
  listLedger(accountId: string, page: Page): Promise<LedgerEntry[]>;
  /**
   * Whether anything has happened since the accounts opened: any order, deal or fill, or a ledger
   * entry other than an account's opening one. A fresh database, or one after resetting every
   * account, has none.
   */
  hasTradingHistory(): Promise<boolean>;
  /** Unix seconds of the latest change to an order, a deal or a fill; undefined when there is none. */
  latestTradeTime(): Promise<number | undefined>;
}

/** An account's retained event ids (see EventStore). */
export interface EventBounds {
  /** The oldest event still kept; undefined when none is. */
  oldest: number | undefined;
  /** The latest event id the account ever had (0 before its first); kept when events are pruned or reset away. */
  last: number;
}

/**
 * The durable account event log. `commit` writes a step's events in the step's transaction, so
 * an event is stored exactly when its change is; reads see only committed events.
 */
export interface EventStore {
  /** The account's events with ids above `afterId`, in id order, at most `limit` of them. */
  readEvents(accountId: string, afterId: number, limit: number): Promise<EngineEvent[]>;
  /** Undefined for an unknown account. */
  eventBounds(accountId: string): Promise<EventBounds | undefined>;
  /**
   * Deletes, at most `limit` at a time, the events older than `before` (Unix seconds) that are
   * not among the database's newest `keep`; resolves with how many went.
   */
  pruneEvents(before: number, keep: number, limit: number): Promise<number>;
}

/** Which stored candles to read (`CandleStore.readCandles`). */
export interface CandleQuery {
  ticker: string;
  intervalSeconds: number;
  /** Inclusive bounds on the candles' bucket start (Unix seconds). */
  from: number;
  to: number;
  limit: number;
  /** The newest `limit` in the window when true, else the oldest; either way returned oldest first. */
  newest: boolean;
}

/** Candles for charts (application/market-data), one row per ticker, interval and bucket. */
export interface CandleStore {
  /**
   * Merges each candle into the stored one of its bucket (candles.ts `mergeCandles`: earlier open,
   * later close, high, low, volume added), or stores it; all in one transaction, durably. Several
   * processes may merge into one bucket at once.
   */
  mergeCandles(candles: readonly Candle[]): Promise<void>;
  readCandles(query: CandleQuery): Promise<Candle[]>;
  /** Deletes these tickers' candles of `intervalSeconds` whose bucket starts before `before`. */
  pruneCandles(tickers: readonly string[], intervalSeconds: number, before: number): Promise<void>;
}

/** One adapter, all ports: what the composition root opens, hands out by port, and closes. */
export interface Storage
  extends IdentityStore, SettingsStore, TradingStore, HistoryStore, EventStore, CandleStore {
  readonly dialect: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

export const CURRENT_ORDER_STATUSES: readonly OrderStatus[] = ['active', 'in_execution'];

/** A change another process made, as announced to the others. */
export type ClusterChange =
  /** An account's state moved to `version`; `reset` when an account reset moved it there. */
  | { type: 'account'; accountId: string; version: number; reset?: true }
  /** An account was created, or its per-instrument overrides changed: load it again. */
  | { type: 'account_settings'; accountId: string }
  /** An instrument was added or edited. */
  | { type: 'instrument'; ticker: string };

export interface ClusterListener {
  /** Quotes another process applied (its triggers have fired there). */
  quotes(quotes: Quote[]): void;
  change(change: ClusterChange): void;
  /** Notifications may have been missed (the listening connection was re-established). */
  resync(): void;
}

export interface FeedContender {
  /** This process now runs the feed. */
  acquired(): void;
  /** This process must stop running the feed (its lock's connection broke). */
  lost(): void;
}

/**
 * What several processes sharing one database need beyond `TradingStore` (see docs/operations.md).
 * Correctness comes from the database: each account carries a version, and a step is written
 * only if the account is still at the version the step was computed from.
 */
export interface SharedStorage {
  /** Makes at least this many order and deal ids available to `TradingStore.ids` synchronously. */
  reserveIds(orders: number, deals: number): Promise<void>;
  /**
   * Writes one engine step's changes for one account if the account is still at
   * `expectedVersion` in the database, moving it to expectedVersion + 1, and announces the change.
   * Resolves false, having written nothing, when another process changed the account first.
   */
  commitAccount(accountId: string, expectedVersion: number, changes: ChangeSet): Promise<boolean>;
  /** One account's book, read in one snapshot; undefined for an unknown account. */
  loadBook(accountId: string): Promise<AccountBook | undefined>;
  /** An account's current version; undefined for an unknown account. */
  accountVersion(accountId: string): Promise<number | undefined>;
  /** Every account's current version. */
  accountVersions(): Promise<Map<string, number>>;
  /** Stores the newest quotes and announces them to the other processes. */
  publishQuotes(quotes: readonly Quote[]): Promise<void>;
  publishChange(change: ClusterChange): Promise<void>;
  /** Starts delivering the other processes' announcements. */
  listen(listener: ClusterListener): Promise<void>;
  /** Runs `work` while no other process runs work given here (e.g. first-start seeding). */
  exclusively<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Competes (until close) to be the one process that runs the feed. Resolves once the first
   * attempt is decided: by then `contender.acquired` has been called if this process won.
   */
  contendForFeed(contender: FeedContender): Promise<void>;
}
