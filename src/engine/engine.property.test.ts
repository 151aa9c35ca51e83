/**
 * Money and bookkeeping invariants of the engine, checked after every step of random command
 * sequences (fast-check), plus every shrunk counterexample as a named regression case.
 *
 * The harness drives one Engine holding three accounts (USD netting, USD hedging, EUR netting) and
 * six instruments through abstract actions (quotes on a tick-grid random walk, orders with valid and
 * invalid volumes, prices and SL/TP levels, modifications, cancels, closes, deposits and withdrawals,
 * status changes, expiry and stop-out sweeps, clock moves). Actions are resolved against the current
 * state deterministically, so a sequence is a literal, replayable test case.
 *
 * After every step:
 * - balance = initial balance + Σ ledger amounts + Σ realised profit of closed deals, in cents;
 * - equity = balance + Σ floating profit (engine.dealValue), and also Σ of an independent bigint
 *   valuation; realised profit of every closed deal matches the same independent valuation;
 * - every order and deal the engine ever reported is accounted for exactly once, statuses only move
 *   along the transition table, closed deals never reappear, new ids strictly increase;
 * - the books hold exactly the active orders and open deals last reported, field for field;
 * - the trigger index holds exactly the levels of those orders and deals;
 * - netting accounts hold at most one open deal per ticker;
 * - fills happen at the quote (buy at ask, sell at bid), and the price their trigger compared (the
 *   bid or ask, or a last-triggered instrument's fresh last) is on the right side of their level;
 * - after a quote, no trigger on that ticker rests crossed (by that same price); after a sweep, no
 *   account sits below
 *   the stop-out level with a deal it could close.
 * Finally, replaying the sequence on a fresh engine gives the same ChangeSets and `stateHash()`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findDefaultInstrument } from '../adapters/catalogue/default-instruments.ts';
import type { Money, Price, Quantity } from './decimal.ts';
import { Engine, type ChangeSet, type Command, type CommandResult } from './engine.ts';
import { SequentialIds } from './ids.ts';
import type {
  Account,
  AccountStatus,
  ClientOrderType,
  Deal,
  Instrument,
  Order,
  Quote,
  Side,
} from './model.ts';
import { canTransition } from './order-transitions.ts';
import { isCrossed, triggerForDeal, triggerForOrder } from './trigger-index.ts';

// ---- The world ----

const TICKERS = ['AAPL.nq', 'EURUSD', 'USDJPY', 'EURGBP', 'GBPUSD', 'XAUUSD'] as const;
const ACCOUNT_SETUPS = [
  { id: '10000001', system: 'netting', currency: 'USD' },
  { id: '10000002', system: 'hedging', currency: 'USD' },
  { id: '10000003', system: 'netting', currency: 'EUR' },
] as const;
const STOP_OUT_LEVEL = 50;
const MARGIN_CALL_LEVEL = 100;
const MAX_QUOTE_AGE = 300;
/** Monday 2025-10-06 13:00 UTC (09:00 New York), one step before the US open. */
const MONDAY = 1_759_755_600;

function instrument(ticker: string): Instrument {
  const found = findDefaultInstrument(ticker);
  if (!found) throw new Error(`no default instrument ${ticker}`);
  return found;
}

/**
 * The harness's own reading of the trigger rule: on a last-triggered instrument, a last no older
 * than the bid/ask by more than the quote age limit stands for both; else the bid and the ask.
 */
function triggerPrices(quote: Quote): { bid: Price; ask: Price } {
  const last = quote.last;
  const fresh = last !== undefined && quote.time - (quote.lastTime ?? quote.time) <= MAX_QUOTE_AGE;
  if (fresh && instrument(quote.ticker).triggerSource === 'last') return { bid: last, ask: last };
  return { bid: quote.bid, ask: quote.ask };
}

// ---- Actions: abstract, JSON-literal, resolved against the current state ----

/**
 * `steps` volume steps plus `extra` raw units (non-zero extra is off the step grid). `'max'` takes
 * as many steps as the free margin allows, to drive accounts towards margin calls and stop-outs.
 */
interface VolumeSpec {
  steps: number | 'max';
  extra: number;
}
/** Ticks away from a reference: positive is the valid side. `offGrid` adds one 1e-8 unit. */
interface LevelSpec {
  ticks: number;
  offGrid: boolean;
}

type Action =
  | {
      kind: 'quote';
      ticker: number;
      move: number;
      spread: number;
      /**
       * A last trade price, in ticks above the bid (it may lie outside the spread), and how many
       * seconds older than the bid/ask it is; none when absent. Only AAPL.nq triggers on it.
       */
      last?: { ticks: number; age: number };
    }
  | {
      kind: 'place';
      account: number;
      ticker: number;
      side: Side;
      type: ClientOrderType;
      volume: VolumeSpec;
      price: LevelSpec;
      /** False gives market orders a price and pending orders none (both invalid). */
      pricedAsTyped: boolean;
      stopLoss: LevelSpec | null;
      takeProfit: LevelSpec | null;
      /** Seconds from now; 0 is good till cancel, negative is already past. */
      expiresIn: number;
    }
  | {
      kind: 'modify_order';
      account: number;
      pick: number;
      volume?: VolumeSpec;
      price?: LevelSpec;
      stopLoss?: LevelSpec | 'clear';
      takeProfit?: LevelSpec | 'clear';
      expiresIn?: number;
    }
  | { kind: 'cancel_order'; account: number; pick: number }
  | {
      kind: 'modify_deal';
      account: number;
      pick: number;
      stopLoss?: LevelSpec | 'clear';
      takeProfit?: LevelSpec | 'clear';
    }
  | { kind: 'close_deal'; account: number; pick: number }
  | { kind: 'adjust_balance'; account: number; amount: Money }
  | { kind: 'set_status'; account: number; status: AccountStatus }
  | { kind: 'tick' }
  | { kind: 'sweep' }
  | { kind: 'advance'; seconds: number };

interface World {
  marketHours: 'enforce' | 'ignore';
  start: number;
  balances: Money[];
  /** Tickers quoted before the first action (a mask over TICKERS). */
  quoted: boolean[];
}

// ---- Independent valuation (bigint rationals, no engine code) ----

const PRICE_UNIT = 100_000_000n;
const NOTIONAL_UNIT = PRICE_UNIT * 1_000_000n * 1_000_000n;

interface Ratio {
  num: bigint;
  den: bigint;
}

function midRatio(quote: Quote): Ratio {
  return { num: BigInt(quote.bid + quote.ask), den: 2n * PRICE_UNIT };
}

/** Currency conversion as DESIGN.md states it: a pair's mid, its inverse, or a cross through USD. */
function referenceRate(quotes: ReadonlyMap<string, Quote>, from: string, to: string): Ratio | undefined {
  if (from === to) return { num: 1n, den: 1n };
  const pair = (a: string, b: string): Ratio | undefined => {
    const direct = quotes.get(a + b);
    if (direct) return midRatio(direct);
    const inverse = quotes.get(b + a);
    if (inverse) {
      const mid = midRatio(inverse);
      return { num: mid.den, den: mid.num };
    }
    return undefined;
  };
  const direct = pair(from, to);
  if (direct) return direct;
  if (from === 'USD' || to === 'USD') return undefined;
  const viaFrom = pair(from, 'USD');
  const viaTo = pair('USD', to);
  if (!viaFrom || !viaTo) return undefined;
  return { num: viaFrom.num * viaTo.num, den: viaFrom.den * viaTo.den };
}

function roundHalfAway(num: bigint, den: bigint): bigint {
  const negative = num < 0n !== den < 0n;
  const a = num < 0n ? -num : num;
  const b = den < 0n ? -den : den;
  const rounded = (2n * a + b) / (2n * b);
  return negative ? -rounded : rounded;
}

function referenceProfit(
  side: Side,
  openPrice: Price,
  closePrice: Price,
  volume: Quantity,
  contractSize: Quantity,
  rate: Ratio,
): Money {
  const move = side === 'buy' ? closePrice - openPrice : openPrice - closePrice;
  const num = BigInt(move) * BigInt(volume) * BigInt(contractSize) * rate.num * 100n;
  return Number(roundHalfAway(num, NOTIONAL_UNIT * rate.den));
}

// ---- The harness ----

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class Harness {
  readonly engine: Engine;
  readonly world: World;
  now: number;
  /** Mid price per ticker in ticks; starts at the reference price. */
  readonly mids = new Map<string, number>();
  readonly quotes = new Map<string, Quote>();
  readonly accounts: string[] = [];
  readonly initial = new Map<string, Money>();
  /** The last event id seen per account. */
  readonly lastEventIds = new Map<string, number>();
  readonly ledger = new Map<string, Money>();
  readonly realised = new Map<string, Money>();
  /** Last snapshot of every order and deal ever reported. */
  readonly orders = new Map<string, Order>();
  readonly deals = new Map<string, Deal>();
  maxOrderId = '';
  maxDealId = '';
  /** One digest line per step, compared between a run and its replay. */
  readonly journal: string[] = [];
  readonly check: boolean;

  constructor(world: World, check = true) {
    this.world = world;
    this.check = check;
    this.now = world.start;
    this.engine = new Engine({
      ids: new SequentialIds(0, 0),
      marketHours: world.marketHours,
      stopOutLevel: STOP_OUT_LEVEL,
      marginCallLevel: MARGIN_CALL_LEVEL,
      maxQuoteAgeSeconds: MAX_QUOTE_AGE,
    });
    for (const ticker of TICKERS) {
      const definition = instrument(ticker);
      this.engine.putInstrument(definition);
      this.mids.set(ticker, Math.round(definition.referencePrice / definition.minTick));
    }
    ACCOUNT_SETUPS.forEach((setup, index) => {
      const balance = world.balances[index] ?? 0;
      const account: Account = {
        id: setup.id,
        userId: `user-${index}`,
        name: `account ${index}`,
        type: 'demo',
        system: setup.system,
        currency: setup.currency,
        status: 'enabled',
        balance,
      };
      this.engine.loadBook({
        account,
        orders: new Map(),
        deals: new Map(),
        overrides: new Map(),
        version: 0,
        lastEventId: 0,
      });
      this.accounts.push(setup.id);
      this.initial.set(setup.id, balance);
      this.ledger.set(setup.id, 0);
      this.realised.set(setup.id, 0);
    });
    TICKERS.forEach((ticker, index) => {
      if (world.quoted[index]) this.#quote(ticker, 0, 1);
    });
  }

  run(actions: readonly Action[]): void {
    for (const action of actions) this.apply(action);
  }

  apply(action: Action): void {
    switch (action.kind) {
      case 'quote': {
        const ticker = TICKERS[action.ticker % TICKERS.length] ?? 'EURUSD';
        this.#quote(ticker, action.move, action.spread, action.last);
        return;
      }
      case 'tick':
        this.#absorb('expire', this.engine.expireOrders(this.now));
        this.#checkExpired();
        this.#absorb('sweep', this.engine.sweepStopOuts(this.now));
        this.#checkStopOut();
        return;
      case 'sweep':
        this.#absorb('sweep', this.engine.sweepStopOuts(this.now));
        this.#checkStopOut();
        return;
      case 'advance':
        this.now += action.seconds;
        this.journal.push(`advance ${this.now}`);
        return;
      default: {
        const command = this.#resolve(action);
        this.#command(command);
      }
    }
  }

  // ---- Resolving abstract actions ----

  #account(index: number): string {
    return this.accounts[index % this.accounts.length] ?? '10000001';
  }

  #tickOf(ticker: string): Price {
    return instrument(ticker).minTick;
  }

  /** Bid and ask the harness would quote now (the last quote, or the reference mid). */
  #prices(ticker: string): { bid: Price; ask: Price } {
    const quote = this.quotes.get(ticker);
    if (quote) return { bid: quote.bid, ask: quote.ask };
    const mid = (this.mids.get(ticker) ?? 1) * this.#tickOf(ticker);
    return { bid: mid, ask: mid + this.#tickOf(ticker) };
  }

  #volume(accountId: string, ticker: string, side: Side, spec: VolumeSpec): Quantity {
    const definition = instrument(ticker);
    const steps = spec.steps === 'max' ? this.#affordableSteps(accountId, definition, side) : spec.steps;
    return steps * definition.volumeStep + spec.extra;
  }

  /** Volume steps the free margin covers at the current price (at least one). */
  #affordableSteps(accountId: string, definition: Instrument, side: Side): number {
    const book = this.engine.book(accountId);
    const quote = this.quotes.get(definition.ticker);
    const free = this.engine.metrics(accountId)?.freeMargin ?? 0;
    if (!book || !quote || free <= 0) return 1;
    const rate = referenceRate(this.quotes, definition.quoteCurrency, book.account.currency);
    if (!rate) return 1;
    const price = side === 'buy' ? quote.ask : quote.bid;
    const perStep =
      (BigInt(price) *
        BigInt(definition.volumeStep) *
        BigInt(definition.contractSize) *
        BigInt(definition.leverage) *
        rate.num *
        100n) /
      (NOTIONAL_UNIT * 1_000_000n * rate.den);
    if (perStep <= 0n) return 1;
    const steps = Number(BigInt(free) / (perStep + 1n));
    return Math.max(1, Math.min(steps, Math.floor(definition.maxVolume / definition.volumeStep)));
  }

  /** A pending price: positive ticks rest on the valid side of the watched price. */
  #pendingPrice(ticker: string, side: Side, type: ClientOrderType, spec: LevelSpec): Price {
    const { bid, ask } = this.#prices(ticker);
    const watched = side === 'buy' ? ask : bid;
    const below = (side === 'buy') === (type === 'limit');
    const direction = below ? -1 : 1;
    return watched + direction * spec.ticks * this.#tickOf(ticker) + (spec.offGrid ? 1 : 0);
  }

  /** A stop loss or take profit: positive ticks sit on the valid side of the reference. */
  #level(
    ticker: string,
    side: Side,
    field: 'stopLoss' | 'takeProfit',
    reference: Price,
    spec: LevelSpec,
  ): Price {
    const below = (side === 'buy') === (field === 'stopLoss');
    const direction = below ? -1 : 1;
    return reference + direction * spec.ticks * this.#tickOf(ticker) + (spec.offGrid ? 1 : 0);
  }

  #activeOrders(accountId: string): Order[] {
    const book = this.engine.book(accountId);
    return [...(book?.orders.values() ?? [])].sort((a, b) => compareIds(a.id, b.id));
  }

  #openDeals(accountId: string): Deal[] {
    const book = this.engine.book(accountId);
    return [...(book?.deals.values() ?? [])].sort((a, b) => compareIds(a.id, b.id));
  }

  #resolve(action: Exclude<Action, { kind: 'quote' | 'tick' | 'sweep' | 'advance' }>): Command {
    const accountId = this.#account(action.account);
    switch (action.kind) {
      case 'place': {
        const ticker = TICKERS[action.ticker % TICKERS.length] ?? 'EURUSD';
        const { bid, ask } = this.#prices(ticker);
        const priced = (action.type !== 'market') === action.pricedAsTyped;
        const price = priced ? this.#pendingPrice(ticker, action.side, action.type, action.price) : null;
        const reference = price ?? (action.side === 'buy' ? bid : ask);
        return {
          kind: 'place_order',
          accountId,
          ticker,
          side: action.side,
          type: action.type,
          volume: this.#volume(accountId, ticker, action.side, action.volume),
          price,
          expiration: action.expiresIn === 0 ? 0 : this.now + action.expiresIn,
          stopLoss:
            action.stopLoss && this.#level(ticker, action.side, 'stopLoss', reference, action.stopLoss),
          takeProfit:
            action.takeProfit && this.#level(ticker, action.side, 'takeProfit', reference, action.takeProfit),
        };
      }
      case 'modify_order': {
        const orders = this.#activeOrders(accountId);
        const order = orders[action.pick % (orders.length + 1)];
        if (!order) return { kind: 'modify_order', accountId, orderId: '999999999', volume: 1 };
        const type = order.type === 'stop' ? 'stop' : 'limit';
        const price = action.price && this.#pendingPrice(order.ticker, order.side, type, action.price);
        const reference = price ?? order.price ?? 0;
        const level = (field: 'stopLoss' | 'takeProfit', spec: LevelSpec | 'clear'): Price =>
          spec === 'clear' ? 0 : this.#level(order.ticker, order.side, field, reference, spec);
        return {
          kind: 'modify_order',
          accountId,
          orderId: order.id,
          ...(action.volume && { volume: this.#volume(accountId, order.ticker, order.side, action.volume) }),
          ...(price !== undefined && { price }),
          ...(action.expiresIn !== undefined && {
            expiration: action.expiresIn === 0 ? 0 : this.now + action.expiresIn,
          }),
          ...(action.stopLoss !== undefined && { stopLoss: level('stopLoss', action.stopLoss) }),
          ...(action.takeProfit !== undefined && { takeProfit: level('takeProfit', action.takeProfit) }),
        };
      }
      case 'cancel_order': {
        const orders = this.#activeOrders(accountId);
        const order = orders[action.pick % (orders.length + 1)];
        return { kind: 'cancel_order', accountId, orderId: order?.id ?? '999999999' };
      }
      case 'modify_deal': {
        const deals = this.#openDeals(accountId);
        const deal = deals[action.pick % (deals.length + 1)];
        if (!deal) return { kind: 'modify_deal', accountId, dealId: '999999', stopLoss: 0 };
        const { bid, ask } = this.#prices(deal.ticker);
        const reference = deal.side === 'buy' ? bid : ask;
        const level = (field: 'stopLoss' | 'takeProfit', spec: LevelSpec | 'clear'): Price =>
          spec === 'clear' ? 0 : this.#level(deal.ticker, deal.side, field, reference, spec);
        return {
          kind: 'modify_deal',
          accountId,
          dealId: deal.id,
          ...(action.stopLoss !== undefined && { stopLoss: level('stopLoss', action.stopLoss) }),
          ...(action.takeProfit !== undefined && { takeProfit: level('takeProfit', action.takeProfit) }),
        };
      }
      case 'close_deal': {
        const deals = this.#openDeals(accountId);
        const deal = deals[action.pick % (deals.length + 1)];
        return { kind: 'close_deal', accountId, dealId: deal?.id ?? '999999' };
      }
      case 'adjust_balance':
        return { kind: 'adjust_balance', accountId, amount: action.amount, comment: 'property test' };
      case 'set_status':
        return { kind: 'update_account', accountId, status: action.status };
    }
  }

  // ---- Running engine steps ----

  #quote(ticker: string, move: number, spread: number, last?: { ticks: number; age: number }): void {
    const definition = instrument(ticker);
    const floor = Math.max(1, Math.round(definition.referencePrice / definition.minTick / 10));
    const mid = Math.max(floor, (this.mids.get(ticker) ?? floor) + move);
    this.mids.set(ticker, mid);
    const quote: Quote = {
      ticker,
      bid: mid * definition.minTick,
      ask: (mid + Math.max(1, spread)) * definition.minTick,
      time: this.now,
    };
    if (last) {
      quote.last = Math.max(1, mid + last.ticks) * definition.minTick;
      quote.lastTime = this.now - last.age;
    }
    this.quotes.set(ticker, quote);
    this.#absorb(`quote ${ticker}`, this.engine.onQuote(quote, this.now));
    this.#checkNothingCrossed(quote);
    // As the service does after every quote batch: check margin levels.
    this.#absorb('sweep', this.engine.sweepStopOuts(this.now));
    this.#checkStopOut();
  }

  #command(command: Command): CommandResult {
    const before = this.check ? this.engine.metrics(command.accountId) : undefined;
    const result = this.engine.handle(command, this.now);
    const outcome = result.ok
      ? `ok ${result.orderId ?? ''} ${result.balance ?? ''}`
      : `rejected ${result.rejection.code}: ${result.rejection.message}`;
    this.#absorb(`${command.kind} ${outcome}`, result.changes);
    if (this.check) this.#checkCommand(command, result, before?.margin ?? 0);
    return result;
  }

  #absorb(label: string, changes: ChangeSet): void {
    this.journal.push(`${label} ${JSON.stringify(changes)}`);
    if (!this.check) return;
    this.#checkChangeSet(changes);
    this.#checkBooks();
  }

  // ---- Invariants ----

  #checkChangeSet(changes: ChangeSet): void {
    const newOrders: string[] = [];
    for (const order of changes.orders) {
      const previous = this.orders.get(order.id);
      assert.ok(this.engine.book(order.accountId), `order ${order.id} names an unknown account`);
      assert.notEqual(order.status, 'in_execution', `order ${order.id} left in_execution after a step`);
      if (previous) {
        assert.equal(previous.status, 'active', `final order ${order.id} (${previous.status}) changed again`);
        if (order.status !== 'active') {
          assert.ok(
            canTransition('active', order.status) ||
              (canTransition('active', 'in_execution') && canTransition('in_execution', order.status)),
            `illegal ${previous.status} → ${order.status} for ${order.id}`,
          );
        }
        assert.equal(order.createTime, previous.createTime);
      } else {
        newOrders.push(order.id);
      }
      if (order.status === 'filled') {
        assert.notEqual(order.filledPrice, null, `filled order ${order.id} has no filled price`);
        assert.ok(order.deals.length > 0, `filled order ${order.id} lists no deals`);
      } else {
        assert.equal(order.filledPrice, null, `${order.status} order ${order.id} has a filled price`);
      }
      if (order.status === 'rejected' || order.status === 'canceled') {
        assert.ok(order.comment.length > 0, `${order.status} order ${order.id} has no comment`);
      }
      this.orders.set(order.id, order);
    }
    for (const id of newOrders) {
      assert.ok(id > this.maxOrderId, `new order id ${id} does not exceed ${this.maxOrderId}`);
      this.maxOrderId = id;
    }

    const newDeals: string[] = [];
    for (const deal of changes.deals) {
      const previous = this.deals.get(deal.id);
      const book = this.engine.book(deal.accountId);
      assert.ok(book, `deal ${deal.id} names an unknown account`);
      assert.ok(deal.status === 'open' || deal.status === 'closed', `deal ${deal.id} is ${deal.status}`);
      assert.ok(deal.volume > 0, `deal ${deal.id} has volume ${deal.volume}`);
      if (previous) {
        assert.equal(previous.status, 'open', `closed deal ${deal.id} reappeared`);
        assert.equal(deal.openTime, previous.openTime);
        assert.equal(deal.side, previous.side);
      } else {
        newDeals.push(deal.id);
      }
      if (deal.status === 'closed') {
        assert.equal(book.deals.has(deal.id), false, `closed deal ${deal.id} is still in the book`);
        this.#checkRealised(deal, book.account.currency);
        this.realised.set(deal.accountId, (this.realised.get(deal.accountId) ?? 0) + deal.profit);
      } else {
        assert.deepEqual(
          book.deals.get(deal.id),
          deal,
          `open deal ${deal.id} snapshot differs from the book`,
        );
        assert.equal(deal.profit, 0);
        assert.equal(deal.closePrice, null);
      }
      this.deals.set(deal.id, deal);
    }
    for (const id of newDeals) {
      assert.ok(id > this.maxDealId, `new deal id ${id} does not exceed ${this.maxDealId}`);
      this.maxDealId = id;
    }

    for (const entry of changes.ledger) {
      this.ledger.set(entry.accountId, (this.ledger.get(entry.accountId) ?? 0) + entry.amount);
      assert.notEqual(entry.amount, 0);
    }
    if (changes.ledger.length === 1 && changes.ledger[0]) {
      const entry = changes.ledger[0];
      assert.equal(entry.balanceAfter, this.engine.book(entry.accountId)?.account.balance);
    }
    for (const account of changes.accounts) {
      assert.deepEqual(
        account,
        this.engine.book(account.id)?.account,
        `account ${account.id} snapshot differs`,
      );
    }

    // Each account's events are numbered on from its previous one, and its row (which keeps the
    // latest id) is in the change set; every fill is announced by an order_filled event.
    for (const event of changes.events) {
      const previous = this.lastEventIds.get(event.accountId) ?? 0;
      assert.equal(
        event.id,
        previous + 1,
        `event ${event.type} of ${event.accountId} skips or repeats an id`,
      );
      this.lastEventIds.set(event.accountId, event.id);
      assert.ok(
        changes.accounts.some((account) => account.id === event.accountId),
        `event ${event.type} without its account in the change set`,
      );
    }
    for (const [accountId, last] of this.lastEventIds) {
      assert.equal(this.engine.book(accountId)?.lastEventId, last, `account ${accountId} last event id`);
    }
    for (const fill of changes.fills) {
      assert.ok(
        changes.events.some((event) => event.type === 'order_filled' && event.order.id === fill.orderId),
        `fill of order ${fill.orderId} without an order_filled event`,
      );
    }

    for (const fill of changes.fills) {
      const order = changes.orders.find((candidate) => candidate.id === fill.orderId);
      assert.ok(order, `fill of order ${fill.orderId} without its order in the change set`);
      assert.equal(order.status, 'filled');
      assert.equal(order.filledPrice, fill.price);
      assert.equal(
        fill.price,
        fill.side === 'buy' ? fill.ask : fill.bid,
        `fill ${fill.orderId} off the quote`,
      );
      const quote = this.quotes.get(fill.ticker);
      assert.ok(quote, `fill on ${fill.ticker} without a quote`);
      assert.equal(fill.bid, quote.bid);
      assert.equal(fill.ask, quote.ask);
      const level = order.price;
      if (level === null) continue;
      const buy = fill.side === 'buy';
      // A limit (or take profit) fires at its level or better; a stop (or stop loss) at or beyond
      // it. The price compared is the fill's own, or the last on a last-triggered instrument.
      const compared = buy ? triggerPrices(quote).ask : triggerPrices(quote).bid;
      const atOrBetter = order.type === 'limit' || order.type === 'take_profit';
      const ok = atOrBetter === buy ? compared <= level : compared >= level;
      assert.ok(ok, `${fill.side} ${order.type} ${order.id} at ${level} fired on ${compared}`);
    }
  }

  #checkRealised(deal: Deal, currency: string): void {
    assert.notEqual(deal.closePrice, null);
    assert.notEqual(deal.closeTime, null);
    assert.equal(deal.closeTime, this.now);
    const quote = this.quotes.get(deal.ticker);
    assert.ok(quote, `deal ${deal.id} closed without a quote`);
    assert.equal(
      deal.closePrice,
      deal.side === 'buy' ? quote.bid : quote.ask,
      `deal ${deal.id} closed off the quote`,
    );
    const definition = instrument(deal.ticker);
    const rate = referenceRate(this.quotes, definition.quoteCurrency, currency);
    assert.ok(rate, `deal ${deal.id} closed without a conversion rate`);
    const expected = referenceProfit(
      deal.side,
      deal.openPrice,
      deal.closePrice ?? 0,
      deal.volume,
      definition.contractSize,
      rate,
    );
    assert.equal(deal.profit, expected, `realised profit of deal ${deal.id}`);
  }

  #checkBooks(): void {
    const expectedTriggers = new Set<string>();
    for (const accountId of this.accounts) {
      const book = this.engine.book(accountId);
      assert.ok(book);
      const balance =
        (this.initial.get(accountId) ?? 0) +
        (this.ledger.get(accountId) ?? 0) +
        (this.realised.get(accountId) ?? 0);
      assert.equal(book.account.balance, balance, `balance of ${accountId}`);
      assert.ok(Number.isSafeInteger(book.account.balance));

      let floating = 0;
      let reference = 0;
      const tickers = new Set<string>();
      for (const deal of book.deals.values()) {
        assert.deepEqual(this.deals.get(deal.id), deal, `deal ${deal.id} changed without being reported`);
        assert.equal(deal.status, 'open');
        if (book.account.system === 'netting') {
          assert.equal(
            tickers.has(deal.ticker),
            false,
            `netting account ${accountId} has two ${deal.ticker} deals`,
          );
          tickers.add(deal.ticker);
        }
        floating += this.engine.dealValue(deal)?.profit ?? 0;
        const quote = this.quotes.get(deal.ticker);
        const definition = instrument(deal.ticker);
        const rate = referenceRate(this.quotes, definition.quoteCurrency, book.account.currency);
        if (quote && rate) {
          const close = deal.side === 'buy' ? quote.bid : quote.ask;
          reference += referenceProfit(
            deal.side,
            deal.openPrice,
            close,
            deal.volume,
            definition.contractSize,
            rate,
          );
        }
        for (const kind of ['stop_loss', 'take_profit'] as const) {
          const trigger = triggerForDeal(deal, kind);
          if (trigger) {
            expectedTriggers.add(trigger.key);
            assert.deepEqual(this.engine.trigger(trigger.key), trigger, `trigger ${trigger.key}`);
          }
        }
      }
      const metrics = this.engine.metrics(accountId);
      assert.ok(metrics);
      assert.equal(metrics.balance, book.account.balance);
      assert.equal(metrics.equity, book.account.balance + floating, `equity of ${accountId}`);
      assert.equal(metrics.equity, book.account.balance + reference, `equity of ${accountId} (reference)`);
      assert.equal(metrics.freeMargin, metrics.equity - metrics.margin);

      const active = [...this.orders.values()].filter(
        (order) => order.accountId === accountId && order.status === 'active',
      );
      assert.deepEqual(
        active.map((order) => order.id).sort(),
        [...book.orders.keys()].sort(),
        `active orders of ${accountId}`,
      );
      for (const order of book.orders.values()) {
        assert.deepEqual(
          this.orders.get(order.id),
          order,
          `order ${order.id} changed without being reported`,
        );
        const trigger = triggerForOrder(order);
        assert.ok(trigger, `active order ${order.id} has no trigger level`);
        expectedTriggers.add(trigger.key);
        assert.deepEqual(this.engine.trigger(trigger.key), trigger, `trigger ${trigger.key}`);
      }
    }
    const open = [...this.deals.values()].filter((deal) => deal.status === 'open').length;
    const held = this.accounts.reduce((sum, id) => sum + (this.engine.book(id)?.deals.size ?? 0), 0);
    assert.equal(held, open, 'open deals reported vs held');
    assert.deepEqual(
      this.engine
        .restingTriggers()
        .map((trigger) => trigger.key)
        .sort(),
      [...expectedTriggers].sort(),
      'trigger index vs active orders and deal levels',
    );
  }

  #checkCommand(command: Command, result: CommandResult, marginBefore: Money): void {
    if (command.kind !== 'place_order') {
      if (!result.ok) {
        assert.equal(result.changes.orders.length, 0, `rejected ${command.kind} changed orders`);
        assert.equal(result.changes.deals.length, 0, `rejected ${command.kind} changed deals`);
        assert.equal(result.changes.ledger.length, 0);
      }
      return;
    }
    const [order, ...others] = result.changes.orders;
    assert.ok(order, 'a new order is always recorded');
    assert.equal(others.length, 0);
    assert.equal(order.id, this.maxOrderId);
    if (!result.ok) {
      assert.equal(order.status, 'rejected');
      assert.equal(order.comment, result.rejection.message);
      assert.equal(result.changes.deals.length, 0);
      return;
    }
    assert.equal(result.orderId, order.id);
    assert.equal(order.status, command.type === 'market' ? 'filled' : 'active');
    if (command.type === 'market') {
      // An order that added margin must leave free margin non-negative.
      const after = this.engine.metrics(command.accountId);
      assert.ok(after);
      assert.ok(
        after.margin <= marginBefore || after.freeMargin >= 0,
        `fill left free margin ${after.freeMargin} with margin ${marginBefore} → ${after.margin}`,
      );
    }
  }

  #checkNothingCrossed(quote: Quote): void {
    if (!this.check) return;
    const definition = instrument(quote.ticker);
    if (!this.engine.isMarketOpen(definition, this.now)) return;
    for (const trigger of this.engine.restingTriggers()) {
      if (trigger.ticker !== quote.ticker) continue;
      const compared = triggerPrices(quote);
      assert.equal(
        isCrossed(trigger, compared.bid, compared.ask),
        false,
        `trigger ${trigger.key} rests crossed`,
      );
    }
  }

  #checkExpired(): void {
    if (!this.check) return;
    for (const accountId of this.accounts) {
      for (const order of this.engine.book(accountId)?.orders.values() ?? []) {
        assert.ok(
          order.expiration === 0 || order.expiration > this.now,
          `order ${order.id} outlived its expiration`,
        );
      }
    }
  }

  #checkStopOut(): void {
    if (!this.check) return;
    for (const accountId of this.accounts) {
      const metrics = this.engine.metrics(accountId);
      const book = this.engine.book(accountId);
      assert.ok(metrics && book);
      if (metrics.margin <= 0 || metrics.equity * 100 >= STOP_OUT_LEVEL * metrics.margin) continue;
      const closable = [...book.deals.values()].some(
        (deal) => this.engine.isMarketOpen(instrument(deal.ticker), this.now) && this.engine.dealValue(deal),
      );
      assert.equal(
        closable,
        false,
        `account ${accountId} left below stop-out: equity ${metrics.equity}, margin ${metrics.margin}`,
      );
    }
  }
}

/** Runs the actions, checking every step, then replays them on a fresh engine and compares. */
function runAndReplay(world: World, actions: readonly Action[]): Harness {
  const first = new Harness(world);
  first.run(actions);
  const replay = new Harness(world, false);
  replay.run(actions);
  assert.deepEqual(replay.journal, first.journal, 'replay produced different change sets');
  assert.equal(replay.engine.stateHash(), first.engine.stateHash(), 'replay ended in a different state');
  return first;
}

// ---- Generators ----

const levelSpec: fc.Arbitrary<LevelSpec> = fc.record({
  ticks: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 8 },
    { arbitrary: fc.integer({ min: 1, max: 400 }), weight: 2 },
    fc.integer({ min: -40, max: 0 }),
  ),
  offGrid: fc.oneof({ arbitrary: fc.constant(false), weight: 12 }, fc.constant(true)),
});

const volumeSpec: fc.Arbitrary<VolumeSpec> = fc.record({
  steps: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 10 },
    { arbitrary: fc.integer({ min: 1, max: 3000 }), weight: 2 },
    fc.constantFrom(0, 20_000, 200_000),
    { arbitrary: fc.constant('max' as const), weight: 3 },
  ),
  extra: fc.oneof({ arbitrary: fc.constant(0), weight: 15 }, fc.constantFrom(1, -1, 5_000)),
});

const accountIndex = fc.integer({ min: 0, max: ACCOUNT_SETUPS.length - 1 });
const tickerIndex = fc.integer({ min: 0, max: TICKERS.length - 1 });
const pick = fc.nat({ max: 20 });
const levelChange = fc.oneof({ arbitrary: levelSpec, weight: 4 }, fc.constant('clear' as const));

const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record(
      {
        kind: fc.constant('quote' as const),
        ticker: tickerIndex,
        move: fc.oneof(
          { arbitrary: fc.integer({ min: -25, max: 25 }), weight: 8 },
          fc.integer({ min: -3000, max: 3000 }),
        ),
        spread: fc.integer({ min: 1, max: 12 }),
        last: fc.record({
          ticks: fc.integer({ min: -4, max: 16 }),
          age: fc.oneof(
            { arbitrary: fc.constant(0), weight: 3 },
            // At the limit the last still counts; past it the quote's triggers fall back to bid/ask.
            { arbitrary: fc.constantFrom(MAX_QUOTE_AGE, MAX_QUOTE_AGE + 1, 10 * MAX_QUOTE_AGE), weight: 2 },
          ),
        }),
      },
      { requiredKeys: ['kind', 'ticker', 'move', 'spread'] },
    ),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('place' as const),
      account: accountIndex,
      ticker: tickerIndex,
      side: fc.constantFrom<Side>('buy', 'sell'),
      type: fc.constantFrom<ClientOrderType>('market', 'market', 'limit', 'stop'),
      volume: volumeSpec,
      price: levelSpec,
      pricedAsTyped: fc.oneof({ arbitrary: fc.constant(true), weight: 15 }, fc.constant(false)),
      stopLoss: fc.option(levelSpec, { freq: 2 }),
      takeProfit: fc.option(levelSpec, { freq: 2 }),
      expiresIn: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, fc.integer({ min: -60, max: 7200 })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        kind: fc.constant('modify_order' as const),
        account: accountIndex,
        pick,
        volume: volumeSpec,
        price: levelSpec,
        stopLoss: levelChange,
        takeProfit: levelChange,
        expiresIn: fc.oneof(fc.constant(0), fc.integer({ min: -60, max: 7200 })),
      },
      { requiredKeys: ['kind', 'account', 'pick'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('cancel_order' as const), account: accountIndex, pick }),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        kind: fc.constant('modify_deal' as const),
        account: accountIndex,
        pick,
        stopLoss: levelChange,
        takeProfit: levelChange,
      },
      { requiredKeys: ['kind', 'account', 'pick'] },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('close_deal' as const), account: accountIndex, pick }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('adjust_balance' as const),
      account: accountIndex,
      amount: fc.oneof(
        { arbitrary: fc.integer({ min: -2_000_000, max: 2_000_000 }), weight: 9 },
        fc.constant(0),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('set_status' as const),
      account: accountIndex,
      status: fc.constantFrom<AccountStatus>('enabled', 'enabled', 'enabled', 'no_new_deals', 'disabled'),
    }),
  },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'tick' }) },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'sweep' }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      seconds: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 600 }), weight: 6 },
        fc.integer({ min: 600, max: 2 * 86_400 }),
      ),
    }),
  },
);

const worldArbitrary: fc.Arbitrary<World> = fc.record({
  marketHours: fc.constantFrom<World['marketHours']>('ignore', 'ignore', 'enforce'),
  start: fc.integer({ min: MONDAY, max: MONDAY + 7 * 86_400 }),
  balances: fc.array(fc.oneof(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 5_000_000 })), {
    minLength: ACCOUNT_SETUPS.length,
    maxLength: ACCOUNT_SETUPS.length,
  }),
  quoted: fc.array(fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, fc.constant(false)), {
    minLength: TICKERS.length,
    maxLength: TICKERS.length,
  }),
});

// ---- Tests ----

const ALL_QUOTED: boolean[] = TICKERS.map(() => true);
const IGNORE_HOURS: World = {
  marketHours: 'ignore',
  start: MONDAY,
  balances: [1_000_000, 1_000_000, 1_000_000],
  quoted: ALL_QUOTED,
};

describe('engine money and bookkeeping invariants (property)', () => {
  it('hold after every step of random command sequences, and replays are identical', () => {
    fc.assert(
      fc.property(
        worldArbitrary,
        fc.array(actionArbitrary, { minLength: 1, maxLength: 120, size: 'max' }),
        (world, actions) => {
          runAndReplay(world, actions);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('stateHash tells different states apart and ignores insertion order', () => {
    const a = new Harness(IGNORE_HOURS);
    const b = new Harness(IGNORE_HOURS);
    assert.equal(a.engine.stateHash(), b.engine.stateHash());
    a.apply({ kind: 'adjust_balance', account: 0, amount: 1 });
    assert.notEqual(a.engine.stateHash(), b.engine.stateHash());
    b.apply({ kind: 'adjust_balance', account: 0, amount: 1 });
    assert.equal(a.engine.stateHash(), b.engine.stateHash());
    a.apply({ kind: 'quote', ticker: 0, move: 1, spread: 1 });
    a.apply({ kind: 'quote', ticker: 1, move: 1, spread: 1 });
    b.apply({ kind: 'quote', ticker: 1, move: 1, spread: 1 });
    b.apply({ kind: 'quote', ticker: 0, move: 1, spread: 1 });
    assert.equal(a.engine.stateHash(), b.engine.stateHash());
  });
});

describe('engine invariants: committed counterexamples', () => {
  it('a netting reversal counts the realised loss of the closed short in its margin check', () => {
    // Shrunk counterexample: the pre-trade check dropped the closed part's (losing) profit instead of
    // moving it to the balance, so a max-size reversal passed and left free margin at −1.16.
    runAndReplay(
      {
        marketHours: 'ignore',
        start: 1759755600,
        balances: [2458656, 0, 0],
        quoted: [true, false, true, true, true, true],
      },
      [
        {
          kind: 'place',
          account: 0,
          ticker: 0,
          side: 'sell',
          type: 'market',
          volume: { steps: 5, extra: 0 },
          price: { ticks: 1, offGrid: false },
          pricedAsTyped: true,
          stopLoss: null,
          takeProfit: null,
          expiresIn: 0,
        },
        { kind: 'quote', ticker: 0, move: 231, spread: 5 },
        { kind: 'adjust_balance', account: 0, amount: 1709759 },
        {
          kind: 'place',
          account: 0,
          ticker: 0,
          side: 'buy',
          type: 'market',
          volume: { steps: 'max', extra: 0 },
          price: { ticks: 1, offGrid: false },
          pricedAsTyped: true,
          stopLoss: null,
          takeProfit: null,
          expiresIn: 0,
        },
        { kind: 'modify_deal', account: 0, pick: 0 },
      ],
    );
  });

  it('a conversion-rate move alone triggers stop-out (EUR account long AAPL, EURUSD falls)', () => {
    // Found by the stop-out invariant: only accounts holding the quoted ticker were checked, so a
    // EURUSD slide that took a EUR account's AAPL position below 50% left it there.
    const harness = runAndReplay(
      {
        marketHours: 'ignore',
        start: 1759755600,
        balances: [0, 0, 100_000],
        quoted: [true, true, true, true, true, true],
      },
      [
        {
          kind: 'place',
          account: 2,
          ticker: 0,
          side: 'buy',
          type: 'market',
          volume: { steps: 'max', extra: 0 },
          price: { ticks: 0, offGrid: false },
          pricedAsTyped: true,
          stopLoss: null,
          takeProfit: null,
          expiresIn: 0,
        },
        { kind: 'quote', ticker: 0, move: -600, spread: 1 },
        { kind: 'quote', ticker: 1, move: -3000, spread: 1 },
        { kind: 'quote', ticker: 1, move: -3000, spread: 1 },
        { kind: 'quote', ticker: 1, move: -3000, spread: 1 },
      ],
    );
    const stopOuts = [...harness.orders.values()].filter((order) => order.type === 'stop_out');
    assert.equal(stopOuts.length, 1);
    assert.equal(harness.engine.book('10000003')?.deals.size, 0);
  });

  it('a gap fill whose take profit the same quote crosses closes on that quote', () => {
    // Shrunk counterexample: the sell stop fired on a 24.72 gap down and opened a short whose TP
    // (just under the stop price) the same ask already crossed; the TP rested until the next quote.
    runAndReplay(
      {
        marketHours: 'ignore',
        start: 1759755600,
        balances: [1234, 0, 0],
        quoted: [false, true, true, true, true, false],
      },
      [
        {
          kind: 'place',
          account: 0,
          ticker: 0,
          side: 'sell',
          type: 'stop',
          volume: { steps: 1, extra: 0 },
          price: { ticks: 1, offGrid: false },
          pricedAsTyped: true,
          stopLoss: null,
          takeProfit: { ticks: 1, offGrid: false },
          expiresIn: 0,
        },
        { kind: 'quote', ticker: 0, move: -2472, spread: 1 },
        { kind: 'adjust_balance', account: 0, amount: 0 },
      ],
    );
  });

  it('a busy netting round trip keeps every invariant', () => {
    runAndReplay(IGNORE_HOURS, [
      {
        kind: 'place',
        account: 0,
        ticker: 0,
        side: 'buy',
        type: 'market',
        volume: { steps: 10, extra: 0 },
        price: { ticks: 0, offGrid: false },
        pricedAsTyped: true,
        stopLoss: null,
        takeProfit: null,
        expiresIn: 0,
      },
      {
        kind: 'place',
        account: 0,
        ticker: 0,
        side: 'sell',
        type: 'market',
        volume: { steps: 4, extra: 0 },
        price: { ticks: 0, offGrid: false },
        pricedAsTyped: true,
        stopLoss: null,
        takeProfit: null,
        expiresIn: 0,
      },
      {
        kind: 'place',
        account: 0,
        ticker: 0,
        side: 'sell',
        type: 'market',
        volume: { steps: 10, extra: 0 },
        price: { ticks: 0, offGrid: false },
        pricedAsTyped: true,
        stopLoss: null,
        takeProfit: null,
        expiresIn: 0,
      },
      { kind: 'quote', ticker: 0, move: 40, spread: 2 },
      { kind: 'close_deal', account: 0, pick: 0 },
    ]);
  });
});

describe('engine invariants: last-triggered instruments', () => {
  // AAPL.nq (ticker 0) triggers on the last: a long's take profit one tick above the bid.
  const openLongWithTakeProfit: Action = {
    kind: 'place',
    account: 1,
    ticker: 0,
    side: 'buy',
    type: 'market',
    volume: { steps: 1, extra: 0 },
    price: { ticks: 1, offGrid: false },
    pricedAsTyped: true,
    stopLoss: null,
    takeProfit: { ticks: 1, offGrid: false },
    expiresIn: 0,
  };

  it('a take profit fires on a fresh last that crosses it while the bid does not', () => {
    runAndReplay(IGNORE_HOURS, [
      openLongWithTakeProfit,
      { kind: 'quote', ticker: 0, move: 0, spread: 1, last: { ticks: 1, age: MAX_QUOTE_AGE } },
      { kind: 'quote', ticker: 0, move: 0, spread: 1 },
    ]);
  });

  it('a last older than the bid/ask by more than the quote age limit does not fire it', () => {
    runAndReplay(IGNORE_HOURS, [
      openLongWithTakeProfit,
      { kind: 'quote', ticker: 0, move: 0, spread: 1, last: { ticks: 1, age: MAX_QUOTE_AGE + 1 } },
      { kind: 'quote', ticker: 0, move: 0, spread: 1, last: { ticks: 1, age: 0 } },
    ]);
  });
});
