/**
 * Story: margin. Required margin = volume × contract_size × closing price × leverage in the
 * account currency; the account view shows it exactly. An order that would push free margin below
 * zero is refused and recorded `rejected`. Below a 100% margin level a margin call closes nothing;
 * below 50% the worst deal is closed first through `stop_out` orders until the level recovers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { allDeals, orderById, rejects400 } from './scenario-helpers.ts';

describe('margin and stop-out', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('reports cash and margin exactly, valuing longs at the bid and shorts at the ask', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 10_000 });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const [instrument] = (await client.accountInstruments(accountId)).filter((i) => i.ticker === 'AAPL.nq');
    assert.equal(instrument?.leverage, 0.05);
    assert.equal(instrument?.contract_size, 1);

    assert.deepEqual(await client.accountState(accountId), {
      cash: { my_portfolio: 10_000, investments: 0, available_to_invest: 10_000 },
      margin: { balance: 10_000, unrealized_pl: 0, equity: 10_000, margin: 0, free_margin: 10_000 },
    });

    await client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 100 });
    // Long 100 opened at 100.02, valued at bid 100.00: P/L −2.00, margin 100 × 1 × 100.00 × 0.05 = 500.00.
    assert.deepEqual(await client.accountState(accountId), {
      cash: { my_portfolio: 9_998, investments: 10_000, available_to_invest: 9_498 },
      margin: { balance: 10_000, unrealized_pl: -2, equity: 9_998, margin: 500, free_margin: 9_498 },
    });

    await client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'sell', type: 'market', volume: 50 });
    // Short 50 opened at 100.00, valued at ask 100.02: P/L −1.00, margin 50 × 100.02 × 0.05 = 250.05,
    // market value 50 × 100.02 = 5001.00.
    assert.deepEqual(await client.accountState(accountId), {
      cash: { my_portfolio: 9_997, investments: 15_001, available_to_invest: 9_246.95 },
      margin: { balance: 10_000, unrealized_pl: -3, equity: 9_997, margin: 750.05, free_margin: 9_246.95 },
    });

    await t.admin.setQuote('AAPL.nq', { bid: 110.37, ask: 110.41 });
    // Long: (110.37 − 100.02) × 100 = 1035.00, margin 551.85; short: (100.00 − 110.41) × 50 = −520.50,
    // margin 276.025 → 276.03. Market value 11037.00 + 5520.50.
    assert.deepEqual(await client.accountState(accountId), {
      cash: { my_portfolio: 10_514.5, investments: 16_557.5, available_to_invest: 9_686.62 },
      margin: {
        balance: 10_000,
        unrealized_pl: 514.5,
        equity: 10_514.5,
        margin: 827.88,
        free_margin: 9_686.62,
      },
    });
    const deals = await client.deals(accountId);
    assert.deepEqual(
      deals.map((deal) => [deal.side, deal.close_price, deal.profit]),
      [
        ['buy', 110.37, 1035],
        ['sell', 110.41, -520.5],
      ],
    );
  });

  it('refuses an order that would leave free margin negative and records it rejected', async () => {
    const { accountId, client } = await t.newAccount({ system: 'netting', balance: 1_000 });
    await t.admin.setQuote('MSFT.nq', { bid: 100, ask: 100.02 });
    // 200 at ask 100.02: margin 200 × 100.00 × 0.05 = 1000.00, equity 1000 − 4.00 = 996.00 → −4.00 free.
    await rejects400(
      client.placeOrder(accountId, { ticker: 'MSFT.nq', side: 'buy', type: 'market', volume: 200 }),
      'insufficient margin: requires 1000.00 USD, free margin 1000.00 USD',
    );
    const [rejected] = await client.orders(accountId, { status: 'rejected' });
    assert.equal(rejected?.status, 'rejected');
    assert.equal(rejected?.volume, 200);
    assert.equal(rejected?.comment, 'insufficient margin: requires 1000.00 USD, free margin 1000.00 USD');
    assert.deepEqual(rejected?.deals, []);
    assert.equal(rejected?.filled_price, undefined);
    assert.deepEqual(await client.deals(accountId), []);

    // 199 fits: margin 995.00, equity 1000 − 3.98 = 996.02, free 1.02.
    const id = await client.placeOrder(accountId, {
      ticker: 'MSFT.nq',
      side: 'buy',
      type: 'market',
      volume: 199,
    });
    assert.equal((await orderById(client, accountId, id)).status, 'filled');
    assert.deepEqual((await client.accountState(accountId)).margin, {
      balance: 1_000,
      unrealized_pl: -3.98,
      equity: 996.02,
      margin: 995,
      free_margin: 1.02,
    });
    // Adding even one more share is refused; reducing the position needs no margin.
    await rejects400(
      client.placeOrder(accountId, { ticker: 'MSFT.nq', side: 'buy', type: 'market', volume: 1 }),
      /^insufficient margin: requires 5\.00 USD, free margin 1\.02 USD$/,
    );
    await client.placeOrder(accountId, { ticker: 'MSFT.nq', side: 'sell', type: 'market', volume: 100 });
    assert.equal((await client.deals(accountId))[0]?.volume, 99);
    assert.equal((await client.orders(accountId, { status: 'rejected' })).length, 2);
  });

  it('rejects a pending order at trigger time when its fill no longer fits the margin', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 1_000 });
    await t.admin.setQuote('GOOGL.nq', { bid: 100, ask: 100.02 });
    // Placed while it fits: 150 × 99.00 × 0.05 = 742.50 of 1000.00.
    const limitId = await client.placeOrder(accountId, {
      ticker: 'GOOGL.nq',
      side: 'buy',
      type: 'limit',
      volume: 150,
      price: 99,
    });
    // Then a market buy takes 500.00 of margin.
    await client.placeOrder(accountId, { ticker: 'GOOGL.nq', side: 'buy', type: 'market', volume: 100 });
    await t.admin.setQuote('GOOGL.nq', { bid: 98.98, ask: 99 });
    const limit = await orderById(client, accountId, limitId);
    assert.equal(limit.status, 'rejected');
    assert.deepEqual(limit.deals, []);
    // Before: equity 1000 + (98.98 − 100.02) × 100 = 896.00, margin 494.90 → free 401.10.
    // After: + 150 × 98.98 × 0.05 = 742.35 of margin.
    assert.equal(limit.comment, 'insufficient margin: requires 742.35 USD, free margin 401.10 USD');
    assert.deepEqual(await client.orders(accountId), []);
    assert.equal((await client.deals(accountId)).length, 1);
  });

  it('a margin call closes nothing; stop-out closes the worst deal and stops once the level recovers', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 1_000 });
    await t.admin.setQuote('NVDA.nq', { bid: 100, ask: 100.01 });
    await t.admin.setQuote('AMD.nq', { bid: 50, ask: 50.01 });
    const loser = (
      await orderById(
        client,
        accountId,
        await client.placeOrder(accountId, { ticker: 'NVDA.nq', side: 'buy', type: 'market', volume: 100 }),
      )
    ).deals[0];
    const winner = (
      await orderById(
        client,
        accountId,
        await client.placeOrder(accountId, { ticker: 'AMD.nq', side: 'buy', type: 'market', volume: 100 }),
      )
    ).deals[0];

    await t.admin.setQuote('AMD.nq', { bid: 52, ask: 52.01 }); // winner: +199.00, margin 260.00
    // Loser at bid 94.00: −601.00, margin 470.00. Equity 598.00 / margin 730.00 = 81.9%: a margin call.
    await t.admin.setQuote('NVDA.nq', { bid: 94, ask: 94.01 });
    assert.deepEqual((await client.accountState(accountId)).margin, {
      balance: 1_000,
      unrealized_pl: -402,
      equity: 598,
      margin: 730,
      free_margin: -132,
    });
    assert.equal((await client.deals(accountId)).length, 2, 'a margin call closes nothing');
    assert.equal((await client.orders(accountId, { status: 'filled' })).length, 2);

    // Loser at bid 91.00: −901.00, margin 455.00. Equity 298.00 / margin 715.00 = 41.68%: stop-out.
    await t.admin.setQuote('NVDA.nq', { bid: 91, ask: 91.01 });
    const open = await client.deals(accountId);
    assert.deepEqual(
      open.map((deal) => deal.id),
      [winner],
      'only the worst deal is closed: 298.00 / 260.00 = 114.6% afterwards',
    );
    const closed = (await allDeals(client, accountId)).find((deal) => deal.id === loser);
    assert.equal(closed?.status, 'closed');
    assert.equal(closed?.close_price, 91);
    assert.equal(closed?.profit, -901);
    const stopOuts = (await client.orders(accountId, { status: 'filled' })).filter(
      (o) => o.type === 'stop_out',
    );
    assert.deepEqual(
      stopOuts.map((order) => [order.side, order.volume, order.filled_price, order.deals, order.comment]),
      [['sell', 100, 91, [loser], `stop out of deal ${loser}`]],
    );
    const fills = await t.admin.fills(accountId);
    assert.equal(fills.at(-1)?.order_type, 'stop_out');
    assert.equal(fills.at(-1)?.rule, 'stop out: margin level 41.68% below 50%');
    assert.deepEqual((await client.accountState(accountId)).margin, {
      balance: 99,
      unrealized_pl: 199,
      equity: 298,
      margin: 260,
      free_margin: 38,
    });
  });

  it('keeps closing, worst first, while the level stays below stop-out', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging', balance: 1_000 });
    await t.admin.setQuote('TSLA.nq', { bid: 100, ask: 100.01 });
    await t.admin.setQuote('META.nq', { bid: 50, ask: 50.01 });
    await client.placeOrder(accountId, { ticker: 'META.nq', side: 'buy', type: 'market', volume: 100 });
    await client.placeOrder(accountId, { ticker: 'TSLA.nq', side: 'buy', type: 'market', volume: 100 });
    const [metaDeal, teslaDeal] = (await client.deals(accountId)).map((deal) => deal.id);

    // META at 47.00: −301.00, margin 235.00; equity 698.00 / 735.00 = 95%: margin call only.
    await t.admin.setQuote('META.nq', { bid: 47, ask: 47.01 });
    assert.equal((await client.deals(accountId)).length, 2);

    // TSLA at 93.00: −701.00. Equity −2.00: close TSLA (worst), then META is still below 50%: close it too.
    await t.admin.setQuote('TSLA.nq', { bid: 93, ask: 93.01 });
    assert.deepEqual(await client.deals(accountId), []);
    const stopOuts = (await client.orders(accountId, { status: 'filled' })).filter(
      (o) => o.type === 'stop_out',
    );
    assert.deepEqual(
      stopOuts.map((order) => [order.deals, order.filled_price]),
      [
        [[teslaDeal], 93],
        [[metaDeal], 47],
      ],
    );
    const profits = (await allDeals(client, accountId)).map((deal) => [deal.id, deal.profit]);
    assert.deepEqual(profits, [
      [metaDeal, -301],
      [teslaDeal, -701],
    ]);
    assert.deepEqual((await client.accountState(accountId)).margin, {
      balance: -2,
      unrealized_pl: 0,
      equity: -2,
      margin: 0,
      free_margin: -2,
    });
  });
});
