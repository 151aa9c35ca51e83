/**
 * The trading engine: a deterministic state machine over accounts, orders, deals and quotes, and
 * the one entry point to it. `Engine` is a facade: it owns the state (engine-state.ts) and routes
 * each call through the order path, risk → execution → portfolio:
 *
 * - What makes an order rejected? risk/ (order-checks.ts, order-validation.ts, margin-check.ts,
 *   balance-checks.ts).
 * - How does an order fill? execution/ (fill-order.ts, settle-deal.ts, resting-orders.ts).
 * - When does a resting order or an SL/TP fire? triggers/ (fire-trigger.ts, trigger-sync.ts).
 * - How do netting and hedging change positions, and when does stop-out run? portfolio/
 *   (positions.ts, exposure.ts, stop-out.ts).
 * - Commands are in commands.ts and their handlers in handlers/; what a step changed is in
 *   change-set.ts; the records are in model.ts.
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
import { accountMetrics, valuePosition, type AccountMetrics } from './account-metrics.ts';
import { Step, emptyChangeSet, type ChangeSet } from './change-set.ts';
import type { Command, CommandOutcome, CommandResult } from './commands.ts';
import type { Money, Price } from './decimal.ts';
import { createEngineState, marketIsOpen, type EngineOptions, type EngineState } from './engine-state.ts';
import { expireOrder } from './execution/resting-orders.ts';
import { adjustBalance, updateAccount } from './handlers/account-commands.ts';
import { closeDealCommand, modifyDeal } from './handlers/deal-commands.ts';
import { cancelOrder, modifyOrder, placeOrder } from './handlers/order-commands.ts';
import { effectiveConditions } from './instrument.ts';
import type { AccountBook, ConditionOverrides, Deal, Instrument, Quote, TradingConditions } from './model.ts';
import { expose, unexposeAccount, valuationTickers } from './portfolio/exposure.ts';
import { enforceMargin } from './portfolio/stop-out.ts';
import { reject, type Rejection } from './rejection.ts';
import { hashState } from './state-hash.ts';
import type { Trigger } from './trigger-index.ts';
import { fireTrigger } from './triggers/fire-trigger.ts';
import { lastTriggerPrice } from './triggers/trigger-prices.ts';
import {
  crossedTriggers,
  removeBookTriggers,
  syncDealTriggers,
  syncOrderTrigger,
} from './triggers/trigger-sync.ts';

export type { EngineOptions } from './engine-state.ts';
export {
  emptyChangeSet,
  isEmptyChangeSet,
  type ChangeSet,
  type EngineEvent,
  type EngineEventType,
  type Fill,
  type LedgerEntry,
  type LedgerEntryType,
} from './change-set.ts';
export type {
  AdjustBalance,
  CancelOrder,
  CloseDeal,
  Command,
  CommandResult,
  ModifyDeal,
  ModifyOrder,
  PlaceOrder,
  UpdateAccount,
} from './commands.ts';

/** At most this many rounds of re-firing in `recheckAccount`: each round needs a fill to go on. */
const RECHECK_ROUNDS = 100;

export class Engine {
  readonly #state: EngineState;

  constructor(options: EngineOptions) {
    this.#state = createEngineState(options);
  }

  // ---- State loading (from storage or admin changes) ----

  putInstrument(instrument: Instrument): void {
    this.#state.instruments.set(instrument.ticker, instrument);
  }

  /** Sets a ticker's current quote without firing anything (stored quotes, another process's). */
  restoreQuote(quote: Quote): void {
    this.#state.market.set(quote);
  }

  /** Adds an account with its active orders and open deals, and indexes their triggers. */
  loadBook(book: AccountBook): void {
    const state = this.#state;
    state.books.set(book.account.id, book);
    for (const order of book.orders.values()) syncOrderTrigger(state, book, order);
    for (const deal of book.deals.values()) {
      syncDealTriggers(state, deal);
      expose(state, deal);
      for (const ticker of valuationTickers(state, deal)) state.quotedSinceSweep.delete(ticker);
    }
  }

  /**
   * Replaces an account's state with a fresher copy (another process sharing the database changed
   * it, or the account was reset): the old book's triggers, expirations and exposure go, the new
   * book's come in, and the account is checked at the next stop-out sweep. Without deals it is in
   * no margin call, and no sweep would look at it to say so.
   */
  replaceBook(book: AccountBook): void {
    const state = this.#state;
    const accountId = book.account.id;
    const old = state.books.get(accountId);
    if (old) {
      removeBookTriggers(state, old);
      unexposeAccount(state, accountId);
    }
    this.loadBook(book);
    if (book.deals.size > 0) state.stopOutCandidates.add(accountId);
    else state.inMarginCall.delete(accountId);
  }

  /**
   * Fires the account's triggers that current quotes already cross. A replaced book may hold
   * triggers that quotes seen before it arrived have crossed; nothing else re-examines them.
   */
  recheckAccount(accountId: string, now: number): ChangeSet {
    const state = this.#state;
    const step = new Step(now);
    const book = state.books.get(accountId);
    if (!book) return step.finish();
    for (let round = 0; round < RECHECK_ROUNDS; round += 1) {
      const crossed = crossedTriggers(state, book);
      if (crossed.length === 0) break;
      const fillsBefore = step.fills.length;
      for (const trigger of crossed) {
        const quote = state.market.get(trigger.ticker);
        if (!quote || !state.triggers.remove(trigger.key)) continue;
        fireTrigger(state, step, trigger, quote);
      }
      if (step.fills.length === fillsBefore) break;
    }
    return step.finish();
  }

  setOverrides(accountId: string, ticker: string, overrides: ConditionOverrides): void {
    const book = this.#state.books.get(accountId);
    if (!book) throw new Error(`account ${accountId} is not loaded`);
    book.overrides.set(ticker, overrides);
  }

  // ---- Reads ----

  instrument(ticker: string): Instrument | undefined {
    return this.#state.instruments.get(ticker);
  }

  instruments(): Instrument[] {
    return [...this.#state.instruments.values()].sort((a, b) =>
      a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0,
    );
  }

  book(accountId: string): AccountBook | undefined {
    return this.#state.books.get(accountId);
  }

  conditions(accountId: string, ticker: string): TradingConditions | undefined {
    const instrument = this.#state.instruments.get(ticker);
    if (!instrument) return undefined;
    return effectiveConditions(instrument, this.#state.books.get(accountId)?.overrides.get(ticker));
  }

  currentQuote(ticker: string): Quote | undefined {
    return this.#state.market.get(ticker);
  }

  /** Every ticker's current quote, in no particular order. */
  allQuotes(): Quote[] {
    return [...this.#state.market.all()];
  }

  /** Resting triggers: limit and stop orders, stop losses and take profits. */
  triggerCount(): number {
    return this.#state.triggers.size;
  }

  hasTrigger(key: string): boolean {
    return this.#state.triggers.has(key);
  }

  trigger(key: string): Trigger | undefined {
    return this.#state.triggers.get(key);
  }

  restingTriggers(): Trigger[] {
    return [...this.#state.triggers.values()];
  }

  metrics(accountId: string): AccountMetrics | undefined {
    const book = this.#state.books.get(accountId);
    if (!book) return undefined;
    return this.metricsOf(book);
  }

  /** Metrics of a given copy of a book (e.g. its last stored state) at current quotes. */
  metricsOf(book: AccountBook): AccountMetrics {
    return accountMetrics(book, book.deals.values(), this.#state.instrumentLookup, this.#state.market);
  }

  /** Live closing price and floating profit of an open deal. */
  dealValue(deal: Deal): { closePrice: Price; profit: Money } | undefined {
    const book = this.#state.books.get(deal.accountId);
    if (!book) return undefined;
    return valuePosition(deal, book, this.#state.instrumentLookup, this.#state.market);
  }

  isMarketOpen(instrument: Instrument, now: number): boolean {
    return marketIsOpen(this.#state, instrument, now);
  }

  /**
   * Digest of the whole engine state (exchange-core style, see state-hash.ts): two engines fed the
   * same inputs, with the same ids, have equal hashes. The id source is outside it.
   */
  stateHash(): string {
    const state = this.#state;
    return hashState({
      instruments: state.instruments,
      books: state.books,
      quotes: [...state.market.all()].sort((a, b) =>
        a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0,
      ),
      triggers: new Map([...state.triggers.values()].map((trigger) => [trigger.key, trigger])),
      exposure: state.exposure,
      stopOutCandidates: state.stopOutCandidates,
      inMarginCall: state.inMarginCall,
      expiring: state.expiring,
      quotedSinceSweep: state.quotedSinceSweep,
    });
  }

  // ---- Commands and time ----

  handle(command: Command, now: number): CommandResult {
    const state = this.#state;
    const step = new Step(now);
    const book = state.books.get(command.accountId);
    if (!book) return rejected(step, reject('account_not_found', 'account not found'));
    let outcome: CommandOutcome;
    switch (command.kind) {
      case 'place_order':
        outcome = placeOrder(state, step, book, command);
        break;
      case 'modify_order':
        outcome = modifyOrder(state, step, book, command);
        break;
      case 'cancel_order':
        outcome = cancelOrder(state, step, book, command);
        break;
      case 'modify_deal':
        outcome = modifyDeal(state, step, book, command);
        break;
      case 'close_deal':
        outcome = closeDealCommand(state, step, book, command);
        break;
      case 'adjust_balance':
        outcome = adjustBalance(state, step, book, command);
        break;
      case 'update_account':
        outcome = updateAccount(step, book, command);
        break;
    }
    if (outcome && 'code' in outcome) return rejected(step, outcome);
    return { ok: true, ...outcome, changes: step.finish() };
  }

  /**
   * Applies a quote: fires every trigger it crosses and marks exposed accounts for the next
   * stop-out sweep. Returns what changed.
   */
  onQuote(quote: Quote, now: number): ChangeSet {
    const state = this.#state;
    state.market.set(quote);
    if (!state.quotedSinceSweep.has(quote.ticker)) {
      state.quotedSinceSweep.add(quote.ticker);
      const exposed = state.exposure.get(quote.ticker);
      if (exposed) for (const accountId of exposed) state.stopOutCandidates.add(accountId);
    }
    const fired: Trigger[] = [];
    // On a last-triggered instrument the last stands for both sides (triggers/trigger-prices.ts).
    const last = lastTriggerPrice(state, quote);
    const bid = last ?? quote.bid;
    const ask = last ?? quote.ask;
    state.triggers.collect(quote.ticker, bid, ask, fired);
    // The quiet path (nothing crossed) builds no step: its change set would be empty anyway.
    if (fired.length === 0) return emptyChangeSet();
    const step = new Step(now);
    // A fill can open a deal whose SL/TP this same quote already crosses (a gap through both the
    // entry and the stop): collect again until a round fills nothing. Every fill consumes the
    // trigger that fired it and a deal's close arms nothing, so this ends after a few rounds.
    for (let round = fired; round.length > 0;) {
      const fillsBefore = step.fills.length;
      for (const trigger of round) fireTrigger(state, step, trigger, quote);
      round = [];
      if (step.fills.length > fillsBefore) state.triggers.collect(quote.ticker, bid, ask, round);
    }
    return step.finish();
  }

  /** Cancels active orders whose expiration has passed. */
  expireOrders(now: number): ChangeSet {
    const state = this.#state;
    const step = new Step(now);
    const due: string[] = [];
    for (const [orderId, entry] of state.expiring) if (entry.expiration <= now) due.push(orderId);
    due.sort();
    for (const orderId of due) {
      const entry = state.expiring.get(orderId);
      const book = entry && state.books.get(entry.accountId);
      const order = book?.orders.get(orderId);
      if (book && order) expireOrder(state, step, book, order);
    }
    return step.finish();
  }

  /** Checks margin levels of accounts whose positions moved, closing the worst deals below stop-out. */
  sweepStopOuts(now: number): ChangeSet {
    const state = this.#state;
    const step = new Step(now);
    const candidates = [...state.stopOutCandidates].sort();
    state.stopOutCandidates.clear();
    state.quotedSinceSweep.clear();
    for (const accountId of candidates) {
      const book = state.books.get(accountId);
      if (book) enforceMargin(state, step, book);
    }
    return step.finish();
  }
}

function rejected(step: Step, rejection: Rejection): CommandResult {
  return { ok: false, rejection, changes: step.finish() };
}
