/**
 * An account reset against a real server process killed with SIGKILL at random moments around it.
 *
 * Each round trades two accounts (orders, a resting limit, SL/TP, a closed deal, a deposit), sends
 * a reset of one of them (or of every account), and kills the process a random few milliseconds
 * later, sometimes before the reset could start, sometimes during it, sometimes after its reply.
 * After each restart on the same SQLite file, every account is either wholly reset (only its
 * opening deposit, no orders, deals or fills, its balance the opening one) or wholly as it was,
 * never in between; an acknowledged reset is always there; and new ids follow every id handed
 * out before the kill.
 *
 * RESET_CRASH_ROUNDS sets the number of kills (default 8); RESET_CRASH_SEED replays a run.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../src/client/admin-client.ts';
import { StocksTraderClient } from '../../src/client/stockstrader-client.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { ServerProcesses } from '../support/server-processes.ts';
import { createUserAccount } from '../support/user-accounts.ts';
import { positiveInteger, sleep } from '../support/trading-load.ts';

const ADMIN_TOKEN = 'reset-crash-admin-token';
const ROUNDS = positiveInteger(process.env.RESET_CRASH_ROUNDS, 8);
const SEED = positiveInteger(process.env.RESET_CRASH_SEED, 20_261_113);
const ALL = { limit: 500 } as const;

const processes = new ServerProcesses();
const dirs: string[] = [];
after(async () => {
  await processes.killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Account {
  id: string;
  token: string;
  opening: number;
}

/** What a client sees of an account: enough to tell "reset" from "as it was" from anything else. */
async function view(url: string, account: Account) {
  const admin = new AdminClient({ baseUrl: url, token: ADMIN_TOKEN });
  const client = new StocksTraderClient({ baseUrl: url, token: account.token });
  return {
    orders: (await client.orders(account.id, ALL)).map((order) => `${order.id}:${order.status}`),
    deals: (await client.deals(account.id, ALL)).map((deal) => `${deal.id}:${deal.status}`),
    ledger: (await admin.ledger(account.id, ALL)).map((entry) => entry.amount),
    fills: (await admin.fills(account.id, ALL)).length,
    balance: (await client.accountState(account.id)).margin.balance,
  };
}
type View = Awaited<ReturnType<typeof view>>;

async function trade(url: string, account: Account): Promise<void> {
  const client = new StocksTraderClient({ baseUrl: url, token: account.token });
  const place = (body: Parameters<StocksTraderClient['placeOrder']>[1]) =>
    client.placeOrder(account.id, body);
  await place({
    ticker: 'AAPL.nq',
    side: 'buy',
    type: 'market',
    volume: 10,
    stop_loss: 80,
    take_profit: 130,
  });
  await place({ ticker: 'AAPL.nq', side: 'buy', type: 'limit', volume: 3, price: 90 });
  await place({ ticker: 'AAPL.nq', side: 'sell', type: 'market', volume: 4 });
  await new AdminClient({ baseUrl: url, token: ADMIN_TOKEN }).adjustBalance(account.id, 12.34, 'bonus');
}

describe('account reset under SIGKILL', () => {
  it(`is all or nothing, and durable once acknowledged (${ROUNDS} kills, seed ${SEED})`, async () => {
    const random = seededRandom(SEED);
    const dir = mkdtempSync(join(tmpdir(), 'stockstrader-reset-crash-'));
    dirs.push(dir);
    const db = join(dir, 'server.db');
    let server = await processes.startOnSqlite(db, ADMIN_TOKEN);
    let admin = new AdminClient({ baseUrl: server.url, token: ADMIN_TOKEN });
    await admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const accounts: Account[] = [];
    for (const [name, opening] of [
      ['alice', 10_000],
      ['bob', 25_000],
    ] as const) {
      const { accountId, token } = await createUserAccount(admin, name, { balance: opening });
      accounts.push({ id: accountId, token, opening });
    }
    let highestOrder = '';

    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const account of accounts) await trade(server.url, account);
      const before = new Map<string, View>();
      for (const account of accounts) before.set(account.id, await view(server.url, account));
      for (const account of accounts) {
        for (const entry of before.get(account.id)?.orders ?? []) {
          const id = entry.slice(0, entry.indexOf(':'));
          if (id > highestOrder) highestOrder = id;
        }
      }
      const everything = random() < 0.3;
      const target = accounts[Math.floor(random() * accounts.length)] ?? accounts[0];
      assert.ok(target);
      let acknowledged = false;
      const reset = (everything ? admin.reset() : admin.resetAccount(target.id)).then(
        () => {
          acknowledged = true;
        },
        () => undefined,
      );
      await sleep(Math.floor(random() * 25));
      await processes.killHard(server);
      await reset;

      server = await processes.startOnSqlite(db, ADMIN_TOKEN);
      admin = new AdminClient({ baseUrl: server.url, token: ADMIN_TOKEN });
      const opened = (account: Account): View => ({
        orders: [],
        deals: [],
        ledger: [account.opening],
        fills: 0,
        balance: account.opening,
      });
      const wasReset: boolean[] = [];
      for (const account of accounts) {
        const seen = await view(server.url, account);
        const targeted = everything || account === target;
        const isReset = JSON.stringify(seen) === JSON.stringify(opened(account));
        if (targeted && acknowledged) {
          assert.deepEqual(seen, opened(account), `round ${round}: acknowledged reset of ${account.id}`);
        } else if (targeted && !isReset) {
          assert.deepEqual(seen, before.get(account.id), `round ${round}: ${account.id} half reset`);
        } else if (!targeted) {
          assert.deepEqual(seen, before.get(account.id), `round ${round}: ${account.id} not reset`);
        }
        wasReset.push(isReset);
      }
      if (everything) {
        assert.ok(
          wasReset.every((value) => value) || wasReset.every((value) => !value),
          `round ${round}: a reset of every account is one transaction`,
        );
      }
      // The restarted process hands out ids after every one used before the kill.
      const [first] = accounts;
      assert.ok(first);
      const client = new StocksTraderClient({ baseUrl: server.url, token: first.token });
      const orderId = await client.placeOrder(first.id, {
        ticker: 'AAPL.nq',
        side: 'buy',
        type: 'market',
        volume: 1,
      });
      assert.ok(orderId > highestOrder, `round ${round}: order ${orderId} after ${highestOrder}`);
      highestOrder = orderId;
      // The resting orders and SL/TP of a reset account never fire.
      await admin.setQuote('AAPL.nq', { bid: 79, ask: 79.02 });
      await admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
      for (const [index, account] of accounts.entries()) {
        if (!wasReset[index]) continue;
        const now = await view(server.url, account);
        const extra: number = account === first ? 1 : 0;
        assert.equal(now.orders.length, extra, `round ${round}: ${account.id} traded after its reset`);
      }
    }
    await processes.terminate(server);
  });
});
