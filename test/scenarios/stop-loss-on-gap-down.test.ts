/**
 * Story: a gap through a stop loss fills at the gapped quote, not at the stop level, and the admin
 * explained-fills endpoint says which quote fired which rule.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { dealById, openAtMarket, orderById } from './scenario-helpers.ts';

describe('stop loss on a gap', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('a long stop loss at 99.50 gapped through by bid 99.40 closes at 99.40', async () => {
    const { accountId, client, orderId } = await openAtMarket(t, 'netting', {
      ticker: 'AAPL.nq',
      side: 'buy',
      volume: 10,
      stop_loss: 99.5,
    });
    const dealId = (await orderById(client, accountId, orderId)).deals[0] ?? '';

    await t.admin.setQuote('AAPL.nq', { bid: 99.51, ask: 99.53 });
    assert.equal((await client.deals(accountId)).length, 1, 'one cent above the stop: still open');

    const gap = await t.admin.setQuote('AAPL.nq', { bid: 99.4, ask: 99.42 });
    assert.deepEqual(await client.deals(accountId), []);
    const deal = await dealById(client, accountId, dealId);
    assert.equal(deal.status, 'closed');
    assert.equal(deal.close_price, 99.4);
    assert.equal(deal.profit, -6.2); // (99.40 − 100.02) × 10, not (99.50 − 100.02) × 10
    // Closed by that quote: the step time is read just after the quote was stamped.
    assert.ok(
      deal.close_time !== undefined && deal.close_time - gap.time >= 0 && deal.close_time - gap.time <= 1,
    );

    const [, stop] = await client.orders(accountId, { status: 'filled' });
    assert.equal(stop?.type, 'stop_loss');
    assert.equal(stop?.side, 'sell');
    assert.equal(stop?.price, 99.5);
    assert.equal(stop?.filled_price, 99.4);
    assert.deepEqual(stop?.deals, [dealId]);

    const fills = await t.admin.fills(accountId);
    assert.equal(fills.length, 2);
    assert.deepEqual(
      { ...fills[1], time: 0 },
      {
        order_id: stop?.id,
        ticker: 'AAPL.nq',
        side: 'sell',
        order_type: 'stop_loss',
        volume: 10,
        price: 99.4,
        time: 0,
        quote: { time: gap.time, bid: 99.4, ask: 99.42 },
        rule: 'stop loss 99.50 fired: bid 99.40 ≤ 99.50',
        deals: [dealId],
      },
    );
    const state = await client.accountState(accountId);
    assert.equal(state.margin.balance, 9_993.8);
    assert.equal(state.margin.equity, 9_993.8);
  });

  it('a short stop loss at 101 gapped through by ask 101.30 closes at 101.30', async () => {
    const { accountId, client, orderId } = await openAtMarket(t, 'netting', {
      ticker: 'MSFT.nq',
      side: 'sell',
      volume: 5,
      stop_loss: 101,
    });
    const dealId = (await orderById(client, accountId, orderId)).deals[0] ?? '';
    await t.admin.setQuote('MSFT.nq', { bid: 101.28, ask: 101.3 });
    const deal = await dealById(client, accountId, dealId);
    assert.equal(deal.close_price, 101.3);
    assert.equal(deal.profit, -6.5); // (100.00 − 101.30) × 5
    const [, fill] = await t.admin.fills(accountId);
    assert.equal(fill?.rule, 'stop loss 101.00 fired: ask 101.30 ≥ 101.00');
    assert.equal(fill?.price, 101.3);
    assert.equal((await client.accountState(accountId)).margin.balance, 9_993.5);
  });

  it('a gap through a buy limit and its stop loss fills and stops out on that same quote', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 10_000 });
    await t.admin.setQuote('NVDA.nq', { bid: 100, ask: 100.02 });
    const orderId = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'buy',
      type: 'limit',
      volume: 10,
      price: 99.6,
      stop_loss: 99.5,
    });
    // One quote gaps below both the limit (ask 99.40 ≤ 99.60) and the stop loss (bid 99.38 ≤ 99.50).
    const gap = await t.admin.setQuote('NVDA.nq', { bid: 99.38, ask: 99.4 });
    const order = await orderById(client, accountId, orderId);
    assert.equal(order.status, 'filled');
    assert.equal(order.filled_price, 99.4);
    assert.deepEqual(
      await client.deals(accountId),
      [],
      'the stop loss fired on the quote that opened the deal',
    );
    const deal = await dealById(client, accountId, order.deals[0] ?? '');
    assert.equal(deal.open_price, 99.4);
    assert.equal(deal.close_price, 99.38);
    assert.equal(deal.profit, -0.2);
    assert.deepEqual(
      (await t.admin.fills(accountId)).map((fill) => [
        fill.order_type,
        fill.price,
        fill.quote.time,
        fill.rule,
      ]),
      [
        ['limit', 99.4, gap.time, 'buy limit 99.60 fired: ask 99.40 ≤ 99.60'],
        ['stop_loss', 99.38, gap.time, 'stop loss 99.50 fired: bid 99.38 ≤ 99.50'],
      ],
    );
    assert.equal((await client.accountState(accountId)).margin.balance, 9_999.8);
  });
});
