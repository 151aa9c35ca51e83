/**
 * The candles table for both dialects (migrations 0005): columns, the merging upsert, the reads.
 * The upsert is the storage side of candles.ts `mergeCandles`: in an UPDATE every column named on
 * the right is the row's value before the update, in SQLite and PostgreSQL alike, so the open and
 * the close are chosen by the times stored before the merge.
 */
import type { Candle } from '../../application/market-data/candles.ts';
import type { CandleQuery } from '../../application/storage.ts';
import type { Row } from './rows.ts';

export const CANDLE_COLUMNS = [
  'ticker',
  'interval_seconds',
  'time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'open_time',
  'close_time',
] as const;

export function candleValues(candle: Candle): (string | number)[] {
  return [
    candle.ticker,
    candle.intervalSeconds,
    candle.time,
    candle.open,
    candle.high,
    candle.low,
    candle.close,
    candle.volume,
    candle.openTime,
    candle.closeTime,
  ];
}

export function candleFromRow(row: Row): Candle {
  return {
    ticker: String(row.ticker),
    intervalSeconds: Number(row.interval_seconds),
    time: Number(row.time),
    open: Number(row.open),
    high: Number(row.high),
    low: Number(row.low),
    close: Number(row.close),
    // A sum past 2^53 in SQLite turns into a float; it reads as the largest safe volume.
    volume: Math.min(Number(row.volume), Number.MAX_SAFE_INTEGER),
    openTime: Number(row.open_time),
    closeTime: Number(row.close_time),
  };
}

/** What the dialect calls the two-argument minimum and maximum (SQLite MIN/MAX, PostgreSQL LEAST/GREATEST). */
export interface CandleDialect {
  least: string;
  greatest: string;
}

/** `INSERT … VALUES <values> ON CONFLICT … DO UPDATE`: merges each row into its bucket. */
export function mergeCandlesSql(values: string, dialect: CandleDialect): string {
  const { least, greatest } = dialect;
  return `INSERT INTO candles (${CANDLE_COLUMNS.join(', ')}) VALUES ${values}
    ON CONFLICT (ticker, interval_seconds, time) DO UPDATE SET
      open = CASE WHEN excluded.open_time < candles.open_time THEN excluded.open ELSE candles.open END,
      open_time = ${least}(candles.open_time, excluded.open_time),
      high = ${greatest}(candles.high, excluded.high),
      low = ${least}(candles.low, excluded.low),
      close = CASE WHEN excluded.close_time >= candles.close_time THEN excluded.close ELSE candles.close END,
      close_time = ${greatest}(candles.close_time, excluded.close_time),
      volume = candles.volume + excluded.volume`;
}

/**
 * The query's rows, oldest first, with positional placeholders from `placeholder(1…5)`: ticker,
 * interval, from, to, limit. The newest `limit` are found by reading backwards along the key.
 */
export function readCandlesSql(query: CandleQuery, placeholder: (index: number) => string): string {
  const [ticker, interval, from, to, limit] = [1, 2, 3, 4, 5].map(placeholder);
  const window = `SELECT * FROM candles WHERE ticker = ${ticker} AND interval_seconds = ${interval}
    AND time >= ${from} AND time <= ${to}`;
  return query.newest
    ? `SELECT * FROM (${window} ORDER BY time DESC LIMIT ${limit}) AS newest ORDER BY time`
    : `${window} ORDER BY time LIMIT ${limit}`;
}

export function readCandlesParameters(query: CandleQuery): (string | number)[] {
  return [query.ticker, query.intervalSeconds, query.from, query.to, query.limit];
}

export const PRUNE_CANDLES_SQL = (placeholder: (index: number) => string): string =>
  `DELETE FROM candles WHERE ticker = ${placeholder(1)} AND interval_seconds = ${placeholder(2)} AND time < ${placeholder(3)}`;
