import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { raw, startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

describe('read endpoints, wire-exact', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    t = await startTestServer();
    alice = await t.newAccount({ balance: 100_000 });
    await t.admin.setQuote('AAPL.nq', { bid: 100.25, ask: 100.75, last: 100.5 });
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.10012 });
  });
  after(() => t.close());

  it('lists accounts with exactly the spec fields', async () => {
    const response = await raw(t.url, 'GET', '/api/v1/accounts', { token: alice.token });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      code: 'ok',
      data: [
        {
          id: alice.accountId,
          name: 'test account',
          type: 'demo',
          system: 'netting',
          currency: 'USD',
          status: 'enabled',
        },
      ],
    });
    assert.match(alice.accountId, /^\d{8}$/);
  });

  it('returns both cash and margin for a fresh account', async () => {
    const response = await raw(t.url, 'GET', `/api/v1/accounts/${alice.accountId}`, { token: alice.token });
    assert.deepEqual(response.body, {
      code: 'ok',
      data: {
        cash: { my_portfolio: 100000, investments: 0, available_to_invest: 100000 },
        margin: { balance: 100000, unrealized_pl: 0, equity: 100000, margin: 0, free_margin: 100000 },
      },
    });
  });

  it('serves the deprecated instrument list with the short shape', async () => {
    const response = await raw(t.url, 'GET', '/api/v1/instruments', { token: alice.token });
    const data = response.body.data as Record<string, unknown>[];
    assert.ok(data.length >= 40);
    const aapl = data.find((row) => row.ticker === 'AAPL.nq');
    assert.deepEqual(Object.keys(aapl ?? {}).sort(), ['contract_size', 'description', 'ticker', 'units']);
    assert.equal(aapl?.contract_size, 1);
    assert.equal(aapl?.units, 'Share(s)');
  });

  it('serves per-account instruments with trading conditions', async () => {
    const data = await alice.client.accountInstruments(alice.accountId);
    const eurusd = data.find((row) => row.ticker === 'EURUSD');
    assert.deepEqual(eurusd && { ...eurusd, description: undefined }, {
      ticker: 'EURUSD',
      description: undefined,
      contract_size: 100000,
      units: eurusd?.units,
      min_volume: 0.01,
      max_volume: eurusd?.max_volume,
      volume_step: 0.01,
      min_tick: 0.00001,
      leverage: 0.01,
      trade_mode: 'full',
    });
    const aapl = data.find((row) => row.ticker === 'AAPL.nq');
    assert.equal(aapl?.min_tick, 0.01);
    assert.equal(aapl?.leverage, 0.05);
    assert.equal(aapl?.volume_step, 1);
    assert.equal(data.find((row) => row.ticker === 'USDJPY')?.min_tick, 0.001);
  });

  it('serves the deprecated single-instrument endpoint with the conditions shape', async () => {
    const response = await raw(t.url, 'GET', `/api/v1/accounts/${alice.accountId}/instruments/AAPL.nq`, {
      token: alice.token,
    });
    assert.deepEqual(Object.keys(response.body.data as object).sort(), [
      'leverage',
      'max_volume',
      'min_tick',
      'min_volume',
      'trade_mode',
      'volume_step',
    ]);
  });

  it('applies per-account overrides', async () => {
    await t.admin.putOverrides(alice.accountId, 'TSLA.nq', { trade_mode: 'close_only' });
    const tsla = await alice.client.instrument(alice.accountId, 'TSLA.nq');
    assert.equal(tsla.trade_mode, 'close_only');
    const bob = await t.newAccount();
    assert.equal((await bob.client.instrument(bob.accountId, 'TSLA.nq')).trade_mode, 'full');
  });

  it('returns the quote with last price for stocks, normalised numbers', async () => {
    const quote = await alice.client.quote(alice.accountId, 'AAPL.nq');
    assert.equal(quote.ask_price, 100.75);
    assert.equal(quote.bid_price, 100.25);
    assert.equal(quote.last_price, 100.5);
    assert.equal(typeof quote.ask_bid_price_time, 'number');
    const fx = await raw(t.url, 'GET', `/api/v1/accounts/${alice.accountId}/instruments/EURUSD/quote`, {
      token: alice.token,
    });
    assert.match(fx.text, /"ask_price":1\.10012/);
    assert.equal((fx.body.data as Record<string, unknown>).last_price, undefined);
  });

  it('answers unknown tickers and unquoted instruments with 400', async () => {
    const unknown = await raw(t.url, 'GET', `/api/v1/accounts/${alice.accountId}/instruments/NOPE.nq/quote`, {
      token: alice.token,
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.msg, 'unknown ticker NOPE.nq');
    const unquoted = await raw(
      t.url,
      'GET',
      `/api/v1/accounts/${alice.accountId}/instruments/MSFT.nq/quote`,
      { token: alice.token },
    );
    assert.equal(unquoted.status, 400);
    assert.equal(unquoted.body.msg, 'no quote for MSFT.nq');
  });

  it('lists empty orders and deals', async () => {
    assert.deepEqual(await alice.client.orders(alice.accountId), []);
    assert.deepEqual(await alice.client.deals(alice.accountId), []);
  });

  it('serves health, the OpenAPI document and the docs page', async () => {
    const health = await raw(t.url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    const openapi = await raw(t.url, 'GET', '/openapi.json');
    const document = openapi.body as unknown as { openapi: string; paths: Record<string, unknown> };
    assert.equal(document.openapi, '3.0.3');
    for (const path of [
      '/api/v1/logout',
      '/api/v1/instruments',
      '/api/v1/accounts',
      '/api/v1/accounts/{account_id}',
      '/api/v1/accounts/{account_id}/instruments',
      '/api/v1/accounts/{account_id}/instruments/{ticker}',
      '/api/v1/accounts/{account_id}/instruments/{ticker}/quote',
      '/api/v1/accounts/{account_id}/orders',
      '/api/v1/accounts/{account_id}/orders/{order_id}',
      '/api/v1/accounts/{account_id}/deals',
      '/api/v1/accounts/{account_id}/deals/{deal_id}',
    ]) {
      assert.ok(document.paths[path], `OpenAPI lacks ${path}`);
    }
    const docs = await fetch(`${t.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });
});
