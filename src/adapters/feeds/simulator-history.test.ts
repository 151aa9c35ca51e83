import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FeedBar } from '../../application/market-data/candles.ts';
import type { Quote } from '../../engine/model.ts';
import { DEFAULT_INSTRUMENTS, findDefaultInstrument } from '../catalogue/default-instruments.ts';
import { SimulatorFeed } from './simulator-feed.ts';
import { HISTORY_SECONDS, simulatedHistory } from './simulator-history.ts';

const NOW = 1_764_000_030; // Monday 2025-11-24 16:00:30 UTC
const alwaysOpen = (): boolean => true;

function eurusd() {
  const found = findDefaultInstrument('EURUSD');
  assert.ok(found);
  return found;
}

const options = { seed: 7, endSeconds: NOW, isOpen: alwaysOpen, timeAcceleration: 1 };

describe('simulated history', () => {
  it('covers the day before the start minute by minute, each bar opening at the last close', () => {
    const instrument = eurusd();
    const bars = simulatedHistory([{ instrument, midTicks: 115_840.5 }], options);
    assert.equal(bars.length, HISTORY_SECONDS / 60);
    assert.equal(bars[0]?.time, NOW - 30 - HISTORY_SECONDS);
    assert.equal(bars.at(-1)?.time, NOW - 30 - 60);
    for (const [index, bar] of bars.entries()) {
      assert.ok(bar.low <= Math.min(bar.open, bar.close) && Math.max(bar.open, bar.close) <= bar.high);
      assert.equal(bar.open % instrument.minTick, 0);
      assert.equal(bar.volume, 0);
      if (index > 0) assert.equal(bar.open, bars[index - 1]?.close);
    }
    // It leads up to the opening quote's bid: the mid less half the typical spread, on the grid.
    const openingBid = Math.floor(115_840.5 - instrument.spreadTicks / 2) * instrument.minTick;
    assert.equal(bars.at(-1)?.close, openingBid);
    assert.ok(new Set(bars.map((bar) => bar.close)).size > 10, 'the price moves');
  });

  it('is the same for the same seed and start, and differs for another seed', () => {
    const request = [{ instrument: eurusd(), midTicks: 115_840 }];
    assert.deepEqual(simulatedHistory(request, options), simulatedHistory(request, options));
    assert.notDeepEqual(
      simulatedHistory(request, { ...options, seed: 8 }),
      simulatedHistory(request, options),
    );
  });

  it('has no bar for a minute whose market is closed', () => {
    const evenHours = (_: unknown, seconds: number): boolean => Math.floor(seconds / 3_600) % 2 === 0;
    const bars = simulatedHistory([{ instrument: eurusd(), midTicks: 115_840 }], {
      ...options,
      isOpen: evenHours,
    });
    assert.ok(bars.length > 0 && bars.length < HISTORY_SECONDS / 60);
    for (const bar of bars) assert.ok(evenHours(null, bar.time));
  });

  it('goes to the simulator sink with the opening quotes only, and leaves the live quotes unchanged', async () => {
    const run = async (history: boolean): Promise<{ quotes: Quote[][]; bars: FeedBar[][] }> => {
      const quotes: Quote[][] = [];
      const bars: FeedBar[][] = [];
      const feed = new SimulatorFeed({
        instruments: DEFAULT_INSTRUMENTS,
        clock: { nowMs: () => NOW * 1000 },
        seed: 3,
        isOpen: alwaysOpen,
        tickIntervalMs: 5,
        ...(history && {
          history: (opening, endSeconds) => simulatedHistory(opening, { ...options, seed: 3, endSeconds }),
        }),
      });
      await feed.start(async (batch, batchBars) => {
        quotes.push([...batch]);
        bars.push([...(batchBars ?? [])]);
      });
      while (quotes.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
      await feed.stop();
      return { quotes: quotes.slice(0, 4), bars: bars.slice(0, 4) };
    };
    const withHistory = await run(true);
    const without = await run(false);
    assert.deepEqual(withHistory.quotes, without.quotes);
    assert.equal(withHistory.bars[0]?.length, DEFAULT_INSTRUMENTS.length * (HISTORY_SECONDS / 60));
    assert.deepEqual(withHistory.bars.slice(1), [[], [], []]);
    assert.deepEqual(without.bars, [[], [], [], []]);
  });
});
