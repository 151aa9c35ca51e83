/**
 * The trading use cases: authorise the account, run the engine, persist the step, then reply.
 *
 * Invariants:
 * - The engine runs synchronously, so the steps of one process are totally ordered; storage
 *   applies their commits in the same order (group-committing those of two consecutive event-loop turns), and
 *   a caller's promise resolves only once its own step is durable. A response therefore never
 *   precedes its change on disk, and the HTTP layer holds every reply until the steps issued
 *   before it are durable, so a read never shows a change that a crash could still undo.
 * - If a commit fails, memory and disk disagree: the service reports a fatal error and stops
 *   accepting work rather than serve state that was never stored.
 * - A user only ever sees their own accounts; a foreign account id is "account not found".
 */
import { ACCOUNT_ID_WIDTH, DEAL_ID_WIDTH, ORDER_ID_WIDTH, formatId, parseId } from '../engine/ids.ts';
import { effectiveConditions } from '../engine/instrument.ts';
import {
  emptyChangeSet,
  isEmptyChangeSet,
  type ChangeSet,
  type Command,
  type CommandResult,
  type Engine,
  type Fill,
  type LedgerEntry,
  type PlaceOrder,
  type ModifyOrder,
  type ModifyDeal,
} from '../engine/engine.ts';
import type { AccountMetrics } from '../engine/account-metrics.ts';
import type {
  Account,
  AccountBook,
  AccountStatus,
  ConditionOverrides,
  Deal,
  Instrument,
  Order,
  Quote,
  TradingConditions,
} from '../engine/model.ts';
import type { Money, Price } from '../engine/decimal.ts';
import { AppError, invalid } from './errors.ts';
import { TickHistory } from './tick-history.ts';
import { nowSeconds, type Clock, type Logger, type TradingObserver } from './ports.ts';
import {
  CURRENT_ORDER_STATUSES,
  type AccountReset,
  type AccountResetResult,
  type ClusterChange,
  type ClusterListener,
  type HistoryQuery,
  type NewAccount,
  type Page,
  type SharedStorage,
  type Storage,
} from './storage.ts';

export interface TradingServiceOptions {
  engine: Engine;
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Called when memory and storage may have diverged; the process should stop. */
  onFatal: (error: unknown) => void;
  observer?: TradingObserver;
}

export interface InstrumentView {
  instrument: Instrument;
  conditions: TradingConditions;
}

export interface DealView {
  deal: Deal;
  instrument: Instrument | undefined;
  /** Live closing price and floating profit for open deals. */
  live: { closePrice: Price; profit: Money } | undefined;
}

export interface ListQuery {
  statuses?: readonly string[];
  from?: number;
  to?: number;
  skip?: number;
  limit?: number;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 500;

export class TradingService {
  readonly engine: Engine;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly #logger: Logger;
  readonly #onFatal: (error: unknown) => void;
  readonly #observer: TradingObserver | undefined;
  readonly #accountsByUser = new Map<string, string[]>();
  readonly #ticks = new TickHistory();
  #commits: Promise<void> = Promise.resolve();
  /** Set when several processes share the database: changes then go through account versions. */
  readonly #shared: SharedStorage | undefined;
  /** Per account, the tail of its chain of tasks (commits, reloads, commands) in this process. */
  readonly #accountTasks = new Map<string, Promise<void>>();
  /** Per account, bumped whenever its book is reloaded: steps computed before are void. */
  readonly #epochs = new Map<string, number>();
  /** Accounts another process has changed since this one loaded them: reloaded when next needed. */
  readonly #stale = new Set<string>();
  /**
   * Per account, its last stored state, for reads. Memory runs ahead of storage by steps being
   * written, and with several processes such a step can lose its race and be voided: clients are
   * shown only what was stored, never a fill that then did not happen.
   */
  readonly #stored = new Map<string, AccountBook>();
  /** The last reset asked for: resets run one at a time, as each reads opening balances first. */
  #resets: Promise<unknown> = Promise.resolve();
  /** Commits submitted and not yet settled. */
  #inFlight = 0;
  #broken: unknown = undefined;

  constructor(options: TradingServiceOptions) {
    this.engine = options.engine;
    this.storage = options.storage;
    this.clock = options.clock;
    this.#logger = options.logger;
    this.#onFatal = options.onFatal;
    this.#observer = options.observer;
    this.#shared = options.storage.shared;
  }

  /** Loads instruments, accounts with their open orders and deals, and the last quotes. */
  async load(): Promise<void> {
    for (const instrument of await this.storage.loadInstruments()) this.engine.putInstrument(instrument);
    for (const quote of await this.storage.loadQuotes()) {
      if (this.engine.instrument(quote.ticker)) this.engine.restoreQuote(quote);
    }
    for (const book of await this.storage.loadBooks()) this.#addBook(book);
  }

  now(): number {
    return nowSeconds(this.clock);
  }

  // ---- Reads ----

  accounts(userId: string): Account[] {
    return (this.#accountsByUser.get(userId) ?? []).flatMap((id) => {
      const book = (this.#shared && this.#stored.get(id)) || this.engine.book(id);
      return book ? [book.account] : [];
    });
  }

  /** The caller's account, or "account not found" (also for other users' accounts). */
  requireBook(userId: string | null, accountId: string): AccountBook {
    const book = this.engine.book(normaliseAccountId(accountId));
    if (!book || (userId !== null && book.account.userId !== userId)) {
      throw new AppError('account_not_found', 'account not found');
    }
    return book;
  }

  /** The account as clients may see it: as stored (see #stored), or live with a database of our own. */
  #shown(userId: string | null, accountId: string): AccountBook {
    const book = this.requireBook(userId, accountId);
    return (this.#shared && this.#stored.get(book.account.id)) || book;
  }

  accountState(userId: string | null, accountId: string): AccountMetrics {
    return this.engine.metricsOf(this.#shown(userId, accountId));
  }

  instruments(): Instrument[] {
    return this.engine.instruments();
  }

  accountInstruments(userId: string, accountId: string): InstrumentView[] {
    const book = this.requireBook(userId, accountId);
    return this.engine.instruments().map((instrument) => ({
      instrument,
      conditions: effectiveConditions(instrument, book.overrides.get(instrument.ticker)),
    }));
  }

  accountInstrument(userId: string, accountId: string, ticker: string): InstrumentView {
    const book = this.requireBook(userId, accountId);
    const instrument = this.requireInstrument(ticker);
    return { instrument, conditions: effectiveConditions(instrument, book.overrides.get(instrument.ticker)) };
  }

  quote(userId: string, accountId: string, ticker: string): { quote: Quote; instrument: Instrument } {
    this.requireBook(userId, accountId);
    const instrument = this.requireInstrument(ticker);
    const quote = this.engine.currentQuote(instrument.ticker);
    if (!quote) throw new AppError('no_quote', `no quote for ${instrument.ticker}`);
    return { quote, instrument };
  }

  /** The newest quotes of an instrument, oldest first (bounded per instrument). */
  recentTicks(ticker: string, limit: number): Quote[] {
    return this.#ticks.recent(this.requireInstrument(ticker).ticker, limit);
  }

  requireInstrument(ticker: string): Instrument {
    const instrument = this.engine.instrument(ticker);
    if (!instrument) throw new AppError('unknown_ticker', `unknown ticker ${ticker}`);
    return instrument;
  }

  async listOrders(userId: string, accountId: string, query: ListQuery): Promise<Order[]> {
    const book = this.#shown(userId, accountId);
    const history = historyQuery(query, CURRENT_ORDER_STATUSES);
    // Live orders are all in memory: the default listing (what bots poll) never touches storage.
    if (isLiveQuery(history, CURRENT_ORDER_STATUSES)) return livePage(book.orders.values(), history);
    return this.storage.listOrders(book.account.id, history);
  }

  async listDeals(userId: string, accountId: string, query: ListQuery): Promise<DealView[]> {
    const book = this.#shown(userId, accountId);
    const history = historyQuery(query, LIVE_DEAL_STATUSES);
    const deals = isLiveQuery(history, LIVE_DEAL_STATUSES)
      ? livePage(book.deals.values(), history)
      : await this.storage.listDeals(book.account.id, history);
    return deals.map((stored) => {
      // Open deals are read from memory so their live values match the current quote.
      const deal = stored.status === 'closed' ? stored : (book.deals.get(stored.id) ?? stored);
      const instrument = this.engine.instrument(deal.ticker);
      const live = deal.status === 'closed' ? undefined : this.engine.dealValue(deal);
      return { deal, instrument, live };
    });
  }

  async listFills(accountId: string, page: Page): Promise<Fill[]> {
    const book = this.requireBook(null, accountId);
    return this.storage.listFills(book.account.id, page);
  }

  async listLedger(accountId: string, page: Page): Promise<LedgerEntry[]> {
    const book = this.requireBook(null, accountId);
    return this.storage.listLedger(book.account.id, page);
  }

  // ---- Trading ----

  async placeOrder(
    userId: string,
    accountId: string,
    order: Omit<PlaceOrder, 'kind' | 'accountId'>,
  ): Promise<string> {
    const book = this.requireBook(userId, accountId);
    const result = await this.#run({ kind: 'place_order', accountId: book.account.id, ...order });
    if (!result.orderId) throw new Error('placed order has no id');
    this.#observer?.orderPlaced();
    return result.orderId;
  }

  async modifyOrder(
    userId: string,
    accountId: string,
    orderId: string,
    changes: Omit<ModifyOrder, 'kind' | 'accountId' | 'orderId'>,
  ): Promise<void> {
    const book = this.requireBook(userId, accountId);
    await this.#run({
      kind: 'modify_order',
      accountId: book.account.id,
      orderId: normaliseOrderId(orderId),
      ...changes,
    });
  }

  async cancelOrder(userId: string, accountId: string, orderId: string): Promise<void> {
    const book = this.requireBook(userId, accountId);
    await this.#run({ kind: 'cancel_order', accountId: book.account.id, orderId: normaliseOrderId(orderId) });
  }

  async modifyDeal(
    userId: string,
    accountId: string,
    dealId: string,
    changes: Omit<ModifyDeal, 'kind' | 'accountId' | 'dealId'>,
  ): Promise<void> {
    const book = this.requireBook(userId, accountId);
    await this.#run({
      kind: 'modify_deal',
      accountId: book.account.id,
      dealId: normaliseDealId(dealId),
      ...changes,
    });
  }

  async closeDeal(userId: string, accountId: string, dealId: string): Promise<void> {
    const book = this.requireBook(userId, accountId);
    await this.#run({ kind: 'close_deal', accountId: book.account.id, dealId: normaliseDealId(dealId) });
  }

  // ---- Operator actions ----

  /** A currency profit can be converted from or into: USD, or one an instrument quotes against USD. */
  isConvertible(currency: string): boolean {
    return (
      currency === 'USD' ||
      !!this.engine.instrument(currency + 'USD') ||
      !!this.engine.instrument('USD' + currency)
    );
  }

  async createAccount(account: NewAccount): Promise<Account> {
    if (!(await this.storage.userExists(account.userId)))
      throw new AppError('user_not_found', `user ${account.userId} not found`);
    if (!this.isConvertible(account.currency)) {
      throw invalid(`currency ${account.currency} is not supported: no instrument converts it to USD`);
    }
    if (account.balance < 0) throw invalid('balance must not be negative');
    this.#ensureHealthy();
    const created = await this.storage.createAccount(account, this.now());
    this.#addBook({
      account: created,
      orders: new Map(),
      deals: new Map(),
      overrides: new Map(),
      version: 0,
    });
    this.#logger.info(
      { event: 'account_created', accountId: created.id, userId: created.userId },
      'account created',
    );
    await this.#shared?.publishChange({ type: 'account_settings', accountId: created.id });
    return created;
  }

  async adjustBalance(accountId: string, amount: Money, comment: string): Promise<Money> {
    const book = this.requireBook(null, accountId);
    const result = await this.#run({ kind: 'adjust_balance', accountId: book.account.id, amount, comment });
    if (result.balance === undefined) throw new Error('balance adjustment returned no balance');
    return result.balance;
  }

  async updateAccount(accountId: string, changes: { name?: string; status?: AccountStatus }): Promise<void> {
    const book = this.requireBook(null, accountId);
    await this.#run({ kind: 'update_account', accountId: book.account.id, ...changes });
  }

  /**
   * Puts an account back to its opening state (see Storage.resetAccounts): no orders, deals,
   * fills or ledger entries beyond the opening deposit, of `balance` when given (it becomes the
   * account's opening balance); user, tokens, name, status and overrides stay. A step of the
   * account computed before the reset is written before it, and wiped; one computed after runs on
   * the reset book. Resolves with the new balance once the reset is durable.
   */
  async resetAccount(accountId: string, balance?: Money): Promise<Money> {
    const book = this.requireBook(null, accountId);
    if (balance !== undefined && balance < 0) throw invalid('balance must not be negative');
    const reset: AccountReset = { accountId: book.account.id };
    if (balance !== undefined) reset.balance = balance;
    const [result] = await this.#reset([reset]);
    if (!result) throw new Error(`account ${book.account.id} was not reset`);
    return result.balance;
  }

  /** Every account back to its opening state, as `resetAccount` does; resolves with how many. */
  async resetAllAccounts(): Promise<number> {
    return (await this.#reset('all')).length;
  }

  /**
   * Whether the database holds any trading history (see Storage.hasTradingHistory), once every
   * step issued so far is written. A fresh database, or one with every account reset, has none.
   */
  async hasTradingHistory(): Promise<boolean> {
    await this.flush();
    await Promise.all(this.#accountTasks.values());
    return this.storage.hasTradingHistory();
  }

  #reset(which: readonly AccountReset[] | 'all'): Promise<AccountResetResult[]> {
    const run = this.#resets.then(() =>
      this.#shared ? this.#resetShared(this.#shared, which) : this.#resetOwn(which),
    );
    this.#resets = run.catch(() => undefined);
    return run.then((results) => {
      for (const { accountId, balance } of results) {
        this.#logger.info({ event: 'account_reset', accountId, balance }, 'account reset');
      }
      return results;
    });
  }

  /** With a database of its own: the books are reset in memory and the reset queued with the steps, at once. */
  async #resetOwn(which: readonly AccountReset[] | 'all'): Promise<AccountResetResult[]> {
    this.#ensureHealthy();
    const openings = await this.storage.openingBalances(
      which === 'all' ? undefined : which.map((reset) => reset.accountId),
    );
    this.#ensureHealthy();
    // Nothing awaits from here to the submission: steps computed before it were submitted before
    // it, and every later one runs on the reset books, so memory and storage stay in step.
    const requested: readonly AccountReset[] =
      which === 'all' ? [...openings.keys()].map((accountId) => ({ accountId })) : which;
    const resets = requested.flatMap((reset): (AccountReset & { balance: Money })[] => {
      const balance = reset.balance ?? openings.get(reset.accountId);
      return balance === undefined || !this.engine.book(reset.accountId)
        ? []
        : [{ accountId: reset.accountId, balance }];
    });
    for (const { accountId, balance } of resets) {
      const book = this.engine.book(accountId);
      if (!book) continue;
      this.engine.replaceBook({
        account: { ...book.account, balance },
        orders: new Map(),
        deals: new Map(),
        overrides: book.overrides,
        version: book.version + 1,
      });
    }
    const written = this.storage.resetAccounts(resets, this.now());
    this.#inFlight += 1;
    this.#commits = written.then(this.#committed, this.#commitFailed);
    return written;
  }

  /**
   * With several processes: the reset is written while this process holds the accounts' other
   * steps back (those computed before are written first), then the accounts are reloaded, which
   * voids the steps computed on the old books meanwhile: they run again on the reset ones. Other
   * processes hear of the new versions; a step of theirs on an old book loses its version race.
   */
  async #resetShared(
    shared: SharedStorage,
    which: readonly AccountReset[] | 'all',
  ): Promise<AccountResetResult[]> {
    this.#ensureHealthy();
    const resets: readonly AccountReset[] =
      which === 'all'
        ? [...(await shared.accountVersions()).keys()].sort().map((accountId) => ({ accountId }))
        : which;
    return this.#holding(
      resets.map((reset) => reset.accountId),
      async () => {
        const results = await this.storage.resetAccounts(resets, this.now());
        // Stale until reloaded: if a reload fails, the next use of the account tries again.
        for (const { accountId } of results) this.#stale.add(accountId);
        await Promise.all(results.map(({ accountId }) => this.#reload(shared, accountId)));
        return results;
      },
    );
  }

  async putInstrument(instrument: Instrument): Promise<void> {
    if (!this.isConvertible(instrument.quoteCurrency)) {
      throw invalid(
        `quote_currency ${instrument.quoteCurrency} is not supported: no instrument converts it to USD`,
      );
    }
    const existing = this.engine.instrument(instrument.ticker);
    if (
      existing &&
      existing.quoteCurrency !== instrument.quoteCurrency &&
      this.#hasOpenDeals(instrument.ticker)
    ) {
      throw invalid(`cannot change the quote_currency of ${instrument.ticker} while deals on it are open`);
    }
    this.#ensureHealthy();
    await this.storage.putInstrument(instrument);
    this.engine.putInstrument(instrument);
    await this.#shared?.publishChange({ type: 'instrument', ticker: instrument.ticker });
  }

  async putOverrides(accountId: string, ticker: string, overrides: ConditionOverrides): Promise<void> {
    const book = this.requireBook(null, accountId);
    const instrument = this.requireInstrument(ticker);
    this.#ensureHealthy();
    await this.storage.putOverrides(book.account.id, instrument.ticker, overrides);
    this.engine.setOverrides(book.account.id, instrument.ticker, overrides);
    await this.#shared?.publishChange({ type: 'account_settings', accountId: book.account.id });
  }

  /**
   * Applies quotes in order: each fires the triggers it crosses; then margin is checked once for
   * every account the batch moved. Resolves when all consequences are durable.
   */
  async ingestQuotes(quotes: readonly Quote[]): Promise<void> {
    this.#ensureHealthy();
    if (this.#shared) return this.#ingestShared(this.#shared, quotes);
    const now = this.now();
    const steps: ChangeSet[] = [];
    const accepted = this.#acceptQuotes(quotes);
    for (const quote of accepted) steps.push(this.engine.onQuote(quote, now));
    steps.push(this.engine.sweepStopOuts(now));
    // Only the newest quote per instrument needs to survive a restart.
    await this.#persist(mergeChangeSets(steps), latestQuotes(accepted));
  }

  /** The quotes of known instruments with sane prices, recorded in the tick history. */
  #acceptQuotes(quotes: readonly Quote[]): Quote[] {
    const accepted: Quote[] = [];
    for (const quote of quotes) {
      if (!this.engine.instrument(quote.ticker)) continue;
      if (!(
        Number.isSafeInteger(quote.bid) &&
        Number.isSafeInteger(quote.ask) &&
        quote.bid > 0 &&
        quote.bid <= quote.ask
      )) {
        this.#logger.warn(
          { event: 'quote_refused', ticker: quote.ticker, bid: quote.bid, ask: quote.ask },
          'invalid quote ignored',
        );
        continue;
      }
      this.#ticks.record(quote);
      accepted.push(quote);
    }
    this.#observer?.quotes(accepted.length === 0 ? 0 : quotes.length);
    return accepted;
  }

  /** Time-driven work: expirations and stop-out checks. Called by a timer and after clock moves. */
  async tick(): Promise<void> {
    this.#ensureHealthy();
    const now = this.now();
    if (this.#shared) {
      await this.#reloadStale(this.#shared);
      await this.#shared.reserveIds(this.engine.triggerCount() + 64, 64);
      await this.#commitSteps(this.#shared, [this.engine.expireOrders(now), this.engine.sweepStopOuts(now)]);
      return;
    }
    await this.#persist(mergeChangeSets([this.engine.expireOrders(now), this.engine.sweepStopOuts(now)]), []);
  }

  /** Waits until every step issued so far is durable. */
  async flush(): Promise<void> {
    await this.#commits;
  }

  /** What to wait on for every step issued so far to be durable, or undefined when all are. */
  pendingCommits(): Promise<void> | undefined {
    return this.#inFlight > 0 ? this.#commits : undefined;
  }

  // ---- Internals ----

  async #run(command: Command): Promise<Extract<CommandResult, { ok: true }>> {
    this.#ensureHealthy();
    if (this.#shared) return this.#runShared(this.#shared, command);
    const result = this.engine.handle(command, this.now());
    await this.#persist(result.changes, []);
    if (!result.ok) throw AppError.from(result.rejection);
    return result;
  }

  #persist(changes: ChangeSet, quotes: readonly Quote[]): Promise<void> {
    this.#report(changes);
    if (isEmptyChangeSet(changes) && quotes.length === 0) return this.#commits;
    // Storage applies commits in call order (grouping those of two consecutive event-loop turns), so each is
    // submitted at once; the chain below only tracks the newest for flush() and failure.
    const commit = this.storage.commit(changes, quotes);
    this.#inFlight += 1;
    this.#commits = commit.then(this.#committed, this.#commitFailed);
    return commit;
  }

  // Made once, not per commit.
  readonly #committed = (): void => {
    this.#inFlight -= 1;
  };

  readonly #commitFailed = (error: unknown): void => {
    this.#inFlight -= 1;
    this.#broken = error;
    this.#logger.error(
      { event: 'commit_failed', err: error },
      'commit failed: stopping, memory and storage may differ',
    );
    this.#onFatal(error);
  };

  // ---- Several processes on one database ----
  //
  // Each account's state carries a version. A step computed here is written only if the account
  // is still at the version the step started from (SharedStorage.commitAccount); otherwise another
  // process changed it first, so this process reloads the account and runs the command again, or
  // for quote-driven steps re-examines the reloaded account's triggers. Whoever writes first wins,
  // which is why a trigger fires exactly once however many processes see the quote. In this
  // process, each account's tasks run one after another (#serially), in the order their steps
  // were computed; a reload bumps the account's epoch, voiding steps computed before it.

  /** Delivers the other processes' announcements: quotes to show, accounts to reload. */
  clusterListener(): ClusterListener {
    return {
      quotes: (quotes) => {
        // Their triggers fired in the process that applied them; here they only move prices.
        for (const quote of this.#acceptQuotes(quotes)) this.engine.restoreQuote(quote);
      },
      change: (change) => this.#onClusterChange(change),
      resync: () => {
        this.#resync().catch((error: unknown) => this.#logger.error({ err: error }, 'cluster resync failed'));
      },
    };
  }

  /** True when several processes may share the storage (see SharedStorage). */
  get sharesStorage(): boolean {
    return this.#shared !== undefined;
  }

  /**
   * Makes sure this process shows the account as stored, with every step issued before it
   * written: a client may write through one process and read through another. Before a write
   * only an unknown account needs loading: a stale one loses its version race and is reloaded.
   */
  refresh(accountId: string, purpose: 'read' | 'write'): Promise<void> | undefined {
    const shared = this.#shared;
    if (!shared) return undefined;
    const id = parseId(accountId);
    if (id === undefined) return undefined;
    const normalised = formatId(id, ACCOUNT_ID_WIDTH);
    if (purpose === 'write' && this.engine.book(normalised)) return undefined;
    return this.#refreshShared(shared, normalised);
  }

  async #refreshShared(shared: SharedStorage, accountId: string): Promise<void> {
    // Clients are shown the stored state (#stored): it is current unless another process wrote since.
    if (await this.#isCurrent(shared, accountId)) return;
    await this.#serially(accountId, async () => {
      if (!(await this.#isCurrent(shared, accountId))) await this.#reload(shared, accountId);
    });
  }

  /** Resolves once no step of the account is waiting to be written (or after a bounded wait). */
  async #settled(accountId: string): Promise<void> {
    for (let round = 0; round < 100; round += 1) {
      const tail = this.#accountTasks.get(accountId);
      if (!tail) return;
      await tail;
    }
  }

  /** Whether no other process has written the account since this one last stored or loaded it. */
  async #isCurrent(shared: SharedStorage, accountId: string): Promise<boolean> {
    const version = await shared.accountVersion(accountId);
    return (
      version === undefined ||
      (this.#stored.get(accountId)?.version === version && !this.#stale.has(accountId))
    );
  }

  #onClusterChange(change: ClusterChange): void {
    const shared = this.#shared;
    if (!shared) return;
    const failed = (error: unknown): void =>
      this.#logger.error({ err: error, change }, 'cluster change failed');
    if (change.type === 'instrument') {
      this.storage
        .loadInstruments()
        .then((instruments) => {
          for (const instrument of instruments) this.engine.putInstrument(instrument);
        })
        .catch(failed);
      return;
    }
    if (change.type === 'account') {
      // Reloaded lazily (#reloadStale), so a burst of changes costs one reload, not one each.
      const book = this.engine.book(change.accountId);
      if (!book || book.version < change.version) this.#stale.add(change.accountId);
      return;
    }
    this.#serially(change.accountId, () => this.#reload(shared, change.accountId)).catch(failed);
  }

  /** After announcements may have been lost: reloads every account whose version moved. */
  async #resync(): Promise<void> {
    const shared = this.#shared;
    if (!shared) return;
    for (const instrument of await this.storage.loadInstruments()) this.engine.putInstrument(instrument);
    const versions = await shared.accountVersions();
    await Promise.all(
      [...versions].map(([accountId, version]) =>
        this.#serially(accountId, async () => {
          if (this.engine.book(accountId)?.version !== version) await this.#reload(shared, accountId);
        }),
      ),
    );
  }

  async #runShared(shared: SharedStorage, command: Command): Promise<Extract<CommandResult, { ok: true }>> {
    const accountId = command.accountId;
    for (let attempt = 1; ; attempt += 1) {
      await shared.reserveIds(8, 8);
      if (this.#stale.has(accountId)) await this.#reloadIfStale(shared, accountId);
      // Computed now, on memory as it stands, and written in the account's order of steps: memory
      // order and write order are the same, as with a database of our own.
      const epoch = this.#epochs.get(accountId) ?? 0;
      const result = this.engine.handle(command, this.now());
      const [part] = this.#partition(result.changes);
      this.#report(result.changes);
      let outcome = part ? await this.#commitPart(shared, part) : 'written';
      // A refusal that changes nothing wrote no version to race with. It may rest on an order this
      // process has not seen yet, or on a step of its own that will lose its race: believe it only
      // once this process's steps for the account are settled and the account is as stored.
      if (!part && !result.ok) {
        await this.#settled(accountId);
        if ((this.#epochs.get(accountId) ?? 0) !== epoch) outcome = 'void';
        else if (!(await this.#isCurrent(shared, accountId))) {
          await this.#serially(accountId, () => this.#reload(shared, accountId));
          outcome = 'lost';
        }
      }
      if (outcome === 'written') {
        if (!result.ok) throw AppError.from(result.rejection);
        return result;
      }
      if (attempt === MAX_ATTEMPTS) {
        throw new AppError(
          'account_busy',
          'the account kept changing through other server processes: try again',
        );
      }
      // Another process won the race for this account: back off a little, at random, and rerun.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 10)));
    }
  }

  /**
   * Queues a part behind the account's earlier steps and writes it: 'written'; 'void' when a
   * reload came between (the step was computed on a book since replaced); 'lost' when another
   * process changed the account first (the account is then reloaded).
   */
  #commitPart(shared: SharedStorage, part: AccountPart): Promise<'written' | 'void' | 'lost'> {
    return this.#serially(part.accountId, async () => {
      if ((this.#epochs.get(part.accountId) ?? 0) !== part.epoch) return 'void';
      if (await this.#write(shared, part)) return 'written';
      await this.#reload(shared, part.accountId);
      return 'lost';
    });
  }

  async #ingestShared(shared: SharedStorage, quotes: readonly Quote[]): Promise<void> {
    // Triggers are only as fresh as the books: bring in what other processes changed first.
    await this.#reloadStale(shared);
    const now = this.now();
    const accepted = this.#acceptQuotes(quotes);
    const size = this.engine.triggerCount() + this.openDealCount();
    await shared.reserveIds(size + 64, 2 * size + 64);
    const steps = accepted.map((quote) => this.engine.onQuote(quote, now));
    steps.push(this.engine.sweepStopOuts(now));
    await this.#commitSteps(shared, steps);
    // Announced once the fills they caused are written: the others only show the new prices.
    await shared.publishQuotes(latestQuotes(accepted));
  }

  /** Writes engine steps account by account, each in its account's order of steps. */
  async #commitSteps(shared: SharedStorage, steps: readonly ChangeSet[]): Promise<void> {
    const parts = steps.flatMap((step) => {
      this.#report(step);
      return this.#partition(step);
    });
    await Promise.all(parts.map((part) => this.#commitPart(shared, part)));
  }

  /** Splits a step by account, noting the version each account had before it (taken at once). */
  #partition(step: ChangeSet): AccountPart[] {
    return step.accounts.map((account) => {
      const mine = <T extends { accountId: string }>(items: readonly T[]): T[] =>
        items.filter((item) => item.accountId === account.id);
      const version = this.engine.book(account.id)?.version ?? 1;
      return {
        accountId: account.id,
        expectedVersion: version - 1,
        epoch: this.#epochs.get(account.id) ?? 0,
        changes: {
          orders: mine(step.orders),
          deals: mine(step.deals),
          accounts: [account],
          ledger: mine(step.ledger),
          fills: mine(step.fills),
          events: mine(step.events),
        },
      };
    });
  }

  /** True when written; false when the step is void (a reload came between) or lost the race. */
  async #write(shared: SharedStorage, part: AccountPart): Promise<boolean> {
    if ((this.#epochs.get(part.accountId) ?? 0) !== part.epoch) return false;
    try {
      const written = await shared.commitAccount(part.accountId, part.expectedVersion, part.changes);
      if (written) this.#recordStored(part);
      return written;
    } catch (error) {
      this.#broken = error;
      this.#logger.error({ event: 'commit_failed', err: error }, 'commit failed: stopping');
      this.#onFatal(error);
      throw error;
    }
  }

  async #reloadStale(shared: SharedStorage): Promise<void> {
    const stale = [...this.#stale];
    await Promise.all(stale.map((accountId) => this.#reloadIfStale(shared, accountId)));
  }

  /** Reloads the account in its turn, unless a reload queued before this one made it fresh. */
  #reloadIfStale(shared: SharedStorage, accountId: string): Promise<void> {
    return this.#serially(accountId, async () => {
      if (this.#stale.has(accountId)) await this.#reload(shared, accountId);
    });
  }

  /** Replaces the account's book with the stored one, then fires what current quotes cross. */
  async #reload(shared: SharedStorage, accountId: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      this.#stale.delete(accountId);
      this.#epochs.set(accountId, (this.#epochs.get(accountId) ?? 0) + 1);
      const book = await shared.loadBook(accountId);
      if (!book) return;
      if (this.engine.book(accountId)) this.engine.replaceBook(book);
      else this.#addBook(book);
      this.#stored.set(accountId, copyBook(book));
      // Steps computed on the old book while it loaded are void too.
      this.#epochs.set(accountId, (this.#epochs.get(accountId) ?? 0) + 1);
      await shared.reserveIds(
        book.orders.size + book.deals.size + 8,
        2 * (book.orders.size + book.deals.size) + 8,
      );
      const step = this.engine.recheckAccount(accountId, this.now());
      const [part] = this.#partition(step);
      this.#report(step);
      if (!part || (await this.#write(shared, part))) return;
      // The account moved on again while this recheck was written: start over.
    }
  }

  /** Applies a written step to the account's stored state, as storage now holds it. */
  #recordStored(part: AccountPart): void {
    const stored = this.#stored.get(part.accountId);
    if (!stored) return;
    for (const order of part.changes.orders) {
      if (CURRENT_ORDER_STATUSES.includes(order.status)) stored.orders.set(order.id, order);
      else stored.orders.delete(order.id);
    }
    for (const deal of part.changes.deals) {
      if (deal.status === 'closed') stored.deals.delete(deal.id);
      else stored.deals.set(deal.id, deal);
    }
    for (const account of part.changes.accounts) if (account.id === part.accountId) stored.account = account;
    stored.version = part.expectedVersion + 1;
  }

  /** Runs `work` once the accounts' earlier tasks have settled, holding their later ones until it is done. */
  async #holding<T>(accountIds: readonly string[], work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const entered = accountIds.map(
      (accountId) =>
        new Promise<void>((resolve) => {
          void this.#serially(accountId, () => {
            resolve();
            return released;
          });
        }),
    );
    try {
      await Promise.all(entered);
      return await work();
    } finally {
      release();
    }
  }

  /** Runs `task` after every earlier task of the account in this process has settled. */
  #serially<T>(accountId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#accountTasks.get(accountId) ?? Promise.resolve();
    const run = previous.then(task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#accountTasks.set(accountId, tail);
    void tail.then(() => {
      if (this.#accountTasks.get(accountId) === tail) this.#accountTasks.delete(accountId);
    });
    return run;
  }

  /** Logs a step's events and tells the observer (metrics). */
  #report(changes: ChangeSet): void {
    if (changes.events.length > 0) this.#observer?.step(changes);
    for (const event of changes.events) {
      const level = event.type === 'margin_called' || event.type === 'stopped_out' ? 'warn' : 'debug';
      this.#logger[level]({ event: event.type, accountId: event.accountId, time: event.time }, event.message);
    }
  }

  /** False once a commit has failed: the server must stop. */
  isHealthy(): boolean {
    return this.#broken === undefined;
  }

  /** Number of open deals across all accounts. */
  openDealCount(): number {
    let count = 0;
    for (const ids of this.#accountsByUser.values()) {
      for (const id of ids) count += this.engine.book(id)?.deals.size ?? 0;
    }
    return count;
  }

  #hasOpenDeals(ticker: string): boolean {
    for (const ids of this.#accountsByUser.values()) {
      for (const id of ids) {
        for (const deal of this.engine.book(id)?.deals.values() ?? [])
          if (deal.ticker === ticker) return true;
      }
    }
    return false;
  }

  #ensureHealthy(): void {
    if (this.#broken !== undefined)
      throw new AppError('not_ready', 'server is stopping after a storage failure');
  }

  #addBook(book: AccountBook): void {
    if (this.#shared) this.#stored.set(book.account.id, copyBook(book));
    this.engine.loadBook(book);
    const list = this.#accountsByUser.get(book.account.userId);
    if (list) list.push(book.account.id);
    else this.#accountsByUser.set(book.account.userId, [book.account.id]);
  }
}

function historyQuery(query: ListQuery, current: readonly string[]): HistoryQuery {
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
    limit: Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT),
  };
}

const LIVE_DEAL_STATUSES: readonly string[] = ['open', 'closing'];

/** How often a step is retried after losing a race to another process before giving up. */
const MAX_ATTEMPTS = 30;

/** One account's share of an engine step, and the account version the step started from. */
interface AccountPart {
  accountId: string;
  expectedVersion: number;
  epoch: number;
  changes: ChangeSet;
}

/** A copy of a book that later in-place changes to the original do not reach. */
function copyBook(book: AccountBook): AccountBook {
  return {
    account: { ...book.account },
    orders: new Map([...book.orders].map(([id, order]) => [id, { ...order, deals: [...order.deals] }])),
    deals: new Map([...book.deals].map(([id, deal]) => [id, { ...deal }])),
    overrides: new Map(book.overrides),
    version: book.version,
  };
}

/** The newest quote per instrument: only it needs to survive a restart. */
function latestQuotes(quotes: readonly Quote[]): Quote[] {
  const latest = new Map<string, Quote>();
  for (const quote of quotes) latest.set(quote.ticker, quote);
  return [...latest.values()];
}

/** A query only for statuses the engine keeps in memory, with no time window. */
function isLiveQuery(query: HistoryQuery, live: readonly string[]): boolean {
  return (
    query.from === null &&
    query.to === null &&
    query.statuses.length > 0 &&
    query.statuses.every((status) => live.includes(status))
  );
}

/** The page of in-memory items a live query asks for, by id like the stored history. */
function livePage<T extends { id: string; status: string }>(items: Iterable<T>, query: HistoryQuery): T[] {
  const matching = [...items].filter((item) => query.statuses.includes(item.status));
  // Ids are fixed-width decimal text, so text order is numeric order.
  matching.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return matching.slice(query.skip, query.skip + query.limit);
}

function mergeChangeSets(sets: readonly ChangeSet[]): ChangeSet {
  if (sets.length === 1 && sets[0]) return sets[0];
  const merged = emptyChangeSet();
  const orders = new Map<string, Order>();
  const deals = new Map<string, Deal>();
  const accounts = new Map<string, Account>();
  for (const set of sets) {
    for (const order of set.orders) orders.set(order.id, order);
    for (const deal of set.deals) deals.set(deal.id, deal);
    for (const account of set.accounts) accounts.set(account.id, account);
    merged.ledger.push(...set.ledger);
    merged.fills.push(...set.fills);
    merged.events.push(...set.events);
  }
  merged.orders = [...orders.values()];
  merged.deals = [...deals.values()];
  merged.accounts = [...accounts.values()];
  return merged;
}

function normaliseId(text: string, width: number): string {
  const id = parseId(text);
  if (id === undefined) throw invalid(`invalid id ${JSON.stringify(text.slice(0, 40))}`);
  return formatId(id, width);
}

const normaliseAccountId = (id: string): string => normaliseId(id, ACCOUNT_ID_WIDTH);
const normaliseOrderId = (id: string): string => normaliseId(id, ORDER_ID_WIDTH);
const normaliseDealId = (id: string): string => normaliseId(id, DEAL_ID_WIDTH);
