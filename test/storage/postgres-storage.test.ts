/**
 * The PostgreSQL adapter: the storage contract on a fresh database per test, plus what only this
 * adapter has: migrations that several processes may run at once, account ids allocated by
 * concurrent processes, the durability settings it insists on, and the history page counts its
 * triggers keep.
 *
 * Databases come from test/support/postgres-cluster.ts: the cluster of the whole run when
 * scripts/test.ts started one, else a throwaway cluster of this process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  PostgresStorage,
  type PostgresOpenOptions,
} from '../../src/adapters/storage/postgres/postgres-storage.ts';
import { MIGRATIONS_DIR } from '../../src/adapters/storage/postgres/postgres-migrate.ts';
import { readMigrations } from '../../src/adapters/storage/migrations.ts';
import type { ChangeSet } from '../../src/engine/engine.ts';
import { ORDER_STATUSES, type Account, type Deal, type Order } from '../../src/engine/model.ts';
import { DEAL_ID_WIDTH, FIRST_ACCOUNT_ID, ORDER_ID_WIDTH, formatId } from '../../src/engine/ids.ts';
import type { Storage } from '../../src/application/storage.ts';
import { createTestDatabase } from '../support/postgres-cluster.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { storageContract } from './storage-contract.ts';
import { waitFor } from '../support/wait-for.ts';
import { tempDirectories } from '../support/temp-directories.ts';

const T0 = 1_767_225_600;
const PRICE = 100_000_000;

const tempDirectory = tempDirectories('stockstrader-pg-migrations-');

async function query<T extends Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // Counts and BIGINT columns arrive as decimal strings on a plain client.
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

interface ScratchDatabase {
  url: string;
  /** Opens a storage on this database; it is closed when the test ends, before the drop. */
  open(options?: PostgresOpenOptions): Promise<PostgresStorage>;
}

/** A fresh database, dropped when the test ends after closing every storage opened through it. */
async function scratchDatabase(t: { after(fn: () => Promise<void>): void }): Promise<ScratchDatabase> {
  const db = await createTestDatabase();
  const opened: PostgresStorage[] = [];
  t.after(async () => {
    for (const storage of opened) await storage.close();
    await db.drop();
  });
  return {
    url: db.url,
    async open(options = {}) {
      const storage = await PostgresStorage.open(db.url, options);
      opened.push(storage);
      return storage;
    },
  };
}

function order(account: Account, id: number, fields: Partial<Order> = {}): Order {
  return {
    id: formatId(id, ORDER_ID_WIDTH),
    accountId: account.id,
    ticker: 'AAPL.nq',
    side: 'buy',
    type: 'limit',
    volume: 1_000_000,
    price: 90 * PRICE,
    filledPrice: null,
    expiration: 0,
    stopLoss: null,
    takeProfit: null,
    status: 'active',
    comment: '',
    createTime: T0,
    lastModified: T0,
    deals: [],
    targetDealId: null,
    ...fields,
  };
}

function deal(account: Account, id: number, fields: Partial<Deal> = {}): Deal {
  return {
    id: formatId(id, DEAL_ID_WIDTH),
    accountId: account.id,
    ticker: 'AAPL.nq',
    side: 'buy',
    volume: 1_000_000,
    openPrice: 100 * PRICE,
    openTime: T0,
    stopLoss: null,
    takeProfit: null,
    status: 'open',
    closePrice: null,
    closeTime: null,
    profit: 0,
    lastModified: T0,
    ...fields,
  };
}

const changes = (fields: Partial<ChangeSet>): ChangeSet => ({
  orders: [],
  deals: [],
  accounts: [],
  ledger: [],
  fills: [],
  events: [],
  ...fields,
});

storageContract('postgres', async () => {
  const db = await createTestDatabase();
  let current: Storage = await PostgresStorage.open(db.url);
  return {
    storage: current,
    async reopen() {
      await current.close();
      current = await PostgresStorage.open(db.url);
      return current;
    },
    async dispose() {
      await current.close();
      await db.drop();
    },
  };
});

describe('postgres migrations', () => {
  const appliedMigrations = (url: string) =>
    query<{ number: number; name: string }>(
      url,
      'SELECT number, name FROM schema_migrations ORDER BY number',
    );

  it('are numbered consecutively from 0001, one file per number', () => {
    const migrations = readMigrations(MIGRATIONS_DIR);
    assert.ok(migrations.length >= 1);
    assert.deepEqual(
      migrations.map((migration) => migration.number),
      migrations.map((_, index) => index + 1),
    );
    const files = readdirSync(MIGRATIONS_DIR).filter((file) => file.endsWith('.sql'));
    assert.equal(files.length, migrations.length);
  });

  it('applies each migration once, records it, and applies a new one on the next start', async (t) => {
    const db = await scratchDatabase(t);
    const migrations = join(tempDirectory(), 'migrations');
    cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
    const count = readMigrations(migrations).length;

    await (await db.open({ migrationsDir: migrations })).close();
    await (await db.open({ migrationsDir: migrations })).close();
    assert.equal((await appliedMigrations(db.url)).length, count, 'reopening applies nothing twice');

    const next = String(count + 1).padStart(4, '0');
    writeFileSync(join(migrations, `${next}-add-probe.sql`), 'CREATE TABLE probe (id BIGINT PRIMARY KEY);\n');
    const storage = await db.open({ migrationsDir: migrations });
    await storage.setSetting('still', 'works');
    await storage.close();
    const applied = await appliedMigrations(db.url);
    assert.deepEqual(
      applied.map((row) => row.number),
      Array.from({ length: count + 1 }, (_, index) => index + 1),
    );
    assert.equal(applied.at(-1)?.name, `${next}-add-probe.sql`);
  });

  it('refuses to start when an applied migration was edited, and leaves the database usable', async (t) => {
    const db = await scratchDatabase(t);
    const migrations = join(tempDirectory(), 'migrations');
    cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
    const first = await db.open({ migrationsDir: migrations });
    await first.setSetting('kept', 'yes');
    await first.close();

    const edited = join(migrations, readMigrations(migrations)[0]?.name ?? '');
    appendFileSync(edited, '\n-- an innocent-looking edit\n');
    await assert.rejects(
      PostgresStorage.open(db.url, { migrationsDir: migrations }),
      /migration 0001-.*\.sql was changed after it was applied; migrations are append-only/,
    );

    // The refused open released its connections: the shipped migrations still open the same data.
    const reopened = await db.open();
    assert.equal(await reopened.getSetting('kept'), 'yes');
    await reopened.close();
  });

  it('migrates exactly once when several processes open one empty database together', async (t) => {
    const db = await scratchDatabase(t);
    const opened = await Promise.all(Array.from({ length: 4 }, () => db.open()));
    const applied = await appliedMigrations(db.url);
    assert.deepEqual(
      applied.map((row) => row.number),
      readMigrations(MIGRATIONS_DIR).map((migration) => migration.number),
    );
    await opened[0]?.setSetting('shared', 'yes');
    for (const storage of opened) assert.equal(await storage.getSetting('shared'), 'yes');
  });
});

describe('postgres storage', () => {
  it('gives distinct, consecutive account ids to processes creating accounts at once', async (t) => {
    const db = await scratchDatabase(t);
    const [one, two] = await Promise.all([db.open(), db.open()]);
    const userId = await one.createUser('trader', T0);
    const accounts = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 === 0 ? one : two).createAccount(
          {
            userId,
            name: `account ${index}`,
            type: 'demo',
            system: 'netting',
            currency: 'USD',
            balance: 1_00,
          },
          T0,
        ),
      ),
    );
    const ids = accounts.map((account) => Number(account.id)).sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      Array.from({ length: 20 }, (_, index) => FIRST_ACCOUNT_ID + index),
    );
    for (const account of accounts) {
      assert.equal((await two.listLedger(account.id, { skip: 0, limit: 10 })).length, 1);
    }
  });

  it('applies commits submitted without waiting in the order they were submitted', async (t) => {
    const db = await scratchDatabase(t);
    const storage = await db.open();
    const userId = await storage.createUser('trader', T0);
    const account = await storage.createAccount(
      { userId, name: 'pipelined', type: 'demo', system: 'netting', currency: 'USD', balance: 0 },
      T0,
    );
    const id = Number(storage.ids.nextOrderId());
    // The same order moves back and forth between statuses and ends filled; each step adds a ledger entry.
    const steps = Array.from({ length: 40 }, (_, step) =>
      changes({
        orders: [
          order(account, id, {
            status: step === 39 ? 'filled' : step % 2 === 0 ? 'active' : 'in_execution',
            comment: `step ${step}`,
            lastModified: T0 + step,
          }),
        ],
        ledger: [
          {
            accountId: account.id,
            amount: step,
            type: 'deposit',
            orderId: null,
            dealId: null,
            balanceAfter: step,
            comment: `step ${step}`,
            time: T0,
          },
        ],
      }),
    );
    await Promise.all(steps.map((step) => storage.commit(step)));
    const [last] = await storage.listOrders(account.id, {
      statuses: [],
      from: null,
      to: null,
      skip: 0,
      limit: 10,
    });
    assert.equal(last?.comment, 'step 39');
    assert.equal(last?.status, 'filled');
    assert.deepEqual(
      (await storage.listLedger(account.id, { skip: 0, limit: 100 })).map((entry) => entry.comment),
      steps.map((_, step) => `step ${step}`),
    );
  });

  it('writes an account step only from the expected version, announcing it to other processes', async (t) => {
    const db = await scratchDatabase(t);
    const first = await db.open();
    const second = await db.open();
    const announced: string[] = [];
    await second.shared.listen({
      quotes: () => undefined,
      change: (change) => announced.push(JSON.stringify(change)),
      resync: () => undefined,
    });
    const userId = await first.createUser('trader', T0);
    const account = await first.createAccount(
      { userId, name: 'raced', type: 'demo', system: 'hedging', currency: 'USD', balance: 1_000_00 },
      T0,
    );
    assert.equal(await first.shared.accountVersion(account.id), 0);
    const step = (id: string, balance: number): ChangeSet =>
      changes({
        orders: [order(account, Number(id), { status: 'filled', comment: `by ${balance}` })],
        accounts: [{ ...account, balance }],
        ledger: [
          {
            accountId: account.id,
            amount: 1,
            type: 'deposit',
            orderId: null,
            dealId: null,
            balanceAfter: balance,
            comment: 'step',
            time: T0,
          },
        ],
      });
    // Both processes computed their step from version 0: exactly one may land.
    const results = await Promise.all([
      first.shared.commitAccount(account.id, 0, step(first.ids.nextOrderId(), 1_000_01)),
      second.shared.commitAccount(account.id, 0, step(second.ids.nextOrderId(), 1_000_02)),
    ]);
    assert.deepEqual(
      results.filter(Boolean).length,
      1,
      `exactly one of two racing steps lands, got ${JSON.stringify(results)}`,
    );
    assert.equal(await first.shared.accountVersion(account.id), 1);
    const orders = await query<{ comment: string }>(db.url, 'SELECT comment FROM orders');
    const ledger = await query<{ amount: number }>(
      db.url,
      "SELECT amount FROM ledger WHERE comment = 'step'",
    );
    assert.equal(orders.length, 1, 'the losing step wrote no order');
    assert.equal(ledger.length, 1, 'the losing step wrote no ledger entry');
    const balance = (await first.shared.loadBook(account.id))?.account.balance;
    assert.equal(orders[0]?.comment, `by ${balance}`, 'the order and balance come from the same step');
    // A stale version never lands, even after the account moved on.
    assert.equal(await second.shared.commitAccount(account.id, 0, step(second.ids.nextOrderId(), 5)), false);
    if (results[0]) {
      await waitFor('the commit to be announced', () => announced.length > 0, {
        timeoutMs: 2_000,
        intervalMs: 20,
      });
      assert.deepEqual(announced, [JSON.stringify({ type: 'account', accountId: account.id, version: 1 })]);
    }
  });

  it('refuses a session with synchronous_commit off', async (t) => {
    const db = await scratchDatabase(t);
    const url = new URL(db.url);
    url.searchParams.set('options', '-c synchronous_commit=off');
    await assert.rejects(
      PostgresStorage.open(url.toString()),
      /PostgreSQL must run with fsync=on and synchronous_commit on .* synchronous_commit=off/,
    );
  });

  it('refuses to round a BIGINT beyond the safe integers', async (t) => {
    const db = await scratchDatabase(t);
    const storage = await db.open();
    await query(
      db.url,
      `INSERT INTO quotes (ticker, bid, ask, time) VALUES ('HUGE', 9007199254740993, 1, 1)`,
    );
    await assert.rejects(
      storage.loadQuotes(),
      /BIGINT value 9007199254740993 is beyond Number.MAX_SAFE_INTEGER/,
    );
  });

  describe('history pages', () => {
    const BUCKET = 4096;

    /** Every row of orders and deals is counted under its key, and its times lie within the key's bounds. */
    async function assertConsistent(url: string, when: string): Promise<void> {
      const pages = await query(
        url,
        `SELECT kind, account_id, bucket, status, count FROM history_pages WHERE count <> 0
         ORDER BY kind, account_id, bucket, status`,
      );
      const counted = await query(
        url,
        `SELECT kind, account_id, bucket, status, count FROM (
           SELECT 'order' AS kind, account_id, id / ${BUCKET} AS bucket, status, COUNT(*) AS count
             FROM orders GROUP BY account_id, id / ${BUCKET}, status
           UNION ALL
           SELECT 'deal', account_id, id / ${BUCKET}, status, COUNT(*)
             FROM deals GROUP BY account_id, id / ${BUCKET}, status) AS base
         ORDER BY kind, account_id, bucket, status`,
      );
      assert.deepEqual(pages, counted, `page counts ${when}`);
      const outside = await query(
        url,
        `SELECT 'order' AS kind, o.id FROM orders o LEFT JOIN history_pages p
           ON p.kind = 'order' AND p.account_id = o.account_id AND p.bucket = o.id / ${BUCKET} AND p.status = o.status
         WHERE p.kind IS NULL OR o.create_time NOT BETWEEN p.min_first AND p.max_first
           OR o.last_modified NOT BETWEEN p.min_second AND p.max_second
         UNION ALL
         SELECT 'deal', d.id FROM deals d LEFT JOIN history_pages p
           ON p.kind = 'deal' AND p.account_id = d.account_id AND p.bucket = d.id / ${BUCKET} AND p.status = d.status
         WHERE p.kind IS NULL OR d.open_time NOT BETWEEN p.min_first AND p.max_first
           OR (d.close_time IS NULL AND p.null_second <> 1)
           OR d.close_time NOT BETWEEN p.min_second AND p.max_second`,
      );
      assert.deepEqual(outside, [], `rows outside their page bounds ${when}`);
    }

    async function accounts(storage: Storage, count: number): Promise<Account[]> {
      const userId = await storage.createUser('trader', T0);
      const created: Account[] = [];
      for (let index = 0; index < count; index += 1) {
        created.push(
          await storage.createAccount(
            {
              userId,
              name: `account ${index}`,
              type: 'demo',
              system: 'hedging',
              currency: 'USD',
              balance: 0,
            },
            T0,
          ),
        );
      }
      return created;
    }

    it('count every order and deal by account, bucket and status, across bucket edges', async (t) => {
      const db = await scratchDatabase(t);
      const storage = await db.open();
      const [alice, bob] = await accounts(storage, 2);
      assert.ok(alice && bob);
      const edges = [1, BUCKET - 1, BUCKET, BUCKET + 1, 3 * BUCKET - 1, 3 * BUCKET];
      const orders = edges.map((id, index) =>
        order(index % 2 === 0 ? alice : bob, id, { createTime: T0 + id }),
      );
      const deals = edges.map((id) => deal(alice, id, { openTime: T0 + id }));
      await storage.commit(changes({ orders, deals }));
      await assertConsistent(db.url, 'after inserts');
      const page = await query(
        db.url,
        `SELECT bucket, count, min_first, max_first, min_second, max_second, null_second FROM history_pages
         WHERE kind = 'deal' ORDER BY bucket`,
      );
      assert.deepEqual(page, [
        {
          bucket: '0',
          count: '2',
          min_first: String(T0 + 1),
          max_first: String(T0 + BUCKET - 1),
          min_second: null,
          max_second: null,
          null_second: 1,
        },
        {
          bucket: '1',
          count: '2',
          min_first: String(T0 + BUCKET),
          max_first: String(T0 + BUCKET + 1),
          min_second: null,
          max_second: null,
          null_second: 1,
        },
        {
          bucket: '2',
          count: '1',
          min_first: String(T0 + 3 * BUCKET - 1),
          max_first: String(T0 + 3 * BUCKET - 1),
          min_second: null,
          max_second: null,
          null_second: 1,
        },
        {
          bucket: '3',
          count: '1',
          min_first: String(T0 + 3 * BUCKET),
          max_first: String(T0 + 3 * BUCKET),
          min_second: null,
          max_second: null,
          null_second: 1,
        },
      ]);

      // Status changes move rows between keys; the same order twice in one step counts once.
      const filled = order(alice, BUCKET, { status: 'filled', lastModified: T0 + 9_000 });
      await storage.commit(
        changes({
          orders: [
            order(alice, BUCKET, { status: 'in_execution' }),
            filled,
            order(bob, BUCKET - 1, { status: 'canceled' }),
          ],
          deals: [deal(alice, BUCKET, { status: 'closed', closeTime: T0 + 9_500, closePrice: PRICE })],
        }),
      );
      await assertConsistent(db.url, 'after status changes');
      const closed = await query(
        db.url,
        `SELECT status, count, min_second, max_second, null_second FROM history_pages
         WHERE kind = 'deal' AND bucket = 1 ORDER BY status`,
      );
      assert.deepEqual(closed, [
        {
          status: 'closed',
          count: '1',
          min_second: String(T0 + 9_500),
          max_second: String(T0 + 9_500),
          null_second: 0,
        },
        { status: 'open', count: '1', min_second: null, max_second: null, null_second: 1 },
      ]);
    });

    it('stay exact through a long random series of commits, and through deletes', async (t) => {
      const db = await scratchDatabase(t);
      const storage = await db.open();
      const owners = await accounts(storage, 3);
      const random = seededRandom(20_260_101);
      const pick = <T>(items: readonly T[]): T => {
        const item = items[Math.floor(random() * items.length)];
        assert.ok(item !== undefined);
        return item;
      };
      const orders = new Map<string, Order>();
      const deals = new Map<string, Deal>();
      let nextId = 1;
      for (let step = 0; step < 40; step += 1) {
        const now = T0 + step * 60;
        const touchedOrders: Order[] = [];
        const touchedDeals: Deal[] = [];
        for (let index = 0; index < 30; index += 1) {
          // Ids jump now and then, so the series spans several buckets.
          nextId += random() < 0.05 ? Math.floor(random() * BUCKET) : 1;
          const roll = random();
          if (roll < 0.3 || orders.size === 0) {
            touchedOrders.push(order(pick(owners), nextId, { createTime: now, lastModified: now }));
          } else if (roll < 0.45 || deals.size === 0) {
            touchedDeals.push(deal(pick(owners), nextId, { openTime: now, lastModified: now }));
          } else if (roll < 0.8) {
            const existing = pick([...orders.values()]);
            const status = pick(ORDER_STATUSES);
            touchedOrders.push({ ...existing, status, lastModified: now + index });
          } else {
            const existing = pick([...deals.values()]);
            const closing = random() < 0.5;
            touchedDeals.push(
              closing
                ? {
                    ...existing,
                    status: 'closed',
                    closeTime: now + index,
                    closePrice: PRICE,
                    lastModified: now,
                  }
                : { ...existing, status: 'closing', lastModified: now },
            );
          }
        }
        await storage.commit(changes({ orders: touchedOrders, deals: touchedDeals }));
        for (const item of touchedOrders) orders.set(item.id, item);
        for (const item of touchedDeals) deals.set(item.id, item);
        await assertConsistent(db.url, `after step ${step}`);
      }
      assert.ok(nextId > 3 * BUCKET, `the series spans several buckets (last id ${nextId})`);
      const stored = await query<{ orders: string; deals: string }>(
        db.url,
        'SELECT (SELECT COUNT(*) FROM orders) AS orders, (SELECT COUNT(*) FROM deals) AS deals',
      );
      assert.deepEqual(stored, [{ orders: String(orders.size), deals: String(deals.size) }]);

      await query(db.url, `DELETE FROM orders WHERE id % 3 = 0`);
      await query(db.url, `DELETE FROM deals WHERE status = 'closed'`);
      await assertConsistent(db.url, 'after deletes');
    });

    it('stay exact through an account reset, which drops its counts whole, and through deletes after it', async (t) => {
      const db = await scratchDatabase(t);
      const storage = await db.open();
      const owners = await accounts(storage, 3);
      const orders: Order[] = [];
      const deals: Deal[] = [];
      for (let index = 0; index < 90; index += 1) {
        const owner = owners[index % owners.length];
        assert.ok(owner);
        // Every 211th id: the rows of each account spread over several buckets.
        const id = 1 + index * 211;
        orders.push(order(owner, id, { status: index % 2 === 0 ? 'active' : 'filled' }));
        deals.push(
          deal(owner, id, index % 2 === 0 ? {} : { status: 'closed', closeTime: T0 + 1, closePrice: PRICE }),
        );
      }
      await storage.commit(changes({ orders, deals }));
      await assertConsistent(db.url, 'before the reset');
      const [, reset] = owners;
      assert.ok(reset);
      // Queued between two commits: all three land in one transaction.
      const later = order(reset, 100_000, { status: 'filled' });
      await Promise.all([
        storage.commit(changes({ orders: [order(reset, 99_999)] })),
        storage.resetAccounts([{ accountId: reset.id }], T0 + 100),
        storage.commit(changes({ orders: [later] })),
      ]);
      await assertConsistent(db.url, 'after the reset');
      assert.deepEqual(await query(db.url, `SELECT id FROM orders WHERE account_id = ${Number(reset.id)}`), [
        { id: '100000' },
      ]);
      // The triggers count deletes again once the reset's transaction is over.
      await query(db.url, `DELETE FROM orders WHERE id % 2 = 0`);
      await query(db.url, `DELETE FROM deals WHERE status = 'open'`);
      await assertConsistent(db.url, 'after deletes');
    });
  });
});
