/**
 * The candle port on SQLite (candle-rows.ts has the SQL). Merges are written through the trading
 * connection, which commits without flushing, and then made durable by the same off-thread flush
 * of the log as the trading commits (wal-flusher.ts), so a batch of candles never blocks the event
 * loop on the disk. Reads go through the main connection.
 */
import type Database from 'better-sqlite3';
import { compareCandles, type Candle } from '../../../application/market-data/candles.ts';
import type { CandleQuery, CandleStore } from '../../../application/storage.ts';
import {
  CANDLE_COLUMNS,
  PRUNE_CANDLES_SQL,
  candleFromRow,
  candleValues,
  mergeCandlesSql,
  readCandlesParameters,
  readCandlesSql,
} from '../candle-rows.ts';
import type { Row } from '../rows.ts';

const SQLITE = { least: 'MIN', greatest: 'MAX' };
const positional = (): string => '?';

export class SqliteCandles implements CandleStore {
  readonly #read: Database.Database;
  readonly #write: Database.Database;
  readonly #flush: () => Promise<void>;
  readonly #merge: Database.Statement;
  readonly #prune: Database.Statement;
  /** The two reads (newest or oldest first), prepared on first use. */
  readonly #reads = new Map<string, Database.Statement>();

  /** `flush` makes what `write` committed durable. */
  constructor(read: Database.Database, write: Database.Database, flush: () => Promise<void>) {
    this.#read = read;
    this.#write = write;
    this.#flush = flush;
    const row = `(${CANDLE_COLUMNS.map(positional).join(', ')})`;
    this.#merge = write.prepare(mergeCandlesSql(row, SQLITE));
    this.#prune = write.prepare(PRUNE_CANDLES_SQL(positional));
  }

  async mergeCandles(candles: readonly Candle[]): Promise<void> {
    if (candles.length === 0) return;
    const sorted = [...candles].sort(compareCandles);
    this.#write.transaction(() => {
      for (const candle of sorted) this.#merge.run(candleValues(candle));
    })();
    await this.#flush();
  }

  async readCandles(query: CandleQuery): Promise<Candle[]> {
    const sql = readCandlesSql(query, positional);
    let statement = this.#reads.get(sql);
    if (!statement) this.#reads.set(sql, (statement = this.#read.prepare(sql)));
    const rows = statement.all(readCandlesParameters(query)) as Row[];
    return rows.map(candleFromRow);
  }

  async pruneCandles(tickers: readonly string[], intervalSeconds: number, before: number): Promise<void> {
    this.#write.transaction(() => {
      for (const ticker of tickers) this.#prune.run(ticker, intervalSeconds, before);
    })();
    await this.#flush();
  }
}
