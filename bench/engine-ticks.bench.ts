/**
 * Micro-benchmark of the engine's quote path: `Engine.onQuote`, trigger index and all.
 *
 * Setup: 50 tickers (the 45 of the default catalogue plus 5 stock clones), 1,000 hedging USD
 * accounts, and a resting book of 0 / 10k / 100k triggers: half limit and stop orders, half the
 * stop-loss and take-profit levels of open deals (each deal carries both). Orders and deals are
 * spread round-robin over tickers and accounts, so an account holds at most ~25 deals and ~50 orders.
 * The book is loaded with `loadBook`, as a restarted server does.
 *
 * Scenarios:
 * - quiet ticks: quotes random-walk within ±1% of each ticker's mid while every level sits 5–50%
 *   away, so nothing fires; ticks per second should stay flat as the book grows.
 * - fills: 100k triggers inside a ±10% band, fired by a slow sweep (every ticker walks down 10.5% and
 *   up 10.5%) and by a gap (one quote per ticker and direction). Each fill is a real fill: margin check,
 *   deal opened or closed, fill record, change set.
 * - margin sweep: `sweepStopOuts` after a batch that quoted every ticker, with every account exposed,
 *   as `TradingService.ingestQuotes` does once per quote batch.
 *
 * Rates are the best of a few rounds, since other work on the machine only ever slows a round down.
 *
 * Run: `npx tsx bench/engine-ticks.bench.ts [--quick]`. Deterministic inputs (seeded PRNG).
 */
import { pathToFileURL } from 'node:url';
import { DEFAULT_INSTRUMENTS } from '../src/adapters/catalogue/default-instruments.ts';
import type { Price } from '../src/engine/decimal.ts';
import { Engine } from '../src/engine/engine.ts';
import { ACCOUNT_ID_WIDTH, FIRST_ACCOUNT_ID, SequentialIds, formatId } from '../src/engine/ids.ts';
import type { AccountBook, Deal, Instrument, Order, Quote, Side } from '../src/engine/model.ts';
import { dealTriggerRule, orderTriggerRule, type TriggerDirection } from '../src/engine/trigger-index.ts';
import { formatRate, measureRate, printTable, secondsSince, sizeLabel, type Row } from './bench-support.ts';
import { seededRandom } from '../test/support/seeded-random.ts';

export interface EngineTicksBenchOptions {
  quick: boolean;
  /** Print the table (default true); `bench/run.ts` prints one table of its own instead. */
  print?: boolean;
}

const TICKER_COUNT = 50;
const ACCOUNT_COUNT = 1_000;
const RESTING_SIZES = [0, 10_000, 100_000] as const;
const FILL_SIZE = 100_000;
const SWEEP_STEPS = 1_000;
const QUOTE_RING_BITS = 16;
const QUOTE_RING_MASK = (1 << QUOTE_RING_BITS) - 1;
/** 2026-01-01T00:00:00Z; market hours are ignored, so the moment only stamps records. */
const NOW = 1_767_225_600;
/** $1bn per account: margin never binds, so every fired order fills. */
const BALANCE_CENTS = 100_000_000_000;

type Rng = () => number;

/** The default catalogue, padded to 50 tickers with clones of its first stocks. */
function benchInstruments(): Instrument[] {
  const instruments = [...DEFAULT_INSTRUMENTS];
  const stocks = DEFAULT_INSTRUMENTS.filter((instrument) => instrument.calendar === 'us_equities');
  for (let index = 0; instruments.length < TICKER_COUNT; index++) {
    const base = stocks[index % stocks.length] as Instrument;
    const [symbol, exchange] = base.ticker.split('.');
    instruments.push({ ...base, ticker: `${symbol}${2 + Math.floor(index / stocks.length)}.${exchange}` });
  }
  return instruments;
}

function spreadOf(instrument: Instrument): Price {
  return Math.max(1, instrument.spreadTicks) * instrument.minTick;
}

function onGrid(price: number, instrument: Instrument): Price {
  return Math.max(instrument.minTick, Math.round(price / instrument.minTick) * instrument.minTick);
}

/** A level `distance` (a fraction of the mid) below or above the mid, on the tick grid. */
function levelAt(instrument: Instrument, direction: TriggerDirection, distance: number): Price {
  const mid = instrument.referencePrice;
  return onGrid(direction === 'at_or_below' ? mid * (1 - distance) : mid * (1 + distance), instrument);
}

interface World {
  engine: Engine;
  instruments: Instrument[];
  books: AccountBook[];
  triggers: number;
  /** Fills that firing every trigger makes: one per order, one per deal (a fired SL or TP drops the other). */
  fillsToFireAll: number;
}

/**
 * An engine holding `size` resting triggers: size/2 orders and size/4 deals with both SL and TP.
 * Levels sit between `near` and `far` (fractions of the mid) on the side where they wait.
 */
function buildWorld(rng: Rng, size: number, near: number, far: number): World {
  const ids = new SequentialIds(0, 0);
  const engine = new Engine({
    ids,
    marketHours: 'ignore',
    stopOutLevel: 50,
    marginCallLevel: 100,
    maxQuoteAgeSeconds: null,
  });
  const instruments = benchInstruments();
  for (const instrument of instruments) engine.putInstrument(instrument);
  // Every ticker is quoted at its mid first, so conversions work and the quiet band starts there.
  for (const instrument of instruments) engine.onQuote(midQuote(instrument), NOW);
  const books: AccountBook[] = [];
  for (let index = 0; index < ACCOUNT_COUNT; index++) {
    books.push({
      account: {
        id: formatId(FIRST_ACCOUNT_ID + index, ACCOUNT_ID_WIDTH),
        userId: String(index + 1),
        name: `bench ${index}`,
        type: 'demo',
        system: 'hedging',
        currency: 'USD',
        status: 'enabled',
        balance: BALANCE_CENTS,
      },
      orders: new Map(),
      deals: new Map(),
      overrides: new Map(),
      version: 0,
      lastEventId: 0,
    });
  }
  const distance = (): number => near + (far - near) * rng();
  const side = (): Side => (rng() < 0.5 ? 'buy' : 'sell');
  const orderCount = Math.floor(size / 2);
  for (let index = 0; index < orderCount; index++) {
    const instrument = instruments[index % TICKER_COUNT] as Instrument;
    const book = books[Math.floor(index / TICKER_COUNT) % ACCOUNT_COUNT] as AccountBook;
    const orderSide = side();
    const type = rng() < 0.5 ? 'limit' : 'stop';
    const order: Order = {
      id: ids.nextOrderId(),
      accountId: book.account.id,
      ticker: instrument.ticker,
      side: orderSide,
      type,
      volume: instrument.minVolume,
      price: levelAt(instrument, orderTriggerRule(orderSide, type).direction, distance()),
      filledPrice: null,
      expiration: 0,
      stopLoss: null,
      takeProfit: null,
      status: 'active',
      comment: '',
      createTime: NOW,
      lastModified: NOW,
      deals: [],
      targetDealId: null,
    };
    book.orders.set(order.id, order);
  }
  const dealCount = Math.floor((size - orderCount) / 2);
  for (let index = 0; index < dealCount; index++) {
    const instrument = instruments[index % TICKER_COUNT] as Instrument;
    // Offset so an account's deals and orders sit on different tickers where they can.
    const book = books[(Math.floor(index / TICKER_COUNT) + 500) % ACCOUNT_COUNT] as AccountBook;
    const dealSide = side();
    const deal: Deal = {
      id: ids.nextDealId(),
      accountId: book.account.id,
      ticker: instrument.ticker,
      side: dealSide,
      volume: instrument.minVolume,
      openPrice: instrument.referencePrice,
      openTime: NOW,
      stopLoss: levelAt(instrument, dealTriggerRule(dealSide, 'stop_loss').direction, distance()),
      takeProfit: levelAt(instrument, dealTriggerRule(dealSide, 'take_profit').direction, distance()),
      status: 'open',
      closePrice: null,
      closeTime: null,
      profit: 0,
      lastModified: NOW,
    };
    book.deals.set(deal.id, deal);
  }
  for (const book of books) engine.loadBook(book);
  // A live server has a trigger group for every ticker that ever had a trigger, even at 0 resting:
  // a throwaway account rests one order per ticker, then is replaced by an empty book.
  const warmup: AccountBook = {
    account: {
      ...(books[0] as AccountBook).account,
      id: formatId(FIRST_ACCOUNT_ID + ACCOUNT_COUNT, ACCOUNT_ID_WIDTH),
    },
    orders: new Map(),
    deals: new Map(),
    overrides: new Map(),
    version: 0,
    lastEventId: 0,
  };
  for (const instrument of instruments) {
    const id = `warmup-${instrument.ticker}`;
    warmup.orders.set(id, {
      id,
      accountId: warmup.account.id,
      ticker: instrument.ticker,
      side: 'buy',
      type: 'limit',
      volume: instrument.minVolume,
      price: 1,
      filledPrice: null,
      expiration: 0,
      stopLoss: null,
      takeProfit: null,
      status: 'active',
      comment: '',
      createTime: NOW,
      lastModified: NOW,
      deals: [],
      targetDealId: null,
    });
  }
  engine.loadBook(warmup);
  engine.replaceBook({ ...warmup, orders: new Map() });
  const triggers = orderCount + 2 * dealCount;
  if (engine.triggerCount() !== triggers) {
    throw new Error(`loaded ${engine.triggerCount()} triggers, expected ${triggers}`);
  }
  return { engine, instruments, books, triggers, fillsToFireAll: orderCount + dealCount };
}

function midQuote(instrument: Instrument): Quote {
  const bid = instrument.referencePrice;
  return { ticker: instrument.ticker, bid, ask: bid + spreadOf(instrument), time: NOW };
}

/** A ring of quotes: each moves one random ticker by a small step, clamped to ±1% of its mid. */
function makeQuoteRing(rng: Rng, instruments: Instrument[]): Quote[] {
  const ring: Quote[] = [];
  const current = instruments.map((instrument) => instrument.referencePrice);
  for (let slot = 0; slot <= QUOTE_RING_MASK; slot++) {
    const tickerIndex = Math.floor(rng() * TICKER_COUNT);
    const instrument = instruments[tickerIndex] as Instrument;
    const mid = instrument.referencePrice;
    const step = mid * 0.0002 * (rng() * 2 - 1);
    const next = Math.min(Math.max((current[tickerIndex] as Price) + step, mid * 0.99), mid * 1.01);
    const bid = onGrid(next, instrument);
    current[tickerIndex] = bid;
    ring.push({ ticker: instrument.ticker, bid, ask: bid + spreadOf(instrument), time: NOW + slot });
  }
  return ring;
}

/** Every ticker walks down 10.5% and up 10.5% past its mid in `steps` steps each way, interleaved. */
function makeSweep(instruments: Instrument[], steps: number): Quote[] {
  const plan: Quote[] = [];
  const push = (fraction: number): void => {
    for (const instrument of instruments) {
      const spread = spreadOf(instrument);
      const bid = onGrid(instrument.referencePrice * (1 + fraction), instrument);
      // Past either edge, both sides of the quote are beyond the band.
      const low = fraction < 0 ? bid - spread : bid;
      plan.push({ ticker: instrument.ticker, bid: low, ask: low + spread, time: NOW + plan.length });
    }
  };
  for (let step = 0; step <= steps; step++) push((-0.105 * step) / steps);
  for (let step = 0; step <= 2 * steps; step++) push(-0.105 + (0.21 * step) / (2 * steps));
  return plan;
}

/** Feeds `count` ring quotes to the engine; returns how many fills they caused (0 when quiet). */
function tickEngine(engine: Engine, ring: Quote[], offset: number, count: number): number {
  let fills = 0;
  for (let tick = 0; tick < count; tick++) {
    fills += engine.onQuote(ring[(offset + tick) & QUOTE_RING_MASK] as Quote, NOW).fills.length;
  }
  return fills;
}

interface FillRun {
  fills: number;
  ticks: number;
  seconds: number;
}

/** Builds a fresh 100k world and fires it with `plan`; every trigger must fire exactly once. */
function runFills(seed: number, plan: Quote[]): FillRun {
  const { engine, fillsToFireAll } = buildWorld(seededRandom(seed), FILL_SIZE, 0.002, 0.1);
  let fills = 0;
  const start = process.hrtime.bigint();
  for (const quote of plan) fills += engine.onQuote(quote, NOW).fills.length;
  const seconds = secondsSince(start);
  if (engine.triggerCount() !== 0) throw new Error(`fills: ${engine.triggerCount()} triggers left unfired`);
  if (fills !== fillsToFireAll) throw new Error(`fills: ${fills} fills, expected ${fillsToFireAll}`);
  return { fills, ticks: plan.length, seconds };
}

/** Runs every scenario and returns the figures keyed for `bench/run.ts`. */
export function runEngineTicksBench(options: EngineTicksBenchOptions): Record<string, number> {
  const minSeconds = options.quick ? 0.2 : 1;
  const warmupSeconds = options.quick ? 0.05 : 0.2;
  const results: Record<string, number> = {};
  const rows: Row[] = [];

  const quietTicks = new Map<number, number>();
  let sweepWorld: World | undefined;
  for (const size of RESTING_SIZES) {
    const rng = seededRandom(0x5eed + size);
    const world = buildWorld(rng, size, 0.05, 0.5);
    const ring = makeQuoteRing(rng, world.instruments);
    let offset = 0;
    let fired = 0;
    const batch = (count: number): void => {
      fired += tickEngine(world.engine, ring, offset, count);
      offset = (offset + count) & QUOTE_RING_MASK;
    };
    measureRate(warmupSeconds, 10_000, batch);
    // Best of three: the figure is what the code can do, not what a busy machine left it.
    let rate = 0;
    for (let round = 0; round < 3; round++)
      rate = Math.max(rate, measureRate(minSeconds / 3, 100_000, batch));
    if (fired !== 0) throw new Error(`quiet ticks at ${size}: ${fired} fills in a no-fire scenario`);
    quietTicks.set(size, rate);
    results[`ticks_per_s_${sizeLabel(size)}`] = rate;
    rows.push({
      scenario: 'quiet ticks (onQuote)',
      resting: sizeLabel(size),
      rate: formatRate(rate),
      note: `${(1e9 / rate).toFixed(0)} ns per tick`,
    });
    if (size === 100_000) sweepWorld = world;
  }
  const flatness = (quietTicks.get(100_000) ?? 0) / (quietTicks.get(0) ?? 1);
  results['flatness_100k_over_0'] = flatness;

  const sweepPlan = makeSweep(benchInstruments(), SWEEP_STEPS);
  const gapPlan = makeSweep(benchInstruments(), 1);
  const rounds = options.quick ? 1 : 3;
  const best = (plan: Quote[]): FillRun => {
    let bestRun: FillRun | undefined;
    for (let round = 0; round < rounds; round++) {
      const run = runFills(0xf111 + round, plan);
      if (!bestRun || run.fills / run.seconds > bestRun.fills / bestRun.seconds) bestRun = run;
    }
    if (!bestRun) throw new Error('no fill rounds ran');
    return bestRun;
  };
  const sweep = best(sweepPlan);
  results['fills_per_s_sweep_100k'] = sweep.fills / sweep.seconds;
  rows.push({
    scenario: 'fills, slow sweep',
    resting: sizeLabel(FILL_SIZE),
    rate: formatRate(sweep.fills / sweep.seconds),
    note: `${sweep.fills} fills over ${sweep.ticks} ticks (${formatRate(sweep.ticks / sweep.seconds)} ticks)`,
  });
  const gap = best(gapPlan);
  results['fills_per_s_gap_100k'] = gap.fills / gap.seconds;
  rows.push({
    scenario: 'fills, gap',
    resting: sizeLabel(FILL_SIZE),
    rate: formatRate(gap.fills / gap.seconds),
    note: `${gap.fills} fills over ${gap.ticks} ticks`,
  });

  if (sweepWorld) {
    // Every account holds deals, and a batch quoting every ticker makes them all candidates.
    const { engine, instruments } = sweepWorld;
    const quotes = instruments.map(midQuote);
    const rate = measureRate(minSeconds / 2, 1, (count) => {
      for (let round = 0; round < count; round++) {
        for (const quote of quotes) engine.onQuote(quote, NOW);
        if (engine.sweepStopOuts(NOW).orders.length !== 0) throw new Error('margin sweep stopped out');
      }
    });
    results['margin_sweeps_per_s_100k'] = rate;
    rows.push({
      scenario: 'margin sweep, all accounts',
      resting: sizeLabel(100_000),
      rate: formatRate(rate),
      note: `${ACCOUNT_COUNT} accounts, ~${Math.round(FILL_SIZE / 4 / ACCOUNT_COUNT)} deals each; once per quote batch`,
    });
  }

  if (options.print ?? true) {
    console.log(
      `\nengine ticks — ${TICKER_COUNT} tickers, ${ACCOUNT_COUNT} accounts, ${minSeconds} s per figure${options.quick ? ' (quick)' : ''}`,
    );
    printTable(rows);
    console.log(`flatness, quiet ticks/s at 100k ÷ at 0: ${flatness.toFixed(2)}`);
  }
  return results;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  runEngineTicksBench({ quick: process.argv.includes('--quick') });
}
