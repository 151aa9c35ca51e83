/**
 * Story: a business rejection answers HTTP 400 with a msg naming the rule, and is also recorded as
 * an order with status `rejected` (the msg in its comment) that `GET orders?status=rejected` finds.
 * Covered: volume below min / above max / off the step, prices off the tick grid (the nearest valid
 * prices named, on placement and modification), float noise read as the decimal it blurs, limit/stop
 * without a price (a market order's price is ignored), trade modes (buy_only, sell_only,
 * close_only, disabled, per account and per instrument), account status (disabled, no_new_deals),
 * no quote, market closed, insufficient margin, wrong-side SL/TP. Netting close_only still lets a
 * position be reduced.
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
      'price 99.995 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid prices: 99.99, 100.00',
    );
    await expectRejected(
      account,
      { ticker: 'EURUSD', side: 'sell', type: 'stop', volume: 0.01, price: 1.090005 },
      'price 1.090005 is not on the min_tick grid 0.00001 of EURUSD; nearest valid prices: 1.09000, 1.09001',
    );
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1, stop_loss: 95.001 },
      'stop_loss 95.001 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid prices: 95.00, 95.01',
    );
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1, take_profit: 105.5555 },
      'take_profit 105.5555 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid prices: 105.55, 105.56',
    );
    // Below the first tick only the one above it is valid.
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'buy', type: 'limit', volume: 1, price: 0.005 },
      'price 0.005 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid price: 0.01',
    );
  });

  it('reads float noise in prices and volumes as the decimal it blurs, before the grid check', async () => {
    const account = await t.newAccount({ system: 'hedging' });
    const { accountId, client } = account;
    // 33.00333333333333 * 3 and 1.09004 + 0.00001 * 3 in any float language: 99.01 and 1.09007.
    const limitId = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1.0000000000000002,
      price: 99.00999999999999,
      take_profit: 110.00000000000001,
    });
    const stopId = await client.placeOrder(accountId, {
      ticker: 'EURUSD',
      side: 'sell',
      type: 'stop',
      volume: 0.1 + 0.2,
      price: 1.0900699999999999,
    });
    const orders = await client.orders(accountId);
    const limit = orders.find((order) => order.id === limitId);
    const stop = orders.find((order) => order.id === stopId);
    assert.deepEqual([limit?.price, limit?.volume, limit?.take_profit], [99.01, 1, 110]);
    assert.deepEqual([stop?.price, stop?.volume], [1.09007, 0.3]);

    await client.placeOrder(accountId, {
      ...buyAapl(1),
      stop_loss: 95.00999999999999,
    });
    const [deal] = await client.deals(accountId);
    assert.equal(deal?.stop_loss, 95.01);

    // Noise around an off-grid price is still off the grid: 1.15845 * 0.99 in Python.
    await expectRejected(
      account,
      { ticker: 'EURUSD', side: 'buy', type: 'limit', volume: 0.01, price: 1.1468654999999999 },
      'price 1.1468655 is not on the min_tick grid 0.00001 of EURUSD; nearest valid prices: 1.14686, 1.14687',
    );
    // A ninth decimal is no noise: refused as malformed (400, no order recorded), echoing the value.
    const nineDecimals = await raw(t.url, 'POST', `/api/v1/accounts/${accountId}/orders`, {
      token: account.token,
      contentType: FORM,
      body: 'ticker=EURUSD&side=buy&type=limit&volume=0.01&price=1.123456789',
    });
    assert.equal(nineDecimals.status, 400, nineDecimals.text);
    assert.equal(nineDecimals.body.msg, 'price 1.123456789 must be a number with at most 8 decimals');
  });

  it('names the nearest valid prices when modifying an order or a deal off the grid', async () => {
    const account = await t.newAccount({ system: 'hedging' });
    const { accountId, client, token } = account;
    const orderId = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 99,
    });
    await client.placeOrder(accountId, buyAapl(1));
    const [deal] = await client.deals(accountId);
    assert.ok(deal);
    const put = async (path: string, body: string, code: string, msg: string): Promise<void> => {
      const response = await raw(t.url, 'PUT', `/api/v1/accounts/${accountId}/${path}`, {
        token,
        contentType: FORM,
        body,
      });
      assert.equal(response.status, 400, response.text);
      assert.deepEqual([response.body.error, response.body.msg], [code, msg]);
    };
    const order = `orders/${orderId}`;
    await put(
      order,
      'price=98.995',
      'invalid_price',
      'price 98.995 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid prices: 98.99, 99.00',
    );
    await put(
      order,
      'stop_loss=90.001',
      'invalid_stop_loss',
      'stop_loss 90.001 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid prices: 90.00, 90.01',
    );
    await put(
      order,
      'take_profit=110.019999',
      'invalid_take_profit',
      'take_profit 110.019999 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid prices: 110.01, 110.02',
    );
    const dealPath = `deals/${deal.id}`;
    await put(
      dealPath,
      'stop_loss=95.005',
      'invalid_stop_loss',
      'stop_loss 95.005 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid prices: 95.00, 95.01',
    );
    await put(
      dealPath,
      'take_profit=105.0000001',
      'invalid_take_profit',
      'take_profit 105.0000001 is not on the min_tick grid 0.01 of AAPL.nq; nearest valid prices: 105.00, 105.01',
    );
    // Noise around valid levels modifies as the decimals it blurs.
    await client.modifyOrder(accountId, orderId, { price: 98.99000000000001 });
    await client.modifyDeal(accountId, deal.id, { take_profit: 105.00999999999999 });
    const [modified] = await client.orders(accountId);
    assert.equal(modified?.price, 98.99);
    assert.equal((await client.deals(accountId))[0]?.take_profit, 105.01);
  });

  it('echoes an off-instrument-grid level exactly in a wrong-side rejection (finer min_tick per account)', async () => {
    const account = await t.newAccount();
    await t.admin.putOverrides(account.accountId, 'AAPL.nq', { min_tick: 0.001 });
    await expectRejected(
      account,
      { ...buyAapl(1), stop_loss: 100.005 },
      'stop_loss 100.005 must be below the current price 100.00 for a buy',
    );
    await expectRejected(
      account,
      { ticker: 'AAPL.nq', side: 'sell', type: 'limit', volume: 1, price: 99.995 },
      'sell limit price 99.995 must be above the current bid 100.00',
    );
  });

  it('requires a price on limit and stop orders and ignores one on market orders', async () => {
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
    // The RTrader client sends a price on every order: a market order fills at the quote anyway.
    for (const price of ['100.02', '0', '57.123456789', '-1']) {
      const response = await raw(t.url, 'POST', `/api/v1/accounts/${account.accountId}/orders`, {
        token: account.token,
        contentType: FORM,
        body: `ticker=AAPL.nq&side=buy&type=market&volume=1&price=${price}`,
      });
      assert.equal(response.status, 200, `price=${price}: ${response.text}`);
    }
    const filled = await account.client.orders(account.accountId, { status: 'filled' });
    assert.equal(filled.length, 4);
    for (const order of filled) {
      assert.equal(order.filled_price, 100.02);
      assert.equal(order.price, undefined);
    }
    // A price that is not a number is malformed input, market order or not.
    const malformed = await raw(t.url, 'POST', `/api/v1/accounts/${account.accountId}/orders`, {
      token: account.token,
      contentType: FORM,
      body: 'ticker=AAPL.nq&side=buy&type=market&volume=1&price=abc',
    });
    assert.equal(malformed.status, 400, malformed.text);
    assert.equal(malformed.body.msg, 'price must be a number');
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
