import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer } from '../../../test/support/test-server.ts';
import type { Clock, Logger } from '../../application/ports.ts';
import type { Quote } from '../../engine/model.ts';
import { UpstreamFeed, type UpstreamFeedOptions } from './upstream-feed.ts';
import { parseQuote, parseRetryAfter } from './upstream-quote-client.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const clock: Clock = { nowMs: () => Date.now() };
const NOW = 1_764_000_000;

interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  object: Record<string, unknown>;
  message: string | undefined;
}

function recordingLogger(): Logger & { entries: LogEntry[]; warnings(): LogEntry[] } {
  const entries: LogEntry[] = [];
  const record =
    (level: LogEntry['level']) =>
    (object: object, message?: string): void => {
      entries.push({ level, object: { ...object }, message });
    };
  return {
    entries,
    warnings: () => entries.filter((entry) => entry.level === 'warn'),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function collectingSink(): { quotes: Quote[]; sink: (quotes: readonly Quote[]) => Promise<void> } {
  const quotes: Quote[] = [];
  return {
    quotes,
    sink: async (batch) => {
      quotes.push(...batch);
    },
  };
}

// ---- A scripted misbehaving upstream ----

interface RecordedRequest {
  index: number;
  ticker: string;
  /** performance.now() at arrival. */
  at: number;
  authorization: string | undefined;
}

type Responder = (response: ServerResponse, request: RecordedRequest) => void;

interface ScriptedUpstream {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Answers request n with `script[n]`, and every later one with `fallback`. */
async function startScriptedUpstream(
  script: readonly Responder[],
  fallback: Responder,
): Promise<ScriptedUpstream> {
  const requests: RecordedRequest[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const ticker = decodeURIComponent((request.url ?? '').split('/')[6] ?? '');
    const recorded: RecordedRequest = {
      index: requests.length,
      ticker,
      at: performance.now(),
      authorization: request.headers.authorization,
    };
    requests.push(recorded);
    (script[recorded.index] ?? fallback)(response, recorded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      // Hanging responses would otherwise keep close() waiting forever.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Responder {
  return (response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
}

const goodQuote: Responder = (response, request) =>
  json(200, {
    code: 'ok',
    data: {
      ask_price: 1.2,
      bid_price: 1.1,
      ask_bid_price_time: Math.floor(Date.now() / 1000),
      ticker: request.ticker,
    },
  })(response, request);

const hang: Responder = () => undefined;

function feedFor(
  upstream: ScriptedUpstream,
  logger: Logger,
  options: Partial<UpstreamFeedOptions> = {},
): UpstreamFeed {
  return new UpstreamFeed({
    baseUrl: upstream.url,
    token: 'secret-token',
    accountId: '93012898',
    watch: ['AAPL.nq', 'EURUSD'],
    clock,
    logger,
    requestsPerSecond: 20,
    random: () => 0,
    ...options,
  });
}

function gaps(requests: readonly RecordedRequest[]): number[] {
  return requests.slice(1).map((request, index) => request.at - (requests[index]?.at ?? 0));
}

// ---- Tests ----

describe('UpstreamFeed against our own server as the upstream', () => {
  it('delivers exact quotes, follows changes, and survives an unknown ticker and a bad token', async () => {
    const t = await startTestServer();
    try {
      const { token, accountId } = await t.newAccount();
      const aapl = await t.admin.setQuote('AAPL.nq', { bid: 100.25, ask: 100.75, last: 100.5 });
      const eurusd = await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.10012 });
      const logger = recordingLogger();
      const { quotes, sink } = collectingSink();
      const feed = new UpstreamFeed({
        baseUrl: t.url,
        token,
        accountId,
        watch: ['AAPL.nq', 'NOPE', 'EURUSD'],
        requestsPerSecond: 20,
        clock,
        logger,
      });
      feed.start(sink);
      const of = (ticker: string): Quote[] => quotes.filter((quote) => quote.ticker === ticker);
      await waitFor('both quotes', () => of('AAPL.nq').length > 0 && of('EURUSD').length > 0);

      assert.deepEqual(of('AAPL.nq')[0], {
        ticker: 'AAPL.nq',
        bid: 10_025_000_000,
        ask: 10_075_000_000,
        time: aapl.time,
        last: 10_050_000_000,
        lastTime: aapl.time,
      });
      assert.deepEqual(of('EURUSD')[0], {
        ticker: 'EURUSD',
        bid: 110_000_000,
        ask: 110_012_000,
        time: eurusd.time,
      });

      await t.admin.setQuote('AAPL.nq', { bid: 101, ask: 101.5, last: 101.25 });
      await waitFor('the changed quote', () => of('AAPL.nq').length === 2);
      assert.equal(of('AAPL.nq')[1]?.bid, 10_100_000_000);
      assert.equal(of('AAPL.nq')[1]?.ask, 10_150_000_000);
      assert.equal(of('AAPL.nq')[1]?.last, 10_125_000_000);

      // Repeats of an unchanged quote are polled but not delivered again.
      await waitFor('unchanged polls', () => Number(feed.status().detail.quotes_unchanged) >= 3);
      assert.equal(of('AAPL.nq').length, 2);
      assert.equal(of('EURUSD').length, 1);

      const nope = logger.warnings().filter((entry) => entry.object.ticker === 'NOPE');
      assert.ok(nope.length >= 1, 'the unknown ticker is logged');
      assert.equal(nope[0]?.object.status, 400);
      assert.match(String(nope[0]?.object.reason), /NOPE/);
      assert.equal(of('NOPE').length, 0);

      const status = feed.status();
      assert.equal(status.name, 'upstream');
      assert.equal(status.state, 'running');
      assert.ok(Number(status.detail.failures) >= 1);
      assert.ok(Number(status.detail.successes) >= 5);
      assert.equal(status.detail.quotes_delivered, 3);
      assert.equal(status.detail.last_quote_time, of('AAPL.nq')[1]?.time);
      assert.match(String(status.detail.last_error), /NOPE/);
      await feed.stop();
      assert.equal(feed.status().state, 'stopped');

      // A bad token is reported as such, on every ticker, and never logged.
      const badLogger = recordingLogger();
      const bad = collectingSink();
      const badFeed = new UpstreamFeed({
        baseUrl: t.url,
        token: 'not-a-valid-token',
        accountId,
        watch: ['AAPL.nq', 'EURUSD'],
        requestsPerSecond: 20,
        clock,
        logger: badLogger,
      });
      badFeed.start(bad.sink);
      await waitFor('both tickers refused', () => badLogger.warnings().length >= 2);
      await badFeed.stop();
      const refused = badLogger.warnings();
      assert.deepEqual(new Set(refused.map((entry) => entry.object.ticker)), new Set(['AAPL.nq', 'EURUSD']));
      for (const entry of refused) {
        assert.equal(entry.object.status, 401);
        assert.match(String(entry.object.reason), /unauthorized/);
      }
      assert.equal(bad.quotes.length, 0);
      const everything = JSON.stringify([...logger.entries, ...badLogger.entries]);
      assert.ok(!everything.includes(token) && !everything.includes('not-a-valid-token'), 'no token in logs');
    } finally {
      await t.close();
    }
  });
});

describe('UpstreamFeed against a misbehaving upstream', () => {
  const upstreams: ScriptedUpstream[] = [];
  const feeds: UpstreamFeed[] = [];
  after(async () => {
    await Promise.all(feeds.map((feed) => feed.stop()));
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  });
  async function upstream(script: readonly Responder[], fallback: Responder): Promise<ScriptedUpstream> {
    const started = await startScriptedUpstream(script, fallback);
    upstreams.push(started);
    return started;
  }
  function track(feed: UpstreamFeed): UpstreamFeed {
    feeds.push(feed);
    return feed;
  }

  it('honours Retry-After on 429: no request at all until it has passed', async () => {
    const server = await upstream(
      [json(429, { code: 'error', msg: 'slow down' }, { 'retry-after': '1' })],
      goodQuote,
    );
    const logger = recordingLogger();
    const { quotes, sink } = collectingSink();
    const feed = track(feedFor(server, logger));
    feed.start(sink);
    await waitFor('the first failure', () => feed.status().detail.failures === 1);
    const backoffUntil = feed.status().detail.backoff_until;
    assert.equal(typeof backoffUntil, 'number');
    assert.ok(Number(backoffUntil) > Date.now() + 500, 'back-off announced about a second ahead');
    await waitFor('the retry', () => server.requests.length >= 3);
    await feed.stop();

    const [first, second] = server.requests;
    assert.ok(first && second);
    const wait = second.at - first.at;
    assert.ok(wait >= 950, `waited ${wait} ms after 429 with Retry-After: 1`);
    assert.ok(wait < 2500, `retried ${wait} ms after 429`);
    assert.ok(quotes.length >= 1, 'quotes flow again after the back-off');
    assert.equal(first.authorization, 'Bearer secret-token');
    const warning = logger.warnings()[0];
    assert.equal(warning?.object.status, 429);
    assert.equal(warning?.object.ticker, 'AAPL.nq');
    assert.equal(feed.status().detail.backoff_until, null);
  });

  it('backs off exponentially on 503 without Retry-After, and resets after a success', async () => {
    const unavailable = json(503, { code: 'error', msg: 'maintenance' });
    const server = await upstream([unavailable, unavailable, unavailable], goodQuote);
    const logger = recordingLogger();
    const feed = track(feedFor(server, logger, { initialBackoffMs: 100 }));
    feed.start(collectingSink().sink);
    await waitFor('recovery', () => server.requests.length >= 6);
    await feed.stop();

    const [g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0] = gaps(server.requests);
    assert.ok(g1 >= 95 && g1 < 400, `first back-off ${g1}`);
    assert.ok(g2 >= 195 && g2 < 600, `second back-off ${g2}`);
    assert.ok(g3 >= 395 && g3 < 1000, `third back-off ${g3}`);
    // After the success on request 4, the feed is back to its normal 50 ms spacing.
    assert.ok(g4 < 300 && g5 < 300, `normal spacing after recovery: ${g4}, ${g5}`);
    const statuses = logger.warnings().map((entry) => entry.object.status);
    assert.deepEqual(statuses, [503, 503, 503]);
    assert.equal(feed.status().detail.consecutive_failures, 0);
  });

  it('survives junk bodies, error bodies, invalid prices and a hanging response', async () => {
    const server = await upstream(
      [
        (response) => {
          response.writeHead(200, { 'content-type': 'text/html' });
          response.end('<html>not json</html>');
        },
        hang,
        json(200, { code: 'ok', data: { bid_price: 2, ask_price: 1, ask_bid_price_time: NOW } }),
        json(200, { code: 'error', msg: 'instrument suspended' }),
        json(200, { code: 'ok', data: { bid_price: 'abc', ask_price: 1, ask_bid_price_time: NOW } }),
        json(200, { code: 'ok', data: { bid_price: -1, ask_price: 1, ask_bid_price_time: NOW } }),
      ],
      goodQuote,
    );
    const logger = recordingLogger();
    const { quotes, sink } = collectingSink();
    const feed = track(feedFor(server, logger, { requestTimeoutMs: 300, initialBackoffMs: 50 }));
    feed.start(sink);
    const delivered = (ticker: string): boolean => quotes.some((quote) => quote.ticker === ticker);
    await waitFor('quotes for both tickers', () => delivered('AAPL.nq') && delivered('EURUSD'));
    await feed.stop();

    const reasons = logger.warnings().map((entry) => String(entry.object.reason));
    assert.equal(reasons.length, 6, reasons.join('\n'));
    assert.match(reasons[0] ?? '', /not JSON/);
    assert.match(reasons[1] ?? '', /timed out after 300 ms/);
    assert.match(reasons[2] ?? '', /above ask/);
    assert.match(reasons[3] ?? '', /instrument suspended/);
    assert.match(reasons[4] ?? '', /bid_price is not a positive price/);
    assert.match(reasons[5] ?? '', /bid_price is not a positive price/);
    for (const quote of quotes) assert.deepEqual([quote.bid, quote.ask], [110_000_000, 120_000_000]);
    assert.equal(feed.status().detail.failures, 6);
  });

  it('says failing once three polls in a row failed, and running again after a quote', async () => {
    const unavailable = json(503, { code: 'error', msg: 'maintenance' });
    const server = await upstream([unavailable, unavailable, unavailable], goodQuote);
    const feed = track(feedFor(server, recordingLogger(), { initialBackoffMs: 300 }));
    feed.start(collectingSink().sink);
    const states = new Set<string>();
    await waitFor('two failures', () => feed.status().detail.failures === 2);
    states.add(feed.status().state);
    await waitFor('the third failure', () => feed.status().detail.failures === 3);
    assert.equal(feed.status().state, 'failing');
    assert.equal(feed.status().detail.failed_polls_in_a_row, 3);
    assert.match(String(feed.status().detail.last_error), /upstream server error 503/);
    await waitFor('the recovery', () => Number(feed.status().detail.successes) >= 1);
    assert.equal(feed.status().state, 'running');
    await feed.stop();
    assert.deepEqual([...states], ['running'], 'two failures are not yet failing');
  });

  it('is not failing while one ticker of several is refused and the others are quoted', async () => {
    const server = await upstream([], (response, request) =>
      request.ticker === 'AAPL.nq'
        ? json(404, { code: 'error', msg: 'no such instrument' })(response, request)
        : goodQuote(response, request),
    );
    const feed = track(feedFor(server, recordingLogger(), { initialBackoffMs: 20 }));
    feed.start(collectingSink().sink);
    const states = new Set<string>();
    await waitFor('several failures', () => {
      states.add(feed.status().state);
      return Number(feed.status().detail.failures) >= 4;
    });
    await feed.stop();
    assert.deepEqual([...states], ['running']);
  });

  it('keeps to the request budget, failures and immediate retries included', async () => {
    for (const fallback of [goodQuote, json(503, { code: 'error', msg: 'busy' }, { 'retry-after': '0' })]) {
      const server = await upstream([], fallback);
      const feed = track(feedFor(server, recordingLogger()));
      const startedAt = performance.now();
      feed.start(collectingSink().sink);
      await delay(500);
      await feed.stop();
      const elapsed = performance.now() - startedAt;
      const count = server.requests.length;
      // 20 per second is one start every 50 ms, the first at time zero. Bounded by the time that really
      // passed (a loaded machine oversleeps), plus one for timer slack; about 11 in 0.5 s.
      const budget = Math.floor(elapsed / 50) + 2;
      assert.ok(count <= budget, `${count} requests in ${Math.round(elapsed)} ms at 20 per second`);
      assert.ok(count >= 5, `${count} requests: the feed kept polling`);
      assert.deepEqual(
        server.requests.slice(0, 4).map((request) => request.ticker),
        ['AAPL.nq', 'EURUSD', 'AAPL.nq', 'EURUSD'],
        'round-robin',
      );
    }
  });

  it('stops promptly with a request hanging, and during a back-off', async () => {
    const hanging = await upstream([], hang);
    const feed = track(feedFor(hanging, recordingLogger()));
    feed.start(collectingSink().sink);
    await waitFor('the hanging request', () => hanging.requests.length === 1);
    let started = performance.now();
    await feed.stop();
    assert.ok(performance.now() - started < 500, 'stop() aborts the request in flight');
    assert.equal(feed.status().state, 'stopped');
    assert.equal(feed.status().detail.failures, 0, 'an abort by stop() is not a failure');

    const limited = await upstream([], json(429, { code: 'error', msg: 'later' }, { 'retry-after': '60' }));
    const backedOff = track(feedFor(limited, recordingLogger()));
    backedOff.start(collectingSink().sink);
    await waitFor('the 429', () => backedOff.status().detail.failures === 1);
    started = performance.now();
    await backedOff.stop();
    assert.ok(performance.now() - started < 500, 'stop() cancels the back-off timer');
    await delay(100);
    assert.equal(limited.requests.length, 1);
    assert.equal(hanging.requests.length, 1);
  });
});

describe('UpstreamFeed parsing and configuration', () => {
  it('parses quotes exactly and validates them', () => {
    const parsed = parseQuote(
      'AAPL.nq',
      {
        ask_price: 100.30000000000001,
        bid_price: 100.25,
        ask_bid_price_time: NOW - 5,
        last_price: 100.27,
        last_price_time: NOW - 7,
      },
      NOW,
    );
    assert.ok(typeof parsed !== 'string');
    assert.deepEqual(parsed.quote, {
      ticker: 'AAPL.nq',
      bid: 10_025_000_000,
      ask: 10_030_000_000,
      time: NOW - 5,
      last: 10_027_000_000,
      lastTime: NOW - 7,
    });

    // Missing or absurd times fall back to the clock; future ones are clamped to it.
    const fx = (time: unknown): Quote => {
      const result = parseQuote('EURUSD', { ask_price: 1.1, bid_price: 1.1, ask_bid_price_time: time }, NOW);
      assert.ok(typeof result !== 'string');
      return result.quote;
    };
    assert.deepEqual(fx(undefined), { ticker: 'EURUSD', bid: 110_000_000, ask: 110_000_000, time: NOW });
    assert.equal(fx(12).time, NOW);
    assert.equal(fx('yesterday').time, NOW);
    assert.equal(fx(NOW * 1000).time, NOW);
    assert.equal(fx(NOW - 3600).time, NOW - 3600);

    // A zero or null last means none; its time defaults to the quote's.
    const noLast = parseQuote(
      'X',
      { ask_price: 2, bid_price: 1, ask_bid_price_time: NOW, last_price: 0 },
      NOW,
    );
    assert.ok(typeof noLast !== 'string' && noLast.quote.last === undefined);
    const lastNoTime = parseQuote(
      'X',
      { ask_price: 2, bid_price: 1, ask_bid_price_time: NOW - 1, last_price: 1.5 },
      NOW,
    );
    assert.ok(typeof lastNoTime !== 'string' && lastNoTime.quote.lastTime === NOW - 1);

    for (const bad of [
      null,
      [],
      { ask_price: 1 },
      { ask_price: 1, bid_price: 0 },
      { ask_price: 1, bid_price: -1 },
      { ask_price: 1, bid_price: 2 },
      { ask_price: Number.NaN, bid_price: 1 },
      { ask_price: 1e300, bid_price: 1 },
      { ask_price: '1', bid_price: 'one' },
    ]) {
      assert.equal(typeof parseQuote('X', bad, NOW), 'string', JSON.stringify(bad));
    }
  });

  it('reads Retry-After as delta-seconds or an HTTP-date', () => {
    const now = Date.parse('2025-11-24T16:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Mon, 24 Nov 2025 16:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Mon, 24 Nov 2025 15:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
  });

  it('refuses unusable options', () => {
    const base = { baseUrl: 'http://127.0.0.1:1', token: 't', accountId: '1', watch: ['EURUSD'], clock };
    const logger = recordingLogger();
    assert.throws(() => new UpstreamFeed({ ...base, logger, baseUrl: 'not a url' }), RangeError);
    assert.throws(() => new UpstreamFeed({ ...base, logger, baseUrl: 'ftp://example.com' }), RangeError);
    assert.throws(() => new UpstreamFeed({ ...base, logger, watch: [' ', ''] }), RangeError);
    assert.throws(() => new UpstreamFeed({ ...base, logger, requestsPerSecond: 0 }), RangeError);
    assert.throws(() => new UpstreamFeed({ ...base, logger, token: '' }), RangeError);
    assert.throws(() => new UpstreamFeed({ ...base, logger, maxBackoffMs: Number.NaN }), RangeError);
    const feed = new UpstreamFeed({ ...base, logger, watch: ['EURUSD', 'EURUSD', ' AAPL.nq '] });
    assert.equal(feed.status().detail.watch, 'EURUSD,AAPL.nq');
    assert.equal(feed.status().state, 'stopped');
  });
});
