/**
 * The batch writer against the plainest reference: the same change sets written one per
 * transaction. Any split into batches must leave the same rows, the same account versions and the
 * same history page counts, with page time bounds that still cover every row.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { emptyChangeSet } from '../../../engine/engine.ts';
import { ACCOUNT_ID_WIDTH, DEAL_ID_WIDTH, ORDER_ID_WIDTH, formatId } from '../../../engine/ids.ts';
import type { Account, Deal, Order } from '../../../engine/model.ts';
import { changeWriter, type ChangeBatchItem } from './change-writer.ts';
import { MIGRATIONS_DIR } from './sqlite-storage.ts';

const ACCOUNTS = [10000001, 10000002];

function freshDb(): Database.Database {
  const db = new Database(':memory:');
  for (const file of readdirSync(MIGRATIONS_DIR).sort())
    db.exec(readFileSync(join(MIGRATIONS_DIR, file), 'utf8'));
  db.exec(`INSERT INTO users (id, name, created_at) VALUES (1, 'u', 0)`);
  for (const id of ACCOUNTS) {
    db.exec(`INSERT INTO accounts (id, user_id, name, type, system, currency, status, balance, version, created_at)
             VALUES (${id}, 1, 'a', 'demo', 'netting', 'USD', 'enabled', 0, 0, 0)`);
  }
  return db;
}

type Step =
  | { kind: 'newOrder'; account: number; status: 'active' | 'filled' }
  | { kind: 'moveOrder'; pick: number; status: 'active' | 'filled' | 'canceled' }
  | { kind: 'newDeal'; account: number }
  | { kind: 'moveDeal'; pick: number; close: boolean }
  | { kind: 'money'; account: number; amount: number }
  | { kind: 'quote'; ticker: 'AAPL.nq' | 'MSFT.nq' };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('newOrder' as const),
    account: fc.constantFrom(...ACCOUNTS),
    status: fc.constantFrom('active' as const, 'filled' as const),
  }),
  fc.record({
    kind: fc.constant('moveOrder' as const),
    pick: fc.nat(),
    status: fc.constantFrom('active' as const, 'filled' as const, 'canceled' as const),
  }),
  fc.record({ kind: fc.constant('newDeal' as const), account: fc.constantFrom(...ACCOUNTS) }),
  fc.record({ kind: fc.constant('moveDeal' as const), pick: fc.nat(), close: fc.boolean() }),
  fc.record({
    kind: fc.constant('money' as const),
    account: fc.constantFrom(...ACCOUNTS),
    amount: fc.integer({ min: -5000, max: 5000 }),
  }),
  fc.record({
    kind: fc.constant('quote' as const),
    ticker: fc.constantFrom('AAPL.nq' as const, 'MSFT.nq' as const),
  }),
);

/** Turns steps into change sets the way the engine moves rows: terminal rows are never written again. */
function changeSets(groups: Step[][]): ChangeBatchItem[] {
  let time = 1_700_000_000_000;
  let nextOrder = 4000;
  let nextDeal = 4090;
  const active = new Map<string, Order>();
  const open = new Map<string, Deal>();
  const balances = new Map(ACCOUNTS.map((id) => [id, 0]));
  const account = (id: number): Account => ({
    id: formatId(id, ACCOUNT_ID_WIDTH),
    userId: '1',
    name: 'a',
    type: 'demo',
    system: 'netting',
    currency: 'USD',
    status: 'enabled',
    balance: balances.get(id) ?? 0,
  });
  return groups.map((steps) => {
    const changes = emptyChangeSet();
    const quotes: ChangeBatchItem['quotes'][number][] = [];
    for (const step of steps) {
      time += 1_000;
      switch (step.kind) {
        case 'newOrder': {
          nextOrder += 1;
          const order: Order = {
            id: formatId(nextOrder, ORDER_ID_WIDTH),
            accountId: formatId(step.account, ACCOUNT_ID_WIDTH),
            ticker: 'AAPL.nq',
            side: 'buy',
            type: step.status === 'active' ? 'limit' : 'market',
            volume: 1_000_000,
            price: step.status === 'active' ? 10_000_000_000 : null,
            filledPrice: step.status === 'filled' ? 10_000_000_000 : null,
            expiration: 0,
            stopLoss: null,
            takeProfit: null,
            status: step.status,
            comment: '',
            createTime: time,
            lastModified: time,
            deals: [],
            targetDealId: null,
          };
          if (step.status === 'active') active.set(order.id, order);
          changes.orders.push(order);
          if (step.status === 'filled') {
            changes.fills.push({
              orderId: order.id,
              accountId: order.accountId,
              ticker: order.ticker,
              side: order.side,
              orderType: order.type,
              volume: order.volume,
              price: 10_000_000_000,
              time,
              quoteTime: time,
              bid: 9_999_000_000,
              ask: 10_000_000_000,
              rule: 'market',
              dealIds: [],
            });
          }
          break;
        }
        case 'moveOrder': {
          const ids = [...active.keys()];
          if (ids.length === 0) break;
          const id = ids[step.pick % ids.length] as string;
          const order = { ...(active.get(id) as Order), status: step.status, lastModified: time };
          if (step.status === 'active') active.set(id, order);
          else active.delete(id);
          changes.orders.push(order);
          break;
        }
        case 'newDeal': {
          nextDeal += 1;
          const deal: Deal = {
            id: formatId(nextDeal, DEAL_ID_WIDTH),
            accountId: formatId(step.account, ACCOUNT_ID_WIDTH),
            ticker: 'AAPL.nq',
            side: 'buy',
            volume: 1_000_000,
            openPrice: 10_000_000_000,
            openTime: time,
            stopLoss: null,
            takeProfit: null,
            status: 'open',
            closePrice: null,
            closeTime: null,
            profit: 0,
            lastModified: time,
          };
          open.set(deal.id, deal);
          changes.deals.push(deal);
          break;
        }
        case 'moveDeal': {
          const ids = [...open.keys()];
          if (ids.length === 0) break;
          const id = ids[step.pick % ids.length] as string;
          const before = open.get(id) as Deal;
          const deal: Deal = step.close
            ? {
                ...before,
                status: 'closed',
                closePrice: 10_001_000_000,
                closeTime: time,
                profit: 100,
                lastModified: time,
              }
            : { ...before, volume: before.volume + 1_000_000, lastModified: time };
          if (step.close) open.delete(id);
          else open.set(id, deal);
          changes.deals.push(deal);
          break;
        }
        case 'money': {
          const balance = (balances.get(step.account) ?? 0) + step.amount;
          balances.set(step.account, balance);
          changes.accounts.push(account(step.account));
          changes.ledger.push({
            accountId: formatId(step.account, ACCOUNT_ID_WIDTH),
            amount: step.amount,
            type: 'deposit',
            orderId: null,
            dealId: null,
            balanceAfter: balance,
            comment: 'deposit',
            time,
          });
          break;
        }
        case 'quote':
          quotes.push({ ticker: step.ticker, bid: 100 + (time % 7), ask: 110 + (time % 7), time });
          break;
      }
    }
    return { changes, quotes };
  });
}

function rows(db: Database.Database) {
  const all = (sql: string) => db.prepare(sql).all();
  return {
    orders: all('SELECT * FROM orders ORDER BY id'),
    deals: all('SELECT * FROM deals ORDER BY id'),
    accounts: all('SELECT id, name, status, balance, version FROM accounts ORDER BY id'),
    ledger: all('SELECT * FROM ledger ORDER BY id'),
    fills: all('SELECT * FROM fills ORDER BY id'),
    quotes: all('SELECT * FROM quotes ORDER BY ticker'),
    pageCounts: all(
      'SELECT kind, account_id, bucket, status, count FROM history_pages WHERE count > 0 ORDER BY kind, account_id, bucket, status',
    ),
  };
}

/** The page counts are exactly the stored rows, counted per kind, account, bucket and status. */
function assertCountsExact(db: Database.Database): void {
  const counted = db
    .prepare(
      `SELECT 'deal' AS kind, account_id, id / 4096 AS bucket, status, COUNT(*) AS count FROM deals
        GROUP BY account_id, id / 4096, status
       UNION ALL
       SELECT 'order', account_id, id / 4096, status, COUNT(*) FROM orders GROUP BY account_id, id / 4096, status
       ORDER BY kind, account_id, bucket, status`,
    )
    .all();
  const kept = db
    .prepare(
      'SELECT kind, account_id, bucket, status, count FROM history_pages WHERE count <> 0 ORDER BY kind, account_id, bucket, status',
    )
    .all();
  assert.deepEqual(kept, counted);
}

/** Every stored row's two history times lie within its page's bounds. */
function assertBoundsCover(db: Database.Database): void {
  const outside = db
    .prepare(
      `SELECT o.id FROM orders o JOIN history_pages p
          ON p.kind = 'order' AND p.account_id = o.account_id AND p.bucket = o.id / 4096 AND p.status = o.status
        WHERE o.create_time NOT BETWEEN p.min_first AND p.max_first
           OR o.last_modified NOT BETWEEN p.min_second AND p.max_second
       UNION ALL
       SELECT d.id FROM deals d JOIN history_pages p
          ON p.kind = 'deal' AND p.account_id = d.account_id AND p.bucket = d.id / 4096 AND p.status = d.status
        WHERE d.open_time NOT BETWEEN p.min_first AND p.max_first
           OR (d.close_time IS NULL AND p.null_second = 0)
           OR (d.close_time IS NOT NULL AND d.close_time NOT BETWEEN p.min_second AND p.max_second)`,
    )
    .all();
  assert.deepEqual(outside, []);
}

function writeInBatches(items: readonly ChangeBatchItem[], cuts: readonly number[]): Database.Database {
  const db = freshDb();
  const write = changeWriter(db);
  let start = 0;
  for (const cut of [...cuts, items.length]) {
    const end = Math.min(Math.max(cut, start), items.length);
    if (end > start) write(items.slice(start, end));
    start = end;
  }
  return db;
}

test('any split into batches leaves the rows that writing change sets one by one leaves', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(stepArbitrary, { maxLength: 4 }), { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat({ max: 60 }), { maxLength: 4 }),
      (groups, cuts) => {
        const items = changeSets(groups);
        const oneByOne = writeInBatches(
          items,
          items.map((_, index) => index),
        );
        const batched = writeInBatches(
          items,
          [...cuts].sort((a, b) => a - b),
        );
        assert.deepEqual(rows(batched), rows(oneByOne));
        for (const db of [batched, oneByOne]) {
          assertCountsExact(db);
          assertBoundsCover(db);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('a batch larger than one statement holds is written in full, in order', () => {
  const steps = Array.from({ length: 150 }, (_, index): Step[] => [
    { kind: 'newOrder', account: ACCOUNTS[index % 2] as number, status: 'filled' },
    { kind: 'money', account: ACCOUNTS[index % 2] as number, amount: index + 1 },
  ]);
  const items = changeSets(steps);
  const batched = writeInBatches(items, []);
  assert.deepEqual(
    rows(batched),
    rows(
      writeInBatches(
        items,
        items.map((_, index) => index),
      ),
    ),
  );
  assert.equal((batched.prepare('SELECT COUNT(*) AS n FROM fills').get() as { n: number }).n, 150);
  assert.deepEqual(batched.prepare('SELECT amount FROM ledger ORDER BY id LIMIT 3').all(), [
    { amount: 1 },
    { amount: 2 },
    { amount: 3 },
  ]);
  assert.deepEqual(batched.prepare('SELECT version FROM accounts ORDER BY id').all(), [
    { version: 75 },
    { version: 75 },
  ]);
});
