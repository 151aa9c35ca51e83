/**
 * The balance limit (money.ts MAX_BALANCE), checked after every step of random command sequences
 * that try to push balances past it: extreme prices (1e-8 to ~9e7, as the admin API allows),
 * extreme volumes and contract sizes, near-zero margin ratios, conversion rates that swing by
 * fifteen orders of magnitude, balances that start at the edge, SL/TP and stop-outs on gaps.
 *
 * After every step, for every account:
 * - the balance is a safe integer strictly inside ±MAX_BALANCE;
 * - balance = initial balance + Σ ledger amounts + Σ realised profit, exactly (summed in bigint);
 * - every closed deal's profit is its exact value (price move × volume × contract size × rate, in
 *   bigint, rounded half away from zero), except after an automatic close (stop loss, take profit,
 *   stop out), which may book less of it, never more and never with the other sign, and then only
 *   because the exact value would have left the limit;
 * - a rejected command changes no balance and closes no deal.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Money, Price, Quantity } from './decimal.ts';
import { Engine, type ChangeSet, type Command } from './engine.ts';
import { SequentialIds } from './ids.ts';
import type { Account, Deal, Instrument, Order, Quote, Side } from './model.ts';
import { MAX_BALANCE } from './money.ts';

const LARGEST_PRICE = 8_999_999_999_999_999; // 89,999,999.99999999: parsePrice's limit
const LARGEST_QUANTITY = 9_000_000_000_000_000; // 9e9 units: parseQuantity's limit
const AUTOMATIC: ReadonlySet<Order['type']> = new Set(['stop_loss', 'take_profit', 'stop_out']);

function instrument(ticker: string, quoteCurrency: string, contractSize: Quantity): Instrument {
  return {
    ticker,
    description: ticker,
    contractSize,
    units: 'unit(s)',
    minVolume: 1,
    maxVolume: LARGEST_QUANTITY,
    volumeStep: 1,
    minTick: 1,
    // The smallest margin ratio there is (1e-6): margin hardly ever stops a trade.
    leverage: 1,
    tradeMode: 'full',
    quoteCurrency,
    calendar: 'always',
    volatility: 0,
    spreadTicks: 1,
    referencePrice: 100_000_000,
    triggerSource: 'bid_ask',
  };
}

const INSTRUMENTS = [
  instrument('ONE.us', 'USD', 1_000_000),
  instrument('HUGE.us', 'USD', LARGEST_QUANTITY),
  instrument('ONE.jp', 'JPY', 1_000_000),
  instrument('EURUSD', 'USD', 100_000_000_000),
  instrument('USDJPY', 'JPY', 100_000_000_000),
];
const TICKERS = INSTRUMENTS.map((definition) => definition.ticker);
const ACCOUNTS = [
  { id: '10000001', system: 'netting', currency: 'USD' },
  { id: '10000002', system: 'hedging', currency: 'USD' },
  { id: '10000003', system: 'netting', currency: 'EUR' },
  { id: '10000004', system: 'hedging', currency: 'JPY' },
] as const;
const NOW = 1_759_755_600;

// ---- Exact reference valuation (bigint) ----

interface Ratio {
  num: bigint;
  den: bigint;
}

function referenceRate(quotes: ReadonlyMap<string, Quote>, from: string, to: string): Ratio | undefined {
  if (from === to) return { num: 1n, den: 1n };
  const pair = (a: string, b: string): Ratio | undefined => {
    const direct = quotes.get(a + b);
    if (direct) return { num: BigInt(direct.bid + direct.ask), den: 200_000_000n };
    const inverse = quotes.get(b + a);
    if (inverse) return { num: 200_000_000n, den: BigInt(inverse.bid + inverse.ask) };
    return undefined;
  };
  const direct = pair(from, to);
  if (direct || from === 'USD' || to === 'USD') return direct;
  const viaFrom = pair(from, 'USD');
  const viaTo = pair('USD', to);
  return viaFrom && viaTo ? { num: viaFrom.num * viaTo.num, den: viaFrom.den * viaTo.den } : undefined;
}

function exactProfit(deal: Deal, contractSize: Quantity, rate: Ratio): bigint {
  const close = deal.closePrice ?? 0;
  const move = BigInt(deal.side === 'buy' ? close - deal.openPrice : deal.openPrice - close);
  const num = move * BigInt(deal.volume) * BigInt(contractSize) * rate.num * 100n;
  const den = 10n ** 20n * rate.den;
  const magnitude = ((num < 0n ? -num : num) * 2n + den) / (2n * den);
  return num < 0n ? -magnitude : magnitude;
}

// ---- Actions ----

type Action =
  | { kind: 'quote'; ticker: number; bid: Price; spread: number }
  | {
      kind: 'place';
      account: number;
      ticker: number;
      side: Side;
      type: 'market' | 'limit' | 'stop';
      /** A raw volume, or a share (per mille) of what the free margin allows. */
      volume: Quantity | { affordablePerMille: number };
      /** Pending price as a fraction (per mille) of the current price: below 1000 sits below it. */
      pricePerMille: number;
      stopLossPerMille: number | null;
      takeProfitPerMille: number | null;
    }
  | {
      kind: 'levels';
      account: number;
      pick: number;
      stopLossPerMille: number | null;
      takeProfitPerMille: number | null;
    }
  | { kind: 'close'; account: number; pick: number }
  | { kind: 'deposit'; account: number; amount: Money }
  | { kind: 'sweep' };

/** What the runs exercised, so that a generator change cannot quietly stop reaching the limit. */
interface Reached {
  fills: number;
  refusals: number;
  limitedCloses: number;
}

class Harness {
  readonly engine = new Engine({
    ids: new SequentialIds(0, 0),
    marketHours: 'ignore',
    stopOutLevel: 50,
    marginCallLevel: 100,
    maxQuoteAgeSeconds: null,
  });
  readonly quotes = new Map<string, Quote>();
  /** initial balance + Σ ledger + Σ realised profit, per account, in bigint. */
  readonly expected = new Map<string, bigint>();

  constructor(
    balances: readonly Money[],
    readonly reached: Reached,
  ) {
    for (const definition of INSTRUMENTS) this.engine.putInstrument(definition);
    ACCOUNTS.forEach((setup, index) => {
      const account: Account = {
        id: setup.id,
        userId: `user-${index}`,
        name: setup.id,
        type: 'demo',
        system: setup.system,
        currency: setup.currency,
        status: 'enabled',
        balance: balances[index] ?? 0,
      };
      this.engine.loadBook({
        account,
        orders: new Map(),
        deals: new Map(),
        overrides: new Map(),
        version: 0,
        lastEventId: 0,
      });
      this.expected.set(setup.id, BigInt(account.balance));
    });
    for (const ticker of TICKERS) this.#quote(ticker, 100_000_000, 1);
  }

  apply(action: Action): void {
    switch (action.kind) {
      case 'quote':
        this.#quote(TICKERS[action.ticker % TICKERS.length] ?? 'ONE.us', action.bid, action.spread);
        return;
      case 'sweep':
        this.#absorb(this.engine.sweepStopOuts(NOW));
        return;
      default: {
        const command = this.#resolve(action);
        if (!command) return;
        const balancesBefore = ACCOUNTS.map((setup) => this.engine.book(setup.id)?.account.balance);
        const result = this.engine.handle(command, NOW);
        this.#absorb(result.changes);
        if (!result.ok && result.rejection.code === 'balance_limit') this.reached.refusals += 1;
        if (!result.ok) {
          assert.deepEqual(
            ACCOUNTS.map((setup) => this.engine.book(setup.id)?.account.balance),
            balancesBefore,
            `rejected ${command.kind} (${result.rejection.message}) moved a balance`,
          );
          assert.equal(result.changes.deals.length, 0, `rejected ${command.kind} changed deals`);
        }
      }
    }
  }

  #quote(ticker: string, bid: Price, spread: number): void {
    const quote: Quote = { ticker, bid, ask: Math.min(bid + spread, LARGEST_PRICE), time: NOW };
    this.quotes.set(ticker, quote);
    this.#absorb(this.engine.onQuote(quote, NOW));
    // As the service does after every quote batch.
    this.#absorb(this.engine.sweepStopOuts(NOW));
  }

  #scaled(price: Price, perMille: number): Price {
    return Math.max(1, Math.min(LARGEST_PRICE, Math.round((price / 1000) * perMille)));
  }

  /** `perMille` of the volume whose margin at `price` the account's free margin covers (at least 1). */
  #affordable(accountId: string, ticker: string, price: Price, perMille: number): Quantity {
    const definition = INSTRUMENTS.find((candidate) => candidate.ticker === ticker);
    const book = this.engine.book(accountId);
    const free = this.engine.metrics(accountId)?.freeMargin ?? 0;
    const rate =
      definition && book && referenceRate(this.quotes, definition.quoteCurrency, book.account.currency);
    if (!definition || !rate || free <= 0) return 1;
    // margin cents = volume × price × contract size × leverage × rate × 100 / 10^26
    const volume =
      (BigInt(free) * 10n ** 26n * rate.den * BigInt(perMille)) /
      (BigInt(price) *
        BigInt(definition.contractSize) *
        BigInt(definition.leverage) *
        rate.num *
        100n *
        1000n);
    return Number(volume < 1n ? 1n : volume > BigInt(LARGEST_QUANTITY) ? BigInt(LARGEST_QUANTITY) : volume);
  }

  #deal(accountIndex: number, pick: number): Deal | undefined {
    const book = this.engine.book(ACCOUNTS[accountIndex % ACCOUNTS.length]?.id ?? '');
    const deals = [...(book?.deals.values() ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1));
    return deals[pick % Math.max(1, deals.length)];
  }

  #resolve(action: Exclude<Action, { kind: 'quote' | 'sweep' }>): Command | undefined {
    const accountId = ACCOUNTS[action.account % ACCOUNTS.length]?.id ?? '10000001';
    switch (action.kind) {
      case 'place': {
        const ticker = TICKERS[action.ticker % TICKERS.length] ?? 'ONE.us';
        const quote = this.quotes.get(ticker);
        if (!quote) return undefined;
        const current = action.side === 'buy' ? quote.ask : quote.bid;
        const price = action.type === 'market' ? null : this.#scaled(current, action.pricePerMille);
        const reference = price ?? current;
        const level = (perMille: number | null): Price | null =>
          perMille === null ? null : this.#scaled(reference, perMille);
        return {
          kind: 'place_order',
          accountId,
          ticker,
          side: action.side,
          type: action.type,
          volume:
            typeof action.volume === 'number'
              ? action.volume
              : this.#affordable(accountId, ticker, reference, action.volume.affordablePerMille),
          price,
          expiration: 0,
          stopLoss: level(action.stopLossPerMille),
          takeProfit: level(action.takeProfitPerMille),
        };
      }
      case 'levels': {
        const deal = this.#deal(action.account, action.pick);
        const quote = deal && this.quotes.get(deal.ticker);
        if (!deal || !quote) return undefined;
        const current = deal.side === 'buy' ? quote.bid : quote.ask;
        return {
          kind: 'modify_deal',
          accountId: deal.accountId,
          dealId: deal.id,
          stopLoss: action.stopLossPerMille === null ? 0 : this.#scaled(current, action.stopLossPerMille),
          takeProfit:
            action.takeProfitPerMille === null ? 0 : this.#scaled(current, action.takeProfitPerMille),
        };
      }
      case 'close': {
        const deal = this.#deal(action.account, action.pick);
        return deal && { kind: 'close_deal', accountId: deal.accountId, dealId: deal.id };
      }
      case 'deposit':
        return { kind: 'adjust_balance', accountId, amount: action.amount, comment: 'property test' };
    }
  }

  #absorb(changes: ChangeSet): void {
    this.reached.fills += changes.orders.filter((order) => order.status === 'filled').length;
    for (const entry of changes.ledger) {
      this.expected.set(entry.accountId, (this.expected.get(entry.accountId) ?? 0n) + BigInt(entry.amount));
    }
    for (const deal of changes.deals) {
      if (deal.status !== 'closed') continue;
      assert.ok(Number.isSafeInteger(deal.profit), `deal ${deal.id} profit ${deal.profit} is not exact`);
      this.expected.set(deal.accountId, (this.expected.get(deal.accountId) ?? 0n) + BigInt(deal.profit));
      this.#checkRealised(deal, changes);
    }
    for (const setup of ACCOUNTS) {
      const balance = this.engine.book(setup.id)?.account.balance ?? Number.NaN;
      assert.ok(Number.isSafeInteger(balance), `balance ${balance} of ${setup.id} is not exact`);
      assert.ok(
        balance > -MAX_BALANCE && balance < MAX_BALANCE,
        `balance ${balance} of ${setup.id} is outside ±${MAX_BALANCE}`,
      );
      assert.equal(
        BigInt(balance),
        this.expected.get(setup.id),
        `${setup.id}: balance ≠ Σ ledger + Σ profit`,
      );
    }
  }

  #checkRealised(deal: Deal, changes: ChangeSet): void {
    const definition = INSTRUMENTS.find((candidate) => candidate.ticker === deal.ticker);
    const currency = this.engine.book(deal.accountId)?.account.currency;
    const rate = definition && currency && referenceRate(this.quotes, definition.quoteCurrency, currency);
    assert.ok(definition && rate, `deal ${deal.id} closed without a rate`);
    const exact = exactProfit(deal, definition.contractSize, rate);
    const booked = BigInt(deal.profit);
    if (booked === exact) return;
    // The last filled order naming the deal closed it (an earlier one in the same step opened it).
    const closer = changes.orders
      .filter((order) => order.status === 'filled' && order.deals.includes(deal.id))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .at(-1);
    assert.ok(closer && AUTOMATIC.has(closer.type), `deal ${deal.id}: booked ${booked}, exact ${exact}`);
    assert.match(closer.comment, /(profit|loss) limited/);
    this.reached.limitedCloses += 1;
    assert.ok(
      exact > 0n ? booked >= 0n && booked < exact : booked <= 0n && booked > exact,
      `deal ${deal.id}: limited ${booked} is not a part of ${exact}`,
    );
    // What was booked took the balance to the last cent inside the limit; so it stood at `before`,
    // inside the limit, where the exact profit would have taken it outside.
    const limit = BigInt(MAX_BALANCE);
    const before = (exact > 0n ? limit - 1n : 1n - limit) - booked;
    assert.ok(before > -limit && before < limit, `deal ${deal.id}: the balance stood at ${before}`);
    const after = before + exact;
    assert.ok(
      after <= -limit || after >= limit,
      `deal ${deal.id}: ${exact} would have fitted beside ${before}`,
    );
  }
}

// ---- Generators ----

const price: fc.Arbitrary<Price> = fc.oneof(
  fc.integer({ min: 1, max: 1_000 }),
  fc.integer({ min: 1, max: 100_000_000_000 }),
  fc.integer({ min: 1, max: LARGEST_PRICE }),
  fc.constantFrom(1, 100_000_000, LARGEST_PRICE - 1_000),
);
const volume: fc.Arbitrary<Quantity | { affordablePerMille: number }> = fc.oneof(
  fc.integer({ min: 1, max: 1_000_000_000 }),
  fc.integer({ min: 1, max: LARGEST_QUANTITY }),
  fc.constantFrom(1, 1_000_000, LARGEST_QUANTITY),
  { weight: 6, arbitrary: fc.record({ affordablePerMille: fc.integer({ min: 1, max: 999 }) }) },
);
const perMille = fc.integer({ min: 1, max: 5_000 });
const account = fc.nat({ max: ACCOUNTS.length - 1 });
const ticker = fc.nat({ max: TICKERS.length - 1 });
const balance: fc.Arbitrary<Money> = fc.oneof(
  fc.integer({ min: 0, max: 10_000_000 }),
  fc.integer({ min: 0, max: MAX_BALANCE - 1 }),
  fc.constant(MAX_BALANCE - 1),
);

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('quote' as const),
      ticker,
      bid: price,
      spread: fc.integer({ min: 1, max: 1_000 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('place' as const),
      account,
      ticker,
      side: fc.constantFrom<Side>('buy', 'sell'),
      type: fc.constantFrom('market' as const, 'market' as const, 'limit' as const, 'stop' as const),
      volume,
      pricePerMille: perMille,
      stopLossPerMille: fc.option(perMille, { freq: 2 }),
      takeProfitPerMille: fc.option(perMille, { freq: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('levels' as const),
      account,
      pick: fc.nat({ max: 10 }),
      stopLossPerMille: fc.option(perMille, { freq: 3 }),
      takeProfitPerMille: fc.option(perMille, { freq: 3 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('close' as const), account, pick: fc.nat({ max: 10 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deposit' as const),
      account,
      amount: fc.oneof(
        fc.integer({ min: -MAX_BALANCE, max: MAX_BALANCE }),
        fc.integer({ min: 1, max: 1_000 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'sweep' }) },
);

describe('balance limit (property)', () => {
  it('keeps every balance exact and inside ±MAX_BALANCE whatever the prices and volumes', (t) => {
    const reached: Reached = { fills: 0, refusals: 0, limitedCloses: 0 };
    fc.assert(
      fc.property(
        fc.array(balance, { minLength: ACCOUNTS.length, maxLength: ACCOUNTS.length }),
        fc.array(action, { minLength: 1, maxLength: 60, size: 'max' }),
        (balances, actions) => {
          const harness = new Harness(balances, reached);
          for (const step of actions) harness.apply(step);
        },
      ),
      { numRuns: 300 },
    );
    t.diagnostic(`reached: ${JSON.stringify(reached)}`);
    assert.ok(reached.fills > 500, `only ${reached.fills} fills`);
    assert.ok(reached.refusals > 5, `only ${reached.refusals} balance_limit refusals`);
    assert.ok(reached.limitedCloses > 20, `only ${reached.limitedCloses} limited automatic closes`);
  });
});

describe('balance limit: committed counterexamples', () => {
  it('a deal opened and stopped out by one quote, at the lower edge, books nothing', () => {
    // Shrunk counterexample (of the harness): a JPY gap stopped out the hedging account's short with
    // its loss limited, leaving the balance at the lower edge; a buy limit then filled and its stop
    // loss closed it on the same quote for 1 cent, which the edge turned into 0. The harness took
    // the limit order, the first to name the deal, for its closer.
    const reached: Reached = { fills: 0, refusals: 0, limitedCloses: 0 };
    const harness = new Harness([0, 12, 999_999_999_999_999, 0], reached);
    const steps: Action[] = [
      {
        kind: 'place',
        account: 1,
        ticker: 2,
        side: 'sell',
        type: 'market',
        volume: { affordablePerMille: 926 },
        pricePerMille: 1,
        stopLossPerMille: null,
        takeProfitPerMille: null,
      },
      {
        kind: 'place',
        account: 1,
        ticker: 1,
        side: 'buy',
        type: 'limit',
        volume: 1,
        pricePerMille: 1,
        stopLossPerMille: 1,
        takeProfitPerMille: null,
      },
      { kind: 'quote', ticker: 2, bid: 8_999_999_999_998_999, spread: 1 },
      { kind: 'quote', ticker: 1, bid: 1, spread: 56 },
      { kind: 'close', account: 0, pick: 0 },
    ];
    for (const step of steps) harness.apply(step);
    assert.equal(harness.engine.book('10000002')?.account.balance, 1 - MAX_BALANCE);
    assert.ok(reached.limitedCloses >= 2);
  });

  it('a buy limit far below a tiny price on a conversion pair is judged without dividing by zero', () => {
    // EURUSD at 1e-8 / 9e-8 is also the EUR account's conversion rate: the market shifted to the
    // limit's price (4e-8) would have put its bid at -4e-8 and the mid rate at 0.
    const harness = new Harness([0, 0, 999_999_999_999_999, 0], { fills: 0, refusals: 0, limitedCloses: 0 });
    harness.apply({ kind: 'quote', ticker: 3, bid: 1, spread: 8 });
    harness.apply({
      kind: 'place',
      account: 2,
      ticker: 3,
      side: 'buy',
      type: 'limit',
      volume: { affordablePerMille: 1 },
      pricePerMille: 389,
      stopLossPerMille: null,
      takeProfitPerMille: null,
    });
    harness.apply({
      kind: 'place',
      account: 0,
      ticker: 0,
      side: 'buy',
      type: 'market',
      volume: { affordablePerMille: 1 },
      pricePerMille: 1,
      stopLossPerMille: null,
      takeProfitPerMille: null,
    });
    // Judged, not thrown: the limit is refused (its 4e-8 ask-side fill cannot be afforded at the
    // shifted rate) and the next order fills as usual.
    const eur = harness.engine.book('10000003');
    assert.deepEqual([eur?.orders.size, eur?.deals.size], [0, 0]);
    assert.equal(harness.engine.book('10000001')?.deals.size, 1);
  });
});
