import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import {
  ADMIN_TOKEN,
  raw,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../support/test-server.ts';

const JSON_TYPE = 'application/json';

/** A raw HTTP request with an arbitrary method and headers (fetch refuses some of them). */
function rawHttp(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('edge cases', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    t = await startTestServer();
    alice = await t.newAccount({ system: 'hedging' });
  });
  after(() => t.close());

  it('keeps the envelope for over-long path parameters, unknown methods and oversized headers', async () => {
    const long = await raw(t.url, 'GET', `/api/v1/accounts/${'9'.repeat(300)}`, { token: alice.token });
    assert.equal(long.status, 400);
    assert.equal(long.body.msg, 'a path parameter is too long');
    const method = await rawHttp(t.url, 'FOO', '/api/v1/accounts');
    assert.equal(method.status, 400);
    assert.equal((JSON.parse(method.body) as { code: string }).code, 'error');
    const headers = await rawHttp(t.url, 'GET', '/api/v1/accounts', { 'x-junk': 'a'.repeat(20_000) });
    assert.equal(headers.status, 400);
    assert.equal((JSON.parse(headers.body) as { msg: string }).msg, 'request headers are too large');
  });

  it('refuses currencies that cannot be converted, and control characters in names', async () => {
    const post = (body: object) =>
      raw(t.url, 'POST', '/admin/v1/accounts', {
        token: ADMIN_TOKEN,
        contentType: JSON_TYPE,
        body: JSON.stringify(body),
      });
    const base = { user_id: alice.userId, name: 'x', type: 'demo', system: 'netting', currency: 'USD' };
    const zzz = await post({ ...base, currency: 'ZZZ' });
    assert.equal(zzz.status, 400);
    assert.equal(zzz.body.msg, 'currency ZZZ is not supported: no instrument converts it to USD');
    assert.equal((await post({ ...base, currency: 'JPY' })).status, 200);
    const control = await post({ ...base, name: 'evil\u0000\u202e\n' });
    assert.equal(control.status, 400);
    assert.equal(control.body.msg, 'name is malformed: expected text without control characters');
    const instrument = await raw(t.url, 'PUT', '/admin/v1/instruments/AAPL.nq', {
      token: ADMIN_TOKEN,
      contentType: JSON_TYPE,
      body: '{"quote_currency":"ZZZ"}',
    });
    assert.equal(instrument.status, 400);
    assert.match(instrument.body.msg ?? '', /quote_currency ZZZ is not supported/);
  });

  it('keeps balances exact: amounts and balances stay below 10^13', async () => {
    const deposit = (amount: string) =>
      raw(t.url, 'POST', `/admin/v1/accounts/${alice.accountId}/balance`, {
        token: ADMIN_TOKEN,
        contentType: JSON_TYPE,
        body: `{"amount":${amount}}`,
      });
    assert.equal((await deposit('89999999999999.99')).status, 400);
    // The account holds 100,000: this brings it to 9,999,999,100,000.01.
    assert.equal((await deposit('9999999000000.01')).status, 200);
    const over = await deposit('1000000');
    assert.equal(over.status, 400);
    assert.equal(over.body.msg, 'the balance would exceed 10,000,000,000,000');
  });

  it('filters deals by status as a history search', async () => {
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const first = await alice.client.placeOrder(alice.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    await alice.client.placeOrder(alice.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 2,
    });
    const [opened] = (await alice.client.orders(alice.accountId, { status: 'filled' })).filter(
      (order) => order.id === first,
    );
    await alice.client.closeDeal(alice.accountId, opened?.deals[0] ?? '');
    const closed = await alice.client.deals(alice.accountId, { status: 'closed' });
    assert.deepEqual(
      closed.map((deal) => [deal.volume, deal.status]),
      [[1, 'closed']],
    );
    const open = await alice.client.deals(alice.accountId, { status: 'open' });
    assert.deepEqual(
      open.map((deal) => deal.volume),
      [2],
    );
    const bogus = await raw(t.url, 'GET', `/api/v1/accounts/${alice.accountId}/deals?status=bogus`, {
      token: alice.token,
    });
    assert.equal(bogus.status, 400);
  });

  it('resumes the manual clock after a restart instead of jumping back', async () => {
    const later = Math.floor(Date.now() / 1000) + 86_400;
    await t.admin.setClock({ mode: 'manual', now: later });
    await t.restart();
    const clock = await t.admin.clock();
    assert.equal(clock.mode, 'manual');
    assert.equal(clock.now, later);
  });
});
