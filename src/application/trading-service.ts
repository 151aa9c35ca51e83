/**
 * The trading use cases: authorise the account, run the engine, persist the step, then reply.
 * The edges use this facade only; what it builds on lives in `trading/`: the commit pipeline
 * (ordered, durable commits and fatal handling), the per-account queue, and the cluster
 * synchronisation that only runs when several processes share one database.
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
import { effectiveConditions } from '../engine/instrument.ts';
import type {
  ChangeSet,
  Command,
  Engine,
  Fill,
  LedgerEntry,
  PlaceOrder,
  ModifyOrder,
  ModifyDeal,
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
import { nowSeconds, type Clock, type Logger, type TradingObserver } from './ports.ts';
import {
  CURRENT_ORDER_STATUSES,
  type AccountReset,
  type AccountResetResult,
  type NewAccount,
  type Page,
  type EventStore,
  type HistoryStore,
  type IdentityStore,
  type TradingStore,
} from './storage.ts';
import { AccountDirectory } from './trading/account-directory.ts';
import { AccountQueue } from './trading/account-queue.ts';
import { ClusterSync, type CommandAccepted } from './trading/cluster-sync.ts';
import { CommitPipeline } from './trading/commit-pipeline.ts';
import {
  LIVE_DEAL_STATUSES,
  historyQuery,
  isLiveQuery,
  livePage,
  type ListQuery,
} from './trading/history-query.ts';
import { normaliseAccountId, normaliseDealId, normaliseOrderId } from './trading/id-normalisation.ts';
import { mergeChangeSets } from './trading/merge-change-sets.ts';
import { QuoteIntake, latestQuotes } from './trading/quote-intake.ts';
import { StreamHub } from './streaming/stream-hub.ts';
import type { CandleRecorder } from './market-data/candle-recorder.ts';
import type { FeedBar } from './market-data/candles.ts';

export type { ListQuery } from './trading/history-query.ts';

export interface TradingServiceOptions {
  engine: Engine;
  storage: TradingStore & HistoryStore & EventStore & Pick<IdentityStore, 'userExists'>;
  clock: Clock;
  logger: Logger;
  /** Called when memory and storage may have diverged; the process should stop. */
  onFatal: (error: unknown) => void;
  observer?: TradingObserver;
  /** Records the candles of the quotes and bars this process ingests. */
  candles?: CandleRecorder;
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

export class TradingService {
  readonly #engine: Engine;
  readonly #storage: TradingServiceOptions['storage'];
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #observer: TradingObserver | undefined;
  readonly #pipeline: CommitPipeline;
  readonly #directory: AccountDirectory;
  readonly #queue = new AccountQueue();
  readonly #intake: QuoteIntake;
  readonly #candles: CandleRecorder | undefined;
  /** Set when several processes share the database: changes then go through account versions. */
  readonly #cluster: ClusterSync | undefined;
  /** The account event and quote streams of this process's subscribers. */
  readonly streams: StreamHub;
  /** The last reset asked for: resets run one at a time, as each reads opening balances first. */
  #resets: Promise<unknown> = Promise.resolve();

  constructor(options: TradingServiceOptions) {
    this.#engine = options.engine;
    this.#storage = options.storage;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#observer = options.observer;
    this.streams = new StreamHub({
      store: options.storage,
      durable: () => this.flush(),
      currentQuote: (ticker) => options.engine.currentQuote(ticker),
    });
    this.#pipeline = new CommitPipeline({
      storage: options.storage,
      logger: options.logger,
      onFatal: options.onFatal,
      observer: options.observer,
      events: this.streams,
    });
    this.#directory = new AccountDirectory(options.engine);
    this.#candles = options.candles;
    this.#intake = new QuoteIntake(
      options.engine,
      options.logger,
      options.observer,
      options.candles,
      (quotes) => this.streams.quotes(quotes),
    );
    const shared = options.storage.shared;
    this.#cluster = shared
      ? new ClusterSync({
          engine: options.engine,
          storage: options.storage,
          shared,
          logger: options.logger,
          now: () => this.now(),
          pipeline: this.#pipeline,
          directory: this.#directory,
          queue: this.#queue,
          intake: this.#intake,
          streams: this.streams,
        })
      : undefined;
  }

  /** Loads instruments, accounts with their open orders and deals, and the last quotes. */
  async load(): Promise<void> {
    for (const instrument of await this.#storage.loadInstruments()) this.#engine.putInstrument(instrument);
    for (const quote of await this.#storage.loadQuotes()) {
      if (this.#engine.instrument(quote.ticker)) this.#engine.restoreQuote(quote);
    }
    for (const book of await this.#storage.loadBooks()) this.#addBook(book);
  }

  now(): number {
    return nowSeconds(this.#clock);
  }

  // ---- Reads ----

  accounts(userId: string): Account[] {
    return this.#directory.accountIds(userId).flatMap((id) => {
      const book = this.#cluster?.stored(id) || this.#engine.book(id);
      return book ? [book.account] : [];
    });
  }

  /** The caller's account, or "account not found" (also for other users' accounts). */
  requireBook(userId: string | null, accountId: string): AccountBook {
    const book = this.#engine.book(normaliseAccountId(accountId));
    if (!book || (userId !== null && book.account.userId !== userId)) {
      throw new AppError('account_not_found', 'account not found');
    }
    return book;
  }

  /** The account as clients may see it: as stored (see ClusterSync), or live with a database of our own. */
  #shown(userId: string | null, accountId: string): AccountBook {
    const book = this.requireBook(userId, accountId);
    return this.#cluster?.stored(book.account.id) || book;
  }

  accountState(userId: string | null, accountId: string): AccountMetrics {
    return this.#engine.metricsOf(this.#shown(userId, accountId));
  }

  instruments(): Instrument[] {
    return this.#engine.instruments();
  }

  /** The instrument, or undefined when the ticker is unknown. */
  instrument(ticker: string): Instrument | undefined {
    return this.#engine.instrument(ticker);
  }

  accountInstruments(userId: string, accountId: string): InstrumentView[] {
    const book = this.requireBook(userId, accountId);
    return this.#engine.instruments().map((instrument) => ({
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
    return { quote: this.currentQuote(instrument.ticker), instrument };
  }

  /** True when the instrument has a quote in this process. */
  isQuoted(ticker: string): boolean {
    return this.#engine.currentQuote(ticker) !== undefined;
  }

  /** The instrument's current quote: "unknown ticker" or "no quote" when there is none. */
  currentQuote(ticker: string): Quote {
    const instrument = this.requireInstrument(ticker);
    const quote = this.#engine.currentQuote(instrument.ticker);
    if (!quote) throw new AppError('no_quote', `no quote for ${instrument.ticker}`);
    return quote;
  }

  /** The newest quotes of an instrument, oldest first (bounded per instrument). */
  recentTicks(ticker: string, limit: number): Quote[] {
    return this.#intake.recent(this.requireInstrument(ticker).ticker, limit);
  }

  requireInstrument(ticker: string): Instrument {
    const instrument = this.#engine.instrument(ticker);
    if (!instrument) throw new AppError('unknown_ticker', `unknown ticker ${ticker}`);
    return instrument;
  }

  async listOrders(userId: string, accountId: string, query: ListQuery): Promise<Order[]> {
    const book = this.#shown(userId, accountId);
    const history = historyQuery(query, CURRENT_ORDER_STATUSES);
    // Live orders are all in memory: the default listing (what bots poll) never touches storage.
    if (isLiveQuery(history, CURRENT_ORDER_STATUSES)) return livePage(book.orders.values(), history);
    return this.#storage.listOrders(book.account.id, history);
  }

  async listDeals(userId: string, accountId: string, query: ListQuery): Promise<DealView[]> {
    const book = this.#shown(userId, accountId);
    const history = historyQuery(query, LIVE_DEAL_STATUSES);
    const deals = isLiveQuery(history, LIVE_DEAL_STATUSES)
      ? livePage(book.deals.values(), history)
      : await this.#storage.listDeals(book.account.id, history);
    return deals.map((stored) => {
      // Open deals are read from memory so their live values match the current quote.
      const deal = stored.status === 'closed' ? stored : (book.deals.get(stored.id) ?? stored);
      const instrument = this.#engine.instrument(deal.ticker);
      const live = deal.status === 'closed' ? undefined : this.#engine.dealValue(deal);
      return { deal, instrument, live };
    });
  }

  async listFills(accountId: string, page: Page): Promise<Fill[]> {
    const book = this.requireBook(null, accountId);
    return this.#storage.listFills(book.account.id, page);
  }

  async listLedger(accountId: string, page: Page): Promise<LedgerEntry[]> {
    const book = this.requireBook(null, accountId);
    return this.#storage.listLedger(book.account.id, page);
  }

  /** Number of open deals across all accounts. */
  openDealCount(): number {
    return this.#directory.openDealCount();
  }

  /** Resting orders, stop losses and take profits waiting for a quote to cross them. */
  triggerCount(): number {
    return this.#engine.triggerCount();
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
      !!this.#engine.instrument(currency + 'USD') ||
      !!this.#engine.instrument('USD' + currency)
    );
  }

  async createAccount(account: NewAccount): Promise<Account> {
    if (!(await this.#storage.userExists(account.userId)))
      throw new AppError('user_not_found', `user ${account.userId} not found`);
    if (!this.isConvertible(account.currency)) {
      throw invalid(`currency ${account.currency} is not supported: no instrument converts it to USD`);
    }
    if (account.balance < 0) throw invalid('balance must not be negative');
    this.#pipeline.ensureHealthy();
    const created = await this.#storage.createAccount(account, this.now());
    this.#addBook({
      account: created,
      orders: new Map(),
      deals: new Map(),
      overrides: new Map(),
      version: 0,
      lastEventId: 0,
    });
    this.#logger.info(
      { event: 'account_created', accountId: created.id, userId: created.userId },
      'account created',
    );
    await this.#storage.shared?.publishChange({ type: 'account_settings', accountId: created.id });
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
    await this.#queue.idle();
    return this.#storage.hasTradingHistory();
  }

  #reset(which: readonly AccountReset[] | 'all'): Promise<AccountResetResult[]> {
    const cluster = this.#cluster;
    const run = this.#resets.then(() => (cluster ? cluster.reset(which) : this.#resetOwn(which)));
    this.#resets = run.catch(() => undefined);
    return run.then((results) => {
      for (const { accountId, balance } of results) {
        this.#logger.info({ event: 'account_reset', accountId, balance }, 'account reset');
      }
      this.streams.accountsReset(
        results.map((result) => result.accountId),
        (error) => this.#logger.error({ err: error }, 'telling stream subscribers of a reset failed'),
      );
      return results;
    });
  }

  /** With a database of its own: the books are reset in memory and the reset queued with the steps, at once. */
  async #resetOwn(which: readonly AccountReset[] | 'all'): Promise<AccountResetResult[]> {
    this.#pipeline.ensureHealthy();
    const openings = await this.#storage.openingBalances(
      which === 'all' ? undefined : which.map((reset) => reset.accountId),
    );
    this.#pipeline.ensureHealthy();
    // Nothing awaits from here to the submission: steps computed before it were submitted before
    // it, and every later one runs on the reset books, so memory and storage stay in step.
    const requested: readonly AccountReset[] =
      which === 'all' ? [...openings.keys()].map((accountId) => ({ accountId })) : which;
    const resets = requested.flatMap((reset): (AccountReset & { balance: Money })[] => {
      const balance = reset.balance ?? openings.get(reset.accountId);
      return balance === undefined || !this.#engine.book(reset.accountId)
        ? []
        : [{ accountId: reset.accountId, balance }];
    });
    for (const { accountId, balance } of resets) {
      const book = this.#engine.book(accountId);
      if (!book) continue;
      this.#engine.replaceBook({
        account: { ...book.account, balance },
        orders: new Map(),
        deals: new Map(),
        overrides: book.overrides,
        version: book.version + 1,
        lastEventId: book.lastEventId,
      });
    }
    return this.#pipeline.track(this.#storage.resetAccounts(resets, this.now()));
  }

  async putInstrument(instrument: Instrument): Promise<void> {
    if (!this.isConvertible(instrument.quoteCurrency)) {
      throw invalid(
        `quote_currency ${instrument.quoteCurrency} is not supported: no instrument converts it to USD`,
      );
    }
    const existing = this.#engine.instrument(instrument.ticker);
    if (
      existing &&
      existing.quoteCurrency !== instrument.quoteCurrency &&
      this.#directory.hasOpenDeals(instrument.ticker)
    ) {
      throw invalid(`cannot change the quote_currency of ${instrument.ticker} while deals on it are open`);
    }
    this.#pipeline.ensureHealthy();
    await this.#storage.putInstrument(instrument);
    this.#engine.putInstrument(instrument);
    await this.#storage.shared?.publishChange({ type: 'instrument', ticker: instrument.ticker });
  }

  async putOverrides(accountId: string, ticker: string, overrides: ConditionOverrides): Promise<void> {
    const book = this.requireBook(null, accountId);
    const instrument = this.requireInstrument(ticker);
    this.#pipeline.ensureHealthy();
    await this.#storage.putOverrides(book.account.id, instrument.ticker, overrides);
    this.#engine.setOverrides(book.account.id, instrument.ticker, overrides);
    await this.#storage.shared?.publishChange({ type: 'account_settings', accountId: book.account.id });
  }

  // ---- Quotes and time ----

  /**
   * Applies quotes in order: each fires the triggers it crosses; then margin is checked once for
   * every account the batch moved. Resolves when all consequences are durable. `bars`, when the
   * feed has them, are what the quotes replay: they become candles, and their quotes do not.
   */
  async ingestQuotes(quotes: readonly Quote[], bars?: readonly FeedBar[]): Promise<void> {
    this.#pipeline.ensureHealthy();
    if (bars && bars.length > 0) this.#candles?.recordBars(bars);
    if (this.#cluster) return this.#cluster.ingest(quotes);
    const now = this.now();
    const steps: ChangeSet[] = [];
    const accepted = this.#intake.accept(quotes, 'ingested');
    for (const quote of accepted) steps.push(this.#engine.onQuote(quote, now));
    steps.push(this.#engine.sweepStopOuts(now));
    // Only the newest quote per instrument needs to survive a restart.
    await this.#pipeline.persist(mergeChangeSets(steps), latestQuotes(accepted));
  }

  /** Time-driven work: expirations and stop-out checks (see PeriodicWork), and after clock moves. */
  async tick(): Promise<void> {
    this.#pipeline.ensureHealthy();
    const now = this.now();
    if (this.#cluster) return this.#cluster.tick(now);
    await this.#pipeline.persist(
      mergeChangeSets([this.#engine.expireOrders(now), this.#engine.sweepStopOuts(now)]),
      [],
    );
  }

  // ---- Durability ----

  /** Waits until every step issued so far is durable. */
  async flush(): Promise<void> {
    await this.#pipeline.flush();
  }

  /** What to wait on for every step issued so far to be durable, or undefined when all are. */
  pendingCommits(): Promise<void> | undefined {
    return this.#pipeline.pendingCommits();
  }

  /** False once a commit has failed: the server must stop. */
  isHealthy(): boolean {
    return this.#pipeline.isHealthy();
  }

  // ---- Several processes on one database (see ClusterSync) ----

  /** Starts hearing the other processes' announcements: quotes to show, accounts to reload. */
  async joinCluster(): Promise<void> {
    if (!this.#cluster) throw new Error('the storage is not shared: there is no cluster to join');
    await this.#cluster.join();
  }

  /** True when several processes may share the storage (see SharedStorage). */
  get sharesStorage(): boolean {
    return this.#cluster !== undefined;
  }

  /**
   * Makes sure this process shows the account as stored, with every step issued before it
   * written (see ClusterSync.refresh); undefined when there is nothing to wait for.
   */
  refresh(accountId: string, purpose: 'read' | 'write'): Promise<void> | undefined {
    return this.#cluster?.refresh(accountId, purpose);
  }

  async #run(command: Command): Promise<CommandAccepted> {
    this.#pipeline.ensureHealthy();
    if (this.#cluster) return this.#cluster.run(command);
    const result = this.#engine.handle(command, this.now());
    await this.#pipeline.persist(result.changes, []);
    if (!result.ok) throw AppError.from(result.rejection);
    return result;
  }

  #addBook(book: AccountBook): void {
    this.#cluster?.remember(book);
    this.#directory.add(book);
  }
}
