/**
 * The candle port's contract (`CandleStore`), run by storageContract against every adapter: what
 * is merged is read back, after a reopen too; a later part merged into a stored bucket keeps its
 * open (and an earlier part takes it), whatever order writers land in; reads page from either end
 * of a window; pruning deletes only what it names.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Candle } from '../../src/application/market-data/candles.ts';
import type { CandleQuery, Storage } from '../../src/application/storage.ts';
import type { StorageFactory, ContractStore } from './storage-contract.ts';

const T0 = 1_773_153_000; // 2026-03-10T14:30:00Z
const P = 100_000_000; // 1.0 as a price

const minute = (time: number, fields: Partial<Candle> = {}): Candle => ({
  ticker: 'EURUSD',
  intervalSeconds: 60,
  time,
  open: P,
  high: P,
  low: P,
  close: P,
  volume: 0,
  openTime: time,
  closeTime: time + 59,
  ...fields,
});

const window = (fields: Partial<CandleQuery> = {}): CandleQuery => ({
  ticker: 'EURUSD',
  intervalSeconds: 60,
  from: 0,
  to: Number.MAX_SAFE_INTEGER,
  limit: 100,
  newest: true,
  ...fields,
});

export function candleStoreContract(name: string, factory: StorageFactory): void {
  describe(`candle store contract: ${name}`, () => {
    let store: ContractStore;
    let storage: Storage;
    beforeEach(async () => {
      store = await factory();
      storage = store.storage;
    });
    afterEach(() => store.dispose());

    it('reads back what it merged, oldest first, after a reopen too', async () => {
      const candles = [minute(T0 + 60, { high: 2 * P }), minute(T0, { volume: 5 }), minute(T0 + 120)];
      await storage.mergeCandles(candles);
      const expected = [minute(T0, { volume: 5 }), minute(T0 + 60, { high: 2 * P }), minute(T0 + 120)];
      assert.deepEqual(await storage.readCandles(window()), expected);
      storage = await store.reopen();
      assert.deepEqual(await storage.readCandles(window()), expected);
      assert.deepEqual(await storage.readCandles(window({ ticker: 'GBPUSD' })), []);
      assert.deepEqual(await storage.readCandles(window({ intervalSeconds: 300 })), []);
    });

    it('merges into a stored bucket: earlier open, later close, high, low, volumes added', async () => {
      await storage.mergeCandles([
        minute(T0, {
          open: 10,
          high: 30,
          low: 5,
          close: 20,
          volume: 7,
          openTime: T0 + 10,
          closeTime: T0 + 20,
        }),
      ]);
      // A later part (after a restart): the open stays, the close moves on.
      await storage.mergeCandles([
        minute(T0, {
          open: 25,
          high: 40,
          low: 8,
          close: 35,
          volume: 3,
          openTime: T0 + 30,
          closeTime: T0 + 40,
        }),
      ]);
      // A late write of an earlier part (a process that wrote last): it takes the open only.
      await storage.mergeCandles([
        minute(T0, { open: 1, high: 2, low: 1, close: 2, volume: 1, openTime: T0 + 1, closeTime: T0 + 5 }),
      ]);
      assert.deepEqual(await storage.readCandles(window()), [
        minute(T0, {
          open: 1,
          high: 40,
          low: 1,
          close: 35,
          volume: 11,
          openTime: T0 + 1,
          closeTime: T0 + 40,
        }),
      ]);
    });

    it('merges writes that race for one bucket without losing either', async () => {
      const parts = Array.from({ length: 8 }, (_, index) =>
        minute(T0, {
          open: index + 1,
          high: index + 1,
          low: index + 1,
          close: index + 1,
          volume: 1,
          openTime: T0 + index,
          closeTime: T0 + index,
        }),
      );
      await Promise.all(parts.map((part) => storage.mergeCandles([part, minute(T0 + 60, { volume: 1 })])));
      const [first, second] = await storage.readCandles(window());
      assert.deepEqual(
        first,
        minute(T0, { open: 1, high: 8, low: 1, close: 8, volume: 8, openTime: T0, closeTime: T0 + 7 }),
      );
      assert.equal(second?.volume, 8);
    });

    it('pages from either end of a window, and writes big batches in one go', async () => {
      const candles = Array.from({ length: 1_200 }, (_, index) =>
        minute(T0 + 60 * index, { close: index + 1 }),
      );
      await storage.mergeCandles(candles);
      const times = (rows: Candle[]): number[] => rows.map((row) => (row.time - T0) / 60);
      assert.deepEqual(times(await storage.readCandles(window({ limit: 3 }))), [1_197, 1_198, 1_199]);
      assert.deepEqual(times(await storage.readCandles(window({ limit: 3, newest: false }))), [0, 1, 2]);
      const bounded = window({ from: T0 + 60 * 10, to: T0 + 60 * 20, limit: 4 });
      assert.deepEqual(times(await storage.readCandles(bounded)), [17, 18, 19, 20]);
      assert.deepEqual(times(await storage.readCandles({ ...bounded, newest: false })), [10, 11, 12, 13]);
      assert.equal((await storage.readCandles(window({ limit: 5_000 }))).length, 1_200);
    });

    it('prunes only the named tickers and interval, before the given time', async () => {
      await storage.mergeCandles([
        minute(T0),
        minute(T0 + 60),
        minute(T0, { ticker: 'GBPUSD' }),
        minute(T0, { intervalSeconds: 300 }),
      ]);
      await storage.pruneCandles(['EURUSD', 'USDJPY'], 60, T0 + 60);
      assert.deepEqual(await storage.readCandles(window()), [minute(T0 + 60)]);
      assert.equal((await storage.readCandles(window({ ticker: 'GBPUSD' }))).length, 1);
      assert.equal((await storage.readCandles(window({ intervalSeconds: 300 }))).length, 1);
      await storage.pruneCandles([], 60, T0 + 3_600);
      assert.equal((await storage.readCandles(window())).length, 1);
    });
  });
}
