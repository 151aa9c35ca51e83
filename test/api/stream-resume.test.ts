/**
 * Resuming account streams: after `since` or `Last-Event-ID` a client gets every later event, then
 * live ones, with no gap and no duplicate, also across a server restart on the same database; an
 * id the log no longer holds gets a `reset`. And what a stream refuses before it opens: the REST
 * API's 400 for a foreign or unknown account or a bad id, 401 without a token.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventRetention } from '../../src/application/streaming/event-retention.ts';
import { SseClient, StreamRefused, WsClient } from '../support/stream-clients.ts';
import { startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

const START_MS = Date.UTC(2026, 0, 6, 15, 0, 0);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('resuming account streams', () => {
  let t: TestServer;
  let account: TestAccount;
  before(async () => {
    t = await startTestServer({ clock: { mode: 'manual', startMs: START_MS, speed: undefined } });
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    account = await t.newAccount({ system: 'hedging' });
  });
  after(() => t.close());

  const eventsUrl = (query = '') => `${t.url}/stream/v1/accounts/${account.accountId}/events${query}`;
  const auth = () => ({ authorization: `Bearer ${account.token}` });
  /** Each market order is three events: placed, deal opened, filled. */
  const trade = () =>
    account.client.placeOrder(account.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
  const ids = (client: SseClient) => client.events.map((message) => Number(message.data.id));
  const range = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, index) => from + index);

  it('sends every event after `since`, then live ones, once each', async () => {
    await trade();
    await trade();
    const sse = await SseClient.open(eventsUrl('?since=2'), auth());
    await sse.waitFor('the backlog', () => ids(sse).length >= 4);
    assert.deepEqual(sse.messages[0]?.data, {
      type: 'subscribed',
      account_id: account.accountId,
      last_id: 2,
    });
    await trade();
    await sse.waitFor('the live events', () => ids(sse).length >= 7);
    assert.deepEqual(ids(sse), range(3, 9));
    sse.close();
  });

  it('lets Last-Event-ID win over since, as a reconnecting EventSource sends both', async () => {
    const sse = await SseClient.open(eventsUrl('?since=1'), { ...auth(), 'last-event-id': '7' });
    await sse.waitFor('events 8 and 9', () => ids(sse).length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(ids(sse), [8, 9]);
    sse.close();
  });

  it('resumes over WebSocket with since, and without it starts after the latest event', async () => {
    const ws = await WsClient.open(`${t.url}/stream/v1/ws`, auth());
    ws.send({ type: 'subscribe', account_id: account.accountId, since: 5 });
    await ws.waitFor('events 6 to 9', () => ws.events.length >= 4);
    assert.deepEqual(
      ws.events.map((event) => event.id),
      [6, 7, 8, 9],
    );
    const live = await SseClient.open(eventsUrl(), auth());
    await live.waitFor('subscribed', (messages) => messages.length > 0);
    assert.deepEqual(live.messages[0], {
      id: '9',
      event: 'subscribed',
      data: { type: 'subscribed', account_id: account.accountId, last_id: 9 },
    });
    await trade();
    await live.waitFor('the new events', () => ids(live).length >= 3);
    await ws.waitFor('the new events', () => ws.events.length >= 7);
    assert.deepEqual(ids(live), [10, 11, 12]);
    assert.deepEqual(
      ws.events.map((event) => event.id),
      range(6, 12),
    );
    ws.close();
    live.close();
  });

  it('resumes after a restart on the same database, numbering on from the stored ids', async () => {
    await t.restart();
    const sse = await SseClient.open(eventsUrl(), { ...auth(), 'last-event-id': '10' });
    await sse.waitFor('events 11 and 12', () => ids(sse).length >= 2);
    await trade();
    await sse.waitFor('the new events', () => ids(sse).length >= 5);
    assert.deepEqual(ids(sse), range(11, 15));
    sse.close();
  });

  it('answers an id the log no longer holds, or one past the latest, with a reset', async () => {
    // Retention of 0 days and 0 events, run as the periodic work runs it, a minute later.
    await t.admin.advanceClock(60);
    const retention = new EventRetention(
      t.server.storage,
      { days: 0, count: 0 },
      () => t.server.trading.now(),
      silent,
    );
    assert.equal(await retention.prune(), 15);
    await trade();
    const sse = await SseClient.open(eventsUrl('?since=3'), auth());
    await sse.waitFor('reset', (messages) => messages.some((message) => message.event === 'reset'));
    assert.deepEqual(sse.messages[1], {
      id: '18',
      event: 'reset',
      data: {
        type: 'reset',
        account_id: account.accountId,
        oldest_id: 16,
        last_id: 18,
        msg: 'events after 3 are no longer kept: resynchronise through the REST API',
      },
    });
    // The client resynchronises through REST (which shows 16 to 18) and reads on after 18.
    await trade();
    await sse.waitFor('events after the reset', () => ids(sse).length >= 3);
    assert.deepEqual(ids(sse), [19, 20, 21]);
    sse.close();

    const ahead = await SseClient.open(eventsUrl('?since=99'), auth());
    await ahead.waitFor('reset', (messages) => messages.some((message) => message.event === 'reset'));
    assert.match(String(ahead.messages[1]?.data.msg), /event 99 is newer than the account's latest event 21/);
    ahead.close();
  });

  it('keeps the newest events by count even when they are old', async () => {
    await t.admin.advanceClock(60);
    await trade();
    await t.admin.advanceClock(60);
    const retention = new EventRetention(
      t.server.storage,
      { days: 0, count: 2 },
      () => t.server.trading.now(),
      silent,
    );
    await retention.prune();
    const kept = await t.query<{ id: number }>(
      `SELECT id FROM account_events WHERE account_id = ${Number(account.accountId)} ORDER BY id`,
    );
    assert.deepEqual(
      kept.map((row) => Number(row.id)),
      [23, 24],
    );
  });

  it('tells live subscribers of an account reset to resynchronise, and numbers on', async () => {
    const sse = await SseClient.open(eventsUrl(), auth());
    await sse.waitFor('subscribed', (messages) => messages.length > 0);
    await t.admin.resetAccount(account.accountId);
    await sse.waitFor('reset', (messages) => messages.some((message) => message.event === 'reset'));
    assert.deepEqual(sse.messages[1]?.data, {
      type: 'reset',
      account_id: account.accountId,
      oldest_id: null,
      last_id: 24,
      msg: 'the account was reset: resynchronise through the REST API',
    });
    await trade();
    await sse.waitFor('events after the reset', () => ids(sse).length >= 3);
    assert.deepEqual(ids(sse), [25, 26, 27]);
    sse.close();
  });
});

describe('what a stream refuses before it opens', () => {
  let t: TestServer;
  let alice: TestAccount;
  let bob: TestAccount;
  const logLines: string[] = [];
  before(async () => {
    t = await startTestServer(
      { logLevel: 'info', requestLog: 'all', streamHeartbeatMs: 40 },
      { logStream: { write: (line: string) => void logLines.push(line) } },
    );
    alice = await t.newAccount();
    bob = await t.newAccount();
  });
  after(() => t.close());

  const refusal = async (url: string, headers: Record<string, string> = {}) => {
    const error = await SseClient.open(url, headers).then(
      (client) => {
        client.close();
        assert.fail('the stream opened');
      },
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof StreamRefused);
    return { status: error.status, body: JSON.parse(error.body) as Record<string, unknown> };
  };

  it('answers a foreign or unknown account exactly as the REST API does', async () => {
    const rest = await fetch(`${t.url}/api/v1/accounts/${bob.accountId}`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    const restBody = (await rest.json()) as Record<string, unknown>;
    for (const accountId of [bob.accountId, '99999999']) {
      assert.deepEqual(
        await refusal(`${t.url}/stream/v1/accounts/${accountId}/events`, {
          authorization: `Bearer ${alice.token}`,
        }),
        { status: rest.status, body: restBody },
      );
    }
    assert.deepEqual(restBody, { code: 'error', msg: 'account not found', error: 'account_not_found' });

    const ws = await WsClient.open(`${t.url}/stream/v1/ws`, { authorization: `Bearer ${alice.token}` });
    ws.send({ type: 'subscribe', account_id: bob.accountId });
    await ws.waitFor('the refusal', (messages) => messages.length > 0);
    assert.deepEqual(ws.messages[0], {
      stream: 'control',
      type: 'error',
      error: 'account_not_found',
      msg: 'account not found',
      account_id: bob.accountId,
    });
    ws.close();
  });

  it('refuses a malformed since or Last-Event-ID with 400', async () => {
    const url = `${t.url}/stream/v1/accounts/${alice.accountId}/events`;
    const headers = { authorization: `Bearer ${alice.token}` };
    for (const since of ['-1', 'abc', '1.5', '']) {
      const { status, body } = await refusal(`${url}?since=${since}`, headers);
      assert.equal(status, 400, `since=${since}`);
      assert.equal(body.error, 'invalid_request');
      assert.equal(body.msg, 'since is malformed: expected a non-negative integer of up to 15 digits');
    }
    assert.deepEqual(await refusal(url, { ...headers, 'last-event-id': 'x' }), {
      status: 400,
      body: {
        code: 'error',
        msg: 'Last-Event-ID must be a non-negative integer event id',
        error: 'invalid_request',
      },
    });
  });

  it('needs a token: 401 without one, the header or a token parameter works', async () => {
    const url = `${t.url}/stream/v1/accounts/${alice.accountId}/events`;
    assert.equal((await refusal(url)).status, 401);
    assert.equal((await refusal(`${url}?token=st_nonsense`)).status, 401);
    const sse = await SseClient.open(`${url}?token=${alice.token}`);
    await sse.waitFor('subscribed', (messages) => messages.length > 0);
    sse.close();
    const ws = await WsClient.open(`${t.url}/stream/v1/ws?token=${alice.token}`);
    ws.send({ type: 'subscribe', account_id: alice.accountId });
    await ws.waitFor('subscribed', (messages) => messages.some((message) => message.type === 'subscribed'));
    ws.close();
    await assert.rejects(
      WsClient.open(`${t.url}/stream/v1/ws`),
      (error: StreamRefused) => error.status === 401,
    );
    // A refused stream with a token parameter is logged, and the token is not.
    await refusal(`${t.url}/stream/v1/accounts/${bob.accountId}/events?token=${alice.token}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const log = logLines.join('');
    assert.match(log, /events\?token=\*\*\*/);
    assert.ok(!log.includes(alice.token), 'the token never reaches the log');
  });

  it('answers a bad WebSocket message with an error and keeps the connection', async () => {
    const ws = await WsClient.open(`${t.url}/stream/v1/ws`, { authorization: `Bearer ${alice.token}` });
    ws.send('not json');
    ws.send({ type: 'subscribe' });
    ws.send({ type: 'subscribe', tickers: ['NOPE.nq'] });
    ws.send({ type: 'subscribe', account_id: alice.accountId, since: -1 });
    ws.send({ type: 'subscribe', account_id: alice.accountId });
    await ws.waitFor('five answers', (messages) => messages.length >= 5);
    assert.deepEqual(
      ws.messages.slice(0, 4).map((message) => [message.stream, message.type, message.error]),
      [
        ['control', 'error', 'invalid_request'],
        ['control', 'error', 'invalid_request'],
        ['control', 'error', 'unknown_ticker'],
        ['control', 'error', 'invalid_request'],
      ],
    );
    assert.equal(ws.messages[4]?.type, 'subscribed');
    ws.close();
    const plain = await fetch(`${t.url}/stream/v1/ws`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    assert.equal(plain.status, 400);
  });

  it('sends heartbeats: SSE comments and WebSocket pings', async () => {
    const sse = await SseClient.open(`${t.url}/stream/v1/accounts/${alice.accountId}/events`, {
      authorization: `Bearer ${alice.token}`,
    });
    const ws = await WsClient.open(`${t.url}/stream/v1/ws`, { authorization: `Bearer ${alice.token}` });
    await sse.waitFor(
      'two heartbeats',
      () => sse.comments.filter((text) => text === 'heartbeat').length >= 2,
    );
    await ws.waitFor('two pings', () => ws.pings >= 2);
    assert.equal(ws.closeCode, undefined, 'a client that answers pings stays connected');
    sse.close();
    ws.close();
  });
});

describe('quote streams', () => {
  let t: TestServer;
  let account: TestAccount;
  before(async () => {
    t = await startTestServer();
    account = await t.newAccount();
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
  });
  after(() => t.close());

  it('sends each ticker its current quote, then new ones, as the REST quote object', async () => {
    const sse = await SseClient.open(
      `${t.url}/stream/v1/quotes?tickers=AAPL.nq,EURUSD&token=${account.token}`,
    );
    const ws = await WsClient.open(`${t.url}/stream/v1/ws`, { authorization: `Bearer ${account.token}` });
    ws.send({ type: 'subscribe', tickers: ['AAPL.nq'] });
    await sse.waitFor('the current quote', (messages) => messages.length >= 1);
    const rest = await account.client.quote(account.accountId, 'AAPL.nq');
    assert.deepEqual(sse.messages[0], {
      id: undefined,
      event: 'quote',
      data: { type: 'quote', ticker: 'AAPL.nq', ...rest },
    });
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.1002 });
    await t.admin.setQuote('AAPL.nq', { bid: 101, ask: 101.02 });
    await sse.waitFor('two more quotes', (messages) => messages.length >= 3);
    await ws.waitFor(
      'two quotes',
      (messages) => messages.filter((message) => message.type === 'quote').length >= 2,
    );
    assert.deepEqual(
      sse.messages.map((message) => [message.data.ticker, message.data.bid_price]),
      [
        ['AAPL.nq', 100],
        ['EURUSD', 1.1],
        ['AAPL.nq', 101],
      ],
    );
    assert.deepEqual(
      ws.messages.map((message) => [message.stream, message.type, message.ticker ?? message.tickers]),
      [
        ['quotes', 'subscribed', ['AAPL.nq']],
        ['quotes', 'quote', 'AAPL.nq'],
        ['quotes', 'quote', 'AAPL.nq'],
      ],
    );
    sse.close();
    ws.close();
  });

  it('refuses an unknown ticker or an empty list with 400', async () => {
    for (const tickers of ['NOPE.nq', 'AAPL.nq,NOPE.nq', ',']) {
      const response = await fetch(`${t.url}/stream/v1/quotes?tickers=${tickers}&token=${account.token}`);
      assert.equal(response.status, 400, tickers);
      await response.body?.cancel();
    }
  });
});

describe('shutting down with open streams', () => {
  it('ends every stream with a message saying why, promptly', async () => {
    const t = await startTestServer();
    try {
      const account = await t.newAccount();
      const sse = await SseClient.open(
        `${t.url}/stream/v1/accounts/${account.accountId}/events?token=${account.token}`,
      );
      const quotes = await SseClient.open(`${t.url}/stream/v1/quotes?tickers=EURUSD&token=${account.token}`);
      const ws = await WsClient.open(`${t.url}/stream/v1/ws?token=${account.token}`);
      ws.send({ type: 'subscribe', account_id: account.accountId });
      await ws.waitFor('subscribed', (messages) => messages.length > 0);
      const started = performance.now();
      await t.server.close();
      // The close grace for other connections is 5 s: streams must not wait for it.
      assert.ok(performance.now() - started < 4_000, 'the server closed without waiting on its streams');
      await sse.waitFor('the end', () => sse.ended);
      await ws.waitFor('the close', () => ws.closeCode !== undefined);
      for (const client of [sse, quotes]) {
        assert.deepEqual(client.messages.at(-1)?.data, {
          type: 'error',
          error: 'not_ready',
          msg: 'the server is shutting down: reconnect and resume',
        });
      }
      assert.equal(ws.messages.at(-1)?.error, 'not_ready');
      assert.equal(ws.closeCode, 1001);
    } finally {
      await t.close();
    }
  });
});

describe('rate limiting streams', () => {
  it('counts a stream once, when it connects', async () => {
    const t = await startTestServer();
    try {
      const account = await t.newAccount();
      // Two at once, then one per 100 s: the third connection comes long before that.
      await t.restart({ rateLimit: 0.01, rateBurst: 2 });
      const url = `${t.url}/stream/v1/accounts/${account.accountId}/events`;
      const headers = { authorization: `Bearer ${account.token}` };
      const first = await SseClient.open(url, headers);
      const second = await SseClient.open(url, headers);
      const refused = await SseClient.open(url, headers).then(
        (client) => {
          client.close();
          return undefined;
        },
        (error: unknown) => error,
      );
      assert.ok(refused instanceof StreamRefused);
      assert.equal(refused.status, 429);
      assert.equal((JSON.parse(refused.body) as { error: string }).error, 'rate_limited');
      // Heartbeats and events on the open streams are not requests.
      await first.waitFor('subscribed', (messages) => messages.length > 0);
      assert.ok(!first.ended && !second.ended);
      first.close();
      second.close();
    } finally {
      await t.close();
    }
  });
});
