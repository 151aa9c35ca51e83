/**
 * Story: stock limit, stop, SL and TP orders trigger on the last trade price, as at the broker,
 * while FX and metals trigger on bid/ask. Fills stay at bid/ask: a triggered order is executed at
 * market, so a buy limit whose last crossed fills at the ask, even above its price. A stock quote
 * without a last falls back to bid/ask. The trigger source is per instrument
 * (`PUT /admin/v1/instruments/{ticker}` `trigger_source`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { allOrders, dealById, openAtMarket, orderById, rejects400 } from './scenario-helpers.ts';

describe('stock orders trigger on the last price', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('a stock buy limit fires on last ≤ price while the ask never reached it, and fills at the ask', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02, last: 100.01 });
    const id = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 5,
      price: 99.9,
    });
    await t.admin.setQuote('AAPL.nq', { bid: 99.9, ask: 99.92, last: 99.91 }); // bid at the price: no
    assert.equal((await orderById(client, accountId, id)).status, 'active');

    // The ask (99.93) stays above the limit; on bid/ask this order would still rest.
    await t.admin.setQuote('AAPL.nq', { bid: 99.91, ask: 99.93, last: 99.9 });
    const filled = await orderById(client, accountId, id);
    assert.equal(filled.status, 'filled');
    assert.equal(filled.price, 99.9);
    assert.equal(filled.filled_price, 99.93);
    const deal = await dealById(client, accountId, filled.deals[0] ?? '');
    assert.equal(deal.open_price, 99.93);
    const [fill] = await t.admin.fills(accountId);
    assert.equal(fill?.rule, 'buy limit 99.90 fired: last 99.90 ≤ 99.90');
    assert.deepEqual(fill?.quote, { time: fill?.quote.time, bid: 99.91, ask: 99.93 });
  });

  it('a stock sell limit and sell stop fire on the last and fill at the bid', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('NVDA.nq', { bid: 100, ask: 100.02, last: 100.01 });
    const limitId = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'sell',
      type: 'limit',
      volume: 1,
      price: 101,
    });
    const stopId = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'sell',
      type: 'stop',
      volume: 2,
      price: 99,
    });
    // The bid crossing the sell limit's price does not fire it: the last (100.99) has not.
    await t.admin.setQuote('NVDA.nq', { bid: 101, ask: 101.02, last: 100.99 });
    assert.equal((await orderById(client, accountId, limitId)).status, 'active');
    await t.admin.setQuote('NVDA.nq', { bid: 100.98, ask: 101, last: 101.01 });
    const limit = await orderById(client, accountId, limitId);
    assert.equal(limit.status, 'filled');
    assert.equal(limit.filled_price, 100.98);

    await t.admin.setQuote('NVDA.nq', { bid: 99, ask: 99.02, last: 99.01 }); // bid at the stop: no
    assert.equal((await orderById(client, accountId, stopId)).status, 'active');
    await t.admin.setQuote('NVDA.nq', { bid: 99.01, ask: 99.03, last: 99 });
    const stop = await orderById(client, accountId, stopId);
    assert.equal(stop.status, 'filled');
    assert.equal(stop.filled_price, 99.01);
    const rules = (await t.admin.fills(accountId)).map((fill) => fill.rule);
    assert.deepEqual(rules, [
      'sell limit 101.00 fired: last 101.01 ≥ 101.00',
      'sell stop 99.00 fired: last 99.00 ≤ 99.00',
    ]);
  });

  it("a long stock deal's TP and a short's SL fire on the last and close at bid/ask", async () => {
    const long = await openAtMarket(t, 'hedging', {
      ticker: 'MSFT.nq',
      side: 'buy',
      volume: 10,
      take_profit: 101,
    });
    const longDeal = (await orderById(long.client, long.accountId, long.orderId)).deals[0] ?? '';
    // The bid at the TP fires nothing while the last is below it.
    await t.admin.setQuote('MSFT.nq', { bid: 101, ask: 101.02, last: 100.99 });
    assert.equal((await long.client.deals(long.accountId)).length, 1);
    await t.admin.setQuote('MSFT.nq', { bid: 100.99, ask: 101.01, last: 101 });
    assert.deepEqual(await long.client.deals(long.accountId), []);
    const closed = await dealById(long.client, long.accountId, longDeal);
    assert.equal(closed.close_price, 100.99);
    const takeProfit = (await allOrders(long.client, long.accountId)).find(
      (order) => order.type === 'take_profit',
    );
    assert.equal(takeProfit?.filled_price, 100.99);
    const longRules = (await t.admin.fills(long.accountId)).map((fill) => fill.rule);
    assert.equal(longRules[1], 'take profit 101.00 fired: last 101.00 ≥ 101.00');

    const short = await openAtMarket(t, 'hedging', {
      ticker: 'MSFT.nq',
      side: 'sell',
      volume: 3,
      stop_loss: 101.5,
    });
    await t.admin.setQuote('MSFT.nq', { bid: 101.49, ask: 101.51, last: 101.49 }); // ask past SL: no
    assert.equal((await short.client.deals(short.accountId)).length, 1);
    await t.admin.setQuote('MSFT.nq', { bid: 101.48, ask: 101.5, last: 101.52 });
    assert.deepEqual(await short.client.deals(short.accountId), []);
    const stopLoss = (await allOrders(short.client, short.accountId)).find(
      (order) => order.type === 'stop_loss',
    );
    assert.equal(stopLoss?.filled_price, 101.5);
  });

  it('a stock quote without a last falls back to bid/ask', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('AMD.nq', { bid: 100, ask: 100.02, last: 100.01 });
    const id = await client.placeOrder(accountId, {
      ticker: 'AMD.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 99.5,
    });
    await t.admin.setQuote('AMD.nq', { bid: 99.49, ask: 99.51 }); // no last: the ask is compared
    assert.equal((await orderById(client, accountId, id)).status, 'active');
    await t.admin.setQuote('AMD.nq', { bid: 99.48, ask: 99.5 });
    const filled = await orderById(client, accountId, id);
    assert.equal(filled.status, 'filled');
    assert.equal(filled.filled_price, 99.5);
    const [fill] = await t.admin.fills(accountId);
    assert.equal(fill?.rule, 'buy limit 99.50 fired: ask 99.50 ≤ 99.50');
  });

  it('FX ignores a last and triggers on bid/ask, as before', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.10002 });
    const id = await client.placeOrder(accountId, {
      ticker: 'EURUSD',
      side: 'buy',
      type: 'limit',
      volume: 0.01,
      price: 1.099,
    });
    await t.admin.setQuote('EURUSD', { bid: 1.09899, ask: 1.09901, last: 1.098 });
    assert.equal((await orderById(client, accountId, id)).status, 'active');
    await t.admin.setQuote('EURUSD', { bid: 1.09898, ask: 1.099, last: 1.2 });
    const filled = await orderById(client, accountId, id);
    assert.equal(filled.status, 'filled');
    assert.equal(filled.filled_price, 1.099);
  });

  it('a stock set to bid_ask triggers on bid/ask; set back to last, on the last again', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.putInstrument('INTC.nq', { trigger_source: 'bid_ask' });
    await t.admin.setQuote('INTC.nq', { bid: 40, ask: 40.02, last: 40.01 });
    const first = await client.placeOrder(accountId, {
      ticker: 'INTC.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 39.5,
    });
    await t.admin.setQuote('INTC.nq', { bid: 39.49, ask: 39.51, last: 39.4 }); // last crossed: no
    assert.equal((await orderById(client, accountId, first)).status, 'active');
    await t.admin.setQuote('INTC.nq', { bid: 39.48, ask: 39.5, last: 39.6 });
    assert.equal((await orderById(client, accountId, first)).status, 'filled');

    await t.admin.putInstrument('INTC.nq', { trigger_source: 'last' });
    await t.admin.setQuote('INTC.nq', { bid: 40, ask: 40.02, last: 40.01 });
    const second = await client.placeOrder(accountId, {
      ticker: 'INTC.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 39.5,
    });
    await t.admin.setQuote('INTC.nq', { bid: 39.49, ask: 39.51, last: 39.5 });
    const filled = await orderById(client, accountId, second);
    assert.equal(filled.status, 'filled');
    assert.equal(filled.filled_price, 39.51);
  });

  it('a stock pending price, and a deal level, must sit on the right side of the last', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('TSLA.nq', { bid: 100, ask: 100.1, last: 99.9 });
    // Below the ask but not below the last: it would fire on the next quote.
    await rejects400(
      client.placeOrder(accountId, {
        ticker: 'TSLA.nq',
        side: 'buy',
        type: 'limit',
        volume: 1,
        price: 99.95,
      }),
      'buy limit price 99.95 must be below the current last 99.90',
    );
    await rejects400(
      client.placeOrder(accountId, {
        ticker: 'TSLA.nq',
        side: 'sell',
        type: 'stop',
        volume: 1,
        price: 99.95,
      }),
      'sell stop price 99.95 must be below the current last 99.90',
    );
    const orderId = await client.placeOrder(accountId, {
      ticker: 'TSLA.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    const dealId = (await orderById(client, accountId, orderId)).deals[0] ?? '';
    // Below the bid (100) but above the last (99.90): refused.
    await rejects400(
      client.modifyDeal(accountId, dealId, { stop_loss: 99.95 }),
      'stop_loss 99.95 must be below the current price 99.90 for a buy',
    );
    await client.modifyDeal(accountId, dealId, { stop_loss: 99.85 });
    assert.equal((await client.deals(accountId))[0]?.stop_loss, 99.85);
  });
});
