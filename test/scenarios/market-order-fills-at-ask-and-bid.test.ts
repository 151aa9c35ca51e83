/**
 * Story: a market order fills at once at the dealer's quote — a buy at the ask, a sell at the bid —
 * and is stored `filled` with its filled price and the deals it opened or closed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { allDeals, orderById } from './scenario-helpers.ts';

describe('market orders fill at the ask and the bid', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('buys at the ask, sells at the bid, and stores both orders filled with their deals', async () => {
    const { accountId, client } = await t.newAccount({ system: 'netting', balance: 100_000 });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });

    const buyId = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 10,
    });
    assert.match(buyId, /^\d{9}$/);
    const buy = await orderById(client, accountId, buyId);
    assert.equal(buy.status, 'filled');
    assert.equal(buy.type, 'market');
    assert.equal(buy.side, 'buy');
    assert.equal(buy.volume, 10);
    assert.equal(buy.filled_price, 100.02);
    assert.equal(buy.price, undefined);
    assert.equal(buy.deals.length, 1);
    const [dealId] = buy.deals;
    assert.ok(dealId);
    assert.match(dealId, /^\d{6}$/);

    const [open] = await client.deals(accountId);
    assert.deepEqual(
      { ...open, open_time: 0 },
      {
        id: dealId,
        ticker: 'AAPL.nq',
        volume: 10,
        side: 'buy',
        open_price: 100.02,
        open_time: 0,
        profit: -0.2, // valued at the bid: (100.00 − 100.02) × 10
        close_price: 100,
        status: 'open',
      },
    );

    await t.admin.setQuote('AAPL.nq', { bid: 101, ask: 101.02 });
    const sellId = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'market',
      volume: 10,
    });
    assert.ok(sellId > buyId, 'order ids increase');
    const sell = await orderById(client, accountId, sellId);
    assert.equal(sell.status, 'filled');
    assert.equal(sell.filled_price, 101);
    assert.deepEqual(sell.deals, [dealId], 'the sell lists the deal it closed');

    const deals = await allDeals(client, accountId);
    assert.equal(deals.length, 1);
    const closed = deals[0];
    assert.ok(closed);
    assert.equal(closed.status, 'closed');
    assert.equal(closed.close_price, 101);
    assert.equal(closed.profit, 9.8); // (101.00 − 100.02) × 10
    assert.equal(typeof closed.close_time, 'number');
    assert.deepEqual(await client.deals(accountId), []);

    const state = await client.accountState(accountId);
    assert.deepEqual(state.margin, {
      balance: 100_009.8,
      unrealized_pl: 0,
      equity: 100_009.8,
      margin: 0,
      free_margin: 100_009.8,
    });
  });

  it('never leaves a market order current: no active or in_execution orders afterwards', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('MSFT.nq', { bid: 400.5, ask: 400.6 });
    const id = await client.placeOrder(accountId, {
      ticker: 'MSFT.nq',
      side: 'sell',
      type: 'market',
      volume: 3,
    });
    assert.deepEqual(await client.orders(accountId), []);
    assert.deepEqual(await client.orders(accountId, { status: 'in_execution' }), []);
    const filled = await client.orders(accountId, { status: 'filled' });
    assert.deepEqual(
      filled.map((order) => [order.id, order.status, order.filled_price]),
      [[id, 'filled', 400.5]],
    );
    const [short] = await client.deals(accountId);
    assert.ok(short);
    assert.equal(short.side, 'sell');
    assert.equal(short.open_price, 400.5);
    assert.equal(short.close_price, 400.6, 'a short is valued at the ask');
    assert.equal(short.profit, -0.3);
    assert.deepEqual(filled[0]?.deals, [short.id]);
  });

  it('explains each fill with the quote it used', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    const quote = await t.admin.setQuote('NVDA.nq', { bid: 180.1, ask: 180.15 });
    const buyId = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'buy',
      type: 'market',
      volume: 2,
    });
    const sellId = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'sell',
      type: 'market',
      volume: 1,
    });
    const fills = await t.admin.fills(accountId);
    assert.deepEqual(
      fills.map((fill) => ({ ...fill, time: 0, deals: fill.deals.length })),
      [
        {
          order_id: buyId,
          ticker: 'NVDA.nq',
          side: 'buy',
          order_type: 'market',
          volume: 2,
          price: 180.15,
          time: 0,
          quote: { time: quote.time, bid: 180.1, ask: 180.15 },
          rule: 'buy market filled at ask 180.15',
          deals: 1,
        },
        {
          order_id: sellId,
          ticker: 'NVDA.nq',
          side: 'sell',
          order_type: 'market',
          volume: 1,
          price: 180.1,
          time: 0,
          quote: { time: quote.time, bid: 180.1, ask: 180.15 },
          rule: 'sell market filled at bid 180.10',
          deals: 1,
        },
      ],
    );
  });
});
