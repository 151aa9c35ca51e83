/**
 * Simultaneous requests on one account are serialised: however many arrive at once, margin is
 * never spent twice, a deal is closed once, an order is canceled once, and nothing answers 5xx.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { raw, startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

const PARALLEL = 50;
const FORM = 'application/x-www-form-urlencoded';

type Reply = Awaited<ReturnType<typeof raw>>;

function assertNo5xx(replies: Reply[]): void {
  for (const reply of replies) {
    assert.ok(reply.status < 500, `answered ${reply.status}: ${reply.text}`);
    assert.ok(reply.body.code === 'ok' || reply.body.code === 'error', `not an API body: ${reply.text}`);
  }
}

function tally(replies: Reply[]): { ok: Reply[]; rejected: Reply[] } {
  assertNo5xx(replies);
  return {
    ok: replies.filter((reply) => reply.status === 200),
    rejected: replies.filter((reply) => reply.status !== 200),
  };
}

describe('concurrent requests on one account', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    // No spread on AAPL: 20 shares at 100 need exactly $100 of margin (5%) and lose nothing on entry.
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100 });
    // A 2-cent spread on MSFT: 20 shares cost $99.98 of margin (valued at the bid) plus a $0.40 loss.
    await t.admin.setQuote('MSFT.nq', { bid: 99.98, ask: 100 });
  });
  after(() => t.close());

  function placeAll(account: TestAccount, ticker: string, count: number): Promise<Reply[]> {
    return Promise.all(
      Array.from({ length: count }, () =>
        raw(t.url, 'POST', `/api/v1/accounts/${account.accountId}/orders`, {
          token: account.token,
          contentType: FORM,
          body: `ticker=${encodeURIComponent(ticker)}&side=buy&type=market&volume=20`,
        }),
      ),
    );
  }

  async function checkSpentOnce(
    account: TestAccount,
    replies: Reply[],
    affordable: number,
    expectedDeals: number,
  ): Promise<void> {
    const { ok, rejected } = tally(replies);
    assert.equal(ok.length, affordable, 'exactly the affordable orders fill');
    assert.equal(rejected.length, PARALLEL - affordable);
    for (const reply of rejected) {
      assert.equal(reply.status, 400);
      assert.match(reply.body.msg ?? '', /^insufficient margin/);
    }
    const placed = new Set(ok.map((reply) => (reply.body.data as { order_id: string }).order_id));
    assert.equal(placed.size, affordable, 'every filled order has its own id');

    const state = await account.client.accountState(account.accountId);
    assert.ok(state.margin.free_margin >= 0, `free margin ${state.margin.free_margin} is negative`);
    const history = await account.client.orders(account.accountId, { limit: 500 });
    assert.equal(history.length, PARALLEL, 'every request left exactly one stored order');
    assert.equal(history.filter((order) => order.status === 'filled').length, affordable);
    const stored = history.filter((order) => order.status === 'rejected');
    assert.equal(stored.length, PARALLEL - affordable, 'every rejection is stored');
    for (const order of stored) assert.match(order.comment ?? '', /^insufficient margin/);
    const deals = await account.client.deals(account.accountId);
    assert.equal(deals.length, expectedDeals);
    assert.equal(
      deals.reduce((sum, deal) => sum + deal.volume, 0),
      20 * affordable,
    );
  }

  it('fills exactly the orders the margin allows, netting (free margin may reach exactly 0)', async () => {
    const account = await t.newAccount({ system: 'netting', balance: 1_000 });
    const replies = await placeAll(account, 'AAPL.nq', PARALLEL);
    // $1,000 covers ten $100 margins; the eleventh would leave free margin at -$100.
    await checkSpentOnce(account, replies, 10, 1);
    const state = await account.client.accountState(account.accountId);
    assert.deepEqual(state.margin, {
      balance: 1000,
      unrealized_pl: 0,
      equity: 1000,
      margin: 1000,
      free_margin: 0,
    });
  });

  it('fills exactly the orders the margin allows, hedging with a spread', async () => {
    const account = await t.newAccount({ system: 'hedging', balance: 1_000 });
    const replies = await placeAll(account, 'MSFT.nq', PARALLEL);
    // Each fill costs $99.98 margin + $0.40 floating loss = $100.38: nine fit ($903.42), ten do not.
    await checkSpentOnce(account, replies, 9, 9);
    const state = await account.client.accountState(account.accountId);
    assert.equal(state.margin.margin, 899.82);
    assert.equal(state.margin.unrealized_pl, -3.6);
    assert.equal(state.margin.free_margin, 96.58);
  });

  it('closes a deal once when many closes arrive together', async () => {
    const account = await t.newAccount({ system: 'hedging', balance: 10_000 });
    await account.client.placeOrder(account.accountId, {
      ticker: 'MSFT.nq',
      side: 'buy',
      type: 'market',
      volume: 10,
    });
    const [deal] = await account.client.deals(account.accountId);
    assert.ok(deal);
    const replies = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        raw(t.url, 'DELETE', `/api/v1/accounts/${account.accountId}/deals/${deal.id}`, {
          token: account.token,
        }),
      ),
    );
    const { ok, rejected } = tally(replies);
    assert.equal(ok.length, 1, 'exactly one close succeeds');
    for (const reply of rejected) {
      assert.equal(reply.status, 400);
      assert.equal(reply.body.msg, `deal ${deal.id} not found or not open`);
    }
    assert.deepEqual(await account.client.deals(account.accountId), []);
    const closed = await account.client.deals(account.accountId, { limit: 500 });
    assert.equal(closed.length, 1);
    assert.equal(closed[0]?.status, 'closed');
    const orders = await account.client.orders(account.accountId, { limit: 500 });
    assert.equal(orders.length, 2, 'one opening and one closing order');
    // Bought at 100, sold at 99.98: 10 × -0.02 = -$0.20, booked once.
    const state = await account.client.accountState(account.accountId);
    assert.equal(state.margin.balance, 9_999.8);
    assert.equal((await t.admin.fills(account.accountId)).length, 2);
  });

  it('cancels an order once when many cancels arrive together', async () => {
    const account = await t.newAccount({ system: 'netting', balance: 10_000 });
    const orderId = await account.client.placeOrder(account.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 90,
    });
    const replies = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        raw(t.url, 'DELETE', `/api/v1/accounts/${account.accountId}/orders/${orderId}`, {
          token: account.token,
        }),
      ),
    );
    const { ok, rejected } = tally(replies);
    assert.equal(ok.length, 1, 'exactly one cancel succeeds');
    for (const reply of rejected) assert.equal(reply.status, 400);
    const [order] = await account.client.orders(account.accountId, { limit: 500 });
    assert.equal(order?.status, 'canceled');
  });

  it('keeps accounts apart and consistent under mixed parallel traffic, quotes included', async () => {
    const accounts = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        t.newAccount({ system: index % 2 === 0 ? 'netting' : 'hedging', balance: 1_000 }),
      ),
    );
    const requests: Promise<Reply>[] = [];
    for (let round = 0; round < 10; round++) {
      for (const account of accounts) {
        requests.push(
          raw(t.url, 'POST', `/api/v1/accounts/${account.accountId}/orders`, {
            token: account.token,
            contentType: FORM,
            body: 'ticker=AAPL.nq&side=buy&type=market&volume=20',
          }),
          raw(t.url, 'GET', `/api/v1/accounts/${account.accountId}`, { token: account.token }),
        );
      }
      // The price only moves after all orders of the test are in: every fill here is at 100.
      requests.push(raw(t.url, 'GET', '/admin/v1/quotes/AAPL.nq', { token: 'admin-test-token' }));
    }
    const { ok } = tally(await Promise.all(requests));
    assert.ok(ok.length > 0);
    for (const account of accounts) {
      const state = await account.client.accountState(account.accountId);
      assert.equal(state.margin.margin, 1000, `account ${account.accountId} filled exactly ten orders`);
      assert.equal(state.margin.free_margin, 0);
      const history = await account.client.orders(account.accountId, { limit: 500 });
      assert.equal(history.length, 10);
      assert.ok(history.every((order) => order.status === 'filled'));
    }
  });
});
