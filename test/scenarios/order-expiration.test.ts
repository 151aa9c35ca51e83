/**
 * Story: a pending order with an expiration is canceled ("expired") once the server clock passes
 * it; expiration 0 means good till cancel. Driven by the admin manual clock.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { orderById, rejects400 } from './scenario-helpers.ts';

describe('order expiration', () => {
  let t: TestServer;
  let start: number;
  before(async () => {
    t = await startTestServer();
    ({ now: start } = await t.admin.setClock({ mode: 'manual' }));
  });
  after(() => t.close());

  it('cancels an expired order with an "expired" comment and keeps the good-till-cancel one', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    const { now } = await t.admin.clock();
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    const expiring = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 99,
      expiration: now + 60,
    });
    const gtc = await client.placeOrder(accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'stop',
      volume: 1,
      price: 101,
      expiration: 0,
    });
    const placed = await orderById(client, accountId, expiring);
    assert.equal(placed.expiration, now + 60);
    assert.equal(placed.create_time, now);
    assert.equal((await orderById(client, accountId, gtc)).expiration, 0);

    await t.admin.advanceClock(59);
    assert.deepEqual(
      (await client.orders(accountId)).map((order) => [order.id, order.status]),
      [
        [expiring, 'active'],
        [gtc, 'active'],
      ],
    );

    await t.admin.advanceClock(1); // the clock reaches the expiration
    const expired = await orderById(client, accountId, expiring);
    assert.equal(expired.status, 'canceled');
    assert.match(expired.comment ?? '', /expired/);
    assert.equal(expired.last_modified, now + 60);
    assert.deepEqual(expired.deals, []);
    assert.deepEqual(
      (await client.orders(accountId)).map((order) => order.id),
      [gtc],
    );

    // An expired order never fires, even when the market later reaches its price.
    await t.admin.setQuote('AAPL.nq', { bid: 98.9, ask: 98.92 });
    assert.equal((await orderById(client, accountId, expiring)).status, 'canceled');
    assert.deepEqual(await client.deals(accountId), []);

    // Good till cancel survives any amount of time.
    await t.admin.advanceClock(400 * 24 * 3600);
    assert.equal((await orderById(client, accountId, gtc)).status, 'active');
    assert.deepEqual(
      (await client.orders(accountId, { status: 'canceled' })).map((order) => order.id),
      [expiring],
    );
  });

  it('a modified expiration moves the deadline; 0 makes the order good till cancel', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    const { now } = await t.admin.clock();
    assert.ok(now >= start);
    await t.admin.setQuote('MSFT.nq', { bid: 400, ask: 400.05 });
    const extended = await client.placeOrder(accountId, {
      ticker: 'MSFT.nq',
      side: 'sell',
      type: 'limit',
      volume: 1,
      price: 410,
      expiration: now + 10,
    });
    const unlimited = await client.placeOrder(accountId, {
      ticker: 'MSFT.nq',
      side: 'sell',
      type: 'limit',
      volume: 1,
      price: 411,
      expiration: now + 10,
    });
    await client.modifyOrder(accountId, extended, { expiration: now + 100 });
    await client.modifyOrder(accountId, unlimited, { expiration: 0 });
    await t.admin.advanceClock(50);
    assert.deepEqual(
      (await client.orders(accountId)).map((order) => [order.id, order.expiration]),
      [
        [extended, now + 100],
        [unlimited, 0],
      ],
    );
    await t.admin.advanceClock(50);
    assert.equal((await orderById(client, accountId, extended)).status, 'canceled');
    assert.equal((await orderById(client, accountId, unlimited)).status, 'active');
  });

  it('refuses an expiration that has already passed, and expirations on market orders', async () => {
    const { accountId, client } = await t.newAccount({ system: 'hedging' });
    const { now } = await t.admin.clock();
    await t.admin.setQuote('NVDA.nq', { bid: 180, ask: 180.02 });
    for (const expiration of [now, now - 3600]) {
      await rejects400(
        client.placeOrder(accountId, {
          ticker: 'NVDA.nq',
          side: 'buy',
          type: 'limit',
          volume: 1,
          price: 170,
          expiration,
        }),
        'expiration must be 0 (good till cancel) or in the future',
      );
    }
    await rejects400(
      client.placeOrder(accountId, {
        ticker: 'NVDA.nq',
        side: 'buy',
        type: 'market',
        volume: 1,
        expiration: now + 60,
      }),
      'expiration is not allowed for market orders',
    );
    const id = await client.placeOrder(accountId, {
      ticker: 'NVDA.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 170,
    });
    await rejects400(
      client.modifyOrder(accountId, id, { expiration: now - 1 }),
      'expiration must be 0 (good till cancel) or in the future',
    );
    assert.equal((await orderById(client, accountId, id)).expiration, 0);
    assert.equal((await client.orders(accountId, { status: 'rejected' })).length, 3);
  });
});
