import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Clock } from '../../application/ports.ts';
import type { Instrument, Quote } from '../../engine/model.ts';
import { DEFAULT_INSTRUMENTS, findDefaultInstrument } from '../catalogue/default-instruments.ts';
import {
  DEFAULT_SIMULATOR_SEED,
  PriceWalk,
  QUOTE_PROBABILITY,
  SimulatorFeed,
  spreadBounds,
  tradingYearSeconds,
  type PriceWalkOptions,
} from './simulator-feed.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const NOW_MS = 1_764_000_000_000; // Monday 2025-11-24 16:00 UTC: US equities and FX are open.
const NOW = NOW_MS / 1000;
const SATURDAY = NOW - 2 * 86_400;
const STEP_SECONDS = 0.25;
const clock: Clock = { nowMs: () => NOW_MS };
const alwaysOpen = (): boolean => true;

function instrument(ticker: string): Instrument {
  const found = findDefaultInstrument(ticker);
  assert.ok(found, ticker);
  return found;
}

function walk(options: Partial<PriceWalkOptions> = {}): PriceWalk {
  return new PriceWalk({
    instruments: DEFAULT_INSTRUMENTS,
    seed: DEFAULT_SIMULATOR_SEED,
    isOpen: alwaysOpen,
    ...options,
  });
}

function run(priceWalk: PriceWalk, steps: number, onQuote?: (quote: Quote, step: number) => void): Quote[][] {
  const batches: Quote[][] = [];
  for (let step = 0; step < steps; step++) {
    const batch = priceWalk.step(NOW + Math.floor(step * STEP_SECONDS), STEP_SECONDS);
    if (onQuote) for (const quote of batch) onQuote(quote, step);
    else batches.push(batch);
  }
  return batches;
}

function assertValidQuote(quote: Quote, time: number): void {
  const { ticker, bid, ask } = quote;
  const spec = instrument(ticker);
  const tick = spec.minTick;
  assert.equal(quote.time, time);
  assert.ok(Number.isSafeInteger(bid) && Number.isSafeInteger(ask), ticker);
  assert.ok(bid > 0, `${ticker} bid ${bid} > 0`);
  assert.ok(bid < ask, `${ticker} bid ${bid} < ask ${ask}`);
  assert.equal(bid % tick, 0, `${ticker} bid on grid`);
  assert.equal(ask % tick, 0, `${ticker} ask on grid`);
  const spreadTicks = (ask - bid) / tick;
  const bounds = spreadBounds(spec.spreadTicks);
  assert.ok(spreadTicks >= bounds.min && spreadTicks <= bounds.max, `${ticker} spread ${spreadTicks} ticks`);
  if (spec.calendar === 'us_equities') {
    assert.ok(spreadTicks >= 1 && spreadTicks <= 3, `${ticker} spread ${spreadTicks} ticks`);
    assert.ok(quote.last !== undefined, `${ticker} carries last`);
    assert.ok(quote.last >= bid && quote.last <= ask, `${ticker} last within [bid, ask]`);
    assert.equal(quote.last % tick, 0, `${ticker} last on grid`);
    assert.equal(quote.lastTime, time);
  } else {
    assert.equal(quote.last, undefined, `${ticker} has no last`);
    assert.equal(quote.lastTime, undefined);
    if (/^[A-Z]{6}$/.test(ticker) && !ticker.startsWith('X')) {
      // A pip is ten ticks for every pair (0.0001 on 0.00001, 0.01 on 0.001 for the yen).
      const pips = spreadTicks / 10;
      assert.ok(pips >= 0.5 && pips <= 1.5, `${ticker} spread ${pips} pips`);
    }
  }
}

describe('spreadBounds', () => {
  it('jitters a quarter either side, at least one tick, never below one tick', () => {
    assert.deepEqual(spreadBounds(1), { min: 1, max: 2 });
    assert.deepEqual(spreadBounds(2), { min: 1, max: 3 });
    assert.deepEqual(spreadBounds(10), { min: 8, max: 12 });
    assert.deepEqual(spreadBounds(0), { min: 1, max: 2 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), (typical) => {
        const { min, max } = spreadBounds(typical);
        return min >= 1 && min <= Math.max(1, typical) && max >= Math.max(1, typical) && min < max;
      }),
    );
  });
});

describe('PriceWalk', () => {
  it('is deterministic for a seed over the first 1000 steps', () => {
    assert.deepEqual(run(walk(), 1000), run(walk(), 1000));
  });

  it('differs between seeds', () => {
    assert.notDeepEqual(run(walk({ seed: 1 }), 20), run(walk({ seed: 2 }), 20));
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (a, b) => {
        fc.pre(a !== b);
        const first = run(walk({ seed: a, instruments: [instrument('EURUSD')] }), 5);
        const second = run(walk({ seed: b, instruments: [instrument('EURUSD')] }), 5);
        return JSON.stringify(first) !== JSON.stringify(second);
      }),
      { numRuns: 50 },
    );
  });

  it("keeps each instrument's path independent of the other instruments", () => {
    const alone = walk({ instruments: [instrument('EURUSD')] });
    const together = walk();
    for (let step = 0; step < 200; step++) {
      const time = NOW + step;
      const mine = alone.step(time, STEP_SECONDS);
      const theirs = together.step(time, STEP_SECONDS).filter((quote) => quote.ticker === 'EURUSD');
      assert.deepEqual(mine, theirs);
    }
  });

  for (const timeAcceleration of [1, 10_000]) {
    it(`keeps 0 < bid < ask on the grid with bounded spreads over 10,000 steps (acceleration ${timeAcceleration})`, () => {
      const seen = new Map<string, number>();
      run(walk({ timeAcceleration }), 10_000, (quote, step) => {
        assertValidQuote(quote, NOW + Math.floor(step * STEP_SECONDS));
        seen.set(quote.ticker, (seen.get(quote.ticker) ?? 0) + 1);
      });
      for (const spec of DEFAULT_INSTRUMENTS) {
        const count = seen.get(spec.ticker) ?? 0;
        // Most instruments are quoted in most steps: several quotes a second at 4 steps a second.
        assert.ok(
          Math.abs(count / 10_000 - QUOTE_PROBABILITY) < 0.03,
          `${spec.ticker} quoted ${count} times`,
        );
      }
    });
  }

  it('keeps quotes valid for any seed, acceleration and starting price', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.double({ min: 1, max: 1e7, noNaN: true }),
        fc.constantFrom(...DEFAULT_INSTRUMENTS),
        fc.integer({ min: 1, max: 10_000 }),
        (seed, timeAcceleration, spec, startTicks) => {
          const start = { ...spec, referencePrice: startTicks * spec.minTick };
          const priceWalk = new PriceWalk({
            instruments: [start],
            seed,
            timeAcceleration,
            isOpen: alwaysOpen,
          });
          for (let step = 0; step < 50; step++) {
            for (const quote of priceWalk.step(NOW, STEP_SECONDS)) assertValidQuote(quote, NOW);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('varies the spread within its bounds', () => {
    const spreads = new Map<string, Set<number>>();
    run(walk(), 500, (quote) => {
      const set = spreads.get(quote.ticker) ?? new Set<number>();
      set.add((quote.ask - quote.bid) / instrument(quote.ticker).minTick);
      spreads.set(quote.ticker, set);
    });
    for (const spec of DEFAULT_INSTRUMENTS) {
      const { min, max } = spreadBounds(spec.spreadTicks);
      assert.equal(spreads.get(spec.ticker)?.size, max - min + 1, spec.ticker);
    }
  });

  it('starts from the reference price, or from the mid of an initial quote', () => {
    const aapl = instrument('AAPL.nq');
    const eurusd = instrument('EURUSD');
    const initialQuotes = new Map<string, Quote>([
      ['EURUSD', { ticker: 'EURUSD', bid: 120_000_000, ask: 120_002_000, time: NOW - 60 }],
    ]);
    const priceWalk = walk({ instruments: [aapl, eurusd], initialQuotes });
    assert.equal(priceWalk.mid('AAPL.nq'), aapl.referencePrice);
    assert.equal(priceWalk.mid('EURUSD'), 120_001_000);
    assert.equal(priceWalk.mid('GBPUSD'), undefined);
    // At real volatility one step moves well under a tick, so the first quotes sit at the start.
    const quotes = new Map(priceWalk.step(NOW, STEP_SECONDS).map((quote) => [quote.ticker, quote]));
    const euro = quotes.get('EURUSD');
    if (euro) assert.ok(Math.abs((euro.bid + euro.ask) / 2 - 120_001_000) <= 2 * eurusd.minTick);
    const apple = quotes.get('AAPL.nq');
    if (apple) assert.ok(Math.abs((apple.bid + apple.ask) / 2 - aapl.referencePrice) <= 2 * aapl.minTick);
  });

  it('freezes an instrument while its market is closed', () => {
    let stocksOpen = true;
    const priceWalk = walk({
      timeAcceleration: 10_000,
      isOpen: (spec) => spec.calendar !== 'us_equities' || stocksOpen,
    });
    run(priceWalk, 20);
    stocksOpen = false;
    const frozen = priceWalk.mid('AAPL.nq');
    const movingBefore = priceWalk.mid('EURUSD');
    for (const batch of run(priceWalk, 100)) {
      assert.ok(batch.length > 0);
      assert.ok(batch.every((quote) => instrument(quote.ticker).calendar !== 'us_equities'));
    }
    assert.equal(priceWalk.mid('AAPL.nq'), frozen);
    assert.notEqual(priceWalk.mid('EURUSD'), movingBefore);
    stocksOpen = true;
    const reopened = run(priceWalk, 10).flat();
    assert.ok(reopened.some((quote) => quote.ticker === 'AAPL.nq'));
  });

  it('follows the trading calendars by default', () => {
    const priceWalk = new PriceWalk({ instruments: DEFAULT_INSTRUMENTS, seed: DEFAULT_SIMULATOR_SEED });
    const weekend = priceWalk.step(SATURDAY, STEP_SECONDS);
    assert.deepEqual(weekend, []);
    const tickers = new Set<string>();
    for (let step = 0; step < 20; step++) {
      for (const quote of priceWalk.step(NOW, STEP_SECONDS)) tickers.add(quote.ticker);
    }
    assert.equal(tickers.size, DEFAULT_INSTRUMENTS.length);
  });

  it('moves with roughly the instrument volatility', () => {
    const timeAcceleration = 10_000;
    const steps = 4000;
    const last = new Map<string, { logMid: number; step: number }>();
    const sumSquares = new Map<string, { sum: number; count: number }>();
    run(walk({ timeAcceleration }), steps, (quote, step) => {
      const spec = instrument(quote.ticker);
      const logMid = Math.log((quote.bid + quote.ask) / 2);
      const previous = last.get(quote.ticker);
      last.set(quote.ticker, { logMid, step });
      if (!previous) return;
      const dtYears =
        ((step - previous.step) * STEP_SECONDS * timeAcceleration) / tradingYearSeconds(spec.calendar);
      // Normalised to one unit of σ√dt, so gaps between quotes do not matter.
      const z = (logMid - previous.logMid) / (spec.volatility * Math.sqrt(dtYears));
      const entry = sumSquares.get(quote.ticker) ?? { sum: 0, count: 0 };
      entry.sum += z * z;
      entry.count++;
      sumSquares.set(quote.ticker, entry);
    });
    for (const spec of DEFAULT_INSTRUMENTS) {
      const entry = sumSquares.get(spec.ticker);
      assert.ok(entry && entry.count > steps / 2, spec.ticker);
      const ratio = Math.sqrt(entry.sum / entry.count);
      assert.ok(ratio > 0.5 && ratio < 2, `${spec.ticker} realised/expected volatility ${ratio.toFixed(3)}`);
    }
  });

  it('rejects a non-integer seed and a non-positive acceleration', () => {
    assert.throws(() => walk({ seed: 1.5 }), RangeError);
    assert.throws(() => walk({ timeAcceleration: 0 }), RangeError);
    assert.throws(() => walk({ instruments: [{ ...instrument('EURUSD'), minTick: 0 }] }), RangeError);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('SimulatorFeed', () => {
  it('delivers batches through the sink until stopped', async () => {
    const feed = new SimulatorFeed({
      instruments: DEFAULT_INSTRUMENTS,
      clock,
      seed: DEFAULT_SIMULATOR_SEED,
      tickIntervalMs: 5,
    });
    assert.equal(feed.name, 'simulator');
    const batches: (readonly Quote[])[] = [];
    await feed.start(async (quotes) => {
      batches.push(quotes);
    });
    await waitFor('five batches', () => batches.length >= 5, { timeoutMs: 2_000 });
    await feed.stop();
    const delivered = batches.length;
    for (const quote of batches.flat()) assertValidQuote(quote, NOW);
    await sleep(30);
    assert.equal(batches.length, delivered, 'no batch after stop');
  });

  it('matches the pure walk step for step', async () => {
    const options = { instruments: DEFAULT_INSTRUMENTS, seed: 7, isOpen: alwaysOpen, timeAcceleration: 100 };
    const feed = new SimulatorFeed({ ...options, clock, tickIntervalMs: 5 });
    const batches: (readonly Quote[])[] = [];
    await feed.start(async (quotes) => {
      batches.push(quotes);
    });
    await waitFor('ten batches', () => batches.length >= 10, { timeoutMs: 2_000 });
    await feed.stop();
    const expected = walk(options);
    const [opening, ...steps] = batches;
    assert.deepEqual(opening, expected.openingQuotes(NOW));
    for (const batch of steps) assert.deepEqual(batch, expected.step(NOW, 0.005));
  });

  it('delivers the opening quotes on start, before the first step, and resolves once they are in', async () => {
    const feed = new SimulatorFeed({
      instruments: DEFAULT_INSTRUMENTS,
      clock,
      seed: 1,
      isOpen: alwaysOpen,
      // Long enough that no step can come before the assertions.
      tickIntervalMs: 60_000,
    });
    const delivered: string[] = [];
    await feed.start(async (quotes) => {
      await sleep(5);
      delivered.push(...quotes.map((quote) => quote.ticker));
    });
    assert.deepEqual(
      delivered,
      DEFAULT_INSTRUMENTS.map((instrument) => instrument.ticker),
    );
    await feed.stop();
  });

  it('never overlaps sink calls and waits for the one in flight on stop', async () => {
    const feed = new SimulatorFeed({
      instruments: DEFAULT_INSTRUMENTS,
      clock,
      seed: 1,
      isOpen: alwaysOpen,
      tickIntervalMs: 1,
    });
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    let release: (() => void) | undefined;
    await feed.start(async () => {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (calls === 3) await new Promise<void>((resolve) => (release = resolve));
      else await sleep(3);
      active--;
    });
    await waitFor('the sink to be held', () => release !== undefined, { timeoutMs: 2_000 });
    let stopped = false;
    const stopping = feed.stop().then(() => (stopped = true));
    await sleep(20);
    assert.equal(stopped, false, 'stop waits for the sink');
    assert.equal(calls, 3);
    release?.();
    await stopping;
    assert.equal(active, 0);
    assert.equal(maxActive, 1);
    await sleep(10);
    assert.equal(calls, 3);
  });

  it('reports a failing sink and carries on', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const feed = new SimulatorFeed({
      instruments: DEFAULT_INSTRUMENTS,
      clock,
      seed: 1,
      isOpen: alwaysOpen,
      tickIntervalMs: 2,
      onError: (error) => errors.push(error),
    });
    await feed.start(async () => {
      calls++;
      throw new Error(`sink failure ${calls}`);
    });
    await waitFor('three deliveries', () => calls >= 3, { timeoutMs: 2_000 });
    await feed.stop();
    assert.equal(errors.length, calls);
    assert.ok(errors.every((error) => error instanceof Error));
  });

  it('refuses a second start and can restart after stop', async () => {
    const feed = new SimulatorFeed({
      instruments: DEFAULT_INSTRUMENTS,
      clock,
      seed: 1,
      isOpen: alwaysOpen,
      tickIntervalMs: 2,
    });
    let calls = 0;
    const sink = async (): Promise<void> => {
      calls++;
    };
    await feed.start(sink);
    assert.throws(() => feed.start(sink), /already running/);
    await feed.stop();
    await feed.stop();
    const before = calls;
    await feed.start(sink);
    await waitFor('three more deliveries', () => calls > before + 2, { timeoutMs: 2_000 });
    await feed.stop();
  });

  it('sends only the frozen opening quotes while every market is closed', async () => {
    const feed = new SimulatorFeed({
      instruments: DEFAULT_INSTRUMENTS,
      clock: { nowMs: () => SATURDAY * 1000 },
      seed: 1,
      tickIntervalMs: 2,
    });
    const batches: (readonly Quote[])[] = [];
    await feed.start(async (quotes) => {
      batches.push(quotes);
    });
    await sleep(30);
    await feed.stop();
    assert.equal(batches.length, 1);
    assert.deepEqual(
      batches[0]?.map((quote) => quote.ticker),
      DEFAULT_INSTRUMENTS.map((instrument) => instrument.ticker),
    );
  });

  it('publishes no opening quote for instruments that start from a stored quote', () => {
    const stored: Quote = { ticker: 'AAPL.nq', bid: 20_000_000_000, ask: 20_001_000_000, time: 1 };
    const priceWalk = walk({
      instruments: DEFAULT_INSTRUMENTS,
      seed: 3,
      isOpen: () => false,
      initialQuotes: new Map([['AAPL.nq', stored]]),
    });
    const opening = priceWalk.openingQuotes(SATURDAY);
    assert.equal(opening.length, DEFAULT_INSTRUMENTS.length - 1);
    assert.ok(opening.every((quote) => quote.ticker !== 'AAPL.nq' && quote.bid < quote.ask));
    assert.deepEqual(priceWalk.openingQuotes(SATURDAY), []);
  });

  it('validates its tick interval', () => {
    assert.throws(
      () => new SimulatorFeed({ instruments: [], clock, seed: 1, tickIntervalMs: 0 }),
      /tick interval/,
    );
  });
});
