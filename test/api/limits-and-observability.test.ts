import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBuckets } from '../../src/edges/http/rate-limit.ts';
import {
  ADMIN_TOKEN,
  raw,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../support/test-server.ts';

describe('token buckets', () => {
  it('allows a burst, then the sustained rate, per key', () => {
    let now = 0;
    const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 3, nowMs: () => now });
    assert.deepEqual([buckets.take('a'), buckets.take('a'), buckets.take('a')], [0, 0, 0]);
    assert.equal(buckets.take('a'), 1);
    assert.equal(buckets.take('b'), 0, 'another key has its own bucket');
    now = 100; // one token refilled at 10/s
    assert.equal(buckets.take('a'), 0);
    assert.equal(buckets.take('a'), 1);
  });
});

describe('rate limits', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    t = await startTestServer({ rateLimit: 5, rateBurst: 5 });
    alice = await t.newAccount();
  });
  after(() => t.close());

  it('answers 429 with Retry-After and the JSON envelope once a token exceeds its budget', async () => {
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => raw(t.url, 'GET', '/api/v1/accounts', { token: alice.token })),
    );
    const limited = responses.filter((response) => response.status === 429);
    assert.ok(limited.length >= 6, `expected most of the 12 to be limited, got ${limited.length}`);
    const [first] = limited;
    assert.equal(first?.body.code, 'error');
    assert.match(
      first?.body.msg ?? '',
      /rate limit exceeded: 5 requests per second \(burst 5\); retry in \d+ s/,
    );
    assert.equal(first?.body.error, 'rate_limited');
    assert.match(first?.headers.get('retry-after') ?? '', /^\d+$/);
    assert.ok(responses.every((response) => response.status === 200 || response.status === 429));
  });
});

describe('health and metrics', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    t = await startTestServer({ rateLimit: 5, rateBurst: 5 });
    alice = await t.newAccount();
    // A burst over the budget, so that the metrics have a limited route to show; then a wait for
    // the buckets to refill, so that the test's own requests are not limited.
    await Promise.all(
      Array.from({ length: 12 }, () => raw(t.url, 'GET', '/api/v1/accounts', { token: alice.token })),
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });
  after(() => t.close());

  it('serves liveness, readiness and Prometheus metrics', async () => {
    assert.equal((await raw(t.url, 'GET', '/healthz')).status, 200);
    const ready = await raw(t.url, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.code, 'ok');
    await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
    await alice.client.placeOrder(alice.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
      stop_loss: 99,
    });
    await assert.rejects(
      alice.client.placeOrder(alice.accountId, {
        ticker: 'AAPL.nq',
        side: 'buy',
        type: 'market',
        volume: 1_000_000,
      }),
      { name: 'StocksTraderError', status: 400, code: 'invalid_volume' },
    );
    const response = await fetch(`${t.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(
      text,
      /stockstrader_http_requests_total\{method="GET",route="\/api\/v1\/accounts",status="200"\} \d+/,
    );
    assert.match(
      text,
      /stockstrader_http_requests_total\{method="GET",route="\/api\/v1\/accounts",status="429"\} \d+/,
    );
    // The latency histogram of one route: cumulative buckets, +Inf and _count equal to every
    // request counted on that route, whatever its status.
    const series = (pattern: RegExp) => [...text.matchAll(pattern)].map((match) => Number(match[1]));
    const accounts = 'method="GET",route="\\/api\\/v1\\/accounts"';
    const requests = series(
      new RegExp(`stockstrader_http_requests_total\\{${accounts},status="\\d+"\\} (\\d+)`, 'g'),
    );
    const buckets = series(
      new RegExp(`stockstrader_http_request_duration_seconds_bucket\\{le="[^"]+",${accounts}\\} (\\d+)`, 'g'),
    );
    const total = requests.reduce((sum, count) => sum + count, 0);
    assert.equal(buckets.length, 13);
    assert.deepEqual(
      [...buckets].sort((a, b) => a - b),
      buckets,
    );
    assert.equal(buckets.at(-1), total);
    assert.deepEqual(
      series(new RegExp(`stockstrader_http_request_duration_seconds_count\\{${accounts}\\} (\\d+)`, 'g')),
      [total],
    );
    assert.match(
      text,
      new RegExp(`stockstrader_http_request_duration_seconds_sum\\{${accounts}\\} 0\\.\\d+`),
    );
    assert.match(text, /stockstrader_orders_placed_total 1\n/);
    assert.match(text, /stockstrader_orders_filled_total\{type="market"\} 1\n/);
    assert.match(text, /stockstrader_orders_rejected_total 1\n/);
    assert.match(text, /stockstrader_open_deals 1\n/);
    assert.match(text, /stockstrader_trigger_index_size 1\n/);
    assert.match(text, /stockstrader_quote_ticks_total 1\n/);
    const admin = await raw(t.url, 'GET', '/admin/v1/clock', { token: ADMIN_TOKEN });
    assert.equal(admin.status, 200);
  });
});
