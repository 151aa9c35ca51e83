/**
 * Runs the benchmarks, prints one table of their figures and writes `bench/results.json`.
 *
 * Run: `npm run bench [-- --quick] [-- name ...]`, or `npx tsx bench/run.ts --quick engine-ticks`.
 * Names filter which benchmarks run; none means all.
 *
 * To add a benchmark, append an entry to `BENCHMARKS`: a name, and a `run` that returns its figures
 * as a flat record (it may be async, e.g. for HTTP benchmarks that start a server). Figure names
 * carry their unit: `*_per_s_*` is a rate, `flatness_*` and `speedup_*` are ratios, `*_ms` is time.
 * Optional `targets` mark a figure that falls below its floor in the table.
 */
import { writeFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEngineTicksBench } from './engine-ticks.bench.ts';
import { runTriggerIndexBench } from './trigger-index.bench.ts';
import { runHttpBench } from './http/http.bench.ts';
import { runGrowthBench } from './growth.bench.ts';
import { runClusterBench } from './cluster.bench.ts';

export interface BenchmarkOptions {
  quick: boolean;
}

export type Figures = Record<string, number>;

export interface Target {
  min?: number;
  max?: number;
}

export interface Benchmark {
  name: string;
  description: string;
  run(options: BenchmarkOptions): Figures | Promise<Figures>;
  /** Floors (`min`) and ceilings (`max`) per figure: the table flags a figure that misses one. */
  targets?: Record<string, Target>;
}

export const BENCHMARKS: readonly Benchmark[] = [
  {
    name: 'trigger-index',
    description: 'bare trigger index: quiet ticks, fills, reference scan',
    run: (options) => runTriggerIndexBench({ ...options, print: false }),
  },
  {
    name: 'engine-ticks',
    description: 'Engine.onQuote over 1,000 accounts: quiet ticks, fills, margin sweep',
    run: (options) => runEngineTicksBench({ ...options, print: false }),
    targets: { ticks_per_s_0: { min: 1e6 }, ticks_per_s_10k: { min: 1e6 }, ticks_per_s_100k: { min: 1e6 } },
  },
  {
    name: 'http',
    description: 'HTTP load from a separate autocannon process, ours vs a bare Fastify baseline',
    run: (options) => runHttpBench(options),
    targets: {
      get_quote_vs_baseline: { min: 0.7 },
      get_account_vs_baseline: { min: 0.7 },
      get_orders_100_vs_baseline: { min: 0.7 },
      market_order_vs_baseline: { min: 0.4 },
      market_order_req_per_s: { min: 3_000 },
      market_order_paced_1000_p99_ms: { max: 10 },
    },
  },
  {
    name: 'growth',
    description: 'history paging, startup and RSS as the database grows to 1M orders / 100k deals',
    run: (options) => runGrowthBench(options),
    targets: {
      orders_p50_ms_1m: { max: 5 },
      deals_p50_ms_1m: { max: 5 },
      startup_ms_1m: { max: 3_000 },
      rss_mib_1m: { max: 500 },
    },
  },
  {
    name: 'cluster',
    description: 'PostgreSQL: throughput with 1 and 2 server processes on one database (reported only)',
    run: (options) => runClusterBench(options),
  },
];

const RESULTS_FILE = join(dirname(fileURLToPath(import.meta.url)), 'results.json');

function formatFigure(name: string, value: number): string {
  if (name.includes('per_s')) {
    if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M/s`;
    if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k/s`;
    return `${value.toFixed(1)} /s`;
  }
  if (name.startsWith('flatness') || name.startsWith('speedup') || /_vs_(baseline|1p)$/.test(name))
    return `${value.toFixed(2)}×`;
  if (name.endsWith('_ms') || name.includes('_ms_')) return `${value.toFixed(2)} ms`;
  if (name.startsWith('rss_mib')) return `${value.toFixed(0)} MiB`;
  return String(Number(value.toPrecision(6)));
}

type Row = [benchmark: string, figure: string, value: string, target: string];

function printTable(rows: Row[]): void {
  const header: Row = ['benchmark', 'figure', 'value', 'target'];
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => row[column]?.length ?? 0)),
  );
  const line = (row: Row): string =>
    row
      .map((cell, column) =>
        column === 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}

async function main(argv: readonly string[]): Promise<void> {
  const options: BenchmarkOptions = { quick: argv.includes('--quick') };
  const names = argv.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !BENCHMARKS.some((benchmark) => benchmark.name === name));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((item) => item.name).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  const selected = BENCHMARKS.filter((benchmark) => names.length === 0 || names.includes(benchmark.name));
  const results: Record<string, { description: string; seconds: number; figures: Figures }> = {};
  const rows: Row[] = [];
  let missed = 0;
  for (const benchmark of selected) {
    console.log(`running ${benchmark.name}${options.quick ? ' (quick)' : ''}…`);
    const start = process.hrtime.bigint();
    const figures = await benchmark.run(options);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    results[benchmark.name] = { description: benchmark.description, seconds, figures };
    for (const [figure, value] of Object.entries(figures)) {
      const bounds = benchmark.targets?.[figure];
      let target = '';
      if (bounds?.min !== undefined) {
        const met = value >= bounds.min;
        if (!met) missed += 1;
        target = `${met ? 'ok' : 'MISSED'} ≥ ${formatFigure(figure, bounds.min)}`;
      }
      if (bounds?.max !== undefined) {
        const met = value <= bounds.max;
        if (!met) missed += 1;
        target = `${met ? 'ok' : 'MISSED'} ≤ ${formatFigure(figure, bounds.max)}`;
      }
      rows.push([benchmark.name, figure, formatFigure(figure, value), target]);
    }
  }
  console.log('');
  printTable(rows);
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  writeFileSync(
    RESULTS_FILE,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        quick: options.quick,
        node: process.version,
        platform: `${platform()} ${arch()}, ${cpus().length} × ${cpu}`,
        benchmarks: results,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${RESULTS_FILE}${missed > 0 ? `; ${missed} figure(s) missed their target` : ''}`);
}

await main(process.argv.slice(2));
