/**
 * Candle aggregation: worked examples, and the invariants for any sequence of quotes (fast-check):
 * OHLC bounds, coarser candles equal to the merge of the finer ones inside them, order within a
 * bucket mattering only for open and close, and merging a split sequence equal to taking it whole
 * (what a restart or a second process does to a stored bucket).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Quote } from '../../engine/model.ts';
import {
  CANDLE_INTERVALS,
  INTERVAL_SECONDS,
  addQuote,
  aggregateCandles,
  bucketStart,
  candleOfBar,
  candleOfQuote,
  mergeCandles,
  type Candle,
} from './candles.ts';

const DAY_START = 1_773_100_800; // 2026-03-10T00:00:00Z

const quote = (time: number, bid: number): Quote => ({ ticker: 'EURUSD', bid, ask: bid + 10, time });

/** The 1-minute candles of quotes taken in arrival order, as the recorder gathers them. */
function oneMinute(quotes: readonly Quote[]): Candle[] {
  const candles: Candle[] = [];
  for (const q of quotes) {
    const last = candles.at(-1);
    if (last && last.ticker === q.ticker && last.time === bucketStart(q.time, 60)) addQuote(last, q);
    else candles.push(candleOfQuote(q, 60));
  }
  return aggregateCandles(candles, 60);
}

/** The candles of `intervalSeconds` computed straight from the quotes, one bucket at a time. */
function reference(quotes: readonly Quote[], intervalSeconds: number): Map<number, Candle> {
  const buckets = new Map<number, Candle>();
  for (const q of quotes) {
    const time = bucketStart(q.time, intervalSeconds);
    const candle = buckets.get(time);
    if (!candle) {
      buckets.set(time, candleOfQuote(q, intervalSeconds));
      continue;
    }
    candle.high = Math.max(candle.high, q.bid);
    candle.low = Math.min(candle.low, q.bid);
    if (q.time < candle.openTime) [candle.open, candle.openTime] = [q.bid, q.time];
    if (q.time >= candle.closeTime) [candle.close, candle.closeTime] = [q.bid, q.time];
  }
  return buckets;
}

const quotesArbitrary = fc.array(
  fc.record({
    time: fc.integer({ min: DAY_START - 3 * 86_400, max: DAY_START + 3 * 86_400 }),
    bid: fc.integer({ min: 1, max: 10_000_000_000 }),
  }),
  { minLength: 1, maxLength: 200 },
);

describe('candles', () => {
  it('bucket in UTC: minutes, quarter hours and days start on their boundary', () => {
    const t = DAY_START + 13 * 3_600 + 47 * 60 + 31; // 13:47:31
    assert.equal(bucketStart(t, INTERVAL_SECONDS['1m']), DAY_START + 13 * 3_600 + 47 * 60);
    assert.equal(bucketStart(t, INTERVAL_SECONDS['5m']), DAY_START + 13 * 3_600 + 45 * 60);
    assert.equal(bucketStart(t, INTERVAL_SECONDS['15m']), DAY_START + 13 * 3_600 + 45 * 60);
    assert.equal(bucketStart(t, INTERVAL_SECONDS['1h']), DAY_START + 13 * 3_600);
    assert.equal(bucketStart(t, INTERVAL_SECONDS['1d']), DAY_START);
  });

  it('take the bid: first, highest, lowest, last; no volume from quotes', () => {
    const [candle] = oneMinute([
      quote(DAY_START + 1, 500),
      quote(DAY_START + 2, 700),
      quote(DAY_START + 3, 400),
      quote(DAY_START + 59, 600),
    ]);
    assert.deepEqual(candle, {
      ticker: 'EURUSD',
      intervalSeconds: 60,
      time: DAY_START,
      open: 500,
      high: 700,
      low: 400,
      close: 600,
      volume: 0,
      openTime: DAY_START + 1,
      closeTime: DAY_START + 59,
    });
  });

  it('keep the stored open and take the later close when a later part is merged in', () => {
    const stored = oneMinute([quote(DAY_START + 1, 500), quote(DAY_START + 20, 520)])[0];
    const later = oneMinute([quote(DAY_START + 30, 480), quote(DAY_START + 40, 490)])[0];
    assert.ok(stored && later);
    const merged = mergeCandles(stored, later);
    assert.deepEqual([merged.open, merged.high, merged.low, merged.close], [500, 520, 480, 490]);
    // Merged the other way round (a late write of the earlier part), the result is the same.
    assert.deepEqual(mergeCandles(later, stored), merged);
  });

  it('make a bar one candle with its volume, open at its start and close at its end', () => {
    const bar = {
      ticker: 'AAPL.nq',
      time: DAY_START + 120,
      seconds: 60,
      open: 5,
      high: 9,
      low: 1,
      close: 7,
      volume: 12_000_000,
    };
    const candle = candleOfBar(bar, 60);
    assert.deepEqual(
      [
        candle.time,
        candle.open,
        candle.high,
        candle.low,
        candle.close,
        candle.volume,
        candle.openTime,
        candle.closeTime,
      ],
      [DAY_START + 120, 5, 9, 1, 7, 12_000_000, DAY_START + 120, DAY_START + 179],
    );
    const five = aggregateCandles(
      [
        candle,
        candleOfBar({ ...bar, time: DAY_START + 180, open: 7, high: 8, low: 0, close: 3, volume: 1 }, 60),
      ],
      300,
    );
    assert.deepEqual(
      five.map((c) => [c.time, c.open, c.high, c.low, c.close, c.volume]),
      [[DAY_START, 5, 9, 0, 3, 12_000_001]],
    );
  });

  it('for any quotes: low ≤ open, close ≤ high, and every interval equals its reference', () => {
    fc.assert(
      fc.property(quotesArbitrary, (rows) => {
        const quotes = rows.map((row) => quote(row.time, row.bid));
        const base = oneMinute(quotes);
        for (const interval of CANDLE_INTERVALS) {
          const seconds = INTERVAL_SECONDS[interval];
          const candles = aggregateCandles(base, seconds);
          for (const c of candles) {
            assert.ok(c.low <= Math.min(c.open, c.close) && Math.max(c.open, c.close) <= c.high);
            assert.equal(c.time % seconds, 0);
          }
          assert.deepEqual(
            candles,
            [...reference(quotes, seconds).values()].sort((a, b) => a.time - b.time),
          );
        }
      }),
    );
  });

  it('for any quotes: a coarser candle is the merge of the finer candles inside it', () => {
    fc.assert(
      fc.property(quotesArbitrary, (rows) => {
        const base = oneMinute(rows.map((row) => quote(row.time, row.bid)));
        const seconds = CANDLE_INTERVALS.map((interval) => INTERVAL_SECONDS[interval]);
        for (let finer = 0; finer < seconds.length; finer++) {
          for (let coarser = finer + 1; coarser < seconds.length; coarser++) {
            const fine = aggregateCandles(base, seconds[finer] ?? 60);
            assert.deepEqual(
              aggregateCandles(fine, seconds[coarser] ?? 60),
              aggregateCandles(base, seconds[coarser] ?? 60),
            );
          }
        }
      }),
    );
  });

  it('for any order of the same quotes: only open and close can change, and only on a time tie', () => {
    fc.assert(
      fc.property(quotesArbitrary, fc.integer(), (rows, seed) => {
        const quotes = rows.map((row) => quote(row.time, row.bid));
        const shuffled = [...quotes].sort((a, b) => ((a.bid * 31 + seed) % 97) - ((b.bid * 31 + seed) % 97));
        const a = aggregateCandles(oneMinute(quotes), 300);
        const b = aggregateCandles(oneMinute(shuffled), 300);
        assert.deepEqual(
          b.map((c) => [c.time, c.high, c.low, c.volume, c.openTime, c.closeTime]),
          a.map((c) => [c.time, c.high, c.low, c.volume, c.openTime, c.closeTime]),
        );
        // With distinct times there is no tie, and the order does not matter at all.
        const distinct = [...new Map(quotes.map((q) => [q.time, q])).values()];
        const reordered = [...distinct].reverse();
        assert.deepEqual(
          aggregateCandles(oneMinute(reordered), 60),
          aggregateCandles(oneMinute(distinct), 60),
        );
      }),
    );
  });

  it('for any split of a sequence: merging the parts gives the candles of the whole', () => {
    fc.assert(
      fc.property(quotesArbitrary, fc.nat(), (rows, cut) => {
        const quotes = rows.map((row) => quote(row.time, row.bid));
        const at = cut % (quotes.length + 1);
        const whole = aggregateCandles(oneMinute(quotes), 900);
        const first = aggregateCandles(oneMinute(quotes.slice(0, at)), 900);
        const second = aggregateCandles(oneMinute(quotes.slice(at)), 900);
        // As a store does it: the first part stored, then the second merged into it.
        assert.deepEqual(aggregateCandles([...first, ...second], 900), whole);
      }),
    );
  });
});
