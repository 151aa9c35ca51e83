/**
 * Story: a netting account keeps one open deal per ticker. Same-side orders add to it at a
 * volume-weighted open price; a smaller opposite order splits off a closed deal with realised P/L
 * while the open deal keeps its id; an equal one closes it; a larger one reverses it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { allDeals, orderById } from './scenario-helpers.ts';

describe('netting: add, reduce, close, reverse', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('walks one position through every netting effect with balances exact to the cent', async () => {
    const { accountId, client } = await t.newAccount({ system: 'netting', balance: 100_000 });
    const market = (side: 'buy' | 'sell', volume: number) =>
      client.placeOrder(accountId, { ticker: 'AAPL.nq', side, type: 'market', volume });
    const balance = async () => (await client.accountState(accountId)).margin.balance;

    // Open: buy 10 at 100.02.
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const open = await orderById(client, accountId, await market('buy', 10));
    const [d1] = open.deals;
    assert.ok(d1);

    // Add: buy 30 at 101.02 → 40 at (10 × 100.02 + 30 × 101.02) / 40 = 100.77, same deal id.
    await t.admin.setQuote('AAPL.nq', { bid: 101, ask: 101.02 });
    const add = await orderById(client, accountId, await market('buy', 30));
    assert.deepEqual(add.deals, [d1]);
    assert.equal(add.filled_price, 101.02);
    let deals = await client.deals(accountId);
    assert.equal(deals.length, 1);
    assert.deepEqual(
      { id: deals[0]?.id, side: deals[0]?.side, volume: deals[0]?.volume, open: deals[0]?.open_price },
      { id: d1, side: 'buy', volume: 40, open: 100.77 },
    );
    assert.equal(deals[0]?.profit, 9.2); // (101.00 − 100.77) × 40
    assert.equal(await balance(), 100_000);

    // Reduce: sell 15 at 102.00 → a closed deal of 15 with (102.00 − 100.77) × 15 = 18.45.
    await t.admin.setQuote('AAPL.nq', { bid: 102, ask: 102.02 });
    const reduce = await orderById(client, accountId, await market('sell', 15));
    assert.equal(reduce.deals.length, 2);
    assert.equal(reduce.deals[0], d1, 'the open deal is listed first and keeps its id');
    const split = reduce.deals[1];
    assert.ok(split && split > d1, 'the closed part gets a new, higher id');
    deals = await client.deals(accountId);
    assert.deepEqual(
      deals.map((deal) => [deal.id, deal.side, deal.volume, deal.open_price, deal.status]),
      [[d1, 'buy', 25, 100.77, 'open']],
    );
    const closedPart = (await allDeals(client, accountId)).find((deal) => deal.id === split);
    assert.deepEqual(
      { ...closedPart, open_time: 0, close_time: 0 },
      {
        id: split,
        ticker: 'AAPL.nq',
        volume: 15,
        side: 'buy',
        open_price: 100.77,
        open_time: 0,
        profit: 18.45,
        close_price: 102,
        close_time: 0,
        status: 'closed',
      },
    );
    assert.equal(await balance(), 100_018.45);

    // Close: sell the remaining 25 at 102.00 → (102.00 − 100.77) × 25 = 30.75.
    const close = await orderById(client, accountId, await market('sell', 25));
    assert.deepEqual(close.deals, [d1]);
    assert.deepEqual(await client.deals(accountId), []);
    const closed = (await allDeals(client, accountId)).find((deal) => deal.id === d1);
    assert.equal(closed?.status, 'closed');
    assert.equal(closed?.volume, 25);
    assert.equal(closed?.profit, 30.75);
    assert.equal(await balance(), 100_049.2);

    // Reverse: long 10 at 102.02, then sell 25 at 99.00 → long closed with −30.20, short 15 opened.
    const reopen = await orderById(client, accountId, await market('buy', 10));
    const [d3] = reopen.deals;
    assert.ok(d3 && d3 > (split ?? ''));
    await t.admin.setQuote('AAPL.nq', { bid: 99, ask: 99.02 });
    const reverse = await orderById(client, accountId, await market('sell', 25));
    assert.equal(reverse.filled_price, 99);
    assert.equal(reverse.deals.length, 2);
    assert.equal(reverse.deals[0], d3);
    const d4 = reverse.deals[1];
    const all = await allDeals(client, accountId);
    assert.deepEqual(
      all
        .filter((deal) => deal.id === d3 || deal.id === d4)
        .map((deal) => [deal.id, deal.side, deal.volume, deal.open_price, deal.status, deal.profit]),
      [
        [d3, 'buy', 10, 102.02, 'closed', -30.2],
        [d4, 'sell', 15, 99, 'open', -0.3], // a short is valued at the ask 99.02
      ],
    );
    assert.equal(all.length, 4, 'd1, its split part, d3 and d4');
    const state = await client.accountState(accountId);
    assert.deepEqual(state.margin, {
      balance: 100_019,
      unrealized_pl: -0.3,
      equity: 100_018.7,
      margin: 74.27, // 15 × 99.02 × 0.05 = 74.265, rounded half away from zero
      free_margin: 99_944.43,
    });
    // Realised profits add up to the balance change exactly.
    const realised = all
      .filter((deal) => deal.status === 'closed')
      .reduce((sum, deal) => sum + deal.profit * 100, 0);
    assert.equal(Math.round(realised), 1_900);
  });

  it('adding to a position at different prices keeps the weighted open price exact', async () => {
    const { accountId, client } = await t.newAccount({ system: 'netting', balance: 100_000 });
    await t.admin.setQuote('MSFT.nq', { bid: 10, ask: 10.01 });
    await client.placeOrder(accountId, { ticker: 'MSFT.nq', side: 'sell', type: 'market', volume: 1 });
    await t.admin.setQuote('MSFT.nq', { bid: 10.01, ask: 10.02 });
    await client.placeOrder(accountId, { ticker: 'MSFT.nq', side: 'sell', type: 'market', volume: 2 });
    const [deal] = await client.deals(accountId);
    // (1 × 10.00 + 2 × 10.01) / 3 = 10.00666…, carried to the price unit of 1e-8.
    assert.equal(deal?.open_price, 10.00666667);
    assert.equal(deal?.volume, 3);
    // Closing it all at ask 10.02 realises (10.00666667 − 10.02) × 3 = −0.03999999 → −0.04.
    await client.placeOrder(accountId, { ticker: 'MSFT.nq', side: 'buy', type: 'market', volume: 3 });
    assert.equal((await client.accountState(accountId)).margin.balance, 99_999.96);
  });
});
