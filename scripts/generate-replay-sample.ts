/**
 * Writes the replay feed's sample files, `ticks.csv` and `bars.csv` (formats in docs/replay.md).
 *
 *   npx tsx scripts/generate-replay-sample.ts [--out dir]   (default: samples/replay)
 *
 * The data is synthetic: seeded random walks on the default catalogue's tick grids, during an open US
 * session (Tuesday 2026-03-10, 14:30 UTC = 10:30 New York). The bars start where the ticks end, so the
 * two files chain into one timeline (`--replay-file ticks.csv,bars.csv`). The same seed always writes
 * the same bytes, so the committed samples can be regenerated and diffed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { findDefaultInstrument } from '../src/adapters/catalogue/default-instruments.ts';
import { PRICE_DECIMALS, scaledToText } from '../src/engine/decimal.ts';
import type { Instrument } from '../src/engine/model.ts';

const SEED = 42;
/** 2026-03-10T14:30:00Z. */
const SESSION_START = 1_773_153_000;
const TICK_SECONDS = 600;
const BAR_COUNT = 30;
/** The bars follow the ticks: 2026-03-10T14:40:00Z. */
const BARS_START = SESSION_START + TICK_SECONDS;

function instrument(ticker: string): Instrument {
  const found = findDefaultInstrument(ticker);
  if (!found) throw new Error(`${ticker} is not in the default catalogue`);
  return found;
}

function price(ticks: number, spec: Instrument): string {
  return scaledToText(ticks * spec.minTick, PRICE_DECIMALS);
}

/** A price in ticks that moves by up to `maxMove` ticks per step, never below one tick. */
function step(rng: RandomGenerator, ticks: number, maxMove: number): number {
  return Math.max(1, ticks + uniformInt(rng, -maxMove, maxMove));
}

function ticksCsv(rng: RandomGenerator): string {
  const walks = [
    { spec: instrument('AAPL.nq'), mid: 27_140, maxMove: 3, spread: [1, 2], withLast: true },
    { spec: instrument('EURUSD'), mid: 115_840, maxMove: 4, spread: [4, 8], withLast: false },
  ] as const;
  const mids: number[] = walks.map((walk) => walk.mid);
  const rows: string[] = [];
  // Each instrument is quoted every 1–4 s; a step where both are quoted shows same-time batching.
  const next = walks.map(() => SESSION_START);
  for (let time = SESSION_START; time < SESSION_START + TICK_SECONDS; time++) {
    for (const [index, walk] of walks.entries()) {
      if (next[index] !== time) continue;
      next[index] = time + uniformInt(rng, 1, 4);
      const mid = step(rng, mids[index] ?? walk.mid, walk.maxMove);
      mids[index] = mid;
      const spread = uniformInt(rng, walk.spread[0], walk.spread[1]);
      const bid = mid - Math.floor(spread / 2);
      const ask = bid + spread;
      const last = walk.withLast ? price(bid + uniformInt(rng, 0, spread), walk.spec) : '';
      rows.push(`${time},${walk.spec.ticker},${price(bid, walk.spec)},${price(ask, walk.spec)},${last}`);
    }
  }
  return [
    '# Synthetic ticks written by scripts/generate-replay-sample.ts (seed 42); not market history.',
    'time,ticker,bid,ask,last',
    ...rows,
    '',
  ].join('\n');
}

function barsCsv(rng: RandomGenerator): string {
  const walks = [
    { spec: instrument('AAPL.nq'), close: 27_140 },
    { spec: instrument('MSFT.nq'), close: 47_850 },
  ];
  const rows: string[] = [];
  for (let bar = 0; bar < BAR_COUNT; bar++) {
    const time = new Date((BARS_START + bar * 60) * 1000).toISOString().replace('.000Z', 'Z');
    for (const walk of walks) {
      // Twelve five-second steps inside the minute; the bar is their open, extremes and close.
      let ticks = step(rng, walk.close, 2);
      const open = ticks;
      let high = ticks;
      let low = ticks;
      for (let inner = 0; inner < 12; inner++) {
        ticks = step(rng, ticks, 4);
        high = Math.max(high, ticks);
        low = Math.min(low, ticks);
      }
      walk.close = ticks;
      const volume = uniformInt(rng, 20_000, 90_000);
      const { spec } = walk;
      rows.push(
        [
          time,
          spec.ticker,
          price(open, spec),
          price(high, spec),
          price(low, spec),
          price(ticks, spec),
          volume,
        ].join(','),
      );
    }
  }
  return [
    '# Synthetic one-minute bid bars written by scripts/generate-replay-sample.ts (seed 42); not market history.',
    'time,ticker,open,high,low,close,volume',
    ...rows,
    '',
  ].join('\n');
}

/** Writes both samples into `directory` and returns their paths. */
export function writeReplaySamples(directory: string, seed = SEED): { ticks: string; bars: string } {
  mkdirSync(directory, { recursive: true });
  const rng = xoroshiro128plus(seed);
  const ticks = join(directory, 'ticks.csv');
  const bars = join(directory, 'bars.csv');
  writeFileSync(ticks, ticksCsv(rng));
  writeFileSync(bars, barsCsv(rng));
  return { ticks, bars };
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const directory = resolve(values.out ?? fileURLToPath(new URL('../samples/replay', import.meta.url)));
  const written = writeReplaySamples(directory);
  console.log(`wrote ${written.ticks} and ${written.bars}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
