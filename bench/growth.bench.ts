/**
 * Growth: does the server stay fast as history piles up?
 *
 * The database grows in steps (10k → 100k → 1M orders, with a tenth as many deals; `--quick` stops
 * at 50k). After each step a real server process starts on it, and the benchmark records how long
 * startup took, the server's RSS, and the p50 latency of GET orders and GET deals with `limit=500`
 * at skips spread over the whole history (first page, quarter, middle, last page), unfiltered,
 * by status and by time window. Flat figures across sizes are the point: history paging costs
 * O(buckets + page), not O(skip) (see src/adapters/storage/history-pages.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '../src/adapters/storage/sqlite/sqlite-storage.ts';
import { hashToken } from '../src/application/identity-service.ts';
import { emptyChangeSet } from '../src/engine/engine.ts';
import type { Deal, Order } from '../src/engine/model.ts';
import { startServerProcess } from './http/server-process.ts';

const TOKEN = 'st_growth-bench-token';
const T0 = 1_700_000_000;
const PRICE = 100_000_000;

function sizeLabel(orders: number): string {
  return orders >= 1_000_000 ? `${orders / 1_000_000}m` : `${orders / 1_000}k`;
}

interface Book {
  storage: SqliteStorage;
  accountId: string;
  orders: number;
}

/** Appends history until the account has `target` orders (and a tenth as many deals). */
async function grow(book: Book, target: number): Promise<void> {
  const { storage, accountId } = book;
  const statuses = ['filled', 'filled', 'canceled', 'rejected', 'filled'] as const;
  while (book.orders < target) {
    const batch = Math.min(20_000, target - book.orders);
    const changes = emptyChangeSet();
    for (let index = 0; index < batch; index += 1) {
      const n = book.orders + index;
      const time = T0 + n;
      const order: Order = {
        id: storage.ids.nextOrderId(),
        accountId,
        ticker: 'AAPL.nq',
        side: n % 2 ? 'sell' : 'buy',
        type: n % 3 ? 'market' : 'limit',
        volume: 1_000_000,
        price: n % 3 ? null : 99 * PRICE,
        filledPrice: 100 * PRICE,
        expiration: 0,
        stopLoss: null,
        takeProfit: null,
        status: statuses[n % statuses.length] ?? 'filled',
        comment: '',
        createTime: time,
        lastModified: time + 2,
        deals: [],
        targetDealId: null,
      };
      changes.orders.push(order);
      if (n % 10 === 0) {
        const deal: Deal = {
          id: storage.ids.nextDealId(),
          accountId,
          ticker: 'AAPL.nq',
          side: 'buy',
          volume: 1_000_000,
          openPrice: 100 * PRICE,
          openTime: time,
          stopLoss: null,
          takeProfit: null,
          status: 'closed',
          closePrice: 101 * PRICE,
          closeTime: time + 5,
          profit: 100,
          lastModified: time + 5,
        };
        changes.deals.push(deal);
      }
    }
    await storage.commit(changes);
    book.orders += batch;
  }
}

function get(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = httpRequest(url, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const elapsed = performance.now() - started;
        if (response.statusCode !== 200) {
          reject(new Error(`GET ${url}: ${response.statusCode} ${Buffer.concat(chunks).toString()}`));
          return;
        }
        const rows = (JSON.parse(Buffer.concat(chunks).toString()) as { data: unknown[] }).data.length;
        if (rows === 0) reject(new Error(`GET ${url}: empty page`));
        resolve(elapsed);
      });
    });
    request.on('error', reject);
    request.end();
  });
}

async function p50(agent: Agent, url: string, samples: number): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < samples; index += 1) times.push(await get(agent, url));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? NaN;
}

export async function runGrowthBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const sizes = options.quick ? [10_000, 50_000] : [10_000, 100_000, 1_000_000];
  const samples = options.quick ? 5 : 25;
  const dir = mkdtempSync(join(tmpdir(), 'stockstrader-growth-'));
  const dbPath = join(dir, 'growth.db');
  const figures: Record<string, number> = {};
  try {
    const storage = SqliteStorage.open(dbPath);
    const userId = await storage.createUser('growth', T0);
    await storage.createToken(userId, hashToken(TOKEN), T0);
    const account = await storage.createAccount(
      { userId, name: 'history', type: 'demo', system: 'hedging', currency: 'USD', balance: 1_000_000_00 },
      T0,
    );
    const book: Book = { storage, accountId: account.id, orders: 0 };
    for (const size of sizes) {
      const label = sizeLabel(size);
      await grow(book, size);
      await book.storage.close();

      const server = await startServerProcess({ dbPath });
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const base = `${server.url}/api/v1/accounts/${account.id}`;
        const deals = Math.ceil(size / 10);
        // Warm the fresh process up (JIT, page cache) before timing it.
        for (let index = 0; index < 20; index += 1)
          await get(agent, `${base}/orders?history_from=0&limit=500`);
        let worstOrders = 0;
        let worstDeals = 0;
        for (const fraction of [0, 0.25, 0.5, 1]) {
          const orderSkip = Math.max(0, Math.floor((size - 500) * fraction));
          const dealSkip = Math.max(0, Math.floor((deals - 500) * fraction));
          const windowFrom = T0 + Math.floor(size * fraction * 0.5);
          const orderQueries = [
            `${base}/orders?history_from=0&skip=${orderSkip}&limit=500`,
            `${base}/orders?status=filled&skip=${Math.floor(orderSkip * 0.55)}&limit=500`,
            `${base}/orders?history_from=${windowFrom}&history_to=${T0 + size}&skip=${Math.floor(orderSkip / 2)}&limit=500`,
          ];
          for (const url of orderQueries) worstOrders = Math.max(worstOrders, await p50(agent, url, samples));
          worstDeals = Math.max(
            worstDeals,
            await p50(agent, `${base}/deals?history_from=0&skip=${dealSkip}&limit=500`, samples),
          );
        }
        figures[`orders_p50_ms_${label}`] = worstOrders;
        figures[`deals_p50_ms_${label}`] = worstDeals;
        figures[`startup_ms_${label}`] = server.startupMs;
        figures[`rss_mib_${label}`] = server.rssMiB();
      } finally {
        agent.destroy();
        await server.stop();
      }
      book.storage = SqliteStorage.open(dbPath);
    }
    await book.storage.close();
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
