/**
 * Story: stop loss and take profit. Given on an order they pass to its deal; on a deal they can be
 * set, moved and cleared (0). They fire on quotes — a long watches the bid, a short the ask — and
 * close the deal through a system order of type `stop_loss` / `take_profit`. Levels on the wrong
 * side of the price are refused with a clear msg.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { allOrders, dealById, openAtMarket, orderById, rejects400 } from './scenario-helpers.ts';

describe('stop loss and take profit', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('passes SL/TP from a market order to its deal, and a long TP fires when bid ≥ TP', async () => {
    const { accountId, client, orderId } = await openAtMarket(t, 'hedging', {
      ticker: 'AAPL.nq',
      side: 'buy',
      volume: 10,
      stop_loss: 99.5,
      take_profit: 101,
    });
    const order = await orderById(client, accountId, orderId);
    assert.equal(order.stop_loss, 99.5);
    assert.equal(order.take_profit, 101);
    const dealId = order.deals[0] ?? '';
    const [deal] = await client.deals(accountId);
    assert.equal(deal?.id, dealId);
    assert.equal(deal?.stop_loss, 99.5);
    assert.equal(deal?.take_profit, 101);

    await t.admin.setQuote('AAPL.nq', { bid: 100.99, ask: 101.01 }); // the ask crossing does not count
    assert.equal((await client.deals(accountId)).length, 1);

    await t.admin.setQuote('AAPL.nq', { bid: 101, ask: 101.02 });
    assert.deepEqual(await client.deals(accountId), []);
    const closed = await dealById(client, accountId, dealId);
    assert.equal(closed.status, 'closed');
    assert.equal(closed.close_price, 101);
    assert.equal(closed.profit, 9.8); // (101.00 − 100.02) × 10

    const filled = await client.orders(accountId, { status: 'filled' });
    assert.equal(filled.length, 2);
    const system = filled[1];
    assert.ok(system);
    assert.ok(system.id > orderId);
    assert.equal(system.type, 'take_profit');
    assert.equal(system.side, 'sell');
    assert.equal(system.volume, 10);
    assert.equal(system.price, 101);
    assert.equal(system.filled_price, 101);
    assert.deepEqual(system.deals, [dealId]);
    assert.equal(system.status, 'filled');
    assert.match(system.comment ?? '', new RegExp(`take profit of deal ${dealId}`));
    assert.equal((await client.accountState(accountId)).margin.balance, 10_009.8);
    const fills = await t.admin.fills(accountId);
    assert.equal(fills[1]?.rule, 'take profit 101.00 fired: bid 101.00 ≥ 101.00');
    assert.equal(fills[1]?.order_type, 'take_profit');
  });

  it('sets, moves and clears SL/TP on a deal; the moved stop loss is the one that fires', async () => {
    const { accountId, client, orderId } = await openAtMarket(t, 'hedging', {
      ticker: 'MSFT.nq',
      side: 'buy',
      volume: 4,
    });
    const dealId = (await orderById(client, accountId, orderId)).deals[0] ?? '';
    let deal = await dealById(client, accountId, dealId);
    assert.equal(deal.stop_loss, undefined);
    assert.equal(deal.take_profit, undefined);

    await client.modifyDeal(accountId, dealId, { stop_loss: 99, take_profit: 103 });
    deal = await dealById(client, accountId, dealId);
    assert.deepEqual([deal.stop_loss, deal.take_profit], [99, 103]);

    await client.modifyDeal(accountId, dealId, { stop_loss: 99.8 }); // absent TP stays
    deal = await dealById(client, accountId, dealId);
    assert.deepEqual([deal.stop_loss, deal.take_profit], [99.8, 103]);

    await client.modifyDeal(accountId, dealId, { take_profit: 0 });
    deal = await dealById(client, accountId, dealId);
    assert.equal(deal.stop_loss, 99.8);
    assert.equal(deal.take_profit, undefined);
    assert.ok(!('take_profit' in deal), 'a cleared level leaves the wire');

    await t.admin.setQuote('MSFT.nq', { bid: 103.5, ask: 103.52 }); // the cleared TP does not fire
    assert.equal((await client.deals(accountId)).length, 1);

    await t.admin.setQuote('MSFT.nq', { bid: 99.81, ask: 99.83 });
    assert.equal((await client.deals(accountId)).length, 1);
    await t.admin.setQuote('MSFT.nq', { bid: 99.8, ask: 99.82 });
    assert.deepEqual(await client.deals(accountId), []);
    const closed = await dealById(client, accountId, dealId);
    assert.equal(closed.close_price, 99.8);
    assert.equal(closed.profit, -0.88); // (99.80 − 100.02) × 4
    const [, system] = await client.orders(accountId, { status: 'filled' });
    assert.equal(system?.type, 'stop_loss');
    assert.equal(system?.price, 99.8);
    assert.equal(system?.filled_price, 99.8);
    assert.deepEqual(system?.deals, [dealId]);
    assert.equal((await client.accountState(accountId)).margin.balance, 9_999.12);
  });

  it('a short watches the ask: SL when ask ≥ SL, TP when ask ≤ TP', async () => {
    const {
      accountId,
      client,
      orderId: slOrder,
    } = await openAtMarket(t, 'hedging', {
      ticker: 'NVDA.nq',
      side: 'sell',
      volume: 2,
      stop_loss: 101,
    });
    const tpOrder = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'sell',
      type: 'market',
      volume: 3,
      take_profit: 99,
    });
    const slDeal = (await orderById(client, accountId, slOrder)).deals[0] ?? '';
    const tpDeal = (await orderById(client, accountId, tpOrder)).deals[0] ?? '';

    await t.admin.setQuote('NVDA.nq', { bid: 100.97, ask: 100.99 }); // ask one cent short of the SL
    assert.equal((await client.deals(accountId)).length, 2);
    await t.admin.setQuote('NVDA.nq', { bid: 100.98, ask: 101 });
    assert.deepEqual(
      (await client.deals(accountId)).map((deal) => deal.id),
      [tpDeal],
    );
    const stopped = await dealById(client, accountId, slDeal);
    assert.equal(stopped.close_price, 101);
    assert.equal(stopped.profit, -2); // (100.00 − 101.00) × 2

    await t.admin.setQuote('NVDA.nq', { bid: 98.99, ask: 99.01 }); // bid through the TP: ignored
    assert.equal((await client.deals(accountId)).length, 1);
    await t.admin.setQuote('NVDA.nq', { bid: 98.98, ask: 99 });
    assert.deepEqual(await client.deals(accountId), []);
    const taken = await dealById(client, accountId, tpDeal);
    assert.equal(taken.close_price, 99);
    assert.equal(taken.profit, 3); // (100.00 − 99.00) × 3

    const system = (await client.orders(accountId, { status: 'filled' })).slice(2);
    assert.deepEqual(
      system.map((order) => [order.type, order.side, order.volume, order.filled_price, order.deals]),
      [
        ['stop_loss', 'buy', 2, 101, [slDeal]],
        ['take_profit', 'buy', 3, 99, [tpDeal]],
      ],
    );
    const rules = (await t.admin.fills(accountId)).slice(2).map((fill) => fill.rule);
    assert.deepEqual(rules, [
      'stop loss 101.00 fired: ask 101.00 ≥ 101.00',
      'take profit 99.00 fired: ask 99.00 ≤ 99.00',
    ]);
    assert.equal((await client.accountState(accountId)).margin.balance, 10_001);
  });

  it('passes SL/TP from a pending order to the deal it opens', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 10_000 });
    await t.admin.setQuote('AMD.nq', { bid: 100, ask: 100.02 });
    const orderId = await client.placeOrder(accountId, {
      ticker: 'AMD.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 99,
      stop_loss: 98,
      take_profit: 102,
    });
    await client.modifyOrder(accountId, orderId, { take_profit: 103 });
    await t.admin.setQuote('AMD.nq', { bid: 98.97, ask: 98.99 });
    const order = await orderById(client, accountId, orderId);
    assert.equal(order.status, 'filled');
    const [deal] = await client.deals(accountId);
    assert.equal(deal?.id, order.deals[0]);
    assert.equal(deal?.open_price, 98.99);
    assert.equal(deal?.stop_loss, 98);
    assert.equal(deal?.take_profit, 103);
  });

  it('refuses SL/TP on the wrong side, on orders and on deals, and records rejected orders', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 10_000 });
    await t.admin.setQuote('INTC.nq', { bid: 35, ask: 35.02 });
    const market = { ticker: 'INTC.nq', type: 'market', volume: 1 } as const;
    await rejects400(
      client.placeOrder(accountId, { ...market, side: 'buy', stop_loss: 35 }),
      'stop_loss 35.00 must be below the current price 35.00 for a buy',
    );
    await rejects400(
      client.placeOrder(accountId, { ...market, side: 'buy', take_profit: 34.9 }),
      'take_profit 34.90 must be above the current price 35.00 for a buy',
    );
    await rejects400(
      client.placeOrder(accountId, { ...market, side: 'sell', stop_loss: 35.01 }),
      'stop_loss 35.01 must be above the current price 35.02 for a sell',
    );
    await rejects400(
      client.placeOrder(accountId, { ...market, side: 'sell', take_profit: 35.5 }),
      'take_profit 35.50 must be below the current price 35.02 for a sell',
    );
    await rejects400(
      client.placeOrder(accountId, {
        ticker: 'INTC.nq',
        side: 'buy',
        type: 'limit',
        volume: 1,
        price: 34,
        stop_loss: 34.5,
      }),
      'stop_loss 34.50 must be below the order price 34.00 for a buy',
    );
    const rejected = await client.orders(accountId, { status: 'rejected' });
    assert.equal(rejected.length, 5);
    assert.ok(rejected.every((order) => order.status === 'rejected' && /must be/.test(order.comment ?? '')));
    assert.deepEqual(await client.deals(accountId), []);

    const longId =
      (await orderById(client, accountId, await client.placeOrder(accountId, { ...market, side: 'buy' })))
        .deals[0] ?? '';
    const shortId =
      (await orderById(client, accountId, await client.placeOrder(accountId, { ...market, side: 'sell' })))
        .deals[0] ?? '';
    await rejects400(
      client.modifyDeal(accountId, longId, { stop_loss: 35.1 }),
      'stop_loss 35.10 must be below the current price 35.00 for a buy',
    );
    await rejects400(
      client.modifyDeal(accountId, longId, { take_profit: 35 }),
      'take_profit 35.00 must be above the current price 35.00 for a buy',
    );
    await rejects400(
      client.modifyDeal(accountId, shortId, { stop_loss: 34.9 }),
      'stop_loss 34.90 must be above the current price 35.02 for a sell',
    );
    await rejects400(
      client.modifyDeal(accountId, shortId, { take_profit: 36 }),
      'take_profit 36.00 must be below the current price 35.02 for a sell',
    );
    await rejects400(client.modifyDeal(accountId, longId, { stop_loss: 34.999 }), /stop_loss .*min_tick/);
    const deals = await client.deals(accountId);
    assert.ok(deals.every((deal) => deal.stop_loss === undefined && deal.take_profit === undefined));
    assert.equal((await allOrders(client, accountId)).length, 7, 'refused deal changes record no orders');
  });
});
