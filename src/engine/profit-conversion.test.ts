/**
 * Profit in the account currency: P/L accrues in the instrument's quote currency and is converted
 * at the current mid of the pair that links it to the account currency (or through USD), then
 * rounded once, half away from zero, to the cent. Expected values are worked out by hand in the
 * comments; the long-run tests compare thousands of round trips with an independent bigint sum.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findDefaultInstrument } from '../adapters/catalogue/default-instruments.ts';
import {
  PRICE_DECIMALS,
  QUANTITY_DECIMALS,
  toScaled,
  type Money,
  type Price,
  type Quantity,
} from './decimal.ts';
import { Engine, type Command } from './engine.ts';
import { SequentialIds } from './ids.ts';
import type { AccountSystem, Deal, Side } from './model.ts';

const NOW = 1_760_000_000;

function price(text: string): Price {
  const scaled = toScaled(text, PRICE_DECIMALS);
  if (scaled === undefined) throw new Error(`bad price ${text}`);
  return scaled;
}

function lots(text: string): Quantity {
  const scaled = toScaled(text, QUANTITY_DECIMALS);
  if (scaled === undefined) throw new Error(`bad volume ${text}`);
  return scaled;
}

interface Setup {
  engine: Engine;
  quote(ticker: string, bid: string, ask: string): void;
  buy(accountId: string, ticker: string, volume: string): string;
  sell(accountId: string, ticker: string, volume: string): string;
  run(command: Command): void;
  openDeal(accountId: string, ticker: string): Deal;
  balance(accountId: string): Money;
}

/** An engine with the given accounts (id → system and currency), all starting at 1,000,000.00. */
function setup(accounts: Record<string, { system: AccountSystem; currency: string }>): Setup {
  const engine = new Engine({
    ids: new SequentialIds(0, 0),
    marketHours: 'ignore',
    stopOutLevel: 50,
    marginCallLevel: 100,
    maxQuoteAgeSeconds: null,
  });
  for (const ticker of ['AAPL.nq', 'EURUSD', 'GBPUSD', 'USDJPY', 'EURGBP']) {
    const instrument = findDefaultInstrument(ticker);
    if (!instrument) throw new Error(`no ${ticker}`);
    engine.putInstrument(instrument);
  }
  for (const [id, { system, currency }] of Object.entries(accounts)) {
    engine.loadBook({
      account: {
        id,
        userId: 'user',
        name: id,
        type: 'demo',
        system,
        currency,
        status: 'enabled',
        balance: 100_000_000,
      },
      orders: new Map(),
      deals: new Map(),
      overrides: new Map(),
      version: 0,
      lastEventId: 0,
    });
  }
  const run = (command: Command): string => {
    const result = engine.handle(command, NOW);
    if (!result.ok) throw new Error(`${command.kind} rejected: ${result.rejection.message}`);
    return result.orderId ?? '';
  };
  const market = (accountId: string, ticker: string, side: Side, volume: string): string =>
    run({
      kind: 'place_order',
      accountId,
      ticker,
      side,
      type: 'market',
      volume: lots(volume),
      price: null,
      expiration: 0,
      stopLoss: null,
      takeProfit: null,
    });
  return {
    engine,
    quote(ticker, bid, ask) {
      const changes = engine.onQuote({ ticker, bid: price(bid), ask: price(ask), time: NOW }, NOW);
      assert.equal(changes.fills.length, 0, 'no resting trigger in these tests');
    },
    buy: (accountId, ticker, volume) => market(accountId, ticker, 'buy', volume),
    sell: (accountId, ticker, volume) => market(accountId, ticker, 'sell', volume),
    run(command) {
      run(command);
    },
    openDeal(accountId, ticker) {
      const deals = [...(engine.book(accountId)?.deals.values() ?? [])].filter((d) => d.ticker === ticker);
      assert.equal(deals.length, 1, `one open ${ticker} deal`);
      return deals[0] as Deal;
    },
    balance: (accountId) => engine.book(accountId)?.account.balance ?? Number.NaN,
  };
}

/** Realised profit of the deals a command closed. */
function closedProfit(result: ReturnType<Engine['handle']>): Money[] {
  assert.ok(result.ok, result.ok ? '' : result.rejection.message);
  return result.changes.deals.filter((deal) => deal.status === 'closed').map((deal) => deal.profit);
}

const USD = '10000001';
const EUR = '10000002';
const USD_HEDGING = '10000003';

describe('profit in the account currency', () => {
  it('USDJPY in a USD account: JPY P/L converted at the USDJPY mid', () => {
    const s = setup({ [USD]: { system: 'netting', currency: 'USD' } });
    s.quote('USDJPY', '150.000', '150.010');
    s.buy(USD, 'USDJPY', '1');
    const deal = s.openDeal(USD, 'USDJPY');
    assert.equal(deal.openPrice, price('150.010'));
    // Valued at bid 150.000: −0.010 × 100,000 = −1,000 JPY ÷ mid 150.005 = −6.66644 → −6.67 USD.
    // Margin: 100,000 × 150.000 × 0.01 = 150,000 JPY ÷ 150.005 = 999.96667 → 999.97 USD.
    assert.equal(s.engine.dealValue(deal)?.profit, -667);
    assert.equal(s.engine.metrics(USD)?.margin, 99_997);

    s.quote('USDJPY', '151.000', '151.010');
    // +0.990 × 100,000 = 99,000 JPY ÷ mid 151.005 = 655.60743 → 655.61 USD.
    assert.equal(s.engine.dealValue(deal)?.profit, 65_561);
    assert.equal(s.engine.metrics(USD)?.equity, 100_000_000 + 65_561);
    const result = s.engine.handle({ kind: 'close_deal', accountId: USD, dealId: deal.id }, NOW);
    assert.deepEqual(closedProfit(result), [65_561]);
    assert.equal(s.balance(USD), 100_000_000 + 65_561);
  });

  it('a USDJPY short loses in JPY, converted the same way', () => {
    const s = setup({ [USD]: { system: 'netting', currency: 'USD' } });
    s.quote('USDJPY', '150.000', '150.010');
    s.sell(USD, 'USDJPY', '2');
    s.quote('USDJPY', '151.000', '151.010');
    // Short 2 lots from bid 150.000, closed at ask 151.010: −1.010 × 200,000 = −202,000 JPY
    // ÷ 151.005 = −1,337.70405 → −1,337.70 USD.
    const result = s.engine.handle(
      {
        kind: 'place_order',
        accountId: USD,
        ticker: 'USDJPY',
        side: 'buy',
        type: 'market',
        volume: lots('2'),
        price: null,
        expiration: 0,
        stopLoss: null,
        takeProfit: null,
      },
      NOW,
    );
    assert.deepEqual(closedProfit(result), [-133_770]);
    assert.equal(s.balance(USD), 100_000_000 - 133_770);
  });

  it('EURGBP in a USD account: GBP P/L converted at the GBPUSD mid, rounded once', () => {
    const s = setup({ [USD]: { system: 'netting', currency: 'USD' } });
    s.quote('GBPUSD', '1.25000', '1.25010');
    s.quote('EURGBP', '0.85000', '0.85010');
    s.buy(USD, 'EURGBP', '0.5');
    s.quote('EURGBP', '0.86000', '0.86010');
    const deal = s.openDeal(USD, 'EURGBP');
    // +0.00990 × 50,000 = 495 GBP × mid 1.25005 = 618.77475 USD → 618.77 (not 618.78: one rounding).
    assert.equal(s.engine.dealValue(deal)?.profit, 61_877);
    // Margin: 50,000 × 0.86000 × 0.01 = 430 GBP × 1.25005 = 537.5215 → 537.52 USD.
    assert.equal(s.engine.metrics(USD)?.margin, 53_752);
    // A GBPUSD move alone revalues it: 495 GBP × mid 1.30005 = 643.52475 → 643.52 USD.
    s.quote('GBPUSD', '1.30000', '1.30010');
    assert.equal(s.engine.dealValue(deal)?.profit, 64_352);
    const result = s.engine.handle({ kind: 'close_deal', accountId: USD, dealId: deal.id }, NOW);
    assert.deepEqual(closedProfit(result), [64_352]);
    assert.equal(s.balance(USD), 100_000_000 + 64_352);
  });

  it('AAPL.nq in a EUR account: USD P/L converted at the inverse of the EURUSD mid', () => {
    const s = setup({ [EUR]: { system: 'netting', currency: 'EUR' } });
    s.quote('EURUSD', '1.10000', '1.10010');
    s.quote('AAPL.nq', '200.00', '200.01');
    s.buy(EUR, 'AAPL.nq', '10');
    s.quote('AAPL.nq', '210.50', '210.51');
    const deal = s.openDeal(EUR, 'AAPL.nq');
    // +10.49 × 10 = 104.90 USD ÷ mid 1.10005 = 95.35930 → 95.36 EUR.
    assert.equal(s.engine.dealValue(deal)?.profit, 9_536);
    // Margin: 10 × 210.50 × 0.05 = 105.25 USD ÷ 1.10005 = 95.67747 → 95.68 EUR.
    const metrics = s.engine.metrics(EUR);
    assert.equal(metrics?.margin, 9_568);
    assert.equal(metrics?.equity, 100_000_000 + 9_536);
    assert.equal(metrics?.freeMargin, 100_000_000 + 9_536 - 9_568);
    const result = s.engine.handle({ kind: 'close_deal', accountId: EUR, dealId: deal.id }, NOW);
    assert.deepEqual(closedProfit(result), [9_536]);
    assert.equal(s.balance(EUR), 100_000_000 + 9_536);
  });

  it('USDJPY in a EUR account crosses through USD: JPY → USD → EUR', () => {
    const s = setup({ [EUR]: { system: 'netting', currency: 'EUR' } });
    s.quote('EURUSD', '1.10000', '1.10010');
    s.quote('USDJPY', '150.000', '150.010');
    s.buy(EUR, 'USDJPY', '1');
    s.quote('USDJPY', '151.000', '151.010');
    // 99,000 JPY ÷ 151.005 ÷ 1.10005 = 595.97966 → 595.98 EUR.
    assert.equal(s.engine.dealValue(s.openDeal(EUR, 'USDJPY'))?.profit, 59_598);
  });

  it('rounds half a cent away from zero, for gains and losses alike', () => {
    const s = setup({ [USD_HEDGING]: { system: 'hedging', currency: 'USD' } });
    s.quote('GBPUSD', '1.49995', '1.50005');
    s.quote('EURGBP', '0.85000', '0.85001');
    s.buy(USD_HEDGING, 'EURGBP', '0.01');
    s.sell(USD_HEDGING, 'EURGBP', '0.01');
    s.quote('EURGBP', '0.85002', '0.85003');
    const [long, short] = [...(s.engine.book(USD_HEDGING)?.deals.values() ?? [])];
    assert.ok(long && short);
    // Long from 0.85001 at bid 0.85002: +0.00001 × 1,000 = 0.01 GBP × 1.5 = 0.015 USD → +0.02.
    // Short from 0.85000 at ask 0.85003: −0.03 GBP × 1.5 = −0.045 USD → −0.05.
    assert.equal(s.engine.dealValue(long)?.profit, 2);
    assert.equal(s.engine.dealValue(short)?.profit, -5);
  });
});

// ---- Long runs: thousands of round trips, compared with an independent exact sum ----

/** Deterministic pseudo-random integers (a 32-bit LCG), so the runs are reproducible. */
function lcg(seed: number): (bound: number) => number {
  let state = seed >>> 0;
  return (bound) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % bound;
  };
}

const NOTIONAL_UNIT = 10n ** 8n * 10n ** 6n * 10n ** 6n;

/** move × volume × contract size × (num/den) in cents, half away from zero, in bigint. */
function exactCents(move: Price, volume: Quantity, contractSize: Quantity, num: bigint, den: bigint): bigint {
  const value = BigInt(move) * BigInt(volume) * BigInt(contractSize) * num * 100n;
  const divisor = NOTIONAL_UNIT * den;
  const magnitude = value < 0n ? -value : value;
  const rounded = (2n * magnitude + divisor) / (2n * divisor);
  return value < 0n ? -rounded : rounded;
}

describe('balances stay exact to the cent over thousands of trades', () => {
  const ROUND_TRIPS = 5_000;

  it(`${ROUND_TRIPS} USDJPY, EURGBP and AAPL.nq round trips in USD and EUR accounts`, () => {
    const s = setup({
      [USD]: { system: 'netting', currency: 'USD' },
      [EUR]: { system: 'netting', currency: 'EUR' },
      [USD_HEDGING]: { system: 'hedging', currency: 'USD' },
    });
    const random = lcg(20_251_006);
    const expected = new Map<string, bigint>([
      [USD, 100_000_000n],
      [EUR, 100_000_000n],
      [USD_HEDGING, 100_000_000n],
    ]);
    const credit = (account: string, cents: bigint): void => {
      expected.set(account, (expected.get(account) ?? 0n) + cents);
    };
    const mid = (bid: Price, ask: Price): { num: bigint; den: bigint } => ({
      num: BigInt(bid + ask),
      den: 2n * 10n ** 8n,
    });
    const jpy = findDefaultInstrument('USDJPY');
    const eurgbp = findDefaultInstrument('EURGBP');
    const aapl = findDefaultInstrument('AAPL.nq');
    assert.ok(jpy && eurgbp && aapl);

    for (let trip = 0; trip < ROUND_TRIPS; trip++) {
      // Awkward prices: every tick of the grid, spreads of 1–9 ticks, odd volumes.
      const jpyBid = price('140') + random(20_000) * jpy.minTick;
      const jpySpread = (1 + random(9)) * jpy.minTick;
      const gbpBid = price('1.2') + random(20_000) * price('0.00001');
      const gbpAsk = gbpBid + (1 + random(9)) * price('0.00001');
      const eurBid = price('1.05') + random(20_000) * price('0.00001');
      const eurAsk = eurBid + (1 + random(9)) * price('0.00001');
      const crossBid = price('0.8') + random(20_000) * eurgbp.minTick;
      const crossSpread = (1 + random(9)) * eurgbp.minTick;
      const stockBid = price('100') + random(20_000) * aapl.minTick;
      const stockSpread = (1 + random(3)) * aapl.minTick;
      const jpyVolume = (1 + random(37)) * jpy.volumeStep;
      const crossVolume = (1 + random(53)) * eurgbp.volumeStep;
      const shares = (1 + random(17)) * aapl.volumeStep;
      const side: Side = random(2) === 0 ? 'buy' : 'sell';
      const opposite: Side = side === 'buy' ? 'sell' : 'buy';

      const setQuote = (ticker: string, bid: Price, ask: Price): void => {
        s.engine.onQuote({ ticker, bid, ask, time: NOW }, NOW);
      };
      setQuote('GBPUSD', gbpBid, gbpAsk);
      setQuote('EURUSD', eurBid, eurAsk);
      setQuote('USDJPY', jpyBid, jpyBid + jpySpread);
      setQuote('EURGBP', crossBid, crossBid + crossSpread);
      setQuote('AAPL.nq', stockBid, stockBid + stockSpread);
      const open = (account: string, ticker: string, volume: Quantity, orderSide: Side): void => {
        s.run({
          kind: 'place_order',
          accountId: account,
          ticker,
          side: orderSide,
          type: 'market',
          volume,
          price: null,
          expiration: 0,
          stopLoss: null,
          takeProfit: null,
        });
      };
      const entry = {
        jpy: side === 'buy' ? jpyBid + jpySpread : jpyBid,
        cross: side === 'buy' ? crossBid + crossSpread : crossBid,
        stock: side === 'buy' ? stockBid + stockSpread : stockBid,
      };
      open(USD, 'USDJPY', jpyVolume, side);
      open(USD_HEDGING, 'EURGBP', crossVolume, side);
      open(EUR, 'AAPL.nq', shares, side);

      // Move every market, then close: netting by an opposite order, hedging by closing the deal.
      const jpyBid2 = price('140') + random(20_000) * jpy.minTick;
      const jpyAsk2 = jpyBid2 + (1 + random(9)) * jpy.minTick;
      const gbpBid2 = price('1.2') + random(20_000) * price('0.00001');
      const gbpAsk2 = gbpBid2 + (1 + random(9)) * price('0.00001');
      const eurBid2 = price('1.05') + random(20_000) * price('0.00001');
      const eurAsk2 = eurBid2 + (1 + random(9)) * price('0.00001');
      const crossBid2 = price('0.8') + random(20_000) * eurgbp.minTick;
      const crossAsk2 = crossBid2 + (1 + random(9)) * eurgbp.minTick;
      const stockBid2 = price('100') + random(20_000) * aapl.minTick;
      const stockAsk2 = stockBid2 + (1 + random(3)) * aapl.minTick;
      setQuote('GBPUSD', gbpBid2, gbpAsk2);
      setQuote('EURUSD', eurBid2, eurAsk2);
      setQuote('USDJPY', jpyBid2, jpyAsk2);
      setQuote('EURGBP', crossBid2, crossAsk2);
      setQuote('AAPL.nq', stockBid2, stockAsk2);
      open(USD, 'USDJPY', jpyVolume, opposite);
      s.run({ kind: 'close_deal', accountId: USD_HEDGING, dealId: s.openDeal(USD_HEDGING, 'EURGBP').id });
      open(EUR, 'AAPL.nq', shares, opposite);

      const exit = {
        jpy: side === 'buy' ? jpyBid2 : jpyAsk2,
        cross: side === 'buy' ? crossBid2 : crossAsk2,
        stock: side === 'buy' ? stockBid2 : stockAsk2,
      };
      const signed = (from: Price, to: Price): Price => (side === 'buy' ? to - from : from - to);
      const usdPerJpy = mid(jpyBid2, jpyAsk2);
      credit(
        USD,
        exactCents(signed(entry.jpy, exit.jpy), jpyVolume, jpy.contractSize, usdPerJpy.den, usdPerJpy.num),
      );
      const usdPerGbp = mid(gbpBid2, gbpAsk2);
      credit(
        USD_HEDGING,
        exactCents(
          signed(entry.cross, exit.cross),
          crossVolume,
          eurgbp.contractSize,
          usdPerGbp.num,
          usdPerGbp.den,
        ),
      );
      const usdPerEur = mid(eurBid2, eurAsk2);
      credit(
        EUR,
        exactCents(signed(entry.stock, exit.stock), shares, aapl.contractSize, usdPerEur.den, usdPerEur.num),
      );
    }

    for (const account of [USD, EUR, USD_HEDGING]) {
      assert.equal(s.engine.book(account)?.deals.size, 0, `${account} is flat`);
      const balance = s.balance(account);
      assert.ok(Number.isSafeInteger(balance));
      assert.equal(BigInt(balance), expected.get(account), `balance of ${account}`);
      assert.equal(s.engine.metrics(account)?.equity, balance);
    }
  });

  it('5,000 one-share AAPL.nq round trips at a one-cent spread lose exactly 50.00', () => {
    const s = setup({ [USD]: { system: 'netting', currency: 'USD' } });
    for (let trip = 0; trip < 5_000; trip++) {
      // 0.01 × 1 share per trip; prices walk across awkward decimals such as 123.45 and 0.07 steps.
      const bid = price('123.45') + (trip % 97) * price('0.07');
      s.quote('AAPL.nq', scaledText(bid), scaledText(bid + price('0.01')));
      s.buy(USD, 'AAPL.nq', '1');
      s.sell(USD, 'AAPL.nq', '1');
    }
    assert.equal(s.balance(USD), 100_000_000 - 5_000);
    assert.equal(s.engine.book(USD)?.deals.size, 0);
  });
});

function scaledText(value: Price): string {
  const whole = Math.trunc(value / 1e8);
  const fraction = String(value % 1e8).padStart(8, '0');
  return `${whole}.${fraction}`;
}
