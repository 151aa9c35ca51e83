/**
 * Writes the replay feed's sample files, `ticks.csv` and `bars.csv` (formats in docs/replay.md).
 *
 *   npx tsx scripts/generate-replay-sample.ts [--out dir]   (default: samples/replay)
 *
 * The data is synthetic: seeded random walks on the default catalogue's tick grids, during an open US
 * session (Tuesday 2026-03-10, 14:30 UTC = 10:30 New York). Both files quote the same instruments, and
 * the bars start after the last tick, each instrument's walk going on from its last tick bid, so the two
 * files chain into one timeline (`--replay-file ticks.csv,bars.csv`) in which a position opened on the
 * ticks can be closed on the bars. The same seed always writes the same bytes, so the committed samples
 * can be regenerated and diffed.
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
/** The bars follow the ticks: 2026-03-10T14:40:00Z, after the last tick (at 14:39:59 at the latest). */
const BARS_START = SESSION_START + TICK_SECONDS;

function instrument(ticker: string): Instrument {
  const found = findDefaultInstrument(ticker);
  if (!found) throw new Error(`${ticker} is not in the default catalogue`);
  return found;
}

/** One instrument's walk, in ticks of its min_tick, carried from the ticks into the bars. */
interface Walk {
  spec: Instrument;
  /** Mid price of the ticks; after them, the bid the bars go on from. */
  ticks: number;
  /** Largest move per tick step, and per five-second step inside a bar. */
  maxMove: number;
  spread: readonly [number, number];
  withLast: boolean;
}

/** The instruments of both files, in the order their rows are written. */
function walks(): Walk[] {
  return [
    { spec: instrument('AAPL.nq'), ticks: 27_140, maxMove: 3, spread: [1, 2], withLast: true },
    { spec: instrument('MSFT.nq'), ticks: 47_850, maxMove: 3, spread: [1, 3], withLast: true },
    { spec: instrument('EURUSD'), ticks: 115_840, maxMove: 4, spread: [4, 8], withLast: false },
  ];
}

function price(ticks: number, spec: Instrument): string {
  return scaledToText(ticks * spec.minTick, PRICE_DECIMALS);
}

/** A price in ticks that moves by up to `maxMove` ticks per step, never below one tick. */
function step(rng: RandomGenerator, ticks: number, maxMove: number): number {
  return Math.max(1, ticks + uniformInt(rng, -maxMove, maxMove));
}

function ticksCsv(rng: RandomGenerator, instruments: Walk[]): string {
  const rows: string[] = [];
  // Each instrument is quoted every 2–5 s; a second where several are quoted shows same-time batching.
  const next = instruments.map(() => SESSION_START);
  const bids = instruments.map((walk) => walk.ticks);
  for (let time = SESSION_START; time < SESSION_START + TICK_SECONDS; time++) {
    for (const [index, walk] of instruments.entries()) {
      if (next[index] !== time) continue;
      next[index] = time + uniformInt(rng, 2, 5);
      walk.ticks = step(rng, walk.ticks, walk.maxMove);
      const spread = uniformInt(rng, walk.spread[0], walk.spread[1]);
      const bid = Math.max(1, walk.ticks - Math.floor(spread / 2));
      const ask = bid + spread;
      bids[index] = bid;
      const last = walk.withLast ? price(bid + uniformInt(rng, 0, spread), walk.spec) : '';
      rows.push(`${time},${walk.spec.ticker},${price(bid, walk.spec)},${price(ask, walk.spec)},${last}`);
    }
  }
  // The bars are bid bars: they go on from each instrument's last bid.
  for (const [index, walk] of instruments.entries()) walk.ticks = bids[index] ?? walk.ticks;
  return [
    '# Synthetic ticks written by scripts/generate-replay-sample.ts (seed 42); not market history.',
    'time,ticker,bid,ask,last',
    ...rows,
    '',
  ].join('\n');
}

function barsCsv(rng: RandomGenerator, instruments: Walk[]): string {
  const rows: string[] = [];
  for (let bar = 0; bar < BAR_COUNT; bar++) {
    const time = new Date((BARS_START + bar * 60) * 1000).toISOString().replace('.000Z', 'Z');
    for (const walk of instruments) {
      // Twelve five-second steps inside the minute; the bar is their open, extremes and close.
      let ticks = step(rng, walk.ticks, walk.maxMove - 1);
      const open = ticks;
      let high = ticks;
      let low = ticks;
      for (let inner = 0; inner < 12; inner++) {
        ticks = step(rng, ticks, walk.maxMove + 1);
        high = Math.max(high, ticks);
        low = Math.min(low, ticks);
      }
      walk.ticks = ticks;
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
  const instruments = walks();
  writeFileSync(ticks, ticksCsv(rng, instruments));
  writeFileSync(bars, barsCsv(rng, instruments));
  return { ticks, bars };
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const directory = resolve(values.out ?? fileURLToPath(new URL('../samples/replay', import.meta.url)));
  const written = writeReplaySamples(directory);
  console.log(`wrote ${written.ticks} and ${written.bars}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
