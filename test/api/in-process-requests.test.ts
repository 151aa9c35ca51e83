/**
 * The app that buildApp returns answers `app.inject()` (no socket, no port) exactly as it answers
 * the network: the doc block of build-app.ts promises it, and the body-draining and request-log
 * hooks must cope with requests that have no socket.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

describe('requests injected into the app, without a socket', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    t = await startTestServer();
    alice = await t.newAccount();
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.10008 });
  });
  after(() => t.close());

  const inject = (options: InjectOptions): Promise<LightMyRequestResponse> => t.server.app.inject(options);

  it('trades through the public API with a form body', async () => {
    const placed = await inject({
      method: 'POST',
      url: `/api/v1/accounts/${alice.accountId}/orders`,
      headers: {
        authorization: `Bearer ${alice.token}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'ticker=EURUSD&side=buy&type=market&volume=0.1',
    });
    assert.equal(placed.statusCode, 200, placed.body);
    assert.match((placed.json() as { data: { order_id: string } }).data.order_id, /^\d{9}$/);
    const deals = await inject({
      method: 'GET',
      url: `/api/v1/accounts/${alice.accountId}/deals`,
      headers: { authorization: `Bearer ${alice.token}` },
    });
    const [deal] = (deals.json() as { data: { ticker: string; open_price: number }[] }).data;
    assert.deepEqual([deal?.ticker, deal?.open_price], ['EURUSD', 1.10008]);
    assert.equal(deals.headers['cache-control'], 'no-store');
  });

  it('answers errors in the envelope: no token, an oversized body, an unknown route', async () => {
    const anonymous = await inject({ method: 'GET', url: '/api/v1/accounts' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal((anonymous.json() as { code: string }).code, 'error');
    const oversized = await inject({
      method: 'POST',
      url: '/admin/v1/users',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(70 * 1024) }),
    });
    assert.equal(oversized.statusCode, 413);
    assert.equal((oversized.json() as { error: string }).error, 'body_too_large');
    const unknown = await inject({
      method: 'GET',
      url: '/api/v1/nowhere',
      headers: { authorization: `Bearer ${alice.token}` },
    });
    assert.equal(unknown.statusCode, 400);
    assert.equal((unknown.json() as { error: string }).error, 'unknown_route');
  });
});
