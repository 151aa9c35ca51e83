/**
 * Shared by the micro-benchmarks: timing loops and the console table (a rate per scenario and
 * resting-trigger count).
 */

export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `batch(n)` with growing n until `minSeconds` have elapsed; returns operations per second. */
export function measureRate(
  minSeconds: number,
  initialBatch: number,
  batch: (count: number) => void,
): number {
  let size = initialBatch;
  let done = 0;
  const start = process.hrtime.bigint();
  for (;;) {
    batch(size);
    done += size;
    const elapsed = secondsSince(start);
    if (elapsed >= minSeconds) return done / elapsed;
    // Aim the next batch at about a quarter of the remaining time, so the clock is read rarely.
    const perSecond = done / Math.max(elapsed, 1e-6);
    size = Math.max(initialBatch, Math.min(size * 4, Math.round(perSecond * (minSeconds - elapsed) * 0.25)));
  }
}

export function formatRate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M/s`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k/s`;
  return `${value.toFixed(0)} /s`;
}

export function sizeLabel(size: number): string {
  return size >= 1000 ? `${size / 1000}k` : String(size);
}

export interface Row {
  scenario: string;
  resting: string;
  rate: string;
  note: string;
}

export function printTable(rows: Row[]): void {
  const header: Row = { scenario: 'scenario', resting: 'resting', rate: 'rate', note: 'note' };
  const columns = ['scenario', 'resting', 'rate', 'note'] as const;
  const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
  const line = (row: Row): string =>
    columns
      .map((column, at) =>
        column === 'rate' ? row[column].padStart(widths[at] ?? 0) : row[column].padEnd(widths[at] ?? 0),
      )
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}
