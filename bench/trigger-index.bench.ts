/**
 * Micro-benchmark of the trigger index, the engine's per-tick hot path.
 *
 * Scenarios (50 tickers, quotes random-walking within ±1% of each ticker's mid):
 * - quiet ticks: 0 / 10k / 100k resting triggers placed far outside the band, so nothing fires; the
 *   figure should stay flat as the book grows.
 * - fills: 100k triggers inside a ±10% band, fired by a slow sweep (1-2 per tick) and by a gap (one tick
 *   fires a ticker's whole side); counts triggers collected per second, removal included.
 * - baseline: the reference scan (a Map scanned every tick) at 10k and 100k, and our speedup over it.
 *
 * Run: `npx tsx bench/trigger-index.bench.ts [--quick]`. Deterministic inputs (seeded PRNG).
 */
import { pathToFileURL } from 'node:url';
import { PRICE_SCALE, type Price } from '../src/engine/decimal.ts';
import type { Side } from '../src/engine/model.ts';
import {
  TriggerIndex,
  dealTriggerRule,
  orderTriggerRule,
  triggerKey,
  type Trigger,
  type TriggerRule,
} from '../src/engine/trigger-index.ts';
import { ReferenceTriggerIndex } from '../src/engine/trigger-index-reference.ts';
import { formatRate, measureRate, printTable, secondsSince, sizeLabel, type Row } from './bench-support.ts';
import { seededRandom } from '../test/support/seeded-random.ts';

export interface TriggerIndexBenchOptions {
  quick: boolean;
  /** Print the table (default true); `bench/run.ts` prints one table of its own instead. */
  print?: boolean;
}

const TICKER_COUNT = 50;
const QUOTE_RING_BITS = 16;
const QUOTE_RING_MASK = (1 << QUOTE_RING_BITS) - 1;
const SPREAD_FRACTION = 0.0005;
const RESTING_SIZES = [0, 10_000, 100_000] as const;
const FILL_SIZE = 100_000;
const SWEEP_STEPS = 1_000;

interface Rng {
  (): number;
}

interface Universe {
  tickers: string[];
  mids: Price[];
}

function makeUniverse(rng: Rng): Universe {
  const tickers: string[] = [];
  const mids: Price[] = [];
  for (let index = 0; index < TICKER_COUNT; index++) {
    tickers.push(`TCK${String(index).padStart(2, '0')}`);
    // Mids between 10 and 500, whole cents.
    mids.push(Math.round((10 + 490 * rng()) * 100) * (PRICE_SCALE / 100));
  }
  return { tickers, mids };
}

interface RuleChoice {
  kind: Trigger['kind'];
  rule: TriggerRule;
}

/** The eight rows of the mapping table: buy/sell limit/stop, long/short SL/TP. */
const RULES: RuleChoice[] = [
  ...(['buy', 'sell'] as const satisfies readonly Side[]).flatMap((side) => [
    { kind: 'order' as const, rule: orderTriggerRule(side, 'limit') },
    { kind: 'order' as const, rule: orderTriggerRule(side, 'stop') },
    { kind: 'stop_loss' as const, rule: dealTriggerRule(side, 'stop_loss') },
    { kind: 'take_profit' as const, rule: dealTriggerRule(side, 'take_profit') },
  ]),
];

/**
 * Builds `count` triggers spread evenly over the tickers. `near` and `far` are fractions of the mid:
 * an 'at_or_below' level sits in [mid × (1 − far), mid × (1 − near)], an 'at_or_above' one mirrors it.
 */
function makeTriggers(rng: Rng, universe: Universe, count: number, near: number, far: number): Trigger[] {
  const triggers: Trigger[] = [];
  for (let index = 0; index < count; index++) {
    const tickerIndex = index % TICKER_COUNT;
    const mid = universe.mids[tickerIndex] as Price;
    const choice = RULES[Math.floor(rng() * RULES.length)] as RuleChoice;
    const distance = near + (far - near) * rng();
    const factor = choice.rule.direction === 'at_or_below' ? 1 - distance : 1 + distance;
    const targetId = String(index).padStart(9, '0');
    triggers.push({
      key: triggerKey(choice.kind, targetId),
      accountId: String(index % 997).padStart(6, '0'),
      ticker: universe.tickers[tickerIndex] as string,
      kind: choice.kind,
      targetId,
      level: Math.round(mid * factor),
      watch: choice.rule.watch,
      direction: choice.rule.direction,
    });
  }
  return triggers;
}

interface QuoteRing {
  tickers: string[];
  bids: number[];
  asks: number[];
}

/** A ring of quotes: each slot moves one random ticker by a small random step, clamped to ±1% of its mid. */
function makeQuoteRing(rng: Rng, universe: Universe): QuoteRing {
  const ring: QuoteRing = { tickers: [], bids: [], asks: [] };
  const current = [...universe.mids];
  for (let slot = 0; slot <= QUOTE_RING_MASK; slot++) {
    const tickerIndex = Math.floor(rng() * TICKER_COUNT);
    const mid = universe.mids[tickerIndex] as Price;
    const step = Math.round(mid * 0.0002 * (rng() * 2 - 1));
    const next = Math.min(Math.max((current[tickerIndex] as Price) + step, mid * 0.99), mid * 1.01);
    const bid = Math.round(next);
    current[tickerIndex] = bid;
    ring.tickers.push(universe.tickers[tickerIndex] as string);
    ring.bids.push(bid);
    ring.asks.push(bid + Math.max(1, Math.round(mid * SPREAD_FRACTION)));
  }
  return ring;
}

// Two loops rather than one over an interface, so each call site stays monomorphic.
function tickIndex(index: TriggerIndex, ring: QuoteRing, count: number, out: Trigger[]): void {
  const { tickers, bids, asks } = ring;
  for (let tick = 0; tick < count; tick++) {
    const slot = tick & QUOTE_RING_MASK;
    index.collect(tickers[slot] as string, bids[slot] as number, asks[slot] as number, out);
  }
}

function tickReference(
  reference: ReferenceTriggerIndex,
  ring: QuoteRing,
  count: number,
  out: Trigger[],
): void {
  const { tickers, bids, asks } = ring;
  for (let tick = 0; tick < count; tick++) {
    const slot = tick & QUOTE_RING_MASK;
    reference.collect(tickers[slot] as string, bids[slot] as number, asks[slot] as number, out);
  }
}

function assertQuiet(out: Trigger[], what: string): void {
  if (out.length !== 0) throw new Error(`${what}: ${out.length} triggers fired in a no-fire scenario`);
}

interface SweepPlan {
  tickers: string[];
  bids: number[];
  asks: number[];
}

/** Every ticker walks down 10% and up 10% past its mid, interleaved; together they cross every level. */
function makeSweep(universe: Universe, steps: number): SweepPlan {
  const plan: SweepPlan = { tickers: [], bids: [], asks: [] };
  const push = (fraction: number): void => {
    for (let tickerIndex = 0; tickerIndex < TICKER_COUNT; tickerIndex++) {
      const mid = universe.mids[tickerIndex] as Price;
      const spread = Math.max(1, Math.round(mid * SPREAD_FRACTION));
      const bid = Math.round(mid * (1 + fraction));
      // Past both edges, both sides of the quote are beyond the band.
      plan.tickers.push(universe.tickers[tickerIndex] as string);
      plan.bids.push(fraction < 0 ? bid - spread : bid);
      plan.asks.push(fraction < 0 ? bid : bid + spread);
    }
  };
  for (let step = 0; step <= steps; step++) push((-0.105 * step) / steps);
  for (let step = 0; step <= 2 * steps; step++) push(-0.105 + (0.21 * step) / (2 * steps));
  return plan;
}

interface FillResult {
  fillsPerSecond: number;
  upsertsPerSecond: number;
}

/** Repeatedly loads `triggers` and fires them all with `plan`; times loading and firing separately. */
function measureFills(triggers: Trigger[], plan: SweepPlan, minSeconds: number): FillResult {
  const index = new TriggerIndex();
  const out: Trigger[] = [];
  let fired = 0;
  let fireSeconds = 0;
  let upserts = 0;
  let upsertSeconds = 0;
  while (fireSeconds < minSeconds) {
    const loadStart = process.hrtime.bigint();
    for (const trigger of triggers) index.upsert(trigger);
    upsertSeconds += secondsSince(loadStart);
    upserts += triggers.length;
    const { tickers, bids, asks } = plan;
    const fireStart = process.hrtime.bigint();
    for (let tick = 0; tick < tickers.length; tick++) {
      index.collect(tickers[tick] as string, bids[tick] as number, asks[tick] as number, out);
      fired += out.length;
      out.length = 0;
    }
    fireSeconds += secondsSince(fireStart);
    if (index.size !== 0) throw new Error(`sweep left ${index.size} triggers unfired`);
  }
  if (fired !== upserts) throw new Error(`fired ${fired} of ${upserts}`);
  return { fillsPerSecond: fired / fireSeconds, upsertsPerSecond: upserts / upsertSeconds };
}

/** Runs every scenario, prints a table and returns the figures keyed for `bench/run.ts`. */
export function runTriggerIndexBench(options: TriggerIndexBenchOptions): Record<string, number> {
  const minSeconds = options.quick ? 0.2 : 1;
  const warmupSeconds = options.quick ? 0.05 : 0.2;
  const rng = seededRandom(0x5eed);
  const universe = makeUniverse(rng);
  const ring = makeQuoteRing(rng, universe);
  const results: Record<string, number> = {};
  const rows: Row[] = [];
  const out: Trigger[] = [];

  const quietTicks = new Map<number, number>();
  const quiet = (label: string, key: string, index: TriggerIndex): number => {
    measureRate(warmupSeconds, 10_000, (count) => tickIndex(index, ring, count, out));
    const rate = measureRate(minSeconds, 100_000, (count) => tickIndex(index, ring, count, out));
    assertQuiet(out, `index at ${label}`);
    results[key] = rate;
    rows.push({ scenario: 'quiet ticks (index)', resting: label, rate: formatRate(rate), note: '' });
    return rate;
  };
  // With nothing ever indexed, collect is a bare map miss: a floor, not a comparable figure.
  const unseen = quiet('0, no ticker seen', 'ticks_per_s_0_unseen', new TriggerIndex());
  for (const size of RESTING_SIZES) {
    const index = new TriggerIndex();
    // A live server has a group for every ticker that ever had a trigger: make them all exist.
    for (const trigger of makeTriggers(rng, universe, TICKER_COUNT, 0.05, 0.5)) {
      index.upsert(trigger);
      index.remove(trigger.key);
    }
    // Far levels: 5% to 50% beyond the mid, while quotes stay within 1% (plus spread).
    for (const trigger of makeTriggers(rng, universe, size, 0.05, 0.5)) index.upsert(trigger);
    quietTicks.set(size, quiet(sizeLabel(size), `ticks_per_s_${sizeLabel(size)}`, index));
  }
  const flatness = (quietTicks.get(100_000) ?? 0) / (quietTicks.get(0) ?? 1);
  results['flatness_100k_over_0'] = flatness;
  const flatnessUnseen = (quietTicks.get(100_000) ?? 0) / unseen;
  results['flatness_100k_over_0_unseen'] = flatnessUnseen;

  const fillTriggers = makeTriggers(rng, universe, FILL_SIZE, 0, 0.1);
  const sweep = measureFills(fillTriggers, makeSweep(universe, SWEEP_STEPS), minSeconds);
  results['fills_per_s_sweep_100k'] = sweep.fillsPerSecond;
  results['upserts_per_s_100k'] = sweep.upsertsPerSecond;
  const sweepTicks = 3 * (SWEEP_STEPS + 1) * TICKER_COUNT;
  rows.push({
    scenario: 'fills, slow sweep',
    resting: sizeLabel(FILL_SIZE),
    rate: formatRate(sweep.fillsPerSecond),
    note: `${(FILL_SIZE / sweepTicks).toFixed(2)} fired per tick avg; removal + key sort included`,
  });
  const gap = measureFills(fillTriggers, makeSweep(universe, 1), minSeconds);
  results['fills_per_s_gap_100k'] = gap.fillsPerSecond;
  rows.push({
    scenario: 'fills, gap',
    resting: sizeLabel(FILL_SIZE),
    rate: formatRate(gap.fillsPerSecond),
    note: `~${FILL_SIZE / TICKER_COUNT / 2} fired per tick`,
  });
  rows.push({
    scenario: 'upserts (load)',
    resting: sizeLabel(FILL_SIZE),
    rate: formatRate(sweep.upsertsPerSecond),
    note: 'into an index growing from 0',
  });

  // The reference scan is O(n) per tick, so it gets a short time budget; 100k is skipped with --quick.
  const referenceSizes = options.quick ? [10_000] : [10_000, 100_000];
  for (const size of referenceSizes) {
    const reference = new ReferenceTriggerIndex();
    for (const trigger of makeTriggers(rng, universe, size, 0.05, 0.5)) reference.upsert(trigger);
    measureRate(warmupSeconds / 2, 10, (count) => tickReference(reference, ring, count, out));
    const rate = measureRate(options.quick ? 0.2 : 0.5, 10, (count) =>
      tickReference(reference, ring, count, out),
    );
    assertQuiet(out, `reference at ${size}`);
    const speedup = (quietTicks.get(size) ?? 0) / rate;
    results[`reference_ticks_per_s_${sizeLabel(size)}`] = rate;
    results[`speedup_${sizeLabel(size)}`] = speedup;
    rows.push({
      scenario: 'quiet ticks (reference scan)',
      resting: sizeLabel(size),
      rate: formatRate(rate),
      note: `index is ${speedup.toFixed(0)}× faster`,
    });
  }

  if (options.print ?? true) {
    console.log(
      `\ntrigger index — ${TICKER_COUNT} tickers, ${minSeconds} s per figure${options.quick ? ' (quick)' : ''}`,
    );
    printTable(rows);
    console.log(`flatness, quiet ticks/s at 100k ÷ at 0: ${flatness.toFixed(2)}`);
    console.log(`flatness, quiet ticks/s at 100k ÷ at 0 with no ticker seen: ${flatnessUnseen.toFixed(2)}`);
  }
  return results;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  runTriggerIndexBench({ quick: process.argv.includes('--quick') });
}
