import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StocksTraderClient } from '../../src/client/stockstrader-client.ts';
import { ADMIN_TOKEN, raw, startTestServer, type TestServer } from '../support/test-server.ts';

describe('auth and isolation', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
  });
  after(() => t.close());

  it('answers 401 with the JSON envelope without a token, with a junk token and with the admin token', async () => {
    for (const token of [undefined, 'junk', ADMIN_TOKEN]) {
      const response = await raw(t.url, 'GET', '/api/v1/accounts', token === undefined ? {} : { token });
      assert.equal(response.status, 401);
      assert.equal(response.body.code, 'error');
      assert.equal(typeof response.body.msg, 'string');
    }
  });

  it('refuses user tokens on the admin API', async () => {
    const alice = await t.newAccount();
    const response = await raw(t.url, 'POST', '/admin/v1/users', {
      token: alice.token,
      contentType: 'application/json',
      body: '{"name":"x"}',
    });
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'error');
  });

  it('stores tokens only as hashes', async () => {
    const alice = await t.newAccount();
    const rows = await t.query<{ token_hash: string }>('SELECT token_hash FROM tokens');
    assert.ok(rows.length > 0);
    assert.ok(rows.every((row) => /^[0-9a-f]{64}$/.test(row.token_hash)));
    assert.ok(rows.every((row) => row.token_hash !== alice.token));
  });

  it('logout revokes the calling token everywhere, and only that token', async () => {
    const alice = await t.newAccount();
    const second = await t.admin.issueToken(alice.userId);
    await alice.client.logout();
    for (const path of ['/api/v1/accounts', `/api/v1/accounts/${alice.accountId}`, '/api/v1/instruments']) {
      const response = await raw(t.url, 'GET', path, { token: alice.token });
      assert.equal(response.status, 401, path);
      assert.equal(response.body.code, 'error');
    }
    const again = await raw(t.url, 'POST', '/api/v1/logout', { token: alice.token });
    assert.equal(again.status, 401);
    const other = new StocksTraderClient({ baseUrl: t.url, token: second.token });
    assert.equal((await other.accounts()).length, 1);
  });

  it('revokes a token through the admin API', async () => {
    const alice = await t.newAccount();
    const issued = await t.admin.issueToken(alice.userId);
    await t.admin.revokeTokenById(alice.userId, issued.token_id);
    const response = await raw(t.url, 'GET', '/api/v1/accounts', { token: issued.token });
    assert.equal(response.status, 401);
    await assert.rejects(t.admin.revokeTokenById(alice.userId, issued.token_id), {
      name: 'StocksTraderError',
      status: 400,
      code: 'token_not_found',
    });
  });

  it('hides other users’ accounts behind the same answer as a missing one', async () => {
    const alice = await t.newAccount();
    const bob = await t.newAccount();
    const accounts = await bob.client.accounts();
    assert.deepEqual(
      accounts.map((account) => account.id),
      [bob.accountId],
    );
    const foreign = [
      ['GET', `/api/v1/accounts/${alice.accountId}`],
      ['GET', `/api/v1/accounts/${alice.accountId}/instruments`],
      ['GET', `/api/v1/accounts/${alice.accountId}/instruments/AAPL.nq`],
      ['GET', `/api/v1/accounts/${alice.accountId}/instruments/AAPL.nq/quote`],
      ['GET', `/api/v1/accounts/${alice.accountId}/orders`],
      ['GET', `/api/v1/accounts/${alice.accountId}/deals`],
      ['DELETE', `/api/v1/accounts/${alice.accountId}/deals/000001`],
      ['DELETE', `/api/v1/accounts/${alice.accountId}/orders/000000001`],
    ] as const;
    for (const [method, path] of foreign) {
      const theirs = await raw(t.url, method, path, { token: bob.token });
      const missing = await raw(t.url, method, path.replace(alice.accountId, '99999999'), {
        token: bob.token,
      });
      assert.equal(theirs.status, 400, path);
      assert.deepEqual(theirs.body, missing.body, path);
      assert.equal(theirs.body.msg, 'account not found');
    }
    const order = await raw(t.url, 'POST', `/api/v1/accounts/${alice.accountId}/orders`, {
      token: bob.token,
      contentType: 'application/x-www-form-urlencoded',
      body: 'ticker=AAPL.nq&side=buy&type=market&volume=1',
    });
    assert.equal(order.status, 400);
    assert.equal(order.body.msg, 'account not found');
    assert.deepEqual(await alice.client.orders(alice.accountId, { status: 'rejected' }), []);
  });
});
