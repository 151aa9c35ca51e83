/**
 * The storage port: everything the application persists or queries. One contract test suite
 * (test/storage/storage-contract.ts) runs against every adapter.
 *
 * Durability: every write method resolves only after its change is durable on disk.
 * Atomicity: `commit` writes a whole engine step in one transaction.
 */
import type { ChangeSet, Fill, LedgerEntry } from '../engine/engine.ts';
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

export interface Storage {
  readonly dialect: 'sqlite' | 'postgres';
  /** Order and deal ids, increasing, never repeated. */
  readonly ids: IdSource;

  loadInstruments(): Promise<Instrument[]>;
  loadBooks(): Promise<AccountBook[]>;
  loadQuotes(): Promise<Quote[]>;
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  /**
   * Persists one engine step (and the quotes that caused it) atomically and durably. Steps are
   * applied in call order; a caller may submit the next before the previous resolves.
   */
  commit(changes: ChangeSet, quotes?: readonly Quote[]): Promise<void>;

  createUser(name: string, now: number): Promise<string>;
  userExists(userId: string): Promise<boolean>;
  createToken(userId: string, tokenHash: string, now: number): Promise<string>;
  /** Revokes by hash; false when no live token has that hash. */
  revokeToken(tokenHash: string, now: number): Promise<boolean>;
  revokeTokenById(userId: string, tokenId: string, now: number): Promise<boolean>;
  /** The user owning a live (not revoked) token with this hash. */
  findTokenUser(tokenHash: string): Promise<string | undefined>;

  /** Creates an account with its opening balance as the first ledger entry. */
  createAccount(account: NewAccount, now: number): Promise<Account>;
  putInstrument(instrument: Instrument): Promise<void>;
  putOverrides(accountId: string, ticker: string, overrides: ConditionOverrides): Promise<void>;

  listOrders(accountId: string, query: HistoryQuery): Promise<Order[]>;
  listDeals(accountId: string, query: HistoryQuery): Promise<Deal[]>;
  listFills(accountId: string, page: Page): Promise<Fill[]>;
  listLedger(accountId: string, page: Page): Promise<LedgerEntry[]>;

  close(): Promise<void>;
}

export const CURRENT_ORDER_STATUSES: readonly OrderStatus[] = ['active', 'in_execution'];
