/**
 * Story: on a hedging account every fill opens its own deal, opposite sides included; DELETE on a
 * deal closes that whole deal at market through a market order.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { allDeals, orderById, rejects400 } from './scenario-helpers.ts';

describe('hedging: a deal per fill', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('opens a deal per fill and closes single deals at market', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 100_000 });
    const market = async (side: 'buy' | 'sell', volume: number) => {
      const order = await orderById(
        client,
        accountId,
        await client.placeOrder(accountId, { ticker: 'AAPL.nq', side, type: 'market', volume }),
      );
      assert.equal(order.deals.length, 1);
      return order.deals[0] ?? '';
    };
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const d1 = await market('buy', 10);
    const d2 = await market('buy', 5);
    const d3 = await market('sell', 3); // does not reduce d1 or d2
    assert.ok(d1 < d2 && d2 < d3);
    assert.deepEqual(
      (await client.deals(accountId)).map((deal) => [deal.id, deal.side, deal.volume, deal.open_price]),
      [
        [d1, 'buy', 10, 100.02],
        [d2, 'buy', 5, 100.02],
        [d3, 'sell', 3, 100],
      ],
    );

    await t.admin.setQuote('AAPL.nq', { bid: 101, ask: 101.02 });
    await client.closeDeal(accountId, d1);
    await client.closeDeal(accountId, d3);
    const all = await allDeals(client, accountId);
    assert.deepEqual(
      all.map((deal) => [deal.id, deal.status, deal.close_price, deal.profit]),
      [
        [d1, 'closed', 101, 9.8], // (101.00 − 100.02) × 10 at the bid
        [d2, 'open', 101, 4.9], // live: (101.00 − 100.02) × 5
        [d3, 'closed', 101.02, -3.06], // (100.00 − 101.02) × 3 at the ask
      ],
    );

    const closing = (await client.orders(accountId, { status: 'filled' })).slice(3);
    assert.deepEqual(
      closing.map((order) => [
        order.type,
        order.side,
        order.volume,
        order.filled_price,
        order.deals,
        order.comment,
      ]),
      [
        ['market', 'sell', 10, 101, [d1], `close deal ${d1}`],
        ['market', 'buy', 3, 101.02, [d3], `close deal ${d3}`],
      ],
    );
    const fills = await t.admin.fills(accountId);
    assert.deepEqual(
      fills.slice(3).map((fill) => fill.rule),
      [`close deal ${d1} at bid 101.00`, `close deal ${d3} at ask 101.02`],
    );

    const state = await client.accountState(accountId);
    assert.deepEqual(state.margin, {
      balance: 100_006.74,
      unrealized_pl: 4.9,
      equity: 100_011.64,
      margin: 25.25, // 5 × 101.00 × 0.05
      free_margin: 99_986.39,
    });

    await rejects400(client.closeDeal(accountId, d1), `deal ${d1} not found or not open`);
    await rejects400(client.closeDeal(accountId, '999999'), 'deal 999999 not found or not open');
    assert.equal((await client.orders(accountId, { status: 'filled' })).length, 5);
  });

  it('equal and opposite fills stay two deals, and both are valued', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 1_000 });
    await t.admin.setQuote('MSFT.nq', { bid: 50, ask: 50.04 });
    await client.placeOrder(accountId, { ticker: 'MSFT.nq', side: 'buy', type: 'market', volume: 10 });
    await client.placeOrder(accountId, { ticker: 'MSFT.nq', side: 'sell', type: 'market', volume: 10 });
    const deals = await client.deals(accountId);
    assert.deepEqual(
      deals.map((deal) => [deal.side, deal.volume, deal.open_price, deal.close_price, deal.profit]),
      [
        ['buy', 10, 50.04, 50, -0.4],
        ['sell', 10, 50, 50.04, -0.4],
      ],
    );
    const state = await client.accountState(accountId);
    // No hedged-margin offset: both legs carry margin at their closing price.
    assert.deepEqual(state.margin, {
      balance: 1_000,
      unrealized_pl: -0.8,
      equity: 999.2,
      margin: 50.02, // 10 × 50.00 × 0.05 + 10 × 50.04 × 0.05
      free_margin: 949.18,
    });
  });
});
