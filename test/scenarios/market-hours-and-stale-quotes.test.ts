import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { raw, startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

const utc = (iso: string): number => Math.floor(Date.parse(iso) / 1000);
const FORM = 'application/x-www-form-urlencoded';

describe('market hours and stale quotes follow the server clock', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    // Saturday: US stocks and FX are closed.
    t = await startTestServer({
      marketHours: 'enforce',
      maxQuoteAgeSeconds: 60,
      clock: { mode: 'manual', startMs: utc('2026-11-28T12:00:00Z') * 1000 },
    });
    alice = await t.newAccount({ system: 'hedging' });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.10008 });
  });
  after(() => t.close());

  const post = (body: string) =>
    raw(t.url, 'POST', `/api/v1/accounts/${alice.accountId}/orders`, {
      token: alice.token,
      contentType: FORM,
      body,
    });

  it('rejects market orders out of hours with the reopening time, and records them', async () => {
    const stock = await post('ticker=AAPL.nq&side=buy&type=market&volume=1');
    assert.equal(stock.status, 400);
    assert.equal(stock.body.msg, 'market is closed for AAPL.nq until 2026-11-30 14:30 UTC');
    const fx = await post('ticker=EURUSD&side=buy&type=market&volume=0.1');
    assert.equal(fx.body.msg, 'market is closed for EURUSD until 2026-11-29 22:00 UTC');
    const rejected = await alice.client.orders(alice.accountId, { status: 'rejected' });
    assert.deepEqual(
      rejected.map((order) => order.comment),
      [
        'market is closed for AAPL.nq until 2026-11-30 14:30 UTC',
        'market is closed for EURUSD until 2026-11-29 22:00 UTC',
      ],
    );
  });

  it('lets resting orders wait out of hours and fire once the session opens', async () => {
    const orderId = await alice.client.placeOrder(alice.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 2,
      price: 99.5,
    });
    await t.admin.setQuote('AAPL.nq', { bid: 99.3, ask: 99.32 });
    assert.equal((await alice.client.orders(alice.accountId))[0]?.status, 'active');
    // Monday 2026-11-30 14:30 UTC is 09:30 New York (EST).
    await t.admin.setClock({ mode: 'manual', now: utc('2026-11-30T14:30:00Z') });
    await t.admin.setQuote('AAPL.nq', { bid: 99.4, ask: 99.42 });
    const [filled] = await alice.client.orders(alice.accountId, { status: 'filled' });
    assert.equal(filled?.id, orderId);
    assert.equal(filled?.filled_price, 99.42);
  });

  it('fills market orders in hours, and rejects them on a stale quote', async () => {
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const fresh = await post('ticker=AAPL.nq&side=buy&type=market&volume=1');
    assert.equal(fresh.status, 200, fresh.text);
    await t.admin.advanceClock(61);
    const stale = await post('ticker=AAPL.nq&side=buy&type=market&volume=1');
    assert.equal(stale.status, 400);
    assert.equal(stale.body.msg, 'quote for AAPL.nq is stale: 61 s old, limit 60 s');
  });

  it('refuses to move the clock backwards', async () => {
    const back = await raw(t.url, 'PUT', '/admin/v1/clock', {
      token: 'admin-test-token',
      contentType: 'application/json',
      body: JSON.stringify({ mode: 'manual', now: utc('2026-01-01T00:00:00Z') }),
    });
    assert.equal(back.status, 400);
    assert.match(back.body.msg ?? '', /the clock cannot go backwards/);
  });

  it('keeps a bounded history of recent quotes per instrument', async () => {
    const ticks = await raw(t.url, 'GET', '/admin/v1/quotes/AAPL.nq/ticks?limit=3', {
      token: 'admin-test-token',
    });
    const data = ticks.body.data as { bid: number; ask: number }[];
    assert.equal(data.length, 3);
    assert.deepEqual(
      data.map((tick) => tick.bid),
      [99.3, 99.4, 100],
    );
  });
});
