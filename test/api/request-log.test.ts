/**
 * The request log, read from the server's own log output: one line per request at most, the
 * `--request-log` modes, floods of 401 and 429 cut down to a budget with a summary, and no token
 * anywhere in the log, whether it came in a header, a query parameter or a request id.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_LINES_PER_SECOND, redactUrl } from '../../src/edges/http/request-log.ts';
import type { RequestLogMode } from '../../src/edges/http/request-log.ts';
import { ADMIN_TOKEN, raw, startTestServer, type TestServer } from '../support/test-server.ts';

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  method?: string;
  route?: string | null;
  url?: string;
  status?: number;
  duration_ms?: number;
  event?: string;
  suppressed?: number;
  statuses?: Record<string, number>;
}

/** A server whose log lands in memory. */
async function loggedServer(
  mode: RequestLogMode,
  overrides: Parameters<typeof startTestServer>[0] = {},
): Promise<{ t: TestServer; text: () => string; lines: () => LogLine[] }> {
  const chunks: string[] = [];
  const t = await startTestServer(
    { logLevel: 'trace', requestLog: mode, ...overrides },
    { logStream: { write: (chunk: string) => void chunks.push(chunk) } },
  );
  const text = (): string => chunks.join('');
  const lines = (): LogLine[] =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  return { t, text, lines };
}

const completed = (lines: LogLine[]): LogLine[] => lines.filter((line) => line.msg === 'request completed');

describe('the request log', () => {
  const servers: TestServer[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it('writes one line per request: method, route, URL, status, duration and request id', async () => {
    const { t, lines } = await loggedServer('all');
    servers.push(t);
    const alice = await t.newAccount();
    const before = completed(lines()).length;
    const ok = await raw(t.url, 'GET', '/api/v1/accounts', { token: alice.token });
    const refused = await raw(t.url, 'GET', `/api/v1/accounts/${alice.accountId}`, { token: 'st_nope' });
    const unknown = await raw(t.url, 'GET', '/no/such/route?x=1');
    const traced = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'trace-42.a' } });
    const junkId = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'x'.repeat(2000) } });
    const logged = completed(lines()).slice(before);
    assert.equal(logged.length, 5, JSON.stringify(logged, null, 1));
    assert.equal(lines().filter((line) => line.msg === 'incoming request').length, 0);

    const [first, second, third, fourth, fifth] = logged;
    assert.deepEqual(
      { ...first, duration_ms: undefined, level: undefined },
      {
        ...first,
        method: 'GET',
        route: '/api/v1/accounts',
        url: '/api/v1/accounts',
        status: 200,
        reqId: ok.headers.get('x-request-id'),
        duration_ms: undefined,
        level: undefined,
      },
    );
    assert.equal(typeof first?.duration_ms, 'number');
    assert.equal(first?.level, 30);
    assert.equal(second?.route, '/api/v1/accounts/:account_id');
    assert.equal(second?.status, 401);
    assert.equal(second?.reqId, refused.headers.get('x-request-id'));
    assert.equal(third?.route, null, 'an unknown route has no route pattern');
    assert.equal(third?.url, '/no/such/route?x=***', "only the API's own query values are logged");
    assert.equal(third?.status, 400);
    assert.equal(third?.reqId, unknown.headers.get('x-request-id'));
    assert.equal(fourth?.reqId, 'trace-42.a', "a client's plain request id is kept");
    assert.equal(traced.headers.get('x-request-id'), 'trace-42.a');
    assert.match(fifth?.reqId ?? '', /^req-[0-9a-z]+$/, 'a junk request id is replaced');
    assert.equal(junkId.headers.get('x-request-id'), fifth?.reqId);
  });

  it('logs only 4xx and 5xx answers in the default mode, and nothing when off', async () => {
    const errorsOnly = await loggedServer('errors');
    servers.push(errorsOnly.t);
    const off = await loggedServer('off');
    servers.push(off.t);
    for (const { t } of [errorsOnly, off]) {
      assert.equal((await raw(t.url, 'GET', '/healthz')).status, 200);
      assert.equal((await raw(t.url, 'GET', '/api/v1/accounts', { token: 'st_nope' })).status, 401);
      assert.equal((await raw(t.url, 'GET', '/admin/v1/clock', { token: ADMIN_TOKEN })).status, 200);
    }
    assert.deepEqual(
      completed(errorsOnly.lines()).map((line) => [line.route, line.status]),
      [['/api/v1/accounts', 401]],
    );
    assert.deepEqual(completed(off.lines()), []);
  });

  it('logs at most 10 lines a second for a flood of 401 or 429, and counts the rest', async () => {
    const { t, lines } = await loggedServer('all', { rateLimit: 5, rateBurst: 5 });
    servers.push(t);
    const started = performance.now();
    const answers = new Map<number, number>();
    // One bad token over and over (rate limited: 429) and a new bad token each time (401).
    for (let index = 0; index < 150; index++) {
      const [same, fresh] = await Promise.all([
        raw(t.url, 'GET', '/api/v1/accounts', { token: 'st_the-same-bad-token' }),
        raw(t.url, 'GET', '/api/v1/accounts', { token: `st_bad-${index}` }),
      ]);
      for (const { status } of [same, fresh]) answers.set(status, (answers.get(status) ?? 0) + 1);
    }
    const seconds = (performance.now() - started) / 1000;
    // Closing writes the summary of the last second.
    await t.close();
    const logged = new Map<number, number>();
    for (const line of completed(lines()))
      logged.set(line.status ?? 0, (logged.get(line.status ?? 0) ?? 0) + 1);
    const suppressed = new Map<number, number>();
    for (const line of lines().filter((entry) => entry.event === 'request_log_suppressed')) {
      for (const [status, count] of Object.entries(line.statuses ?? {}))
        suppressed.set(Number(status), (suppressed.get(Number(status)) ?? 0) + count);
    }
    assert.ok((answers.get(429) ?? 0) > 100 && (answers.get(401) ?? 0) > 100, JSON.stringify([...answers]));
    const windows = Math.ceil(seconds) + 1;
    for (const status of [401, 429]) {
      const lineCount = logged.get(status) ?? 0;
      assert.ok(
        lineCount <= ERROR_LINES_PER_SECOND * windows,
        `${lineCount} lines for ${status} in ${seconds.toFixed(1)} s`,
      );
      assert.equal(
        lineCount + (suppressed.get(status) ?? 0),
        answers.get(status),
        `every ${status} is accounted for`,
      );
    }
  });

  it('never logs a token: not from the Authorization header, a query parameter or a request id', async () => {
    const { t, text } = await loggedServer('all');
    servers.push(t);
    const alice = await t.newAccount();
    const bob = await t.newAccount();
    await t.admin.revokeToken(bob.token);
    const tokens = [alice.token, bob.token, ADMIN_TOKEN, 'st_a-made-up-token-of-the-right-shape-000000000'];
    for (const token of tokens) {
      const query = `token=${encodeURIComponent(token)}`;
      for (const path of [
        `/api/v1/accounts?${query}`,
        `/api/v1/accounts/${alice.accountId}/orders?status=active&${query}`,
        `/admin/v1/clock?${query}`,
        `/no/such/route?${query}`,
        `/api/v1/accounts?access_token=${encodeURIComponent(token)}&api%5Fkey=${encodeURIComponent(token)}`,
        `/api/v1/accounts?q=${encodeURIComponent(token)}`,
      ]) {
        await raw(t.url, 'GET', path, { token });
        await raw(t.url, 'POST', path, {
          token,
          body: `token=${token}`,
          contentType: 'application/x-www-form-urlencoded',
        });
      }
      // A request id shaped like one of our tokens is not kept (the test's admin token is a plain
      // word, like any request id: only its Authorization header is tried).
      const requestId = token === ADMIN_TOKEN ? {} : { 'x-request-id': token };
      await fetch(`${t.url}/healthz`, { headers: { ...requestId, authorization: `Bearer ${token}` } });
    }
    const log = text();
    // Many of the refusals are left out as a flood; enough are logged to show what a line holds.
    assert.ok((log.match(/"msg":"request completed"/g) ?? []).length >= 20);
    for (const token of tokens) {
      assert.equal(log.includes(token), false, `${token.slice(0, 8)}… appears in the log`);
      // Not even a recognisable part of it (the test admin token is short and plain: skip it).
      if (token !== ADMIN_TOKEN) assert.equal(log.includes(token.slice(3, 19)), false);
    }
    assert.match(log, /"url":"\/api\/v1\/accounts\?token=\*\*\*"/);
  });

  it("keeps only the API's own query values and hides token-shaped text, and bounds the URL", () => {
    assert.equal(
      redactUrl('/a?token=abc&status=closed&skip=5&limit=10&history_from=1&history_to=2&q=st&flag'),
      '/a?token=***&status=closed&skip=5&limit=10&history_from=1&history_to=2&q=***&flag',
    );
    assert.equal(
      redactUrl('/a/st_0123456789abcdefghij?status=admin_0123456789abcdefghijk'),
      '/a/st_***?status=admin_***',
    );
    assert.equal(redactUrl('/plain/path'), '/plain/path');
    const long = redactUrl('/' + 'y'.repeat(5000));
    assert.equal(long.length, 201);
  });
});
