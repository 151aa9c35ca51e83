/**
 * The micro-benchmarks' console table: a rate per scenario and resting-trigger count.
 */

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
