/**
 * HTTP hardening against a hostile client on the same network: the rate limiter counts every
 * spelling of a route, failed authentications are throttled per address, /metrics can require a
 * token, deeply nested JSON is refused before parsing, every reply says nosniff and no-store, and
 * a client's X-Request-Id is bounded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  ADMIN_TOKEN,
  raw,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../support/test-server.ts';

const statuses = (responses: { status: number }[]): number[] => responses.map((response) => response.status);
const count = (list: number[], status: number): number => list.filter((value) => value === status).length;

/** One raw HTTP/1.1 exchange: bytes Node's fetch would refuse to send. */
function rawExchange(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(request));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('rate limiting by matched route', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    t = await startTestServer({ rateLimit: 1, rateBurst: 5 });
    alice = await t.newAccount();
  });
  after(() => t.close());

  it('counts percent-encoded spellings of /api and /admin routes like plain ones', async () => {
    const user = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        raw(t.url, 'GET', index % 2 === 0 ? '/%61pi/v1/accounts' : '/api/v1/%61ccounts', {
          token: alice.token,
        }),
      ),
    );
    const userStatuses = statuses(user);
    assert.ok(count(userStatuses, 200) >= 1, 'the encoded path reaches the route');
    assert.ok(count(userStatuses, 429) >= 10, `expected most of 20 to be limited: ${userStatuses.join(' ')}`);
    const limited = user.find((response) => response.status === 429);
    assert.equal(limited?.body.error, 'rate_limited');
    assert.match(limited?.headers.get('retry-after') ?? '', /^\d+$/);

    const admin = statuses(
      await Promise.all(
        Array.from({ length: 20 }, () => raw(t.url, 'GET', '/%61dmin/v1/clock', { token: ADMIN_TOKEN })),
      ),
    );
    assert.ok(count(admin, 429) >= 10, `expected most of 20 to be limited: ${admin.join(' ')}`);
  });

  it('limits requests that match no route, and leaves the operational routes alone', async () => {
    const unmatched = statuses(
      await Promise.all(Array.from({ length: 20 }, () => raw(t.url, 'GET', '/%61pi/v1/nothing-here'))),
    );
    assert.ok(count(unmatched, 429) >= 10, unmatched.join(' '));
    const health = statuses(
      await Promise.all(Array.from({ length: 20 }, () => raw(t.url, 'GET', '/healthz'))),
    );
    assert.deepEqual(
      health,
      Array.from({ length: 20 }, () => 200),
    );
  });
});

describe('failed authentications are throttled per address', () => {
  let t: TestServer;
  let alice: TestAccount;
  let lookups = 0;
  before(async () => {
    t = await startTestServer({ authFailureLimit: 1, authFailureBurst: 5, metricsToken: 'metrics-secret' });
    alice = await t.newAccount();
    // Counts the token lookups the server makes, and gives each the latency of a database over
    // the network (SQLite answers before the next request arrives); the storage is the real one.
    const storage = t.server.storage;
    const findTokenUser = storage.findTokenUser.bind(storage);
    storage.findTokenUser = async (tokenHash: string) => {
      lookups += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return findTokenUser(tokenHash);
    };
  });
  after(() => t.close());

  it('lets one client open many connections at once with a good token, looked up once', async () => {
    const fresh = await t.admin.issueToken(alice.userId);
    const before = lookups;
    // Four times the burst, all at once and before the token is remembered: they share a lookup.
    const seen = statuses(
      await Promise.all(
        Array.from({ length: 20 }, () => raw(t.url, 'GET', '/api/v1/accounts', { token: fresh.token })),
      ),
    );
    assert.deepEqual(
      seen,
      Array.from({ length: 20 }, () => 200),
      seen.join(' '),
    );
    assert.equal(lookups - before, 1, 'concurrent requests with one token share one lookup');
  });

  it('answers 429 with Retry-After after a burst of bad tokens, without looking them up', async () => {
    const fresh = await t.admin.issueToken(alice.userId);
    assert.equal((await raw(t.url, 'GET', '/api/v1/accounts', { token: alice.token })).status, 200);
    const before = lookups;
    const replies = [];
    for (let index = 0; index < 20; index++) {
      replies.push(await raw(t.url, 'GET', '/api/v1/accounts', { token: `st_guess_${index}` }));
    }
    const seen = statuses(replies);
    assert.deepEqual(seen.slice(0, 5), [401, 401, 401, 401, 401], seen.join(' '));
    assert.ok(
      count(seen, 429) >= 10,
      `expected most guesses after the burst to be refused: ${seen.join(' ')}`,
    );
    assert.equal(lookups - before, count(seen, 401), 'a throttled guess is never looked up');
    const throttled = replies.find((reply) => reply.status === 429);
    assert.equal(throttled?.body.code, 'error');
    assert.equal(throttled?.body.error, 'rate_limited');
    assert.match(
      throttled?.body.msg ?? '',
      /^too many failed authentications from this address: 1 per second \(burst 5\); retry in \d+ s$/,
    );
    assert.match(throttled?.headers.get('retry-after') ?? '', /^[1-9]\d*$/);

    // A token in use moments ago needs no check and keeps working; one never checked waits.
    assert.equal((await raw(t.url, 'GET', '/api/v1/accounts', { token: alice.token })).status, 200);
    assert.equal((await raw(t.url, 'GET', '/api/v1/accounts', { token: fresh.token })).status, 429);
    // Failed admin and metrics tokens draw on the same budget; a throttled address gets no
    // answer about any credential it sends, the right admin token included.
    assert.equal((await raw(t.url, 'GET', '/admin/v1/clock', { token: 'not-the-admin-token' })).status, 429);
    assert.equal((await raw(t.url, 'GET', '/admin/v1/clock', { token: ADMIN_TOKEN })).status, 429);
    assert.equal((await raw(t.url, 'GET', '/metrics', { token: 'metrics-guess' })).status, 429);
  });
});

describe('admin and metrics token failures count', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ authFailureLimit: 1, authFailureBurst: 3, metricsToken: 'metrics-secret' });
  });
  after(() => t.close());

  it('throttles guesses of the admin token and the metrics token', async () => {
    const seen: number[] = [];
    for (const path of ['/admin/v1/clock', '/metrics', '/admin/v1/feed', '/metrics', '/admin/v1/clock']) {
      seen.push((await raw(t.url, 'GET', path, { token: 'guess' })).status);
    }
    assert.deepEqual(seen.slice(0, 3), [401, 401, 401]);
    assert.ok(seen.slice(3).includes(429), seen.join(' '));
  });
});

describe('the metrics token', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ metricsToken: 'metrics-secret' });
  });
  after(() => t.close());

  it('answers 401 in the envelope without the token or with a wrong one, and serves it with the token', async () => {
    for (const token of [undefined, 'wrong', ADMIN_TOKEN]) {
      const response = await raw(t.url, 'GET', '/metrics', token === undefined ? {} : { token });
      assert.equal(response.status, 401, String(token));
      assert.deepEqual(response.body, {
        code: 'error',
        msg: 'metrics token required: send Authorization: Bearer <metrics token>',
        error: 'unauthorized',
      });
    }
    const response = await raw(t.url, 'GET', '/metrics', { token: 'metrics-secret' });
    assert.equal(response.status, 200);
    assert.match(response.text, /stockstrader_orders_placed_total 0\n/);
  });
});

describe('request hygiene', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    t = await startTestServer();
    alice = await t.newAccount();
  });
  after(() => t.close());

  it('refuses JSON nested more than 32 levels deep, before parsing it', async () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    for (const [method, path, token] of [
      ['POST', '/admin/v1/users', ADMIN_TOKEN],
      ['POST', `/api/v1/accounts/${alice.accountId}/orders`, alice.token],
    ] as const) {
      for (const body of [
        nested(33),
        nested(30_000),
        `{"name":${nested(40)}}`,
        '{"a":'.repeat(33) + '1' + '}'.repeat(33),
      ]) {
        const response = await raw(t.url, method, path, { token, contentType: 'application/json', body });
        assert.equal(response.status, 400);
        assert.deepEqual(response.body, {
          code: 'error',
          msg: 'request body must not nest JSON more than 32 levels deep',
          error: 'invalid_request',
        });
      }
    }
    // 32 levels reach the schema; brackets and escaped quotes inside strings do not nest.
    const atLimit = await raw(t.url, 'POST', '/admin/v1/users', {
      token: ADMIN_TOKEN,
      contentType: 'application/json',
      body: '{"name":' + nested(31) + '}',
    });
    assert.equal(atLimit.status, 400);
    assert.equal(atLimit.body.msg, 'name must be a string');
    const name = '[[[[[[[[[[[[[[[[[[[[\\"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{';
    const inString = await raw(t.url, 'POST', '/admin/v1/users', {
      token: ADMIN_TOKEN,
      contentType: 'application/json',
      body: `{"name":"${name}"}`,
    });
    assert.equal(inString.status, 200, inString.text);
  });

  it('sends nosniff and no-store on API, admin, error and operational replies', async () => {
    const replies = [
      await raw(t.url, 'GET', '/api/v1/accounts', { token: alice.token }),
      await raw(t.url, 'GET', '/api/v1/accounts'),
      await raw(t.url, 'GET', '/api/v1/nope', { token: alice.token }),
      await raw(t.url, 'POST', `/api/v1/accounts/${alice.accountId}/orders`, {
        token: alice.token,
        body: 'ticker=',
      }),
      await raw(t.url, 'GET', '/admin/v1/clock', { token: ADMIN_TOKEN }),
      await raw(t.url, 'GET', '/admin/v1/clock'),
      await raw(t.url, 'GET', '/healthz'),
      await raw(t.url, 'GET', '/readyz'),
      await raw(t.url, 'GET', '/metrics'),
      await raw(t.url, 'GET', '/openapi.json'),
    ];
    for (const reply of replies) {
      assert.equal(reply.headers.get('x-content-type-options'), 'nosniff', reply.text.slice(0, 80));
      assert.equal(reply.headers.get('cache-control'), 'no-store', reply.text.slice(0, 80));
    }
    // The docs' static files keep their own caching, and are not sniffed either.
    const css = await raw(t.url, 'GET', '/docs/static/swagger-ui.css');
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('x-content-type-options'), 'nosniff');
    assert.notEqual(css.headers.get('cache-control'), 'no-store');
    // So does a reply written below Fastify, to a request the HTTP parser refused.
    const refused = await rawExchange(t.url, 'BREW /api/v1/accounts HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(refused, /^HTTP\/1\.1 400 /);
    assert.match(refused, /\r\nX-Content-Type-Options: nosniff\r\n/i);
    assert.match(refused, /\r\nCache-Control: no-store\r\n/i);
  });

  it('keeps a client X-Request-Id of up to 128 visible characters and replaces any other', async () => {
    const sent = async (id: string) => {
      const response = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': id } });
      await response.arrayBuffer();
      return response.headers.get('x-request-id');
    };
    assert.equal(await sent('trace-42'), 'trace-42');
    assert.equal(await sent('x'.repeat(128)), 'x'.repeat(128));
    for (const id of ['x'.repeat(129), 'x'.repeat(8000), 'two words', 'caf\u00e9']) {
      assert.match((await sent(id)) ?? '', /^req-[0-9a-z]+$/, id.slice(0, 20));
    }
    const reply = await rawExchange(
      t.url,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\x01b\r\nConnection: close\r\n\r\n',
    );
    const echoed = /\r\nx-request-id: ([^\r]*)\r\n/i.exec(reply)?.[1];
    assert.ok(echoed === undefined || /^req-[0-9a-z]+$/.test(echoed), JSON.stringify(reply.slice(0, 200)));
  });
});
