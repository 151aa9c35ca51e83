/**
 * A restart loses nothing: a server stopped and started again on the same database file serves the
 * same accounts, balances, orders, deals, history and quotes, its resting orders and SL/TP levels
 * still fire, and new ids carry on from the old ones without repeating any.
 *
 * The tests are one story around one restart and run in order: `before` builds the state and
 * restarts; the firing test moves the quotes, and the id test counts the orders and deals that
 * firing made, beside its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StocksTraderError } from '../../src/client/stockstrader-client.ts';
import type { Deal, Order } from '../../src/contract/public-api.ts';
import { startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

const ALL = { limit: 500 } as const;

interface Snapshot {
  accounts: unknown;
  state: unknown;
  currentOrders: Order[];
  allOrders: Order[];
  openDeals: Deal[];
  allDeals: Deal[];
  ledger: unknown;
  fills: unknown;
}

describe('restart persistence', () => {
  let t: TestServer;
  let alice: TestAccount;
  let bob: TestAccount;
  const ids = { alicePosition: '', bobFirst: '', bobSecond: '', bobLimit: '', bobStop: '', aliceLimit: '' };
  let before0: { alice: Snapshot; bob: Snapshot; quotes: unknown[] };

  async function snapshot(account: TestAccount): Promise<Snapshot> {
    const { client, accountId } = account;
    return {
      accounts: await client.accounts(),
      state: await client.accountState(accountId),
      currentOrders: await client.orders(accountId),
      allOrders: await client.orders(accountId, ALL),
      openDeals: await client.deals(accountId),
      allDeals: await client.deals(accountId, ALL),
      ledger: await t.admin.ledger(accountId, ALL),
      fills: await t.admin.fills(accountId, ALL),
    };
  }

  async function quotes(): Promise<unknown[]> {
    return [
      await alice.client.quote(alice.accountId, 'AAPL.nq'),
      await alice.client.quote(alice.accountId, 'EURUSD'),
      await t.admin.getQuote('AAPL.nq'),
    ];
  }

  before(async () => {
    t = await startTestServer();
    alice = await t.newAccount({ system: 'netting', balance: 100_000 });
    bob = await t.newAccount({ system: 'hedging', balance: 50_000 });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02, last: 100.01 });
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.10012 });

    // Alice (netting): a long with SL/TP, a resting limit that will reduce it, a short, a canceled order.
    await alice.client.placeOrder(alice.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 10,
      stop_loss: 90,
      take_profit: 120,
    });
    const [position] = await alice.client.deals(alice.accountId);
    assert.ok(position);
    ids.alicePosition = position.id;
    await alice.client.modifyDeal(alice.accountId, position.id, { take_profit: 115 });
    ids.aliceLimit = await alice.client.placeOrder(alice.accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'limit',
      volume: 4,
      price: 110,
    });
    await alice.client.placeOrder(alice.accountId, {
      ticker: 'EURUSD',
      side: 'sell',
      type: 'market',
      volume: 0.5,
    });
    const canceled = await alice.client.placeOrder(alice.accountId, {
      ticker: 'EURUSD',
      side: 'buy',
      type: 'limit',
      volume: 0.1,
      price: 1.08,
    });
    await alice.client.cancelOrder(alice.accountId, canceled);

    // Bob (hedging): two deals, one closed by hand, a resting limit with SL/TP, a sell stop, a deposit,
    // and a rejected order.
    await bob.client.placeOrder(bob.accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 5 });
    await bob.client.placeOrder(bob.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 3,
      stop_loss: 95,
    });
    const bobDeals = await bob.client.deals(bob.accountId);
    assert.equal(bobDeals.length, 2);
    ids.bobFirst = bobDeals[0]?.id ?? '';
    ids.bobSecond = bobDeals[1]?.id ?? '';
    await bob.client.closeDeal(bob.accountId, ids.bobFirst);
    ids.bobLimit = await bob.client.placeOrder(bob.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 2,
      price: 95,
      stop_loss: 90,
      take_profit: 110,
    });
    ids.bobStop = await bob.client.placeOrder(bob.accountId, {
      ticker: 'EURUSD',
      side: 'sell',
      type: 'stop',
      volume: 0.2,
      price: 1.09,
      stop_loss: 1.1,
    });
    await t.admin.adjustBalance(bob.accountId, 2_500, 'top up');
    await assert.rejects(
      bob.client.placeOrder(bob.accountId, {
        ticker: 'AAPL.nq',
        side: 'buy',
        type: 'market',
        volume: 100_000,
      }),
      (error: unknown) => error instanceof StocksTraderError && /insufficient margin/.test(error.message),
    );

    before0 = { alice: await snapshot(alice), bob: await snapshot(bob), quotes: await quotes() };
    await t.restart();
  });
  after(() => t.close());

  it('had something worth restoring', () => {
    assert.equal(before0.alice.currentOrders.length, 1);
    assert.equal(before0.alice.openDeals.length, 2);
    assert.equal(before0.bob.currentOrders.length, 2);
    assert.equal(before0.bob.openDeals.length, 1);
    assert.ok(before0.bob.allOrders.some((order) => order.status === 'rejected'));
    assert.ok(before0.alice.allOrders.some((order) => order.status === 'canceled'));
    assert.ok(before0.bob.allDeals.some((deal) => deal.status === 'closed'));
  });

  it('serves the same accounts, balances, orders, deals, history and ledger', async () => {
    assert.deepEqual(await snapshot(alice), before0.alice);
    assert.deepEqual(await snapshot(bob), before0.bob);
  });

  it('keeps SL/TP on open deals and resting orders', async () => {
    const [position] = (await alice.client.deals(alice.accountId)).filter(
      (deal) => deal.ticker === 'AAPL.nq',
    );
    assert.equal(position?.id, ids.alicePosition);
    assert.equal(position?.stop_loss, 90);
    assert.equal(position?.take_profit, 115);
    assert.equal((await bob.client.deals(bob.accountId))[0]?.stop_loss, 95);
    const limit = (await bob.client.orders(bob.accountId)).find((order) => order.id === ids.bobLimit);
    assert.equal(limit?.status, 'active');
    assert.equal(limit?.price, 95);
    assert.equal(limit?.stop_loss, 90);
    assert.equal(limit?.take_profit, 110);
  });

  it('serves the same quotes', async () => {
    assert.deepEqual(await quotes(), before0.quotes);
  });

  it('fires resting orders and SL/TP levels on the first crossing quote', async () => {
    // Ask 94.99 reaches bob's buy limit at 95; bid 94.97 reaches his stop loss at 95.
    await t.admin.setQuote('AAPL.nq', { bid: 94.97, ask: 94.99 });
    const bobOrders = await bob.client.orders(bob.accountId, ALL);
    const limit = bobOrders.find((order) => order.id === ids.bobLimit);
    assert.equal(limit?.status, 'filled');
    assert.equal(limit?.filled_price, 94.99);
    const stopLoss = bobOrders.find((order) => order.type === 'stop_loss');
    assert.deepEqual(stopLoss?.deals, [ids.bobSecond]);
    assert.equal(stopLoss?.filled_price, 94.97);
    const [opened] = await bob.client.deals(bob.accountId);
    assert.equal(opened?.open_price, 94.99);
    assert.equal(opened?.stop_loss, 90);
    assert.equal(opened?.take_profit, 110);

    // Bid 110.50 reaches alice's sell limit at 110 (reducing her long) and the new deal's TP at 110.
    await t.admin.setQuote('AAPL.nq', { bid: 110.5, ask: 110.52 });
    const aliceLimit = (await alice.client.orders(alice.accountId, ALL)).find(
      (order) => order.id === ids.aliceLimit,
    );
    assert.equal(aliceLimit?.status, 'filled');
    const position = (await alice.client.deals(alice.accountId)).find((deal) => deal.ticker === 'AAPL.nq');
    assert.equal(position?.id, ids.alicePosition);
    assert.equal(position?.volume, 6);
    const takeProfit = (await bob.client.orders(bob.accountId, ALL)).find(
      (order) => order.type === 'take_profit',
    );
    assert.deepEqual(takeProfit?.deals, [opened?.id]);
    assert.equal(takeProfit?.filled_price, 110.5);

    // Bid 1.089 reaches bob's sell stop at 1.09.
    await t.admin.setQuote('EURUSD', { bid: 1.089, ask: 1.08912 });
    const stop = (await bob.client.orders(bob.accountId, ALL)).find((order) => order.id === ids.bobStop);
    assert.equal(stop?.status, 'filled');
    assert.equal(stop?.filled_price, 1.089);
    const [short] = await bob.client.deals(bob.accountId);
    assert.equal(short?.side, 'sell');
    assert.equal(short?.stop_loss, 1.1);
    assert.deepEqual(await bob.client.orders(bob.accountId), []);
  });

  it('continues ids after the restart and never repeats one', async () => {
    await alice.client.placeOrder(alice.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    await bob.client.placeOrder(bob.accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'market',
      volume: 1,
    });
    const maxOf = (values: string[]): number => Math.max(...values.map(Number));
    const oldOrders = [...before0.alice.allOrders, ...before0.bob.allOrders].map((order) => order.id);
    const oldDeals = [...before0.alice.allDeals, ...before0.bob.allDeals].map((deal) => deal.id);
    const orders = [
      ...(await alice.client.orders(alice.accountId, ALL)),
      ...(await bob.client.orders(bob.accountId, ALL)),
    ].map((order) => order.id);
    const deals = [
      ...(await alice.client.deals(alice.accountId, ALL)),
      ...(await bob.client.deals(bob.accountId, ALL)),
    ].map((deal) => deal.id);
    assert.equal(new Set(orders).size, orders.length, 'order ids are unique');
    assert.equal(new Set(deals).size, deals.length, 'deal ids are unique');
    const newOrders = orders.filter((id) => !oldOrders.includes(id));
    const newDeals = deals.filter((id) => !oldDeals.includes(id));
    // New orders: the stop loss and the take profit the firing test set off, and the two market
    // orders above (the fired resting orders keep their ids). New deals: bob's filled limit and sell
    // stop, alice's closed part (all from the firing test), bob's sell.
    assert.equal(newOrders.length, 4);
    assert.equal(newDeals.length, 4);
    for (const id of newOrders) assert.ok(Number(id) > maxOf(oldOrders), `order ${id} reuses an old id`);
    for (const id of newDeals) assert.ok(Number(id) > maxOf(oldDeals), `deal ${id} reuses an old id`);
    for (const id of orders) assert.match(id, /^\d{9}$/);
    for (const id of deals) assert.match(id, /^\d{6}$/);
  });

  it('keeps everything across a second restart too', async () => {
    const aliceBefore = await snapshot(alice);
    const bobBefore = await snapshot(bob);
    await t.restart();
    assert.deepEqual(await snapshot(alice), aliceBefore);
    assert.deepEqual(await snapshot(bob), bobBefore);
  });
});
