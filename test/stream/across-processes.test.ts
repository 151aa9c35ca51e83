/**
 * Two real server processes on one PostgreSQL database: a subscriber connected to process B
 * receives the events of changes made through process A (and through B itself), in order and
 * exactly once, over SSE and WebSocket; one resuming on B from the middle gets the rest once; an
 * account reset through A tells B's subscribers to resynchronise.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/postgres-cluster.ts';
import { ServerProcesses } from '../support/server-processes.ts';
import { adminClient, publicClient } from '../support/trading-load.ts';
import { SseClient, WsClient } from '../support/stream-clients.ts';

const ADMIN_TOKEN = 'stream-cluster-admin-token';
const ORDERS = 40;

const processes = new ServerProcesses();
let database: TestDatabase | undefined;
after(async () => {
  await processes.killAll();
  await database?.drop();
});

describe('account events across processes', () => {
  it('reach a subscriber on B, in order and exactly once, whichever process made the change', async () => {
    database = await createTestDatabase();
    const [a, b] = await Promise.all([
      processes.startOnPostgres(database.url, ADMIN_TOKEN),
      processes.startOnPostgres(database.url, ADMIN_TOKEN),
    ]);
    assert.ok(a && b);
    const adminA = adminClient(a.url, ADMIN_TOKEN);
    const userId = await adminA.createUser('streamer');
    const { token } = await adminA.issueToken(userId);
    const accountId = await adminA.createAccount({
      user_id: userId,
      name: 'cluster',
      type: 'demo',
      system: 'hedging',
      currency: 'USD',
      balance: 1_000_000,
    });
    await adminA.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });

    const headers = { authorization: `Bearer ${token}` };
    const sse = await SseClient.open(`${b.url}/stream/v1/accounts/${accountId}/events`, headers);
    const ws = await WsClient.open(`${b.url}/stream/v1/ws`, headers);
    ws.send({ type: 'subscribe', account_id: accountId });
    await sse.waitFor('subscribed', (messages) => messages.length > 0);
    await ws.waitFor('subscribed', (messages) => messages.length > 0);

    // Mostly through A, every fourth through B, a few at once: both paths, interleaved.
    const clientA = publicClient(a.url, token);
    const clientB = publicClient(b.url, token);
    const placed: string[] = [];
    for (let round = 0; round < ORDERS / 4; round += 1) {
      const ids = await Promise.all(
        [0, 1, 2, 3].map((slot) =>
          (slot === 3 ? clientB : clientA).placeOrder(accountId, {
            ticker: 'AAPL.nq',
            side: 'buy',
            type: 'market',
            volume: 1,
          }),
        ),
      );
      placed.push(...ids);
    }
    await adminA.adjustBalance(accountId, 100, 'through A');
    const events = ORDERS * 3 + 1;
    await sse.waitFor(`${events} SSE events`, () => sse.events.length >= events, 20_000);
    await ws.waitFor(`${events} WS events`, () => ws.events.length >= events, 20_000);
    // Anything late would be a duplicate: give it a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const expected = Array.from({ length: events }, (_, index) => index + 1);
    assert.deepEqual(
      sse.events.map((message) => message.data.id),
      expected,
    );
    assert.deepEqual(
      ws.events.map((message) => message.id),
      expected,
    );
    const filled = sse.events
      .filter((message) => message.data.type === 'order_filled')
      .map((message) => (message.data.order as { id: string }).id);
    assert.deepEqual([...filled].sort(), [...placed].sort(), 'one order_filled per order placed');
    assert.equal(sse.events.at(-1)?.data.type, 'balance_changed');

    const resumed = await SseClient.open(`${b.url}/stream/v1/accounts/${accountId}/events`, {
      ...headers,
      'last-event-id': '50',
    });
    await resumed.waitFor('the rest', () => resumed.events.length >= events - 50, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(
      resumed.events.map((message) => message.data.id),
      expected.slice(50),
    );

    // A reset through A: the subscribers on B are told to resynchronise, as A's would be.
    await adminA.resetAccount(accountId);
    for (const client of [sse, resumed]) {
      await client.waitFor('reset on B', (messages) => messages.some((m) => m.event === 'reset'), 10_000);
      const reset = client.messages.find((message) => message.event === 'reset');
      assert.equal(reset?.data.account_id, accountId);
      assert.match(String(reset?.data.msg), /reset/);
    }
    await ws.waitFor(
      'reset on B over WebSocket',
      (messages) => messages.some((m) => m.type === 'reset'),
      10_000,
    );
    for (const client of [sse, resumed]) client.close();
    ws.close();
  });
});
