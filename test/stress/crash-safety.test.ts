/**
 * Crash safety against a real server process.
 *
 * 1. Under a steady load of orders, quotes, SL/TP changes, closes and deposits on three accounts
 *    (netting, hedging, and a hedging EUR account), the server is killed with SIGKILL at random
 *    moments and restarted on the same SQLite file. After every restart:
 *    - every acknowledged order exists, in the state it was acknowledged in or a later legal one;
 *    - no trade is half-applied: filled orders have their deals and exactly one fill, deals have
 *      the orders that opened (and closed) them, a closed deal has exactly one closing fill;
 *    - balance = Σ ledger + Σ realised profit of closed deals, exactly in cents, via the API and in
 *      the database;
 *    - ids never repeat and keep increasing across restarts; nothing seen before disappears.
 * 2. SIGTERM while ~50 requests are in flight: every request completes with 200/400 or fails to
 *    connect, the process exits 0 and the database is sound and holds every acknowledged order.
 *
 * The load and the checks live in test/support/trading-load.ts (shared with multi-process.test.ts).
 * CRASH_KILLS sets the number of kills (default 20); CRASH_SEED replays the random choices of a
 * run (the seed is printed).
 */
import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { seededRandom } from '../support/seeded-random.ts';
import { ServerProcesses, type ServerProcess } from '../support/server-processes.ts';
import {
  TradingLoad,
  adminClient,
  countBy,
  errorCode,
  idList,
  idNumber,
  positiveInteger,
  sleep,
  timedFetch,
  type LoadNode,
  type Round,
  type StoreView,
} from '../support/trading-load.ts';

const ADMIN_TOKEN = 'crash-safety-admin-token';
const KILLS = positiveInteger(process.env.CRASH_KILLS, 20);
const SEED = positiveInteger(process.env.CRASH_SEED, Date.now() % 2 ** 31);

// ---- Processes and temp dirs: all cleaned up in `after`, even on failure ----

const processes = new ServerProcesses();
const dirs: string[] = [];

after(async () => {
  await processes.killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stockstrader-crash-'));
  dirs.push(dir);
  return dir;
}

/** The SQLite file, read directly. */
function sqliteStore(path: string): StoreView {
  const read = <T>(work: (db: Database.Database) => T): T => {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return work(db);
    } finally {
      db.close();
    }
  };
  return {
    async integrity() {
      read((db) =>
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'database integrity_check'),
      );
    },
    async snapshot() {
      return read((db) => {
        const rows = <T>(sql: string): T[] => db.prepare(sql).all() as T[];
        return {
          balances: new Map(
            rows<{ id: number; balance: number }>('SELECT id, balance FROM accounts').map((row) => [
              row.id,
              row.balance,
            ]),
          ),
          orders: rows<{
            id: number;
            account_id: number;
            type: string;
            status: string;
            deals: string;
            target_deal_id: number | null;
          }>('SELECT id, account_id, type, status, deals, target_deal_id FROM orders').map((row) => ({
            id: row.id,
            account: row.account_id,
            type: row.type,
            status: row.status,
            deals: idList(row.deals),
            targetDeal: row.target_deal_id,
          })),
          deals: rows<{ id: number; account_id: number; side: string; status: string; profit: number }>(
            'SELECT id, account_id, side, status, profit FROM deals',
          ).map((row) => ({
            id: row.id,
            account: row.account_id,
            side: row.side,
            status: row.status,
            profit: row.profit,
          })),
          fills: rows<{ order_id: number; account_id: number; side: string; deal_ids: string }>(
            'SELECT order_id, account_id, side, deal_ids FROM fills',
          ).map((row) => ({
            order: row.order_id,
            account: row.account_id,
            side: row.side,
            deals: idList(row.deal_ids),
          })),
          ledger: rows<{ account_id: number; amount: number; comment: string }>(
            'SELECT account_id, amount, comment FROM ledger',
          ).map((row) => ({ account: row.account_id, amount: row.amount, comment: row.comment })),
        };
      });
    },
  };
}

function loadNode(server: ServerProcess, name: string): LoadNode {
  return { name, url: server.url, dead: false, stderr: () => server.stderr(), lastOrderId: 0 };
}

describe('crash safety', { timeout: 600_000 }, () => {
  it(`survives ${KILLS} SIGKILLs under load without losing or half-applying anything`, async (t: TestContext) => {
    const started = Date.now();
    t.diagnostic(`seed ${SEED} (replay with CRASH_SEED=${SEED}), kills ${KILLS}`);
    console.log(`crash-safety: seed ${SEED} (replay with CRASH_SEED=${SEED}), kills ${KILLS}`);
    const dir = tempDir();
    const dbPath = join(dir, 'crash.db');
    const store = sqliteStore(dbPath);
    const harness = new TradingLoad({ seed: SEED, adminToken: ADMIN_TOKEN, tag: 'crash', idsIncrease: true });
    const ownedLimits = new Map<number, string[]>();

    let server = await processes.startOnSqlite(dbPath, ADMIN_TOKEN);
    await harness.setUp(server.url, [
      { system: 'netting', currency: 'USD' },
      { system: 'hedging', currency: 'USD' },
      { system: 'hedging', currency: 'EUR' },
    ]);
    await harness.verify(server.url, store);

    const [netting, hedging, hedgingEur] = harness.accounts;
    assert.ok(netting && hedging && hedgingEur);
    // Two traders share the netting account, so its mutations race for real.
    const traders = [netting, netting, hedging, hedgingEur];
    let kills = 0;
    for (; kills < KILLS; kills++) {
      const node = loadNode(server, `server ${kills + 1}`);
      const round: Round = {
        index: kills + 1,
        stopped: false,
        nodes: [node],
        minOrderId: harness.maxOrderId,
        minDealId: harness.maxDealId,
      };
      const load = harness.run(round, traders, ownedLimits);
      await sleep(harness.int(100, 600));
      const unexpected = server.child.exitCode ?? server.child.signalCode;
      assert.equal(unexpected, null, `server died on its own: ${server.stderr()}`);
      node.dead = true;
      round.stopped = true;
      await processes.killHard(server);
      await load;
      assert.deepEqual(harness.problems, [], `seed ${SEED}, after kill ${kills + 1}`);

      server = await processes.startOnSqlite(dbPath, ADMIN_TOKEN);
      await harness.verify(server.url, store);
    }

    // A clean stop after the last verification leaves a sound file.
    assert.equal(await processes.terminate(server), 0, `SIGTERM exit: ${server.stderr()}`);
    await store.integrity();

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const { stats } = harness;
    const summary =
      `crash-safety: seed ${SEED}: ${kills} kills survived in ${seconds} s; ${stats.requests} requests, ` +
      `${stats.acknowledged} acknowledged, ${stats.rejected} refused (400/429), ${stats.unknown} unknown outcome; ` +
      `${stats.ordersAcknowledged} orders acknowledged (${stats.marketFills} market, ${stats.limitsPlaced} limit), ` +
      `${stats.orderModifications} order modifications, ${stats.cancels} cancels, ${stats.dealCloses} deal closes, ` +
      `${stats.dealModifications} SL/TP changes, ${stats.quotes} quotes, ${stats.balanceChanges} balance changes; ` +
      `${harness.orderStatus.size} orders and ${harness.dealStatus.size} deals stored`;
    t.diagnostic(summary);
  });
});

describe('graceful shutdown', { timeout: 300_000 }, () => {
  it('finishes in-flight requests on SIGTERM, exits 0 and leaves a sound database', async (t: TestContext) => {
    const dir = tempDir();
    const dbPath = join(dir, 'graceful.db');
    const server = await processes.startOnSqlite(dbPath, ADMIN_TOKEN);
    const admin = adminClient(server.url, ADMIN_TOKEN);
    const userId = await admin.createUser('graceful');
    const { token } = await admin.issueToken(userId);
    const accountId = await admin.createAccount({
      user_id: userId,
      name: 'graceful',
      type: 'demo',
      system: 'hedging',
      currency: 'USD',
      balance: 1_000_000,
    });
    await admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });

    type Result =
      | { kind: 'response'; status: number; orderId: string | undefined; type: string; body: string }
      | { kind: 'connection error'; error: string };
    const random = seededRandom(SEED);
    const requests: Promise<Result>[] = [];
    for (let i = 0; i < 50; i++) {
      const roll = random();
      const type = roll < 0.6 ? 'market' : roll < 0.85 ? 'limit' : 'read';
      const side = random() < 0.5 ? 'buy' : 'sell';
      const body = new URLSearchParams({
        ticker: 'AAPL.nq',
        side,
        type: type === 'limit' ? 'limit' : 'market',
        volume: String(1 + Math.floor(random() * 10)),
        // Resting limits, on the side of the market they wait on.
        ...(type === 'limit' ? { price: side === 'buy' ? '90' : '110' } : {}),
      });
      const path = `/api/v1/accounts/${accountId}${type === 'read' ? '' : '/orders'}`;
      requests.push(
        timedFetch(server.url + path, {
          method: type === 'read' ? 'GET' : 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            ...(type === 'read' ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          },
          ...(type === 'read' ? {} : { body: body.toString() }),
        }).then(
          async (response): Promise<Result> => {
            const text = await response.text();
            let orderId: string | undefined;
            try {
              orderId = (JSON.parse(text) as { data?: { order_id?: string } }).data?.order_id;
            } catch {
              orderId = undefined;
            }
            const body = response.status === 200 ? '' : text;
            return { kind: 'response', status: response.status, orderId, type, body };
          },
          (error: unknown): Result => ({ kind: 'connection error', error: errorCode(error) }),
        ),
      );
    }
    // SIGTERM as soon as the first answer is back: the rest are still in flight.
    await Promise.race(requests);
    const terminated = processes.terminate(server);
    const results = await Promise.all(requests);
    const code = await terminated;
    assert.equal(code, 0, `exit code after SIGTERM; stderr: ${server.stderr()}`);

    const responses = results.filter((result) => result.kind === 'response');
    const fiveHundreds = responses.filter((result) => result.status >= 500);
    const acknowledged = responses.filter((result) => result.status === 200 && result.type !== 'read');
    const answeredOrders = responses.filter(
      (result) => (result.status === 200 || result.status === 400) && result.type !== 'read',
    );
    const summary =
      `graceful shutdown: ${responses.length} answered (${acknowledged.length} orders acknowledged, ` +
      `${responses.filter((result) => result.status === 400).length} refused, ${fiveHundreds.length} 5xx), ` +
      `${results.length - responses.length} connection errors ` +
      JSON.stringify(
        countBy(results.flatMap((result) => (result.kind === 'response' ? [] : [result.error]))),
      ) +
      '; 400s: ' +
      JSON.stringify([...new Set(responses.filter((result) => result.status === 400).map((r) => r.body))]);
    t.diagnostic(summary);
    const unexpected = responses.filter(
      (result) => result.status !== 200 && result.status !== 400 && result.status < 500,
    );
    assert.deepEqual(unexpected, [], 'every answered request is a 200 or a 400');

    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      for (const result of acknowledged) {
        assert.ok(result.orderId, 'an acknowledged order has an id');
        const row = db
          .prepare('SELECT type, status FROM orders WHERE id = ?')
          .get(idNumber(result.orderId)) as { type: string; status: string } | undefined;
        assert.ok(row, `acknowledged order ${result.orderId} is stored`);
        assert.equal(row.status, row.type === 'market' ? 'filled' : 'active', `order ${result.orderId}`);
      }
      const money = db
        .prepare(
          `SELECT a.balance AS balance,
                  (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account_id = a.id) AS ledger,
                  (SELECT COALESCE(SUM(profit), 0) FROM deals WHERE account_id = a.id AND status = 'closed') AS profit
           FROM accounts a WHERE a.id = ?`,
        )
        .get(Number(accountId)) as { balance: number; ledger: number; profit: number };
      assert.equal(money.balance, money.ledger + money.profit);
      // Every stored order was answered: none was applied while its reply was lost (our bodies are
      // valid, so a 400 is a business rejection, which is recorded as a rejected order).
      const stored = db.prepare('SELECT COUNT(*) AS n FROM orders').get() as { n: number };
      assert.equal(stored.n, answeredOrders.length, 'stored orders = order requests answered 200 or 400');
    } finally {
      db.close();
    }
    // Last, so the checks above still run: a request cut off by shutdown must not be answered 5xx.
    assert.deepEqual(fiveHundreds, [], 'no request is answered 5xx during a graceful shutdown');
  });
});
