/**
 * The trading engine: a deterministic state machine over accounts, orders, deals and quotes.
 *
 * Invariants:
 * - `handle(command, now)` and `onQuote(quote, now)` are synchronous and pure apart from the
 *   engine's own state: the same sequence of calls with the same ids gives the same state.
 * - A command either applies completely or not at all: every check runs before the first change.
 *   A business rejection of a new order records that order with status `rejected`.
 * - Every order status change goes through the transition table (order-transitions.ts).
 * - Netting keeps at most one open deal per account and ticker.
 * - balance = Σ ledger amounts + Σ realised deal profit, exactly, in cents.
 * - Every balance stays strictly inside ±MAX_BALANCE (money.ts), so it is always exact. A deposit,
 *   a client's order or a client's close that would take it outside is rejected (`balance_limit`
 *   for trades) before any change; an automatic close (stop loss, take profit, stop out), which
 *   must happen, books only the part of its profit or loss that keeps the balance inside, and says
 *   so in its order's comment.
 *
 * Ordering: triggers crossed by one quote fire in key order; stop-out runs when `sweepStopOuts`
 * is called (after each quote batch), closing the worst deal first.
 *
 * Known limitations: margin uses no hedged-position offset; conversion uses the mid price.
 */
import {
  accountMetrics,
  closingPrice,
  valuePosition,
  type AccountMetrics,
  type Position,
} from './account-metrics.ts';
import { isMarketOpen, marketClosedMessage } from './calendar/trading-calendar.ts';
import {
  MONEY_SCALE,
  PRICE_DECIMALS,
  QUANTITY_DECIMALS,
  decimalsOf,
  scaledToText,
  type Money,
  type Price,
  type Quantity,
} from './decimal.ts';
import { effectiveConditions, formatPrice } from './instrument.ts';
import { Market, conversionTickers } from './market.ts';
import {
  oppositeSide,
  type Account,
  type AccountBook,
  type AccountStatus,
  type ClientOrderType,
  type ConditionOverrides,
  type Deal,
  type Instrument,
  type Order,
  type OrderType,
  type Quote,
  type Side,
  type TradingConditions,
} from './model.ts';
import {
  MAX_BALANCE,
  limitBalanceChange,
  notionalToMoney,
  weightedPrice,
  withinBalanceLimit,
} from './money.ts';
import { transition } from './order-transitions.ts';
import type { IdSource } from './ports.ts';
import { reject, type Rejection } from './rejection.ts';
import { hashState } from './state-hash.ts';
import { TriggerIndex, dealTriggerRule, orderTriggerRule, type Trigger } from './trigger-index.ts';

export interface EngineOptions {
  ids: IdSource;
  marketHours: 'enforce' | 'ignore';
  /** Margin level (percent) below which deals are closed, worst first. */
  stopOutLevel: number;
  /** Margin level (percent) below which a margin call event is emitted. */
  marginCallLevel: number;
  /** A market order on a quote older than this many seconds is rejected; null disables the check. */
  maxQuoteAgeSeconds: number | null;
}

export type PlaceOrder = {
  kind: 'place_order';
  accountId: string;
  ticker: string;
  side: Side;
  type: ClientOrderType;
  volume: Quantity;
  price: Price | null;
  expiration: number;
  stopLoss: Price | null;
  takeProfit: Price | null;
};
/** Absent fields stay as they are; a stop loss or take profit of 0 clears it. */
export type ModifyOrder = {
  kind: 'modify_order';
  accountId: string;
  orderId: string;
  volume?: Quantity;
  price?: Price;
  expiration?: number;
  stopLoss?: Price;
  takeProfit?: Price;
};
export type CancelOrder = { kind: 'cancel_order'; accountId: string; orderId: string };
export type ModifyDeal = {
  kind: 'modify_deal';
  accountId: string;
  dealId: string;
  stopLoss?: Price;
  takeProfit?: Price;
};
export type CloseDeal = { kind: 'close_deal'; accountId: string; dealId: string };
export type AdjustBalance = { kind: 'adjust_balance'; accountId: string; amount: Money; comment: string };
export type UpdateAccount = {
  kind: 'update_account';
  accountId: string;
  name?: string;
  status?: AccountStatus;
};
export type Command =
  PlaceOrder | ModifyOrder | CancelOrder | ModifyDeal | CloseDeal | AdjustBalance | UpdateAccount;

export interface LedgerEntry {
  accountId: string;
  amount: Money;
  balanceAfter: Money;
  comment: string;
  time: number;
}

/** How a fill came about: the quote it used and the rule that produced it. */
export interface Fill {
  orderId: string;
  accountId: string;
  ticker: string;
  side: Side;
  orderType: OrderType;
  volume: Quantity;
  price: Price;
  time: number;
  quoteTime: number;
  bid: Price;
  ask: Price;
  rule: string;
  dealIds: string[];
}

export type EngineEventType =
  | 'order_placed'
  | 'order_filled'
  | 'order_rejected'
  | 'order_canceled'
  | 'order_expired'
  | 'deal_closed'
  | 'margin_call'
  | 'stop_out';

export interface EngineEvent {
  type: EngineEventType;
  accountId: string;
  time: number;
  message: string;
}

/** Everything one engine step changed, as snapshots to persist. */
export interface ChangeSet {
  orders: Order[];
  deals: Deal[];
  accounts: Account[];
  ledger: LedgerEntry[];
  fills: Fill[];
  events: EngineEvent[];
}

export type CommandResult =
  | { ok: true; orderId?: string; balance?: Money; changes: ChangeSet }
  | { ok: false; rejection: Rejection; changes: ChangeSet };

export function isEmptyChangeSet(changes: ChangeSet): boolean {
  return (
    changes.orders.length === 0 &&
    changes.deals.length === 0 &&
    changes.accounts.length === 0 &&
    changes.ledger.length === 0 &&
    changes.fills.length === 0
  );
}

function emptyChangeSet(): ChangeSet {
  return { orders: [], deals: [], accounts: [], ledger: [], fills: [], events: [] };
}

/** Collects the objects one step touched; snapshots them when the step ends. */
class Step {
  readonly orders = new Map<string, Order>();
  readonly deals = new Map<string, Deal>();
  readonly accounts = new Map<string, Account>();
  readonly ledger: LedgerEntry[] = [];
  readonly fills: Fill[] = [];
  readonly events: EngineEvent[] = [];
  readonly touchedBooks = new Set<AccountBook>();

  constructor(readonly now: number) {}

  order(book: AccountBook, order: Order): void {
    this.orders.set(order.id, order);
    this.touchedBooks.add(book);
  }

  deal(book: AccountBook, deal: Deal): void {
    this.deals.set(deal.id, deal);
    this.touchedBooks.add(book);
  }

  account(book: AccountBook): void {
    this.accounts.set(book.account.id, book.account);
    this.touchedBooks.add(book);
  }

  event(type: EngineEventType, accountId: string, message: string): void {
    this.events.push({ type, accountId, time: this.now, message });
  }

  finish(): ChangeSet {
    for (const book of this.touchedBooks) {
      book.version += 1;
      this.accounts.set(book.account.id, book.account);
    }
    return {
      orders: [...this.orders.values()].map((order) => ({ ...order, deals: [...order.deals] })),
      deals: [...this.deals.values()].map((deal) => ({ ...deal })),
      accounts: [...this.accounts.values()].map((account) => ({ ...account })),
      ledger: this.ledger,
      fills: this.fills,
      events: this.events,
    };
  }
}

const ORDER_KEY = 'order:';
/** The balance limit as messages name it: MAX_BALANCE in units of the account currency. */
const BALANCE_LIMIT_TEXT = String(MAX_BALANCE / MONEY_SCALE).replace(/\B(?=(\d{3})+$)/g, ',');

/** Said of an automatic close whose profit or loss the balance limit cut short. */
function limitedNote(profit: Money): string {
  return `${profit > 0 ? 'profit' : 'loss'} limited to keep the balance within ±${BALANCE_LIMIT_TEXT}`;
}

export class Engine {
  readonly market = new Market();
  readonly triggers = new TriggerIndex();
  readonly #options: EngineOptions;
  readonly #instruments = new Map<string, Instrument>();
  readonly #books = new Map<string, AccountBook>();
  /** Accounts with open deals per ticker: the ones a quote on that ticker can stop out. */
  readonly #exposure = new Map<string, Set<string>>();
  readonly #stopOutCandidates = new Set<string>();
  /**
   * Tickers quoted since the last sweep whose exposed accounts are already stop-out candidates.
   * A later quote on such a ticker adds no one new: accounts exposed since then are candidates
   * already (a fill adds its account) or, for a loaded book, clear the ticker's mark here. So the
   * exposure set is walked once per ticker per sweep, not on every tick.
   */
  readonly #quotedSinceSweep = new Set<string>();
  readonly #inMarginCall = new Set<string>();
  /** Active orders with an expiration, by order id. */
  readonly #expiring = new Map<string, { accountId: string; expiration: number }>();
  readonly #instrumentLookup = (ticker: string): Instrument | undefined => this.#instruments.get(ticker);

  constructor(options: EngineOptions) {
    this.#options = options;
  }

  // ---- State loading (from storage or admin changes) ----

  putInstrument(instrument: Instrument): void {
    this.#instruments.set(instrument.ticker, instrument);
  }

  instrument(ticker: string): Instrument | undefined {
    return this.#instruments.get(ticker);
  }

  instruments(): Instrument[] {
    return [...this.#instruments.values()].sort((a, b) =>
      a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0,
    );
  }

  /** Adds an account with its active orders and open deals, and indexes their triggers. */
  loadBook(book: AccountBook): void {
    this.#books.set(book.account.id, book);
    for (const order of book.orders.values()) this.#syncOrderTrigger(book, order);
    for (const deal of book.deals.values()) {
      this.#syncDealTriggers(deal);
      this.#expose(deal);
      for (const ticker of this.#valuationTickers(deal)) this.#quotedSinceSweep.delete(ticker);
    }
  }

  /**
   * Replaces an account's state with a fresher copy (another process sharing the database changed
   * it, or the account was reset): the old book's triggers, expirations and exposure go, the new
   * book's come in, and the account is checked at the next stop-out sweep. Without deals it is in
   * no margin call, and no sweep would look at it to say so.
   */
  replaceBook(book: AccountBook): void {
    const accountId = book.account.id;
    const old = this.#books.get(accountId);
    if (old) {
      for (const order of old.orders.values()) {
        this.triggers.remove(ORDER_KEY + order.id);
        this.#expiring.delete(order.id);
      }
      for (const deal of old.deals.values()) {
        this.triggers.remove(`stop_loss:${deal.id}`);
        this.triggers.remove(`take_profit:${deal.id}`);
      }
      for (const accounts of this.#exposure.values()) accounts.delete(accountId);
    }
    this.loadBook(book);
    if (book.deals.size > 0) this.#stopOutCandidates.add(accountId);
    else this.#inMarginCall.delete(accountId);
  }

  /**
   * Fires the account's triggers that current quotes already cross. A replaced book may hold
   * triggers that quotes seen before it arrived have crossed; nothing else re-examines them.
   */
  recheckAccount(accountId: string, now: number): ChangeSet {
    const step = new Step(now);
    const book = this.#books.get(accountId);
    if (!book) return step.finish();
    for (let round = 0; round < 100; round += 1) {
      const crossed = this.#crossedTriggers(book);
      if (crossed.length === 0) break;
      const fillsBefore = step.fills.length;
      for (const trigger of crossed) {
        const quote = this.market.get(trigger.ticker);
        if (!quote || !this.triggers.remove(trigger.key)) continue;
        this.#fire(step, trigger, quote);
      }
      if (step.fills.length === fillsBefore) break;
    }
    return step.finish();
  }

  #crossedTriggers(book: AccountBook): Trigger[] {
    const keys = [
      ...[...book.orders.keys()].map((id) => ORDER_KEY + id),
      ...[...book.deals.keys()].flatMap((id) => [`stop_loss:${id}`, `take_profit:${id}`]),
    ];
    const crossed: Trigger[] = [];
    for (const key of keys.sort()) {
      const trigger = this.triggers.get(key);
      const quote = trigger && this.market.get(trigger.ticker);
      if (!trigger || !quote) continue;
      const watched = trigger.watch === 'bid' ? quote.bid : quote.ask;
      if (trigger.direction === 'at_or_below' ? watched <= trigger.level : watched >= trigger.level) {
        crossed.push(trigger);
      }
    }
    return crossed;
  }

  book(accountId: string): AccountBook | undefined {
    return this.#books.get(accountId);
  }

  setOverrides(accountId: string, ticker: string, overrides: ConditionOverrides): void {
    const book = this.#books.get(accountId);
    if (!book) throw new Error(`account ${accountId} is not loaded`);
    book.overrides.set(ticker, overrides);
  }

  conditions(accountId: string, ticker: string): TradingConditions | undefined {
    const instrument = this.#instruments.get(ticker);
    if (!instrument) return undefined;
    return effectiveConditions(instrument, this.#books.get(accountId)?.overrides.get(ticker));
  }

  // ---- Reads ----

  metrics(accountId: string): AccountMetrics | undefined {
    const book = this.#books.get(accountId);
    if (!book) return undefined;
    return this.metricsOf(book);
  }

  /** Metrics of a given copy of a book (e.g. its last stored state) at current quotes. */
  metricsOf(book: AccountBook): AccountMetrics {
    return accountMetrics(book, book.deals.values(), this.#instrumentLookup, this.market);
  }

  /** Live closing price and floating profit of an open deal. */
  dealValue(deal: Deal): { closePrice: Price; profit: Money } | undefined {
    const book = this.#books.get(deal.accountId);
    if (!book) return undefined;
    return valuePosition(deal, book, this.#instrumentLookup, this.market);
  }

  isMarketOpen(instrument: Instrument, now: number): boolean {
    return this.#options.marketHours === 'ignore' || isMarketOpen(instrument.calendar, now);
  }

  /**
   * Digest of the whole engine state (exchange-core style, see state-hash.ts): two engines fed the
   * same inputs, with the same ids, have equal hashes. The id source is outside it.
   */
  stateHash(): string {
    return hashState({
      instruments: this.#instruments,
      books: this.#books,
      quotes: [...this.market.all()].sort((a, b) => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0)),
      triggers: new Map([...this.triggers.values()].map((trigger) => [trigger.key, trigger])),
      exposure: this.#exposure,
      stopOutCandidates: this.#stopOutCandidates,
      inMarginCall: this.#inMarginCall,
      expiring: this.#expiring,
      quotedSinceSweep: this.#quotedSinceSweep,
    });
  }

  // ---- Commands ----

  handle(command: Command, now: number): CommandResult {
    const step = new Step(now);
    const book = this.#books.get(command.accountId);
    if (!book) return this.#rejected(step, reject('account_not_found', 'account not found'));
    let outcome: Rejection | { orderId?: string; balance?: Money } | undefined;
    switch (command.kind) {
      case 'place_order':
        outcome = this.#placeOrder(step, book, command);
        break;
      case 'modify_order':
        outcome = this.#modifyOrder(step, book, command);
        break;
      case 'cancel_order':
        outcome = this.#cancelOrder(step, book, command);
        break;
      case 'modify_deal':
        outcome = this.#modifyDeal(step, book, command);
        break;
      case 'close_deal':
        outcome = this.#closeDealCommand(step, book, command);
        break;
      case 'adjust_balance':
        outcome = this.#adjustBalance(step, book, command);
        break;
      case 'update_account':
        outcome = this.#updateAccount(step, book, command);
        break;
    }
    if (outcome && 'code' in outcome) return this.#rejected(step, outcome);
    return { ok: true, ...outcome, changes: step.finish() };
  }

  /**
   * Applies a quote: fires every trigger it crosses and marks exposed accounts for the next
   * stop-out sweep. Returns what changed.
   */
  onQuote(quote: Quote, now: number): ChangeSet {
    this.market.set(quote);
    if (!this.#quotedSinceSweep.has(quote.ticker)) {
      this.#quotedSinceSweep.add(quote.ticker);
      const exposed = this.#exposure.get(quote.ticker);
      if (exposed) for (const accountId of exposed) this.#stopOutCandidates.add(accountId);
    }
    const fired: Trigger[] = [];
    this.triggers.collect(quote.ticker, quote.bid, quote.ask, fired);
    // The quiet path (nothing crossed) builds no step: its change set would be empty anyway.
    if (fired.length === 0) return emptyChangeSet();
    const step = new Step(now);
    // A fill can open a deal whose SL/TP this same quote already crosses (a gap through both the
    // entry and the stop): collect again until a round fills nothing. Every fill consumes the
    // trigger that fired it and a deal's close arms nothing, so this ends after a few rounds.
    for (let round = fired; round.length > 0;) {
      const fillsBefore = step.fills.length;
      for (const trigger of round) this.#fire(step, trigger, quote);
      round = [];
      if (step.fills.length > fillsBefore) this.triggers.collect(quote.ticker, quote.bid, quote.ask, round);
    }
    return step.finish();
  }

  /** Cancels active orders whose expiration has passed. */
  expireOrders(now: number): ChangeSet {
    const step = new Step(now);
    const due: string[] = [];
    for (const [orderId, entry] of this.#expiring) if (entry.expiration <= now) due.push(orderId);
    due.sort();
    for (const orderId of due) {
      const entry = this.#expiring.get(orderId);
      const book = entry && this.#books.get(entry.accountId);
      const order = book?.orders.get(orderId);
      if (!book || !order) continue;
      this.#finishOrder(step, book, order, 'canceled', 'expired');
      step.event('order_expired', book.account.id, `order ${order.id} expired`);
    }
    return step.finish();
  }

  /** Checks margin levels of accounts whose positions moved, closing the worst deals below stop-out. */
  sweepStopOuts(now: number): ChangeSet {
    const step = new Step(now);
    const candidates = [...this.#stopOutCandidates].sort();
    this.#stopOutCandidates.clear();
    this.#quotedSinceSweep.clear();
    for (const accountId of candidates) {
      const book = this.#books.get(accountId);
      if (book) this.#enforceMargin(step, book);
    }
    return step.finish();
  }

  // ---- Order placement ----

  #placeOrder(
    step: Step,
    book: AccountBook,
    command: PlaceOrder,
  ): Rejection | { orderId: string } | undefined {
    const instrument = this.#instruments.get(command.ticker);
    if (!instrument) return reject('unknown_ticker', `unknown ticker ${command.ticker}`);
    const order: Order = {
      id: this.#options.ids.nextOrderId(),
      accountId: book.account.id,
      ticker: instrument.ticker,
      side: command.side,
      type: command.type,
      volume: command.volume,
      price: command.price,
      filledPrice: null,
      expiration: command.expiration,
      stopLoss: command.stopLoss,
      takeProfit: command.takeProfit,
      status: 'in_execution',
      comment: '',
      createTime: step.now,
      lastModified: step.now,
      deals: [],
      targetDealId: null,
    };
    const rejection = this.#validateNewOrder(step, book, instrument, order);
    if (rejection) {
      order.status = 'rejected';
      order.comment = rejection.message;
      step.order(book, order);
      step.event('order_rejected', book.account.id, `order ${order.id} rejected: ${rejection.message}`);
      return rejection;
    }
    if (order.type === 'market') {
      const quote = this.market.get(order.ticker);
      if (!quote) throw new Error('validated market order has no quote');
      const price = order.side === 'buy' ? quote.ask : quote.bid;
      this.#execute(
        step,
        book,
        instrument,
        order,
        price,
        quote,
        `${order.side} market filled at ${order.side === 'buy' ? 'ask' : 'bid'} ${formatPrice(price, instrument)}`,
      );
    } else {
      order.status = 'active';
      book.orders.set(order.id, order);
      this.#syncOrderTrigger(book, order);
      step.order(book, order);
      step.event('order_placed', book.account.id, `${order.side} ${order.type} order ${order.id} placed`);
    }
    return { orderId: order.id };
  }

  #validateNewOrder(
    step: Step,
    book: AccountBook,
    instrument: Instrument,
    order: Order,
  ): Rejection | undefined {
    const conditions = effectiveConditions(instrument, book.overrides.get(instrument.ticker));
    const statusRejection = this.#accountStatusRejection(book);
    if (statusRejection) return statusRejection;
    const volumeRejection = this.#volumeRejection(order.volume, conditions);
    if (volumeRejection) return volumeRejection;
    if (order.type === 'market') {
      if (order.price !== null) return reject('invalid_price', 'price is not allowed for market orders');
      if (order.expiration !== 0)
        return reject('invalid_expiration', 'expiration is not allowed for market orders');
    } else {
      if (order.price === null) return reject('invalid_price', `price is required for ${order.type} orders`);
      const priceRejection = this.#priceRejection('price', order.price, conditions, instrument);
      if (priceRejection) return priceRejection;
      if (order.expiration !== 0 && order.expiration <= step.now) {
        return reject('invalid_expiration', 'expiration must be 0 (good till cancel) or in the future');
      }
    }
    const effect = this.#effect(book, order.ticker, order.side, order.volume);
    const modeRejection = this.#tradeModeRejection(book, instrument, conditions, order.side, effect);
    if (modeRejection) return modeRejection;
    if (book.account.status === 'no_new_deals' && effect !== 'reduces') {
      return reject('account_status', 'account status is no_new_deals: only closing orders are allowed');
    }
    for (const field of ['stopLoss', 'takeProfit'] as const) {
      const level = order[field];
      if (level === null) continue;
      const rejection = this.#priceRejection(
        field === 'stopLoss' ? 'stop_loss' : 'take_profit',
        level,
        conditions,
        instrument,
      );
      if (rejection)
        return { ...rejection, code: field === 'stopLoss' ? 'invalid_stop_loss' : 'invalid_take_profit' };
    }
    const quote = this.market.get(order.ticker);
    if (order.type === 'market') {
      if (!this.isMarketOpen(instrument, step.now)) {
        return reject('market_closed', marketClosedMessage(instrument.ticker, instrument.calendar, step.now));
      }
      const quoteRejection = this.#quoteRejection(instrument, quote, step.now);
      if (quoteRejection) return quoteRejection;
    }
    if (quote && order.price !== null) {
      const pendingRejection = pendingPriceRejection(order, quote, instrument);
      if (pendingRejection) return pendingRejection;
    }
    const reference = order.price ?? (quote ? closingPrice(order.side, quote.bid, quote.ask) : null);
    if (reference !== null) {
      const sideRejection = stopLevelsRejection(
        order.side,
        order.stopLoss,
        order.takeProfit,
        reference,
        instrument,
        order.type === 'market' ? 'current price' : 'order price',
      );
      if (sideRejection) return sideRejection;
    }
    const estimate = order.price ?? (quote ? (order.side === 'buy' ? quote.ask : quote.bid) : null);
    if (estimate === null) return undefined;
    // A pending order is judged as it would fill: at its price, not against today's quote, which
    // would credit a buy limit below the market with a profit it can never have.
    const atFill =
      quote && order.price !== null ? this.#marketAtFill(quote, order.side, order.price) : this.market;
    return (
      this.#settlementRejection(book, instrument, order.side, order.volume, estimate) ??
      this.#marginRejection(book, instrument, order.side, order.volume, estimate, atFill)
    );
  }

  /**
   * Rejects a fill at `price` that would close part or all of a netting position with a profit or
   * loss taking the balance outside ±MAX_BALANCE (see #settle). Without a conversion rate there is
   * nothing to settle yet; the margin check reports the missing rate.
   */
  #settlementRejection(
    book: AccountBook,
    instrument: Instrument,
    side: Side,
    volume: Quantity,
    price: Price,
  ): Rejection | undefined {
    if (book.account.system !== 'netting') return undefined;
    const position = netPosition(book, instrument.ticker);
    if (!position || position.side === side) return undefined;
    return this.#closeRejection(book, instrument, position, Math.min(volume, position.volume), price);
  }

  /** Rejects closing `volume` of `deal` at `price` when its profit would leave the balance limit. */
  #closeRejection(
    book: AccountBook,
    instrument: Instrument,
    deal: Deal,
    volume: Quantity,
    price: Price,
  ): Rejection | undefined {
    const rate = this.market.rate(instrument.quoteCurrency, book.account.currency);
    if (!rate) return undefined;
    const move = deal.side === 'buy' ? price - deal.openPrice : deal.openPrice - price;
    const profit = notionalToMoney(move, volume, instrument.contractSize, rate);
    if (withinBalanceLimit(book.account.balance, profit)) return undefined;
    return reject(
      'balance_limit',
      `closing ${showQuantity(volume)} of deal ${deal.id} at ${formatPrice(price, instrument)} would take the balance past the balance limit: to ${profit > 0 ? '' : '-'}${BALANCE_LIMIT_TEXT} ${book.account.currency} or ${profit > 0 ? 'more' : 'less'}`,
    );
  }

  /** The market with `quote` shifted so that the side an order fills on (ask for a buy) is `price`. */
  #marketAtFill(quote: Quote, side: Side, price: Price): Market {
    const shift = price - (side === 'buy' ? quote.ask : quote.bid);
    const market = new Market();
    for (const other of this.market.all()) market.set(other);
    market.set({ ...quote, bid: quote.bid + shift, ask: quote.ask + shift });
    return market;
  }

  #accountStatusRejection(book: AccountBook): Rejection | undefined {
    if (book.account.status === 'disabled') return reject('account_status', 'account is disabled');
    return undefined;
  }

  #volumeRejection(volume: Quantity, conditions: TradingConditions): Rejection | undefined {
    if (volume <= 0) return reject('invalid_volume', 'volume must be greater than 0');
    if (volume < conditions.minVolume) {
      return reject(
        'invalid_volume',
        `volume ${showQuantity(volume)} is below min_volume ${showQuantity(conditions.minVolume)}`,
      );
    }
    if (volume > conditions.maxVolume) {
      return reject(
        'invalid_volume',
        `volume ${showQuantity(volume)} is above max_volume ${showQuantity(conditions.maxVolume)}`,
      );
    }
    if (volume % conditions.volumeStep !== 0) {
      return reject(
        'invalid_volume',
        `volume ${showQuantity(volume)} is not a multiple of volume_step ${showQuantity(conditions.volumeStep)}`,
      );
    }
    return undefined;
  }

  #priceRejection(
    field: string,
    price: Price,
    conditions: TradingConditions,
    instrument: Instrument,
  ): Rejection | undefined {
    if (price <= 0) return reject('invalid_price', `${field} ${showPrice(price)} must be greater than 0`);
    if (price % conditions.minTick !== 0) {
      return reject(
        'invalid_price',
        `${field} ${showPrice(price)} is not on the min_tick grid ${showPrice(conditions.minTick)} of ${instrument.ticker}; ${nearestOnGrid(price, conditions.minTick)}`,
      );
    }
    return undefined;
  }

  #quoteRejection(instrument: Instrument, quote: Quote | undefined, now: number): Rejection | undefined {
    if (!quote) return reject('no_quote', `no quote for ${instrument.ticker}`);
    const maxAge = this.#options.maxQuoteAgeSeconds;
    if (maxAge !== null && now - quote.time > maxAge) {
      return reject(
        'stale_quote',
        `quote for ${instrument.ticker} is stale: ${now - quote.time} s old, limit ${maxAge} s`,
      );
    }
    return undefined;
  }

  #tradeModeRejection(
    book: AccountBook,
    instrument: Instrument,
    conditions: TradingConditions,
    side: Side,
    effect: Effect,
  ): Rejection | undefined {
    const mode = conditions.tradeMode;
    const ticker = instrument.ticker;
    if (mode === 'disabled') return reject('trade_mode', `trading is disabled for ${ticker}`);
    if (mode === 'close_only' && effect !== 'reduces') {
      return reject(
        'trade_mode',
        `${ticker} is close_only on account ${book.account.id}: only closing orders are allowed`,
      );
    }
    if (mode === 'buy_only' && side === 'sell' && effect !== 'reduces') {
      return reject('trade_mode', `${ticker} is buy_only: sell orders may only close a position`);
    }
    if (mode === 'sell_only' && side === 'buy' && effect !== 'reduces') {
      return reject('trade_mode', `${ticker} is sell_only: buy orders may only close a position`);
    }
    return undefined;
  }

  /** What an order does to exposure: hedging always opens; netting may reduce an opposite position. */
  #effect(book: AccountBook, ticker: string, side: Side, volume: Quantity): Effect {
    if (book.account.system === 'hedging') return 'opens';
    const position = netPosition(book, ticker);
    if (!position || position.side === side) return 'opens';
    return volume <= position.volume ? 'reduces' : 'reverses';
  }

  /** Rejects when the fill would leave free margin negative while increasing margin. */
  #marginRejection(
    book: AccountBook,
    instrument: Instrument,
    side: Side,
    volume: Quantity,
    price: Price,
    atFill: Market = this.market,
  ): Rejection | undefined {
    const rate = this.market.rate(instrument.quoteCurrency, book.account.currency);
    if (!rate) {
      return reject(
        'no_conversion_rate',
        `no quote to convert ${instrument.quoteCurrency} into ${book.account.currency}`,
      );
    }
    if (!this.market.get(instrument.ticker)) return undefined;
    const before = this.#marginFigures(book);
    const change = fillChange(book, instrument.ticker, side, volume, price);
    let marginAfter: Money;
    let equityAfter: Money;
    if (atFill === this.market) {
      // Only the positions the fill changes are valued again. Every figure is a sum of per-position
      // integers valued on the same market, so before − replaced + added equals valuing every
      // position after the fill (and saves a full revaluation per fill).
      const replaced = accountMetrics(book, change.replaced, this.#instrumentLookup, this.market, 'margin');
      const added = accountMetrics(book, change.added, this.#instrumentLookup, this.market, 'margin');
      marginAfter = before.margin - replaced.margin + added.margin;
      equityAfter = before.equity - replaced.unrealizedProfit + added.unrealizedProfit;
    } else {
      // On the market at the fill every deal on the ticker moves too: value the whole book there.
      const replaced = new Set<Deal>(change.replaced);
      const positions: Position[] = [...change.added];
      for (const deal of book.deals.values()) if (!replaced.has(deal)) positions.push(deal);
      const after = accountMetrics(book, positions, this.#instrumentLookup, atFill, 'margin');
      marginAfter = after.margin;
      equityAfter = after.equity;
    }
    // A closed part's profit moves from floating to the balance: equity keeps it. It settles at the
    // closing price of that market, so valuing it there gives exactly what #settle books.
    equityAfter += accountMetrics(
      book,
      change.settled,
      this.#instrumentLookup,
      atFill,
      'margin',
    ).unrealizedProfit;
    if (marginAfter > before.margin && equityAfter - marginAfter < 0) {
      return reject(
        'insufficient_margin',
        `insufficient margin: requires ${showMoney(marginAfter - before.margin)} ${book.account.currency}, free margin ${showMoney(before.freeMargin)} ${book.account.currency}`,
      );
    }
    return undefined;
  }

  // ---- Execution ----

  /** Fills an order at `price`: netting adds, reduces, closes or reverses; hedging opens a deal. */
  #execute(
    step: Step,
    book: AccountBook,
    instrument: Instrument,
    order: Order,
    price: Price,
    quote: Quote,
    rule: string,
  ): void {
    const now = step.now;
    if (order.status === 'active') transition(order, 'in_execution', now);
    // A resting order leaves the book, the trigger index and expiry; a new one was in none of them.
    if (book.orders.delete(order.id)) this.#syncOrderTrigger(book, order);
    let remaining = order.volume;
    const position = book.account.system === 'netting' ? netPosition(book, order.ticker) : undefined;
    if (position && position.side === order.side) {
      position.openPrice = weightedOpenPrice(position, order.volume, price);
      position.volume += order.volume;
      if (order.stopLoss !== null) position.stopLoss = order.stopLoss;
      if (order.takeProfit !== null) position.takeProfit = order.takeProfit;
      position.lastModified = now;
      this.#syncDealTriggers(position);
      step.deal(book, position);
      order.deals.push(position.id);
      remaining = 0;
    } else if (position) {
      if (order.volume < position.volume) {
        const closedPart: Deal = {
          ...position,
          id: this.#options.ids.nextDealId(),
          volume: order.volume,
          stopLoss: null,
          takeProfit: null,
        };
        this.#settle(step, book, instrument, closedPart, price);
        position.volume -= order.volume;
        position.lastModified = now;
        step.deal(book, position);
        order.deals.push(position.id, closedPart.id);
        remaining = 0;
      } else {
        this.#closeDeal(step, book, instrument, position, price);
        order.deals.push(position.id);
        remaining = order.volume - position.volume;
      }
    }
    if (remaining > 0) {
      const deal: Deal = {
        id: this.#options.ids.nextDealId(),
        accountId: book.account.id,
        ticker: order.ticker,
        side: order.side,
        volume: remaining,
        openPrice: price,
        openTime: now,
        stopLoss: order.stopLoss,
        takeProfit: order.takeProfit,
        status: 'open',
        closePrice: null,
        closeTime: null,
        profit: 0,
        lastModified: now,
      };
      book.deals.set(deal.id, deal);
      if (deal.stopLoss !== null || deal.takeProfit !== null) this.#syncDealTriggers(deal);
      this.#expose(deal);
      step.deal(book, deal);
      order.deals.push(deal.id);
    }
    order.filledPrice = price;
    transition(order, 'filled', now);
    this.#expiring.delete(order.id);
    step.order(book, order);
    step.fills.push({
      orderId: order.id,
      accountId: book.account.id,
      ticker: order.ticker,
      side: order.side,
      orderType: order.type,
      volume: order.volume,
      price,
      time: now,
      quoteTime: quote.time,
      bid: quote.bid,
      ask: quote.ask,
      rule,
      dealIds: [...order.deals],
    });
    step.event('order_filled', book.account.id, `order ${order.id} filled: ${rule}`);
    this.#stopOutCandidates.add(book.account.id);
  }

  /**
   * Closes a whole open deal at `price` and books its profit; `automatic` (see #settle) lets the
   * balance limit cut it short. Returns the profit it cut short, if it did.
   */
  #closeDeal(
    step: Step,
    book: AccountBook,
    instrument: Instrument,
    deal: Deal,
    price: Price,
    automatic = false,
  ): Money | undefined {
    book.deals.delete(deal.id);
    const limited = this.#settle(step, book, instrument, deal, price, automatic);
    // The index holds a deal's SL and TP exactly while they are set; without them, it holds none.
    if (deal.stopLoss !== null || deal.takeProfit !== null) this.#syncDealTriggers(deal);
    this.#unexpose(book, deal);
    return limited;
  }

  /**
   * Marks a deal record closed at `price` and credits its realised profit to the balance. A client's
   * fill or close was checked against the balance limit before any change (#closeRejection), so
   * here it always fits. An `automatic` close (stop loss, take profit, stop out) cannot be refused:
   * it books only the part that keeps the balance inside the limit, and the deal's profit is what
   * was booked. Returns the profit the limit cut short, if it did.
   */
  #settle(
    step: Step,
    book: AccountBook,
    instrument: Instrument,
    deal: Deal,
    price: Price,
    automatic = false,
  ): Money | undefined {
    const rate = this.market.rate(instrument.quoteCurrency, book.account.currency);
    if (!rate)
      throw new Error(
        `no conversion rate ${instrument.quoteCurrency}→${book.account.currency} at settlement`,
      );
    const move = deal.side === 'buy' ? price - deal.openPrice : deal.openPrice - price;
    const profit = notionalToMoney(move, deal.volume, instrument.contractSize, rate);
    const booked = limitBalanceChange(book.account.balance, profit);
    if (booked !== profit && !automatic)
      throw new Error(`settlement of deal ${deal.id} would leave the balance limit: not rejected before`);
    deal.profit = booked;
    deal.status = 'closed';
    deal.closePrice = price;
    deal.closeTime = step.now;
    deal.lastModified = step.now;
    book.account.balance += deal.profit;
    step.deal(book, deal);
    step.account(book);
    step.event(
      'deal_closed',
      book.account.id,
      `deal ${deal.id} closed at ${formatPrice(price, instrument)}, profit ${showMoney(deal.profit)}${booked === profit ? '' : ` (${limitedNote(profit)})`}`,
    );
    return booked === profit ? undefined : profit;
  }

  /** Closes a deal through a system or client order of the given type, at the current quote. */
  #closeThroughOrder(
    step: Step,
    book: AccountBook,
    deal: Deal,
    type: OrderType,
    level: Price | null,
    quote: Quote,
    rule: string,
    comment: string,
  ): Order {
    const instrument = this.#requireInstrument(deal.ticker);
    const order: Order = {
      id: this.#options.ids.nextOrderId(),
      accountId: book.account.id,
      ticker: deal.ticker,
      side: oppositeSide(deal.side),
      type,
      volume: deal.volume,
      price: level,
      filledPrice: null,
      expiration: 0,
      stopLoss: null,
      takeProfit: null,
      status: 'in_execution',
      comment,
      createTime: step.now,
      lastModified: step.now,
      deals: [],
      targetDealId: deal.id,
    };
    const price = closingPrice(deal.side, quote.bid, quote.ask);
    const limited = this.#closeDeal(step, book, instrument, deal, price, type !== 'market');
    if (limited !== undefined) order.comment = `${comment}; ${limitedNote(limited)}`;
    order.deals.push(deal.id);
    order.filledPrice = price;
    transition(order, 'filled', step.now);
    step.order(book, order);
    step.fills.push({
      orderId: order.id,
      accountId: book.account.id,
      ticker: deal.ticker,
      side: order.side,
      orderType: type,
      volume: order.volume,
      price,
      time: step.now,
      quoteTime: quote.time,
      bid: quote.bid,
      ask: quote.ask,
      rule,
      dealIds: [deal.id],
    });
    step.event('order_filled', book.account.id, `order ${order.id} filled: ${rule}`);
    return order;
  }

  // ---- Triggers ----

  #fire(step: Step, trigger: Trigger, quote: Quote): void {
    const book = this.#books.get(trigger.accountId);
    if (!book) return;
    const instrument = this.#requireInstrument(trigger.ticker);
    if (!this.isMarketOpen(instrument, step.now)) {
      // Resting orders and stops wait for the session: re-arm and let a later quote fire them.
      this.triggers.upsert(trigger);
      return;
    }
    const watched = trigger.watch === 'bid' ? quote.bid : quote.ask;
    const comparison = trigger.direction === 'at_or_below' ? '≤' : '≥';
    const explanation = `${trigger.watch} ${formatPrice(watched, instrument)} ${comparison} ${formatPrice(trigger.level, instrument)}`;
    if (trigger.kind === 'order') {
      const order = book.orders.get(trigger.targetId);
      if (!order) return;
      if (order.expiration !== 0 && order.expiration <= step.now) {
        this.#finishOrder(step, book, order, 'canceled', 'expired');
        step.event('order_expired', book.account.id, `order ${order.id} expired`);
        return;
      }
      transition(order, 'in_execution', step.now);
      const rejection =
        this.#accountStatusRejection(book) ??
        this.#settlementRejection(book, instrument, order.side, order.volume, watched) ??
        this.#marginRejection(book, instrument, order.side, order.volume, watched);
      if (rejection) {
        this.#finishOrder(step, book, order, 'rejected', rejection.message);
        step.event(
          'order_rejected',
          book.account.id,
          `order ${order.id} rejected at trigger: ${rejection.message}`,
        );
        return;
      }
      this.#execute(
        step,
        book,
        instrument,
        order,
        watched,
        quote,
        `${order.side} ${order.type} ${formatPrice(trigger.level, instrument)} fired: ${explanation}`,
      );
      return;
    }
    const deal = book.deals.get(trigger.targetId);
    if (!deal) return;
    const name = trigger.kind === 'stop_loss' ? 'stop loss' : 'take profit';
    const rule = `${name} ${formatPrice(trigger.level, instrument)} fired: ${explanation}`;
    this.#closeThroughOrder(
      step,
      book,
      deal,
      trigger.kind,
      trigger.level,
      quote,
      rule,
      `${name} of deal ${deal.id}`,
    );
  }

  #syncOrderTrigger(book: AccountBook, order: Order): void {
    const key = ORDER_KEY + order.id;
    if (
      order.status !== 'active' ||
      order.price === null ||
      (order.type !== 'limit' && order.type !== 'stop')
    ) {
      this.triggers.remove(key);
      this.#expiring.delete(order.id);
      return;
    }
    const rule = orderTriggerRule(order.side, order.type);
    this.triggers.upsert({
      key,
      accountId: book.account.id,
      ticker: order.ticker,
      kind: 'order',
      targetId: order.id,
      level: order.price,
      ...rule,
    });
    if (order.expiration !== 0)
      this.#expiring.set(order.id, { accountId: book.account.id, expiration: order.expiration });
    else this.#expiring.delete(order.id);
  }

  #syncDealTriggers(deal: Deal): void {
    for (const kind of ['stop_loss', 'take_profit'] as const) {
      const key = `${kind}:${deal.id}`;
      const level = kind === 'stop_loss' ? deal.stopLoss : deal.takeProfit;
      if (deal.status !== 'open' || level === null) {
        this.triggers.remove(key);
        continue;
      }
      const rule = dealTriggerRule(deal.side, kind);
      this.triggers.upsert({
        key,
        accountId: deal.accountId,
        ticker: deal.ticker,
        kind,
        targetId: deal.id,
        level,
        ...rule,
      });
    }
  }

  /**
   * Registers the deal's account under every ticker whose quote moves the deal's value in the
   * account currency: its own, and the conversion pairs (a GBPUSD tick moves EURGBP in USD).
   */
  #expose(deal: Deal): void {
    for (const ticker of this.#valuationTickers(deal)) {
      let accounts = this.#exposure.get(ticker);
      if (!accounts) this.#exposure.set(ticker, (accounts = new Set()));
      accounts.add(deal.accountId);
    }
  }

  /** After `closed` left the book: drops the account from tickers no remaining deal is valued by. */
  #unexpose(book: AccountBook, closed: Deal): void {
    const stillExposed = new Set<string>();
    for (const deal of book.deals.values())
      for (const ticker of this.#valuationTickers(deal)) stillExposed.add(ticker);
    for (const ticker of this.#valuationTickers(closed))
      if (!stillExposed.has(ticker)) this.#exposure.get(ticker)?.delete(book.account.id);
  }

  #valuationTickers(deal: Deal): string[] {
    const quoteCurrency = this.#instruments.get(deal.ticker)?.quoteCurrency;
    const accountCurrency = this.#books.get(deal.accountId)?.account.currency;
    if (quoteCurrency === undefined || accountCurrency === undefined) return [deal.ticker];
    return [deal.ticker, ...conversionTickers(quoteCurrency, accountCurrency)];
  }

  // ---- Modifications ----

  #modifyOrder(step: Step, book: AccountBook, command: ModifyOrder): Rejection | undefined {
    const order = book.orders.get(command.orderId);
    if (!order) return reject('order_not_found', `order ${command.orderId} not found or not active`);
    if (order.status !== 'active')
      return reject(
        'order_not_modifiable',
        `order ${order.id} is ${order.status}: only active orders can be modified`,
      );
    const instrument = this.#requireInstrument(order.ticker);
    const conditions = effectiveConditions(instrument, book.overrides.get(order.ticker));
    const statusRejection = this.#accountStatusRejection(book);
    if (statusRejection) return statusRejection;
    const { volume, price, expiration, stopLoss, takeProfit } = command;
    if (
      volume === undefined &&
      price === undefined &&
      expiration === undefined &&
      stopLoss === undefined &&
      takeProfit === undefined
    ) {
      return reject(
        'nothing_to_modify',
        'nothing to modify: give volume, price, expiration, stop_loss or take_profit',
      );
    }
    const next: Order = { ...order };
    if (volume !== undefined) {
      const rejection = this.#volumeRejection(volume, conditions);
      if (rejection) return rejection;
      next.volume = volume;
    }
    if (price !== undefined) {
      const rejection = this.#priceRejection('price', price, conditions, instrument);
      if (rejection) return rejection;
      next.price = price;
    }
    if (expiration !== undefined) {
      if (expiration !== 0 && expiration <= step.now) {
        return reject('invalid_expiration', 'expiration must be 0 (good till cancel) or in the future');
      }
      next.expiration = expiration;
    }
    if (stopLoss !== undefined) next.stopLoss = stopLoss === 0 ? null : stopLoss;
    if (takeProfit !== undefined) next.takeProfit = takeProfit === 0 ? null : takeProfit;
    for (const field of ['stopLoss', 'takeProfit'] as const) {
      const level = next[field];
      if (level === null) continue;
      const rejection = this.#priceRejection(
        field === 'stopLoss' ? 'stop_loss' : 'take_profit',
        level,
        conditions,
        instrument,
      );
      if (rejection)
        return { ...rejection, code: field === 'stopLoss' ? 'invalid_stop_loss' : 'invalid_take_profit' };
    }
    const quote = this.market.get(order.ticker);
    if (quote) {
      const pendingRejection = pendingPriceRejection(next, quote, instrument);
      if (pendingRejection) return pendingRejection;
    }
    if (next.price === null) throw new Error(`active order ${order.id} has no price`);
    const sideRejection = stopLevelsRejection(
      next.side,
      next.stopLoss,
      next.takeProfit,
      next.price,
      instrument,
      'order price',
    );
    if (sideRejection) return sideRejection;
    Object.assign(order, next, { lastModified: step.now });
    this.#syncOrderTrigger(book, order);
    step.order(book, order);
    return undefined;
  }

  #cancelOrder(step: Step, book: AccountBook, command: CancelOrder): Rejection | undefined {
    const order = book.orders.get(command.orderId);
    if (!order) return reject('order_not_found', `order ${command.orderId} not found or not active`);
    this.#finishOrder(step, book, order, 'canceled', 'canceled by client');
    step.event('order_canceled', book.account.id, `order ${order.id} canceled`);
    return undefined;
  }

  #finishOrder(
    step: Step,
    book: AccountBook,
    order: Order,
    status: 'canceled' | 'rejected',
    comment: string,
  ): void {
    transition(order, status, step.now);
    order.comment = comment;
    book.orders.delete(order.id);
    this.#syncOrderTrigger(book, order);
    step.order(book, order);
  }

  #modifyDeal(step: Step, book: AccountBook, command: ModifyDeal): Rejection | undefined {
    const deal = book.deals.get(command.dealId);
    if (!deal) return reject('deal_not_found', `deal ${command.dealId} not found or not open`);
    const statusRejection = this.#accountStatusRejection(book);
    if (statusRejection) return statusRejection;
    if (command.stopLoss === undefined && command.takeProfit === undefined) {
      return reject('nothing_to_modify', 'nothing to modify: give stop_loss or take_profit (0 clears)');
    }
    const instrument = this.#requireInstrument(deal.ticker);
    const conditions = effectiveConditions(instrument, book.overrides.get(deal.ticker));
    const stopLoss =
      command.stopLoss === undefined ? deal.stopLoss : command.stopLoss === 0 ? null : command.stopLoss;
    const takeProfit =
      command.takeProfit === undefined
        ? deal.takeProfit
        : command.takeProfit === 0
          ? null
          : command.takeProfit;
    for (const [field, level] of [
      ['stop_loss', command.stopLoss],
      ['take_profit', command.takeProfit],
    ] as const) {
      if (level === undefined || level === 0) continue;
      const rejection = this.#priceRejection(field, level, conditions, instrument);
      if (rejection)
        return { ...rejection, code: field === 'stop_loss' ? 'invalid_stop_loss' : 'invalid_take_profit' };
    }
    const quote = this.market.get(deal.ticker);
    if (!quote) return reject('no_quote', `no quote for ${deal.ticker}`);
    const sideRejection = stopLevelsRejection(
      deal.side,
      stopLoss,
      takeProfit,
      closingPrice(deal.side, quote.bid, quote.ask),
      instrument,
      'current price',
    );
    if (sideRejection) return sideRejection;
    deal.stopLoss = stopLoss;
    deal.takeProfit = takeProfit;
    deal.lastModified = step.now;
    this.#syncDealTriggers(deal);
    step.deal(book, deal);
    return undefined;
  }

  #closeDealCommand(step: Step, book: AccountBook, command: CloseDeal): Rejection | { orderId: string } {
    const deal = book.deals.get(command.dealId);
    if (!deal) return reject('deal_not_found', `deal ${command.dealId} not found or not open`);
    const statusRejection = this.#accountStatusRejection(book);
    if (statusRejection) return statusRejection;
    const instrument = this.#requireInstrument(deal.ticker);
    const conditions = effectiveConditions(instrument, book.overrides.get(deal.ticker));
    if (conditions.tradeMode === 'disabled')
      return reject('trade_mode', `trading is disabled for ${deal.ticker}`);
    if (!this.isMarketOpen(instrument, step.now)) {
      return reject('market_closed', marketClosedMessage(instrument.ticker, instrument.calendar, step.now));
    }
    const quote = this.market.get(deal.ticker);
    const quoteRejection = this.#quoteRejection(instrument, quote, step.now);
    if (quoteRejection || !quote) return quoteRejection ?? reject('no_quote', `no quote for ${deal.ticker}`);
    if (!this.market.rate(instrument.quoteCurrency, book.account.currency)) {
      return reject(
        'no_conversion_rate',
        `no quote to convert ${instrument.quoteCurrency} into ${book.account.currency}`,
      );
    }
    const price = closingPrice(deal.side, quote.bid, quote.ask);
    const limitRejection = this.#closeRejection(book, instrument, deal, deal.volume, price);
    if (limitRejection) return limitRejection;
    const rule = `close deal ${deal.id} at ${deal.side === 'buy' ? 'bid' : 'ask'} ${formatPrice(price, instrument)}`;
    const order = this.#closeThroughOrder(
      step,
      book,
      deal,
      'market',
      null,
      quote,
      rule,
      `close deal ${deal.id}`,
    );
    return { orderId: order.id };
  }

  #adjustBalance(step: Step, book: AccountBook, command: AdjustBalance): Rejection | { balance: Money } {
    if (command.amount === 0) return reject('invalid_amount', 'amount must not be 0');
    if (command.amount < 0) {
      const metrics = this.#marginFigures(book);
      if (-command.amount > metrics.freeMargin || -command.amount > book.account.balance) {
        return reject(
          'insufficient_funds',
          `withdrawal of ${showMoney(-command.amount)} exceeds free margin ${showMoney(Math.min(metrics.freeMargin, book.account.balance))}`,
        );
      }
    }
    if (!withinBalanceLimit(book.account.balance, command.amount)) {
      return reject('invalid_amount', `the balance would exceed ${BALANCE_LIMIT_TEXT}`);
    }
    book.account.balance += command.amount;
    step.ledger.push({
      accountId: book.account.id,
      amount: command.amount,
      balanceAfter: book.account.balance,
      comment: command.comment,
      time: step.now,
    });
    step.account(book);
    this.#stopOutCandidates.add(book.account.id);
    return { balance: book.account.balance };
  }

  #updateAccount(step: Step, book: AccountBook, command: UpdateAccount): undefined {
    if (command.name !== undefined) book.account.name = command.name;
    if (command.status !== undefined) book.account.status = command.status;
    step.account(book);
    return undefined;
  }

  // ---- Margin enforcement ----

  /** The book's margin and floating profit at current quotes (no market value: margin checks). */
  #marginFigures(book: AccountBook): AccountMetrics {
    return accountMetrics(book, book.deals.values(), this.#instrumentLookup, this.market, 'margin');
  }

  #enforceMargin(step: Step, book: AccountBook): void {
    const accountId = book.account.id;
    for (;;) {
      const metrics = this.#marginFigures(book);
      if (metrics.margin <= 0) {
        this.#inMarginCall.delete(accountId);
        return;
      }
      const levelTimes100 = metrics.equity * 100;
      if (levelTimes100 >= this.#options.marginCallLevel * metrics.margin) {
        this.#inMarginCall.delete(accountId);
        return;
      }
      if (!this.#inMarginCall.has(accountId)) {
        this.#inMarginCall.add(accountId);
        step.event(
          'margin_call',
          accountId,
          `margin call: margin level ${showLevel(metrics)}% below ${this.#options.marginCallLevel}%`,
        );
      }
      if (levelTimes100 >= this.#options.stopOutLevel * metrics.margin) return;
      const worst = this.#worstClosableDeal(book, step.now);
      if (!worst) return;
      const quote = this.market.get(worst.ticker);
      if (!quote) return;
      const rule = `stop out: margin level ${showLevel(metrics)}% below ${this.#options.stopOutLevel}%`;
      step.event('stop_out', accountId, `${rule}, closing deal ${worst.id}`);
      this.#closeThroughOrder(
        step,
        book,
        worst,
        'stop_out',
        null,
        quote,
        rule,
        `stop out of deal ${worst.id}`,
      );
    }
  }

  /** The open deal with the lowest floating profit (lowest id on ties) that can be closed now. */
  #worstClosableDeal(book: AccountBook, now: number): Deal | undefined {
    let worst: Deal | undefined;
    let worstProfit = 0;
    for (const deal of book.deals.values()) {
      const instrument = this.#instruments.get(deal.ticker);
      if (!instrument || !this.isMarketOpen(instrument, now)) continue;
      const value = valuePosition(deal, book, this.#instrumentLookup, this.market);
      if (!value) continue;
      if (!worst || value.profit < worstProfit || (value.profit === worstProfit && deal.id < worst.id)) {
        worst = deal;
        worstProfit = value.profit;
      }
    }
    return worst;
  }

  #requireInstrument(ticker: string): Instrument {
    const instrument = this.#instruments.get(ticker);
    if (!instrument) throw new Error(`instrument ${ticker} is not loaded`);
    return instrument;
  }

  #rejected(step: Step, rejection: Rejection): CommandResult {
    return { ok: false, rejection, changes: step.finish() };
  }
}

type Effect = 'opens' | 'reduces' | 'reverses';

function netPosition(book: AccountBook, ticker: string): Deal | undefined {
  for (const deal of book.deals.values()) if (deal.ticker === ticker) return deal;
  return undefined;
}

/** The volume-weighted open price after adding `volume` at `price` to a netting position. */
function weightedOpenPrice(position: Deal, volume: Quantity, price: Price): Price {
  return weightedPrice(position.openPrice, position.volume, price, volume);
}

/**
 * How filling `volume` at `price` changes the account's positions: the open deals it replaces, the
 * positions that take their place, and the parts it closes (whose profit goes to the balance).
 * Every other deal stays as it is.
 */
function fillChange(
  book: AccountBook,
  ticker: string,
  side: Side,
  volume: Quantity,
  price: Price,
): { replaced: Deal[]; added: Position[]; settled: Position[] } {
  const replaced: Deal[] = [];
  const added: Position[] = [];
  const settled: Position[] = [];
  let remaining = volume;
  if (book.account.system === 'netting') {
    for (const deal of book.deals.values()) {
      if (deal.ticker !== ticker || remaining <= 0) continue;
      replaced.push(deal);
      if (deal.side === side) {
        added.push({
          ticker,
          side,
          volume: deal.volume + remaining,
          openPrice: weightedOpenPrice(deal, remaining, price),
        });
        remaining = 0;
        continue;
      }
      const closed = Math.min(deal.volume, remaining);
      remaining -= closed;
      settled.push({ ticker, side: deal.side, volume: closed, openPrice: deal.openPrice });
      if (deal.volume > closed)
        added.push({ ticker, side: deal.side, volume: deal.volume - closed, openPrice: deal.openPrice });
    }
  }
  if (remaining > 0) added.push({ ticker, side, volume: remaining, openPrice: price });
  return { replaced, added, settled };
}

/** A limit or stop price on the wrong side of the market would fill at once: reject it. */
function pendingPriceRejection(
  order: Pick<Order, 'side' | 'type' | 'price'>,
  quote: Quote,
  instrument: Instrument,
): Rejection | undefined {
  if (order.price === null || (order.type !== 'limit' && order.type !== 'stop')) return undefined;
  const watched = order.side === 'buy' ? quote.ask : quote.bid;
  const name = order.side === 'buy' ? 'ask' : 'bid';
  const below = (order.side === 'buy') === (order.type === 'limit');
  if (below ? order.price < watched : order.price > watched) return undefined;
  return reject(
    'invalid_price',
    `${order.side} ${order.type} price ${echoPrice(order.price, instrument)} must be ${below ? 'below' : 'above'} the current ${name} ${formatPrice(watched, instrument)}`,
  );
}

/** A long's stop loss sits below and take profit above the reference price; a short mirrors it. */
function stopLevelsRejection(
  side: Side,
  stopLoss: Price | null,
  takeProfit: Price | null,
  reference: Price,
  instrument: Instrument,
  referenceName: string,
): Rejection | undefined {
  // Prices are formatted only for a rejection's message: most orders pass.
  if (stopLoss !== null && (side === 'buy' ? stopLoss >= reference : stopLoss <= reference)) {
    return reject(
      'invalid_stop_loss',
      `stop_loss ${echoPrice(stopLoss, instrument)} must be ${side === 'buy' ? 'below' : 'above'} the ${referenceName} ${echoPrice(reference, instrument)} for a ${side}`,
    );
  }
  if (takeProfit !== null && (side === 'buy' ? takeProfit <= reference : takeProfit >= reference)) {
    return reject(
      'invalid_take_profit',
      `take_profit ${echoPrice(takeProfit, instrument)} must be ${side === 'buy' ? 'above' : 'below'} the ${referenceName} ${echoPrice(reference, instrument)} for a ${side}`,
    );
  }
  return undefined;
}

/**
 * Names the valid prices either side of an off-grid `price` (> 0): the multiples of `tick` around
 * it, written with the tick's decimals; only the upper one when the lower would be 0.
 */
function nearestOnGrid(price: Price, tick: Price): string {
  const below = price - (price % tick);
  const decimals = decimalsOf(tick, PRICE_DECIMALS);
  const show = (level: Price): string => {
    const [whole = '0', fraction = ''] = showPrice(level).split('.');
    return decimals === 0 ? whole : `${whole}.${fraction.padEnd(decimals, '0')}`;
  };
  if (below <= 0) return `nearest valid price: ${show(tick)}`;
  return `nearest valid prices: ${show(below)}, ${show(below + tick)}`;
}

/**
 * A client's price echoed in a rejection: with the instrument's decimals, or exactly when it has
 * more (an account's finer min_tick), so the message never shows a different price.
 */
function echoPrice(price: Price, instrument: Instrument): string {
  return price % instrument.minTick === 0 ? formatPrice(price, instrument) : showPrice(price);
}

function showQuantity(quantity: Quantity): string {
  return scaledToText(quantity, QUANTITY_DECIMALS);
}

function showPrice(price: Price): string {
  return scaledToText(price, PRICE_DECIMALS);
}

function showMoney(money: Money): string {
  return (money / 100).toFixed(2);
}

function showLevel(metrics: AccountMetrics): string {
  return ((metrics.equity * 100) / metrics.margin).toFixed(2);
}
