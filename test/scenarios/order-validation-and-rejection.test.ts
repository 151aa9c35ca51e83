/**
 * Story: a business rejection answers HTTP 400 with a msg naming the rule, and is also recorded as
 * an order with status `rejected` (the msg in its comment) that `GET orders?status=rejected` finds.
 * Covered: volume below min / above max / off the step, prices off the tick grid, limit/stop
 * without a price, market with a price, trade modes (buy_only, sell_only, close_only, disabled, per
 * account and per instrument), account status (disabled, no_new_deals), no quote, market closed,
 * insufficient margin, wrong-side SL/TP. Netting close_only still lets a position be reduced.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PlaceOrderBody } from '../../src/contract/public-api.ts';
import { raw, startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

const FORM = 'application/x-www-form-urlencoded';

describe('order validation and rejection', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.10012 });
  });
  after(() => t.close());

  /**
   * Places the order over raw HTTP, expects a 400 whose msg matches, then finds the order it
   * recorded through `GET orders?status=rejected`: one more rejected order, newest id, msg as comment.
   */
  async function expectRejected(
    account: TestAccount,
    order: PlaceOrderBody,
    msg: string | RegExp,
  ): Promise<void> {
    const { accountId, client, token } = account;
    const before = await client.orders(accountId, { status: 'rejected' });
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(order)) body.set(key, String(value));
    const response = await raw(t.url, 'POST', `/api/v1/accounts/${accountId}/orders`, {
      token,
      body: body.toString(),
      contentType: FORM,
    });
    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.code, 'error');
    const text = response.body.msg ?? '';
    if (typeof msg === 'string') assert.equal(text, msg);
    else assert.match(text, msg);

    const after = await client.orders(accountId, { status: 'rejected' });
    assert.equal(after.length, before.length + 1, 'exactly one rejected order recorded');
    const recorded = after.at(-1);
    assert.ok(recorded);
    assert.ok(
      before.every((earlier) => earlier.id < recorded.id),
      'the recorded order is the newest',
    );
    assert.equal(recorded.status, 'rejected');
    assert.equal(recorded.comment, text);
    assert.equal(recorded.ticker, order.ticker);
    assert.equal(recorded.side, order.side);
    assert.equal(recorded.type, order.type);
    assert.equal(recorded.volume, Number(order.volume));
    assert.equal(recorded.filled_price, undefined);
    assert.deepEqual(recorded.deals, []);
    // Never current: the default listing shows only active and in_execution orders.
    assert.equal(
      (await client.orders(accountId)).find((o) => o.id === recorded.id),
      undefined,
    );
  }

  const buyAapl = (volume: number): PlaceOrderBody => ({
    ticker: 'AAPL.nq',
    side: 'buy',
    type: 'market',
    volume,
  });

  it('rejects volumes below min_volume, above max_volume and off volume_step', async () => {
    const account = await t.newAccount();
    await expectRejected(account, buyAapl(0.5), 'volume 0.5 is below min_volume 1');
    await expectRejected(account, buyAapl(100_001), 'volume 100001 is above max_volume 100000');
    await expectRejected(account, buyAapl(1.5), 'volume 1.5 is not a multiple of volume_step 1');
    await expectRejected(
      account,
      { ticker: 'EURUSD', side: 'sell', type: 'market', volume: 0.015 },
      'volume 0.015 is not a multiple of volume_step 0.01',
    );
    await expectRejected(
      account,
      { ticker: 'EURUSD', side: 'sell', type: 'market', volume: 0.001 },
      'volume 0.001 is below min_volume 0.01',
    );
    assert.deepEqual(await account.client.deals(account.accountId), []);
  });

  it('rejects prices and SL/TP off the min_tick grid', async () => {
    const account = await t.newAccount();
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'limit', volume: 1, price: 99.995 },
      'price 99.995 is not on the min_tick grid 0.01 of AAPL.nq',
    );
    await expectRejected(
      account,
      { ticker: 'EURUSD', side: 'sell', type: 'stop', volume: 0.01, price: 1.090005 },
      'price 1.090005 is not on the min_tick grid 0.00001 of EURUSD',
    );
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1, stop_loss: 95.001 },
      'stop_loss 95.001 is not on the min_tick grid 0.01 of AAPL.nq',
    );
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1, take_profit: 105.5555 },
      'take_profit 105.5555 is not on the min_tick grid 0.01 of AAPL.nq',
    );
  });

  it('requires a price on limit and stop orders and refuses one on market orders', async () => {
    const account = await t.newAccount();
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'limit', volume: 1 },
      'price is required for limit orders',
    );
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'sell', type: 'stop', volume: 1 },
      'price is required for stop orders',
    );
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1, price: 100.02 },
      'price is not allowed for market orders',
    );
  });

  it('rejects SL/TP on the wrong side of the price', async () => {
    const account = await t.newAccount();
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1, stop_loss: 100.5 },
      'stop_loss 100.50 must be below the current price 100.00 for a buy',
    );
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'sell', type: 'limit', volume: 1, price: 101, take_profit: 102 },
      'take_profit 102.00 must be below the order price 101.00 for a sell',
    );
  });

  it('honours buy_only and sell_only trade modes set per account', async () => {
    const account = await t.newAccount({ system: 'hedging' });
    await t.admin.putOverrides(account.accountId, 'AAPL.nq', { trade_mode: 'buy_only' });
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'sell', type: 'market', volume: 1 },
      'AAPL.nq is buy_only: sell orders may only close a position',
    );
    await account.client.placeOrder(account.accountId, buyAapl(1));

    await t.admin.putOverrides(account.accountId, 'AAPL.nq', { trade_mode: 'sell_only' });
    await expectRejected(account, buyAapl(1), 'AAPL.nq is sell_only: buy orders may only close a position');
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'limit', volume: 1, price: 99 },
      'AAPL.nq is sell_only: buy orders may only close a position',
    );
    await account.client.placeOrder(account.accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'market',
      volume: 1,
    });
    // The override is per account: another account still trades both ways.
    const other = await t.newAccount();
    await other.client.placeOrder(other.accountId, { ...buyAapl(1), side: 'sell' });
  });

  it('close_only in netting refuses to open or reverse but still lets a position be reduced and closed', async () => {
    const account = await t.newAccount({ system: 'netting' });
    const { accountId, client } = account;
    await client.placeOrder(accountId, buyAapl(10));
    await t.admin.putOverrides(accountId, 'AAPL.nq', { trade_mode: 'close_only' });

    const closeOnly = `AAPL.nq is close_only on account ${accountId}: only closing orders are allowed`;
    await expectRejected(account, buyAapl(1), closeOnly);
    await expectRejected(account, { ...buyAapl(11), side: 'sell' }, closeOnly);
    // Other instruments are unaffected.
    await client.placeOrder(accountId, { ticker: 'EURUSD', side: 'buy', type: 'market', volume: 0.01 });

    await client.placeOrder(accountId, { ...buyAapl(4), side: 'sell' });
    const [reduced] = await client.deals(accountId);
    assert.equal(reduced?.volume, 6);
    assert.equal(reduced?.side, 'buy');
    await client.placeOrder(accountId, { ...buyAapl(6), side: 'sell' });
    assert.deepEqual(
      (await client.deals(accountId)).map((deal) => deal.ticker),
      ['EURUSD'],
    );
    // Flat now, so even a sell opens: refused.
    await expectRejected(account, { ...buyAapl(1), side: 'sell' }, closeOnly);
  });

  it('close_only in hedging refuses every new order, while DELETE deals still closes', async () => {
    const account = await t.newAccount({ system: 'hedging' });
    const { accountId, client } = account;
    await client.placeOrder(accountId, buyAapl(3));
    await t.admin.putOverrides(accountId, 'AAPL.nq', { trade_mode: 'close_only' });
    const closeOnly = `AAPL.nq is close_only on account ${accountId}: only closing orders are allowed`;
    await expectRejected(account, { ...buyAapl(3), side: 'sell' }, closeOnly);
    const [deal] = await client.deals(accountId);
    assert.ok(deal);
    await client.closeDeal(accountId, deal.id);
    assert.deepEqual(await client.deals(accountId), []);
  });

  it('trade_mode disabled refuses everything, per account or for the whole instrument', async () => {
    const account = await t.newAccount();
    await account.client.placeOrder(account.accountId, buyAapl(2));
    await t.admin.putOverrides(account.accountId, 'AAPL.nq', { trade_mode: 'disabled' });
    await expectRejected(account, buyAapl(1), 'trading is disabled for AAPL.nq');
    // Even closing: disabled means no trading at all.
    await expectRejected(account, { ...buyAapl(2), side: 'sell' }, 'trading is disabled for AAPL.nq');

    // An instrument disabled in the catalogue (admin PUT instruments) is disabled for everyone.
    await t.admin.putInstrument('HALT.nq', {
      description: 'Halted Corp.',
      contract_size: 1,
      min_volume: 1,
      max_volume: 1000,
      volume_step: 1,
      min_tick: 0.01,
      leverage: 0.2,
      quote_currency: 'USD',
      trade_mode: 'disabled',
    });
    await t.admin.setQuote('HALT.nq', { bid: 10, ask: 10.01 });
    const other = await t.newAccount();
    await expectRejected(
      other,
      { ticker: 'HALT.nq', side: 'buy', type: 'market', volume: 1 },
      'trading is disabled for HALT.nq',
    );
    await expectRejected(
      other,
      { ticker: 'HALT.nq', side: 'sell', type: 'limit', volume: 1, price: 11 },
      'trading is disabled for HALT.nq',
    );
    // A per-account override re-enables it for that account only.
    await t.admin.putOverrides(other.accountId, 'HALT.nq', { trade_mode: 'full' });
    await other.client.placeOrder(other.accountId, {
      ticker: 'HALT.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    await expectRejected(
      account,
      { ticker: 'HALT.nq', side: 'buy', type: 'market', volume: 1 },
      'trading is disabled for HALT.nq',
    );
  });

  it('a disabled account refuses orders; a no_new_deals account only lets positions shrink', async () => {
    const disabled = await t.newAccount();
    await t.admin.updateAccount(disabled.accountId, { status: 'disabled' });
    await expectRejected(disabled, buyAapl(1), 'account is disabled');
    await expectRejected(
      disabled,
      { ticker: 'AAPL.nq', side: 'buy', type: 'limit', volume: 1, price: 99 },
      'account is disabled',
    );

    const limited = await t.newAccount({ system: 'netting' });
    await limited.client.placeOrder(limited.accountId, buyAapl(5));
    await t.admin.updateAccount(limited.accountId, { status: 'no_new_deals' });
    const noNewDeals = 'account status is no_new_deals: only closing orders are allowed';
    await expectRejected(limited, buyAapl(1), noNewDeals);
    await expectRejected(limited, { ...buyAapl(6), side: 'sell' }, noNewDeals);
    await expectRejected(
      limited,
      { ticker: 'EURUSD', side: 'buy', type: 'market', volume: 0.01 },
      noNewDeals,
    );
    await limited.client.placeOrder(limited.accountId, { ...buyAapl(5), side: 'sell' });
    assert.deepEqual(await limited.client.deals(limited.accountId), []);

    await t.admin.updateAccount(disabled.accountId, { status: 'enabled' });
    await disabled.client.placeOrder(disabled.accountId, buyAapl(1));
  });

  it('rejects a market order on an instrument that was never quoted', async () => {
    const account = await t.newAccount();
    await expectRejected(
      account,
      { ticker: 'MSFT.nq', side: 'buy', type: 'market', volume: 1 },
      'no quote for MSFT.nq',
    );
    await expectRejected(
      account,
      { ticker: 'MSFT.nq', side: 'sell', type: 'market', volume: 1 },
      'no quote for MSFT.nq',
    );
  });

  it('rejects an order that would leave free margin below zero', async () => {
    const account = await t.newAccount({ balance: 1_000 });
    // A long is margined at its closing price, the bid: 1,000 × 100.00 × 0.05 = 5,000.00.
    await expectRejected(
      account,
      buyAapl(1_000),
      'insufficient margin: requires 5000.00 USD, free margin 1000.00 USD',
    );
    // A pending order is judged as it would fill: a buy limit at 90.00 fills at ask 90.00 with the
    // bid at 89.98, so 250 × 89.98 × 0.05 = 1,124.75 (no credit for today's higher price).
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'limit', volume: 250, price: 90 },
      'insufficient margin: requires 1124.75 USD, free margin 1000.00 USD',
    );
    // And a buy stop above the market is not charged today's loss against it: 150 × 109.98 × 0.05
    // = 824.85 fits in 1,000.00 (it was once refused with "requires 750.00, free margin 1000.00").
    const stopId = await account.client.placeOrder(account.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'stop',
      volume: 150,
      price: 110,
    });
    await account.client.cancelOrder(account.accountId, stopId);
    // 199 shares need 995.00 (valued at the bid of 100.00): it fits.
    await account.client.placeOrder(account.accountId, buyAapl(199));
    const state = await account.client.accountState(account.accountId);
    assert.equal(state.margin.margin, 995);
    await expectRejected(
      account,
      buyAapl(1),
      /^insufficient margin: requires 5\.00 USD, free margin 1\.02 USD$/,
    );
  });
});

describe('order rejection when the market is closed', () => {
  let t: TestServer;
  before(async () => {
    // A Saturday, 15:00 UTC: US stocks and FX are both closed.
    t = await startTestServer({
      marketHours: 'enforce',
      clock: { mode: 'manual', startMs: Date.parse('2026-11-28T15:00:00Z') },
    });
  });
  after(() => t.close());

  it('records a market order out of hours as rejected, while a limit order rests', async () => {
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const { accountId, client } = await t.newAccount();
    await assert.rejects(
      client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1 }),
      (error: Error) => {
        assert.match(error.message, /market is closed/);
        return true;
      },
    );
    const [rejected] = await client.orders(accountId, { status: 'rejected' });
    assert.equal(rejected?.status, 'rejected');
    assert.match(rejected?.comment ?? '', /market is closed/);
    const id = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 99,
    });
    assert.deepEqual(
      (await client.orders(accountId)).map((order) => [order.id, order.status]),
      [[id, 'active']],
    );
  });
});
