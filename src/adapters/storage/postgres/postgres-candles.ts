/**
 * The candle port on PostgreSQL (candle-rows.ts has the SQL). A merge is one multi-row upsert per
 * chunk, all in one transaction. Rows are merged in key order, so two processes merging into the
 * same buckets lock them in the same order and never deadlock.
 */
import type { Pool } from 'pg';
import { compareCandles, type Candle } from '../../../application/market-data/candles.ts';
import type { CandleQuery, CandleStore } from '../../../application/storage.ts';
import {
  CANDLE_COLUMNS,
  candleFromRow,
  candleValues,
  mergeCandlesSql,
  readCandlesParameters,
  readCandlesSql,
} from '../candle-rows.ts';
import type { Row } from '../rows.ts';
import { inTransaction } from './postgres-pool.ts';

const POSTGRES = { least: 'LEAST', greatest: 'GREATEST' };
const numbered = (index: number): string => `$${index}`;
/** Rows per statement: 500 rows bind 5,000 values, well inside PostgreSQL's 65,535. */
const ROWS_PER_STATEMENT = 500;

export class PostgresCandles implements CandleStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async mergeCandles(candles: readonly Candle[]): Promise<void> {
    if (candles.length === 0) return;
    const sorted = [...candles].sort(compareCandles);
    await inTransaction(await this.#pool.connect(), 'BEGIN', async (client) => {
      for (let start = 0; start < sorted.length; start += ROWS_PER_STATEMENT) {
        const chunk = sorted.slice(start, start + ROWS_PER_STATEMENT);
        const width = CANDLE_COLUMNS.length;
        const rows = chunk.map(
          (_, row) =>
            `(${CANDLE_COLUMNS.map((_column, column) => numbered(row * width + column + 1)).join(', ')})`,
        );
        await client.query(mergeCandlesSql(rows.join(', '), POSTGRES), chunk.flatMap(candleValues));
      }
    });
  }

  async readCandles(query: CandleQuery): Promise<Candle[]> {
    const { rows } = await this.#pool.query<Row>(
      readCandlesSql(query, numbered),
      readCandlesParameters(query),
    );
    return rows.map(candleFromRow);
  }

  async pruneCandles(tickers: readonly string[], intervalSeconds: number, before: number): Promise<void> {
    if (tickers.length === 0) return;
    await this.#pool.query(
      'DELETE FROM candles WHERE ticker = ANY($1::text[]) AND interval_seconds = $2 AND time < $3',
      [tickers, intervalSeconds, before],
    );
  }
}
