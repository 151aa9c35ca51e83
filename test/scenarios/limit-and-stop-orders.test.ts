/**
 * Story: limit and stop orders rest `active` until a quote crosses them, then fill at that quote
 * (gaps are honest). Orders on the wrong side of the market are refused; active orders can be
 * modified and canceled, finished ones cannot.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { dealById, orderById, rejects400 } from './scenario-helpers.ts';

describe('limit and stop orders', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('a buy limit rests until ask ≤ price and fills at that better ask', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const id = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 5,
      price: 99.6,
    });
    const [resting] = await client.orders(accountId);
    assert.equal(resting?.id, id);
    assert.equal(resting?.status, 'active');
    assert.equal(resting?.price, 99.6);
    assert.equal(resting?.filled_price, undefined);
    assert.deepEqual(resting?.deals, []);

    await t.admin.setQuote('AAPL.nq', { bid: 99.59, ask: 99.61 }); // ask one cent above: waits
    assert.equal((await client.orders(accountId))[0]?.status, 'active');
    assert.deepEqual(await client.deals(accountId), []);

    await t.admin.setQuote('AAPL.nq', { bid: 99.55, ask: 99.57 });
    assert.deepEqual(await client.orders(accountId), []);
    const filled = await orderById(client, accountId, id);
    assert.equal(filled.status, 'filled');
    assert.equal(filled.filled_price, 99.57);
    assert.equal(filled.price, 99.6);
    assert.equal(filled.deals.length, 1);
    const deal = await dealById(client, accountId, filled.deals[0] ?? '');
    assert.equal(deal.side, 'buy');
    assert.equal(deal.volume, 5);
    assert.equal(deal.open_price, 99.57);
    const [fill] = await t.admin.fills(accountId);
    assert.equal(fill?.rule, 'buy limit 99.60 fired: ask 99.57 ≤ 99.60');
    assert.deepEqual(fill?.quote.ask, 99.57);
  });

  it('a buy stop at 101 fills at 103 when the next quote gaps to ask 103', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('MSFT.nq', { bid: 100, ask: 100.02 });
    const id = await client.placeOrder(accountId, {
      ticker: 'MSFT.nq',
      side: 'buy',
      type: 'stop',
      volume: 2,
      price: 101,
    });
    await t.admin.setQuote('MSFT.nq', { bid: 100.97, ask: 100.99 });
    assert.equal((await orderById(client, accountId, id)).status, 'active');
    await t.admin.setQuote('MSFT.nq', { bid: 102.98, ask: 103 });
    const filled = await orderById(client, accountId, id);
    assert.equal(filled.status, 'filled');
    assert.equal(filled.filled_price, 103);
    const deal = await dealById(client, accountId, filled.deals[0] ?? '');
    assert.equal(deal.open_price, 103);
    assert.equal(deal.profit, -0.04); // valued at bid 102.98
    const [fill] = await t.admin.fills(accountId);
    assert.equal(fill?.rule, 'buy stop 101.00 fired: ask 103.00 ≥ 101.00');
  });

  it('a sell limit fires on bid ≥ price and a sell stop on bid ≤ price, both at the bid', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('NVDA.nq', { bid: 100, ask: 100.02 });
    const limitId = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'sell',
      type: 'limit',
      volume: 1,
      price: 101.5,
    });
    const stopId = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'sell',
      type: 'stop',
      volume: 3,
      price: 98,
    });
    // The ask crossing a sell limit's price does not fire it: only the bid counts.
    await t.admin.setQuote('NVDA.nq', { bid: 101.49, ask: 101.55 });
    assert.deepEqual(
      (await client.orders(accountId)).map((order) => [order.id, order.status]),
      [
        [limitId, 'active'],
        [stopId, 'active'],
      ],
    );
    await t.admin.setQuote('NVDA.nq', { bid: 101.6, ask: 101.62 });
    const limit = await orderById(client, accountId, limitId);
    assert.equal(limit.status, 'filled');
    assert.equal(limit.filled_price, 101.6);

    await t.admin.setQuote('NVDA.nq', { bid: 98.01, ask: 98.03 });
    assert.equal((await orderById(client, accountId, stopId)).status, 'active');
    await t.admin.setQuote('NVDA.nq', { bid: 98, ask: 98.02 }); // exactly at the stop price
    const stop = await orderById(client, accountId, stopId);
    assert.equal(stop.status, 'filled');
    assert.equal(stop.filled_price, 98);
    const deals = await client.deals(accountId);
    assert.deepEqual(
      deals.map((deal) => [deal.side, deal.volume, deal.open_price]),
      [
        ['sell', 1, 101.6],
        ['sell', 3, 98],
      ],
    );
    const fills = await t.admin.fills(accountId);
    assert.deepEqual(
      fills.map((fill) => fill.rule),
      ['sell limit 101.50 fired: bid 101.60 ≥ 101.50', 'sell stop 98.00 fired: bid 98.00 ≤ 98.00'],
    );
  });

  it('refuses limits and stops on the wrong side of the market, and records them rejected', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('AMD.nq', { bid: 100, ask: 100.02 });
    const cases = [
      ['buy', 'limit', 100.02, 'buy limit price 100.02 must be below the current ask 100.02'],
      ['buy', 'stop', 100.01, 'buy stop price 100.01 must be above the current ask 100.02'],
      ['sell', 'limit', 99.99, 'sell limit price 99.99 must be above the current bid 100.00'],
      ['sell', 'stop', 100, 'sell stop price 100.00 must be below the current bid 100.00'],
    ] as const;
    for (const [side, type, price, msg] of cases) {
      await rejects400(client.placeOrder(accountId, { ticker: 'AMD.nq', side, type, volume: 1, price }), msg);
    }
    await rejects400(
      client.placeOrder(accountId, { ticker: 'AMD.nq', side: 'buy', type: 'limit', volume: 1 }),
      'price is required for limit orders',
    );
    const rejected = await client.orders(accountId, { status: 'rejected' });
    assert.deepEqual(
      rejected.map((order) => [order.side, order.type, order.price, order.status, order.comment]),
      [
        ...cases.map(([side, type, price, msg]) => [side, type, price, 'rejected', msg]),
        ['buy', 'limit', undefined, 'rejected', 'price is required for limit orders'],
      ],
    );
    assert.deepEqual(await client.orders(accountId), []);
    assert.deepEqual(await client.deals(accountId), []);
  });

  it('modifies an active order: the new price is the one that fires', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('INTC.nq', { bid: 35, ask: 35.01 });
    const id = await client.placeOrder(accountId, {
      ticker: 'INTC.nq',
      side: 'buy',
      type: 'limit',
      volume: 10,
      price: 34,
    });
    const before = await orderById(client, accountId, id);
    await client.modifyOrder(accountId, id, { price: 34.5, volume: 20 });
    const modified = await orderById(client, accountId, id);
    assert.equal(modified.status, 'active');
    assert.equal(modified.price, 34.5);
    assert.equal(modified.volume, 20);
    assert.equal(modified.create_time, before.create_time);
    assert.ok((modified.last_modified ?? 0) >= (before.last_modified ?? 0));

    await rejects400(
      client.modifyOrder(accountId, id, { price: 35.01 }),
      'buy limit price 35.01 must be below the current ask 35.01',
    );
    assert.equal(
      (await orderById(client, accountId, id)).price,
      34.5,
      'a refused change leaves it as it was',
    );

    // Ask 34.50 would not have reached the old price 34.00; it reaches the new one exactly.
    await t.admin.setQuote('INTC.nq', { bid: 34.49, ask: 34.5 });
    const filled = await orderById(client, accountId, id);
    assert.equal(filled.status, 'filled');
    assert.equal(filled.filled_price, 34.5);
    const deal = await dealById(client, accountId, filled.deals[0] ?? '');
    assert.equal(deal.volume, 20);

    await rejects400(client.modifyOrder(accountId, id, { price: 34 }), /not found or not active/);
    await rejects400(client.cancelOrder(accountId, id), /not found or not active/);
    const after = await orderById(client, accountId, id);
    assert.equal(after.status, 'filled');
    assert.equal(after.price, 34.5);
  });

  it('cancels an active order, which then never fires', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('KO.ny', { bid: 70, ask: 70.02 });
    const id = await client.placeOrder(accountId, {
      ticker: 'KO.ny',
      side: 'sell',
      type: 'stop',
      volume: 1,
      price: 69,
    });
    await client.cancelOrder(accountId, id);
    const canceled = await orderById(client, accountId, id);
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.comment, 'canceled by client');
    assert.deepEqual(await client.orders(accountId), []);
    assert.deepEqual(
      (await client.orders(accountId, { status: 'canceled' })).map((order) => order.id),
      [id],
    );
    await t.admin.setQuote('KO.ny', { bid: 68, ask: 68.02 });
    assert.equal((await orderById(client, accountId, id)).status, 'canceled');
    assert.deepEqual(await client.deals(accountId), []);
    await rejects400(client.cancelOrder(accountId, id), /not found or not active/);
    await rejects400(client.modifyOrder(accountId, id, { price: 67 }), /not found or not active/);
  });
});
