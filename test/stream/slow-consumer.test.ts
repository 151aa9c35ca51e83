/**
 * A stream client that stops reading is cut off once it leaves more than `--stream-buffer` bytes
 * unread, with a final message saying why; the server's memory does not grow with what it would
 * have sent, and a client that reads goes on receiving every event.
 *
 * The slow client is a real TCP socket that sends its request and never reads. The kernel takes a
 * few MB of a loopback socket's data before anything waits in the server, so the test trades
 * until the server lets the client go (bounded, in case it never does).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { SseClient } from '../support/stream-clients.ts';
import { startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

const BUFFER_BYTES = 64 * 1024;
/** Orders at most: some 25 MB of events, several times what the kernel holds. */
const MAX_ORDERS = 20_000;
const CONCURRENCY = 16;

describe('a stream client that stops reading', () => {
  let t: TestServer;
  let account: TestAccount;
  before(async () => {
    t = await startTestServer({ streamBufferBytes: BUFFER_BYTES });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    account = await t.newAccount({ system: 'hedging', balance: 10_000_000 });
  });
  after(() => t.close());

  it('is cut off with a final message, memory stays bounded, and a reading client gets everything', async () => {
    const reader = await SseClient.open(`${t.url}/stream/v1/accounts/${account.accountId}/events`, {
      authorization: `Bearer ${account.token}`,
    });
    const { port } = new URL(t.url);
    const slow: Socket = connect(Number(port), '127.0.0.1');
    slow.pause();
    slow.write(
      `GET /stream/v1/accounts/${account.accountId}/events?token=${account.token} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    await reader.waitFor('subscribed', (messages) => messages.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(t.server.trading.streams.subscriptionCount, 2);

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let orders = 0;
    const trade = async (): Promise<void> => {
      while (orders < MAX_ORDERS && t.server.trading.streams.subscriptionCount > 1) {
        orders += 1;
        await account.client.placeOrder(account.accountId, {
          ticker: 'AAPL.nq',
          side: 'buy',
          type: 'market',
          volume: 1,
        });
        if (orders % 200 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, trade));
    assert.equal(
      t.server.trading.streams.subscriptionCount,
      1,
      `the slow client was cut off (${orders} orders)`,
    );
    // Without the bound, the server would hold what the kernel did not take: several MB per
    // stalled client and growing. RSS moves with the heap anyway; the slack covers that.
    assert.ok(rssPeak - rssBefore < 200 * 1024 * 1024, `RSS grew by ${rssPeak - rssBefore} bytes`);

    // What the slow client finds once it reads: the events it had, then why it was cut off.
    let text = '';
    slow.setEncoding('utf8');
    slow.on('data', (chunk: string) => (text += chunk));
    slow.resume();
    await new Promise<void>((resolve) => (slowClosed ? resolve() : slow.once('close', () => resolve())));
    assert.match(
      text,
      /event: error\ndata: \{"type":"error","error":"slow_consumer","msg":"the client read too slowly/,
    );

    const events = orders * 3;
    await reader.waitFor(`all ${events} events`, () => reader.events.length >= events, 30_000);
    assert.deepEqual(
      reader.events.map((message) => Number(message.data.id)),
      Array.from({ length: events }, (_, index) => index + 1),
    );
    assert.ok(!reader.ended, 'the reading client is still connected');
    reader.close();
  });
});
