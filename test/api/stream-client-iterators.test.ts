/**
 * The SDK's stream iterators (`client.events()`, `client.quotes()`) against a real server: events
 * of orders placed through the API arrive in order; a consumer iterating across a server restart
 * sees every event once (compared with a fresh read from id 0); a refusal (4xx) is thrown, not
 * retried; leaving the loop or aborting closes the connection on the server; a silent connection
 * is replaced; quotes pushed through the admin API arrive.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  StocksTraderClient,
  StocksTraderError,
  type Reconnect,
} from '../../src/client/stockstrader-client.ts';
import type { QuoteMessage } from '../../src/contract/stream-api.ts';
import { startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';
import { waitFor } from '../support/wait-for.ts';

const START_MS = Date.UTC(2026, 0, 6, 15, 0, 0);
/** Short delays, so that reconnecting takes milliseconds in tests. */
const FAST = { minRetryDelayMs: 20, maxRetryDelayMs: 200 };

/** Consumes an iterator in the background, keeping what it yields and how it ended; `stop()` aborts it. */
function consume<T>(start: (signal: AbortSignal) => AsyncIterable<T>) {
  const controller = new AbortController();
  const items: T[] = [];
  const state: { error?: unknown; done: boolean } = { done: false };
  const finished = (async () => {
    try {
      for await (const item of start(controller.signal)) items.push(item);
    } catch (error) {
      state.error = error;
    } finally {
      state.done = true;
    }
  })();
  const stop = async () => {
    controller.abort();
    await finished;
  };
  return { items, state, finished, stop };
}

/** The first `count` items of an iterator, then leaves it. */
async function take<T>(iterator: AsyncIterable<T>, count: number): Promise<T[]> {
  const items: T[] = [];
  if (count === 0) return items;
  for await (const item of iterator) if (items.push(item) >= count) break;
  return items;
}

describe('SDK stream iterators', () => {
  let t: TestServer;
  let account: TestAccount;
  before(async () => {
    t = await startTestServer({ clock: { mode: 'manual', startMs: START_MS, speed: undefined } });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.10008 });
    account = await t.newAccount({ system: 'hedging' });
  });
  after(() => t.close());

  /** A market order: three events (placed, deal opened, filled). */
  const trade = () =>
    account.client.placeOrder(account.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
  const subscriptions = () => t.server.trading.streams.subscriptionCount;
  const eventIds = (items: { type: string }[]) => items.map((item) => ('id' in item ? item.id : item.type));

  it('yields the events of orders placed through the API, in order, each once', async () => {
    const stream = consume((signal) =>
      account.client.events(account.accountId, { since: 0, ...FAST, signal }),
    );
    const first = await trade();
    const second = await trade();
    await waitFor('six events', () => stream.items.length >= 6);
    assert.deepEqual(eventIds(stream.items), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(
      stream.items.map((item) => item.type),
      ['order_placed', 'deal_opened', 'order_filled', 'order_placed', 'deal_opened', 'order_filled'],
    );
    const fills = stream.items.flatMap((item) => (item.type === 'order_filled' ? [item.order] : []));
    assert.deepEqual(
      fills.map((order) => [order.id, order.filled_price]),
      [
        [first, 100.02],
        [second, 100.02],
      ],
    );
    const [placed] = await account.client.orders(account.accountId, { status: 'filled' });
    assert.ok(placed, 'the filled order is in the history');
    await trade();
    await waitFor('the live events', () => stream.items.length >= 9);
    assert.deepEqual(eventIds(stream.items), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(stream.state.done, false);
    await stream.stop();
    assert.equal(stream.state.error, undefined);
  });

  it('resumes across a server restart on the same port and database: no gap, no duplicate', async () => {
    const reconnects: Reconnect[] = [];
    // Started without `since`: it resumes where its first connection started.
    const live = consume((signal) =>
      account.client.events(account.accountId, {
        ...FAST,
        minRetryDelayMs: 100,
        signal,
        onReconnect: (reconnect) => reconnects.push(reconnect),
      }),
    );
    await waitFor('the subscription', () => subscriptions() >= 1);
    await trade();
    await waitFor('the first live events', () => live.items.length >= 3);
    await t.restart();
    // Committed while the consumer waits to reconnect, then after it has.
    await trade();
    await waitFor('a reconnection', () => subscriptions() >= 1, { timeoutMs: 10_000 });
    await trade();
    await waitFor('the events after the restart', () => live.items.length >= 9, { timeoutMs: 10_000 });
    const everything = await take(account.client.events(account.accountId, { since: 0 }), 18);
    assert.deepEqual(eventIds(live.items), eventIds(everything.slice(9)));
    assert.deepEqual(eventIds(live.items), [10, 11, 12, 13, 14, 15, 16, 17, 18]);
    assert.ok(reconnects.length >= 1, 'the consumer reconnected');
    assert.match(reconnects[0]?.reason ?? '', /not_ready|closed|fetch failed/);
    await live.stop();
    assert.equal(live.state.error, undefined, 'an abort ends the loop without an error');
  });

  it('throws a refusal (4xx) with the server message, without retrying', async () => {
    const reconnects: Reconnect[] = [];
    const onReconnect = (reconnect: Reconnect) => reconnects.push(reconnect);
    const refusals: [AsyncIterable<unknown>, number, string][] = [
      [account.client.events('99999999', { onReconnect }), 400, 'account_not_found'],
      [account.client.events(account.accountId, { since: -1, onReconnect }), 400, 'invalid_request'],
      [account.client.quotes(['AAPL.nq', 'NOPE.x'], { onReconnect }), 400, 'unknown_ticker'],
      [
        new StocksTraderClient({ baseUrl: t.url, token: 'st_wrong' }).events(account.accountId, {
          onReconnect,
        }),
        401,
        'unauthorized',
      ],
    ];
    for (const [iterator, status, code] of refusals) {
      await assert.rejects(take(iterator, 1), (error: unknown) => {
        assert.ok(error instanceof StocksTraderError, String(error));
        assert.equal(error.status, status);
        assert.equal(error.code, code);
        assert.notEqual(error.message, `HTTP ${status}`, 'the server msg, not just the status');
        return true;
      });
    }
    assert.deepEqual(reconnects, []);
  });

  it('closes the connection when the consumer leaves the loop or aborts', async () => {
    await waitFor('no subscriber left', () => subscriptions() === 0);
    const [event] = await take(account.client.events(account.accountId, { since: 0 }), 1);
    assert.equal(event?.type, 'order_placed');
    await waitFor('the server to see the stream closed after break', () => subscriptions() === 0);

    // Aborted while waiting for an event that does not come.
    const idle = consume((signal) => account.client.events(account.accountId, { signal }));
    await waitFor('the subscription', () => subscriptions() === 1);
    await idle.stop();
    assert.deepEqual([idle.items, idle.state.error], [[], undefined]);
    await waitFor('the server to see the stream closed after abort', () => subscriptions() === 0);

    const quotes = account.client.quotes(['EURUSD']);
    assert.equal((await take(quotes, 1))[0]?.ticker, 'EURUSD');
    await waitFor('the server to see the quote stream closed', () => subscriptions() === 0);
  });

  it('yields a reset when the ids asked for are not the log: the stream goes on after its last_id', async () => {
    const stream = consume((signal) =>
      account.client.events(account.accountId, { since: 1000, ...FAST, signal }),
    );
    await waitFor('the reset', () => stream.items.length >= 1);
    assert.deepEqual(stream.items[0], {
      type: 'reset',
      account_id: account.accountId,
      oldest_id: 1,
      last_id: 18,
      msg: "event 1000 is newer than the account's latest event 18: resynchronise through the REST API",
    });
    await trade();
    await waitFor('the events after the reset', () => stream.items.length >= 4);
    assert.deepEqual(eventIds(stream.items), ['reset', 19, 20, 21]);
    await stream.stop();
  });

  it('replaces a connection silent for longer than idleTimeoutMs, resuming after the last id', async () => {
    const reconnects: Reconnect[] = [];
    const stream = consume((signal) =>
      account.client.events(account.accountId, {
        since: 21,
        ...FAST,
        idleTimeoutMs: 150,
        signal,
        onReconnect: (reconnect) => reconnects.push(reconnect),
      }),
    );
    // The server's heartbeat is 15 s: a silence of 150 ms is taken for a dead connection.
    await waitFor('a reconnection for silence', () => reconnects.length >= 2);
    assert.equal(reconnects[0]?.reason, 'no data for 150 ms');
    assert.equal(reconnects[0]?.attempt, 1);
    await trade();
    await waitFor('the events', () => stream.items.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(eventIds(stream.items), [22, 23, 24]);
    await stream.stop();
    assert.equal(stream.state.error, undefined);
  });

  it('yields quotes: each ticker current one first, then those the admin API pushes', async () => {
    const stream = consume((signal) => account.client.quotes(['AAPL.nq', 'EURUSD'], { ...FAST, signal }));
    const essentials = (quote: QuoteMessage | undefined) =>
      quote && [quote.type, quote.ticker, quote.bid_price, quote.ask_price, quote.ask_bid_price_time];
    await waitFor('the current quotes', () => stream.items.length >= 2);
    assert.deepEqual(stream.items.map(essentials).sort(), [
      ['quote', 'AAPL.nq', 100, 100.02, START_MS / 1000],
      ['quote', 'EURUSD', 1.1, 1.10008, START_MS / 1000],
    ]);
    await t.admin.advanceClock(5);
    await t.admin.setQuote('EURUSD', { bid: 1.2, ask: 1.20008 });
    await waitFor('the pushed quote', () => stream.items.length >= 3);
    assert.deepEqual(essentials(stream.items[2]), ['quote', 'EURUSD', 1.2, 1.20008, START_MS / 1000 + 5]);
    await stream.stop();
    assert.deepEqual([stream.items.length, stream.state.error], [3, undefined]);
  });
});
