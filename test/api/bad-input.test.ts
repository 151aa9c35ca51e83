import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_TOKEN,
  raw,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../support/test-server.ts';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

describe('bad input gets a clear 400, never a crash', () => {
  let t: TestServer;
  let alice: TestAccount;
  let ordersPath: string;
  before(async () => {
    t = await startTestServer();
    alice = await t.newAccount();
    ordersPath = `/api/v1/accounts/${alice.accountId}/orders`;
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
  });
  after(() => t.close());

  async function expect400(
    method: string,
    path: string,
    options: { body?: string; contentType?: string; token?: string },
    pattern: RegExp,
  ) {
    const response = await raw(t.url, method, path, { token: alice.token, ...options });
    assert.equal(
      response.status,
      400,
      `${method} ${path} ${options.body ?? ''} → ${response.status} ${response.text}`,
    );
    assert.equal(response.body.code, 'error');
    assert.match(response.body.msg ?? '', pattern);
    return response;
  }

  it('answers unknown routes and wrong methods with a JSON 400', async () => {
    await expect400('GET', '/api/v1/nope', {}, /unknown route: GET \/api\/v1\/nope/);
    await expect400('PATCH', '/api/v1/accounts', {}, /unknown route: PATCH/);
    await expect400('GET', '/', {}, /unknown route/);
    await expect400('DELETE', `/api/v1/accounts/${alice.accountId}`, {}, /unknown route/);
  });

  it('rejects malformed ids', async () => {
    for (const id of ['abc', '-1', '1.5', '%2e%2e%2f%2e%2e', '1'.repeat(40), "1'%20OR%201=1"]) {
      await expect400('GET', `/api/v1/accounts/${id}`, {}, /account_id is malformed|unknown route/);
    }
    await expect400('DELETE', `${ordersPath}/xyz`, {}, /order_id is malformed/);
    await expect400(
      'PUT',
      `/api/v1/accounts/${alice.accountId}/deals/..`,
      { body: 'stop_loss=1', contentType: FORM },
      /deal_id is malformed|unknown route/,
    );
  });

  it('rejects unknown tickers and bad ticker syntax', async () => {
    await expect400('GET', `/api/v1/accounts/${alice.accountId}/instruments/NOPE`, {}, /unknown ticker NOPE/);
    await expect400(
      'GET',
      `/api/v1/accounts/${alice.accountId}/instruments/${encodeURIComponent('<script>')}`,
      {},
      /ticker is malformed/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=NOPE&side=buy&type=market&volume=1', contentType: FORM },
      /unknown ticker NOPE/,
    );
  });

  it('names the missing or wrong field in order bodies', async () => {
    await expect400(
      'POST',
      ordersPath,
      { body: 'side=buy&type=market&volume=1', contentType: FORM },
      /^ticker is required$/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=AAPL.nq&side=up&type=market&volume=1', contentType: FORM },
      /side must be one of: buy, sell/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=AAPL.nq&side=buy&type=market&volume=abc', contentType: FORM },
      /volume must be a number/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=AAPL.nq&side=buy&type=market&volume=NaN', contentType: FORM },
      /volume must be a number/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=AAPL.nq&side=buy&type=market&volume=1e309', contentType: FORM },
      /volume must be a number|volume must be a finite number/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=AAPL.nq&side=buy&type=market&volume=-5', contentType: FORM },
      /^volume -5 must be greater than 0$/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=AAPL.nq&side=buy&type=market&volume=1&volume=2', contentType: FORM },
      /volume must be a number/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=AAPL.nq&side=buy&type=market&volume=0.0000001', contentType: FORM },
      /^volume 1e-7 must be a number with at most 6 decimals$/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: '{"ticker":"AAPL.nq","side":"buy","type":"market","volume":true}', contentType: JSON_TYPE },
      /volume must be a number/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: '{"ticker":"AAPL.nq","side":"buy","type":"market","volume":1e999}', contentType: JSON_TYPE },
      /volume must be a (finite )?number/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: '{"ticker":"AAPL.nq","side":"buy","type":"market","volume":-0}', contentType: JSON_TYPE },
      /^volume 0 must be greater than 0$/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: '{"ticker":["AAPL.nq"],"side":"buy","type":"market","volume":1}', contentType: JSON_TYPE },
      /ticker must be a string/,
    );
  });

  it('rejects garbage, truncated and oversized bodies', async () => {
    await expect400('POST', ordersPath, { body: '{"ticker":', contentType: JSON_TYPE }, /JSON/i);
    await expect400(
      'POST',
      ordersPath,
      { body: '\u0000\u0001\u0002garbage', contentType: 'application/octet-stream' },
      /required/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: '[1,2,3]', contentType: JSON_TYPE },
      /request body must be a JSON object or a form/,
    );
    await expect400(
      'POST',
      ordersPath,
      { body: '"just a string"', contentType: JSON_TYPE },
      /request body must be a JSON object or a form/,
    );
    // Over the 64 KiB limit, whatever the body: 413.
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    for (const [body, contentType] of [
      ['x'.repeat(200_000), FORM],
      [`{"ticker":${deep}}`, JSON_TYPE],
    ] as const) {
      const oversized = await raw(t.url, 'POST', ordersPath, { token: alice.token, body, contentType });
      assert.equal(oversized.status, 413, oversized.text);
      assert.deepEqual(oversized.body, {
        code: 'error',
        msg: 'request body is too large: the limit is 64 KiB',
        error: 'body_too_large',
      });
    }
    await expect400(
      'POST',
      ordersPath,
      { body: '{"__proto__":{"admin":true},"side":"buy"}', contentType: JSON_TYPE },
      /.+/,
    );
  });

  it('refuses a key repeated in a JSON body, as it refuses one repeated in a form', async () => {
    const before = await alice.client.orders(alice.accountId, { status: 'filled' });
    for (const body of [
      '{"ticker":"AAPL.nq","side":"buy","type":"market","volume":1,"volume":2}',
      '{"ticker":"AAPL.nq","side":"buy","type":"market","volume":1,"\\u0076olume":2}',
      '{ "volume" : 1 , "ticker":"AAPL.nq","side":"buy","type":"market", "volume" : 1 }',
    ]) {
      const response = await expect400('POST', ordersPath, { body, contentType: JSON_TYPE }, /.+/);
      assert.equal(response.body.msg, 'repeated parameter volume: send each once');
      assert.equal(response.body.error, 'invalid_request');
    }
    await expect400(
      'POST',
      '/admin/v1/users',
      { body: '{"name":"a","name":"b"}', contentType: JSON_TYPE, token: ADMIN_TOKEN },
      /^repeated parameter name: send each once$/,
    );
    // Nothing traded, and the same keys once each still do.
    assert.deepEqual(await alice.client.orders(alice.accountId, { status: 'filled' }), before);
    const once = await raw(t.url, 'POST', ordersPath, {
      token: alice.token,
      contentType: JSON_TYPE,
      body: '{"ticker":"AAPL.nq","side":"buy","type":"market","volume":1,"note":{"volume":2}}',
    });
    assert.equal(once.status, 200, once.text);
  });

  it('reads float noise in JSON numbers as the decimals it blurs; echoes a value it refuses', async () => {
    const placed = await raw(t.url, 'POST', ordersPath, {
      token: alice.token,
      contentType: JSON_TYPE,
      body: '{"ticker":"AAPL.nq","side":"buy","type":"limit","volume":2.0000000000000004,"price":99.00999999999999}',
    });
    assert.equal(placed.status, 200, placed.text);
    const orderId = (placed.body.data as { order_id: string }).order_id;
    const order = (await alice.client.orders(alice.accountId)).find((o) => o.id === orderId);
    assert.deepEqual([order?.volume, order?.price], [2, 99.01]);
    // The doubles next to 0 are not noise around it: 0 would clear the stop loss.
    await expect400(
      'PUT',
      `${ordersPath}/${orderId}`,
      { body: 'stop_loss=5e-324', contentType: FORM },
      /^stop_loss 5e-324 must be a number with at most 8 decimals$/,
    );
    await alice.client.cancelOrder(alice.accountId, orderId);
    await expect400(
      'POST',
      ordersPath,
      {
        body: '{"ticker":"AAPL.nq","side":"buy","type":"limit","volume":1,"price":-2.5}',
        contentType: JSON_TYPE,
      },
      /^price -2.5 must be greater than 0$/,
    );
    await expect400(
      'POST',
      ordersPath,
      {
        body: '{"ticker":"AAPL.nq","side":"buy","type":"limit","volume":1,"price":123456789}',
        contentType: JSON_TYPE,
      },
      /^price 123456789 must be below 90,000,000$/,
    );
    await expect400(
      'POST',
      ordersPath,
      {
        body: '{"ticker":"AAPL.nq","side":"buy","type":"market","volume":1.0000005}',
        contentType: JSON_TYPE,
      },
      /^volume 1.0000005 must be a number with at most 6 decimals$/,
    );
  });

  it('accepts a form body sent with a JSON content type, and a JSON body', async () => {
    const form = await raw(t.url, 'POST', ordersPath, {
      token: alice.token,
      contentType: JSON_TYPE,
      body: 'ticker=AAPL.nq&side=buy&type=market&volume=1',
    });
    assert.equal(form.status, 200, form.text);
    const json = await raw(t.url, 'POST', ordersPath, {
      token: alice.token,
      contentType: JSON_TYPE,
      body: '{"ticker":"AAPL.nq","side":"buy","type":"market","volume":"1"}',
    });
    assert.equal(json.status, 200, json.text);
  });

  it('caps and validates history paging', async () => {
    await expect400(
      'GET',
      `${ordersPath}?limit=abc`,
      {},
      /limit must be a integer|limit must be an integer|limit must be a number/,
    );
    await expect400('GET', `${ordersPath}?skip=-1`, {}, /skip must be >= 0/);
    await expect400('GET', `${ordersPath}?status=bogus`, {}, /status must be one of/);
    await expect400('GET', `${ordersPath}?skip=1e400`, {}, /skip/);
    const huge = await raw(t.url, 'GET', `${ordersPath}?skip=9007199254740991&limit=9007199254740991`, {
      token: alice.token,
    });
    assert.equal(huge.status, 200);
    assert.deepEqual(huge.body.data, []);
  });

  it('admin API validates too', async () => {
    const admin = { token: ADMIN_TOKEN };
    const post = (path: string, body: string) =>
      raw(t.url, 'POST', path, { ...admin, contentType: JSON_TYPE, body });
    const noName = await post('/admin/v1/users', '{}');
    assert.equal(noName.status, 400);
    assert.equal(noName.body.msg, 'name is required');
    const badAccount = await post(
      '/admin/v1/accounts',
      '{"user_id":"999999","name":"x","type":"demo","system":"netting","currency":"USD"}',
    );
    assert.equal(badAccount.status, 400);
    assert.match(badAccount.body.msg ?? '', /user 999999 not found/);
    const badCurrency = await post(
      '/admin/v1/accounts',
      '{"user_id":"1","name":"x","type":"demo","system":"netting","currency":"usd"}',
    );
    assert.equal(badCurrency.status, 400);
    assert.match(badCurrency.body.msg ?? '', /currency is malformed/);
    const badAmount = await post(`/admin/v1/accounts/${alice.accountId}/balance`, '{"amount":1.234}');
    assert.equal(badAmount.status, 400);
    assert.match(badAmount.body.msg ?? '', /^amount 1.234 must be a number with at most 2 decimals$/);
    const badQuote = await raw(t.url, 'PUT', '/admin/v1/quotes/AAPL.nq', {
      ...admin,
      contentType: JSON_TYPE,
      body: '{"bid":101,"ask":100}',
    });
    assert.equal(badQuote.status, 400);
    assert.equal(badQuote.body.msg, 'bid must not be above ask');
    const offGrid = await raw(t.url, 'PUT', '/admin/v1/quotes/AAPL.nq', {
      ...admin,
      contentType: JSON_TYPE,
      body: '{"bid":100.001,"ask":100.02}',
    });
    assert.equal(offGrid.status, 400);
    assert.match(offGrid.body.msg ?? '', /not on the min_tick grid/);
  });

  it('leaves state unchanged after rejected requests', async () => {
    const before = await alice.client.accountState(alice.accountId);
    await expect400(
      'POST',
      ordersPath,
      { body: 'ticker=AAPL.nq&side=buy&type=market&volume=abc', contentType: FORM },
      /volume/,
    );
    assert.deepEqual(await alice.client.accountState(alice.accountId), before);
  });
});
