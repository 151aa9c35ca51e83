/**
 * Account reset through the admin API (`POST /admin/v1/accounts/{id}/reset`, `POST /admin/v1/reset`):
 * an account goes back to its opening state (no orders, deals, fills or ledger entries beyond the
 * opening deposit, of the optional new balance), while users, tokens, accounts, names, statuses
 * and instrument overrides stay; ids keep increasing; resting orders and SL/TP placed before never
 * fire after; the reset is durable (a restart shows it) and serialised with the account's orders;
 * bad input is a 400 that changes nothing. With two server processes on one PostgreSQL database,
 * a reset through one is at once the truth on the other.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StocksTraderClient, StocksTraderError } from '../../src/client/stockstrader-client.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres-cluster.ts';
import {
  ADMIN_TOKEN,
  TEST_DATABASE,
  raw,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../support/test-server.ts';

const ALL = { limit: 500 } as const;
const JSON_TYPE = 'application/json';

/** The largest order and deal ids the account has seen. */
interface HighestIds {
  order: string;
  deal: string;
}

/**
 * Trades the account into a state with everything a reset must clear: an open position with SL
 * and TP, a resting limit below the market, a closed deal with realised profit, a fill each, a
 * deposit and a rejected order. Assumes AAPL.nq at 100 / 100.02.
 */
async function trade(t: TestServer, account: TestAccount): Promise<HighestIds> {
  const { client, accountId } = account;
  await client.placeOrder(accountId, {
    ticker: 'AAPL.nq',
    side: 'buy',
    type: 'market',
    volume: 10,
    stop_loss: 90,
    take_profit: 120,
  });
  await client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'limit', volume: 5, price: 95 });
  // Netting books the reduced part as a closed deal; hedging opens a deal of its own, closed here.
  await client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'sell', type: 'market', volume: 4 });
  const short = (await client.deals(accountId)).find((deal) => deal.side === 'sell');
  if (short) await client.closeDeal(accountId, short.id);
  await assert.rejects(
    client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1_000_000 }),
    /volume 1000000 is above max_volume|insufficient margin/,
  );
  await t.admin.adjustBalance(accountId, 500, 'bonus');
  const orders = await client.orders(accountId, ALL);
  const deals = await client.deals(accountId, ALL);
  assert.ok((await client.deals(accountId)).length > 0, 'a position is open');
  assert.ok((await client.orders(accountId)).length > 0, 'an order rests');
  assert.ok(
    deals.some((deal) => deal.status === 'closed'),
    'a deal is closed',
  );
  return {
    order:
      orders
        .map((order) => order.id)
        .sort()
        .at(-1) ?? '',
    deal:
      deals
        .map((deal) => deal.id)
        .sort()
        .at(-1) ?? '',
  };
}

/** The account is as if just opened with `balance`. */
async function assertOpening(t: TestServer, account: TestAccount, balance: number): Promise<void> {
  const { client, accountId } = account;
  assert.deepEqual(await client.orders(accountId), [], 'no current orders');
  assert.deepEqual(await client.orders(accountId, ALL), [], 'no order history');
  assert.deepEqual(await client.orders(accountId, { status: 'filled' }), []);
  assert.deepEqual(await client.orders(accountId, { history_from: 0, history_to: 1e10 }), []);
  assert.deepEqual(await client.deals(accountId), [], 'no open deals');
  assert.deepEqual(await client.deals(accountId, ALL), [], 'no deal history');
  assert.deepEqual(await client.deals(accountId, { skip: 0, limit: 10, status: 'closed' }), []);
  assert.deepEqual(await t.admin.fills(accountId, ALL), [], 'no fills');
  const ledger = await t.admin.ledger(accountId, ALL);
  assert.deepEqual(
    ledger.map(({ amount, balance_after, comment }) => ({ amount, balance_after, comment })),
    balance === 0 ? [] : [{ amount: balance, balance_after: balance, comment: 'initial deposit' }],
    'only the opening deposit',
  );
  assert.deepEqual(await client.accountState(accountId), {
    cash: { my_portfolio: balance, investments: 0, available_to_invest: balance },
    margin: { balance, unrealized_pl: 0, equity: balance, margin: 0, free_margin: balance },
  });
}

function errorOf(error: unknown): { status: number; code: string | undefined; message: string } {
  assert.ok(error instanceof StocksTraderError, `not an API error: ${String(error)}`);
  return { status: error.status, code: error.code, message: error.message };
}

describe('account reset', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  /** AAPL.nq back at 100 / 100.02 (a test may have moved it). */
  const standardQuotes = async (): Promise<void> => {
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
  };

  it('empties one account back to its opening deposit; its token, name, status and overrides stay', async () => {
    await standardQuotes();
    const alice = await t.newAccount({ balance: 100_000 });
    await t.admin.putOverrides(alice.accountId, 'MSFT.nq', { trade_mode: 'close_only', leverage: 0.5 });
    await t.admin.updateAccount(alice.accountId, { name: 'Alice renamed' });
    const highest = await trade(t, alice);
    await t.admin.updateAccount(alice.accountId, { status: 'no_new_deals' });
    const before = (await t.admin.account(alice.accountId)).account;

    assert.equal(await t.admin.resetAccount(alice.accountId), 100_000);
    await assertOpening(t, alice, 100_000);
    const { account } = await t.admin.account(alice.accountId);
    assert.deepEqual(account, { ...before, balance: 100_000 }, 'name, owner and status stay');
    assert.deepEqual(await alice.client.accounts(), [
      {
        id: alice.accountId,
        name: 'Alice renamed',
        type: 'demo',
        system: 'netting',
        currency: 'USD',
        status: 'no_new_deals',
      },
    ]);
    const msft = await alice.client.instrument(alice.accountId, 'MSFT.nq');
    assert.equal(msft.trade_mode, 'close_only', 'overrides stay');
    assert.equal(msft.leverage, 0.5);

    // The token still works, and new ids follow every id the account had before.
    await t.admin.updateAccount(alice.accountId, { status: 'enabled' });
    const orderId = await alice.client.placeOrder(alice.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    assert.ok(orderId > highest.order, `order ${orderId} after ${highest.order}`);
    const [deal] = await alice.client.deals(alice.accountId);
    assert.ok(deal && deal.id > highest.deal, `deal ${deal?.id} after ${highest.deal}`);
    assert.deepEqual(
      (await alice.client.orders(alice.accountId, ALL)).map((order) => order.id),
      [orderId],
    );
  });

  it('never fires a resting order, stop loss or take profit placed before the reset', async () => {
    await standardQuotes();
    const account = await t.newAccount({ balance: 50_000 });
    await trade(t, account);
    // A take profit and a sell stop on the other side, so that some quote crosses each kind.
    await account.client.placeOrder(account.accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'stop',
      volume: 1,
      price: 92,
    });
    await t.admin.resetAccount(account.accountId);
    for (const [bid, ask] of [
      [94, 94.02],
      [89, 89.02],
      [125, 125.02],
      [100, 100.02],
    ] as const) {
      await t.admin.setQuote('AAPL.nq', { bid, ask });
    }
    await assertOpening(t, account, 50_000);
  });

  it('resets to a given balance, which becomes the opening balance', async () => {
    await standardQuotes();
    const account = await t.newAccount({ balance: 10_000 });
    await trade(t, account);
    assert.equal(await t.admin.resetAccount(account.accountId, 2_500.5), 2_500.5);
    await assertOpening(t, account, 2_500.5);
    await trade(t, account);
    assert.equal(await t.admin.resetAccount(account.accountId), 2_500.5, 'the new opening balance');
    await assertOpening(t, account, 2_500.5);
    // A form body works as well as JSON, and 0 is a balance like any other.
    const reply = await raw(t.url, 'POST', `/admin/v1/accounts/${account.accountId}/reset`, {
      token: ADMIN_TOKEN,
      contentType: 'application/x-www-form-urlencoded',
      body: 'balance=0',
    });
    assert.deepEqual(reply.body, { code: 'ok', data: { balance: 0 } });
    await assertOpening(t, account, 0);
  });

  it('leaves other accounts untouched', async () => {
    await standardQuotes();
    const alice = await t.newAccount({ balance: 100_000 });
    const bob = await t.newAccount({ system: 'hedging', balance: 70_000 });
    await trade(t, alice);
    await trade(t, bob);
    const snapshot = async (account: TestAccount) => ({
      state: await account.client.accountState(account.accountId),
      current: await account.client.orders(account.accountId),
      orders: await account.client.orders(account.accountId, ALL),
      open: await account.client.deals(account.accountId),
      deals: await account.client.deals(account.accountId, ALL),
      ledger: await t.admin.ledger(account.accountId, ALL),
      fills: await t.admin.fills(account.accountId, ALL),
    });
    const bobBefore = await snapshot(bob);
    await t.admin.resetAccount(alice.accountId);
    await assertOpening(t, alice, 100_000);
    assert.deepEqual(await snapshot(bob), bobBefore);
    // Bob's resting orders and SL/TP still work.
    await t.admin.setQuote('AAPL.nq', { bid: 94, ask: 94.02 });
    assert.ok(
      (await bob.client.orders(bob.accountId, { status: 'filled' })).length >
        bobBefore.orders.filter((order) => order.status === 'filled').length,
    );
    await assertOpening(t, alice, 100_000);
  });

  it('resets every account at once, keeping users, tokens, accounts and instruments', async () => {
    await standardQuotes();
    const alice = await t.newAccount({ balance: 100_000 });
    const bob = await t.newAccount({ system: 'hedging', balance: 70_000 });
    await trade(t, alice);
    const highest = await trade(t, bob);
    await t.admin.putInstrument('AAPL.nq', { description: 'Apple, as edited' });
    await t.admin.putOverrides(bob.accountId, 'AAPL.nq', { leverage: 0.5 });
    const [row] = await t.query<{ count: number | string }>('SELECT COUNT(*) AS count FROM accounts');
    const count = Number(row?.count);

    assert.equal(await t.server.trading.hasTradingHistory(), true);

    const reply = await raw(t.url, 'POST', '/admin/v1/reset', { token: ADMIN_TOKEN });
    assert.deepEqual(reply.body, { code: 'ok', data: { accounts: count } });
    await assertOpening(t, alice, 100_000);
    await assertOpening(t, bob, 70_000);
    // Nothing has happened since the accounts opened (the clock may then be set to any time).
    assert.equal(await t.server.trading.hasTradingHistory(), false);
    const aapl = (await bob.client.accountInstruments(bob.accountId)).find(
      (instrument) => instrument.ticker === 'AAPL.nq',
    );
    assert.ok(aapl);
    assert.equal(aapl.description, 'Apple, as edited');
    assert.equal(aapl.leverage, 0.5);
    const orderId = await bob.client.placeOrder(bob.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    assert.ok(orderId > highest.order);
    assert.equal(await t.server.trading.hasTradingHistory(), true);
    assert.equal(await t.admin.reset(), count, 'the client says how many');
    await assertOpening(t, bob, 70_000);
  });

  it('refuses bad input with a 400 that names the problem, and changes nothing', async () => {
    await standardQuotes();
    const account = await t.newAccount({ balance: 1_000 });
    await trade(t, account);
    const before = {
      orders: await account.client.orders(account.accountId, ALL),
      state: await account.client.accountState(account.accountId),
    };
    const post = (path: string, body?: string, contentType = JSON_TYPE) =>
      raw(t.url, 'POST', path, {
        token: ADMIN_TOKEN,
        ...(body === undefined ? {} : { body, contentType }),
      });
    const path = `/admin/v1/accounts/${account.accountId}/reset`;
    const refusals: [string, Awaited<ReturnType<typeof post>>, string, RegExp][] = [
      [
        'unknown account',
        await post('/admin/v1/accounts/99999999/reset'),
        'account_not_found',
        /account not found/,
      ],
      ['malformed account', await post('/admin/v1/accounts/abc/reset'), 'invalid_request', /account_id/],
      ['negative', await post(path, '{"balance":-1}'), 'invalid_request', /balance must not be negative/],
      ['beyond cents', await post(path, '{"balance":1.005}'), 'invalid_request', /balance .*2 decimals/],
      [
        'beyond the cap',
        await post(path, '{"balance":1e13}'),
        'invalid_request',
        /balance .*10,000,000,000,000/,
      ],
      ['text', await post(path, '{"balance":"lots"}'), 'invalid_request', /balance/],
      ['boolean', await post(path, '{"balance":true}'), 'invalid_request', /balance/],
      [
        'form text',
        await post(path, 'balance=abc', 'application/x-www-form-urlencoded'),
        'invalid_request',
        /balance/,
      ],
      ['not an object', await post(path, '[1]'), 'invalid_request', /body/],
      ['broken JSON', await post(path, '{"balance":'), 'invalid_request', /./],
    ];
    for (const [what, reply, code, msg] of refusals) {
      assert.equal(reply.status, 400, `${what}: ${reply.text}`);
      assert.equal(reply.body.code, 'error', what);
      assert.equal(reply.body.error, code, `${what}: ${reply.text}`);
      assert.match(reply.body.msg ?? '', msg, what);
    }
    assert.deepEqual(await account.client.orders(account.accountId, ALL), before.orders);
    assert.deepEqual(await account.client.accountState(account.accountId), before.state);
    await assert.rejects(t.admin.resetAccount('99999999'), (error: unknown) => {
      assert.deepEqual(errorOf(error), {
        status: 400,
        code: 'account_not_found',
        message: 'account not found',
      });
      return true;
    });
  });

  it('requires the admin token', async () => {
    const account = await t.newAccount({ balance: 1_000 });
    await standardQuotes();
    await trade(t, account);
    for (const path of [`/admin/v1/accounts/${account.accountId}/reset`, '/admin/v1/reset']) {
      for (const token of [undefined, account.token, 'not-a-token']) {
        const reply = await raw(t.url, 'POST', path, token === undefined ? {} : { token });
        assert.equal(reply.status, 401, `${path} with ${token ?? 'no token'}`);
        assert.equal(reply.body.error, 'unauthorized');
      }
    }
    assert.ok((await account.client.orders(account.accountId, ALL)).length > 0, 'nothing was reset');
  });

  it('serialises with orders racing it: each lands before the reset (and is wiped) or after it', async () => {
    await standardQuotes();
    const account = await t.newAccount({ balance: 100_000 });
    const place = () =>
      account.client.placeOrder(account.accountId, {
        ticker: 'AAPL.nq',
        side: 'buy',
        type: 'market',
        volume: 1,
      });
    const early = Array.from({ length: 15 }, place);
    const reset = t.admin.resetAccount(account.accountId);
    const late = Array.from({ length: 15 }, place);
    const placed = await Promise.all([...early, ...late]);
    assert.equal(await reset, 100_000);
    const kept = (await account.client.orders(account.accountId, ALL)).map((order) => order.id);
    // Whatever survived came after every order the reset wiped, and all of it is consistent.
    const sorted = [...placed].sort();
    assert.deepEqual(kept, sorted.slice(sorted.length - kept.length), 'the survivors are the latest');
    const deals = await account.client.deals(account.accountId);
    assert.equal(deals.length, kept.length === 0 ? 0 : 1, 'one netting position');
    assert.equal(deals[0]?.volume ?? 0, kept.length, 'its volume is the surviving orders');
    assert.equal((await t.admin.fills(account.accountId, ALL)).length, kept.length);
    const ledger = await t.admin.ledger(account.accountId, ALL);
    assert.deepEqual(
      ledger.map((entry) => entry.amount),
      [100_000],
    );
    assert.equal((await account.client.accountState(account.accountId)).margin.balance, 100_000);
  });

  it('is durable: a restart shows the reset, and ids still follow every earlier one', async () => {
    await standardQuotes();
    const account = await t.newAccount({ balance: 30_000 });
    const highest = await trade(t, account);
    // Every account's history goes, so no stored order or deal is left to count ids on from.
    await t.admin.reset();
    await t.restart();
    await assertOpening(t, account, 30_000);
    await t.admin.setQuote('AAPL.nq', { bid: 89, ask: 89.02 });
    await assertOpening(t, account, 30_000);
    await standardQuotes();
    const orderId = await account.client.placeOrder(account.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 2,
    });
    assert.ok(orderId > highest.order, `order ${orderId} after ${highest.order}`);
    const [deal] = await account.client.deals(account.accountId);
    assert.ok(deal && deal.id > highest.deal, `deal ${deal?.id} after ${highest.deal}`);
    await t.restart();
    assert.deepEqual(
      (await account.client.orders(account.accountId, ALL)).map((order) => order.id),
      [orderId],
    );
  });
});

// Two processes on one PostgreSQL database. It sets up its own database, so it runs once, in the
// default pass (the PostgreSQL rerun of this folder would only repeat it).
describe(
  'account reset with two processes on one PostgreSQL database',
  { skip: TEST_DATABASE === 'postgres' },
  () => {
    let database: TestDatabase;
    let first: TestServer;
    let second: TestServer;
    before(async () => {
      database = await createTestDatabase();
      first = await startTestServer({ databaseUrl: database.url });
      second = await startTestServer({ databaseUrl: database.url });
    });
    after(async () => {
      await first?.close();
      await second?.close();
      await database?.drop();
    });

    it('a reset through one process is what the other shows and trades on', async () => {
      await first.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
      const account = await first.newAccount({ balance: 40_000 });
      const highest = await trade(first, account);
      // The other process has the account loaded, with its resting order and SL/TP.
      const elsewhere = {
        ...account,
        client: new StocksTraderClient({ baseUrl: second.url, token: account.token }),
      };
      assert.ok((await elsewhere.client.orders(account.accountId)).length > 0);

      assert.equal(await second.admin.resetAccount(account.accountId, 45_000), 45_000);
      // The first process shows the reset at once, and its copies of the old triggers never fire.
      await assertOpening(first, account, 45_000);
      await first.admin.setQuote('AAPL.nq', { bid: 89, ask: 89.02 });
      await first.admin.setQuote('AAPL.nq', { bid: 125, ask: 125.02 });
      await assertOpening(first, account, 45_000);
      await assertOpening(second, elsewhere, 45_000);

      // Trading goes on through either process, with ids after the old ones.
      await first.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
      const orderId = await account.client.placeOrder(account.accountId, {
        ticker: 'AAPL.nq',
        side: 'buy',
        type: 'market',
        volume: 3,
      });
      assert.ok(orderId > highest.order);
      assert.deepEqual(
        (await elsewhere.client.orders(account.accountId, ALL)).map((order) => order.id),
        [orderId],
      );

      // Resetting everything through the first process reaches the second one too.
      assert.ok((await first.admin.reset()) >= 1);
      await assertOpening(second, elsewhere, 45_000);
      await assertOpening(first, account, 45_000);
    });
  },
);
