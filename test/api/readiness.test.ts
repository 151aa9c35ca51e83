/**
 * Readiness: `/readyz` answers 200 only when the server can trade. Not before the simulator has
 * quoted every instrument, not once shutdown has begun, not while the upstream feed is failing;
 * and its 503 body says why.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { DEFAULT_INSTRUMENTS } from '../../src/adapters/catalogue/default-instruments.ts';
import { createTestDatabase } from '../support/postgres-cluster.ts';
import { freePort } from '../support/server-processes.ts';
import { ADMIN_TOKEN, raw, startTestServer, type TestServer } from '../support/test-server.ts';
import { waitFor } from '../support/wait-for.ts';

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What `probe` gives once it gives anything. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  let value: T | undefined;
  await waitFor(what, async () => (value = await probe()) !== undefined, { timeoutMs, intervalMs: 5 });
  return value as T;
}

/** The instruments a server does not quote right now, looked at without yielding to I/O. */
function unquoted(t: TestServer): string[] {
  return DEFAULT_INSTRUMENTS.map(({ ticker }) => ticker).filter(
    (ticker) => !t.server.trading.isQuoted(ticker),
  );
}

describe('readiness', () => {
  const servers: TestServer[] = [];
  const upstreams: Server[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    for (const upstream of upstreams) {
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });

  it('is ready only once the simulator has quoted every instrument', async () => {
    const port = await freePort();
    const starting = startTestServer({ feed: 'sim', port });
    const url = `http://127.0.0.1:${port}`;
    const notReady = new Set<string>();
    await until('/readyz to answer 200', async () => {
      try {
        const response = await raw(url, 'GET', '/readyz');
        if (response.status === 200) return true;
        notReady.add(`${response.status} ${response.body.msg ?? ''}`);
      } catch {
        // Not listening yet.
      }
      return undefined;
    });
    const unquoted: string[] = [];
    await Promise.all(
      DEFAULT_INSTRUMENTS.map(async ({ ticker }) => {
        const quote = await raw(url, 'GET', `/admin/v1/quotes/${encodeURIComponent(ticker)}`, {
          token: ADMIN_TOKEN,
        });
        if (quote.status !== 200) unquoted.push(`${ticker}: ${quote.text}`);
      }),
    );
    servers.push(await starting);
    assert.deepEqual(unquoted, [], 'every instrument is quoted once the server is ready');
    for (const answer of notReady)
      assert.equal(answer, "503 not ready: starting: waiting for the feed's first quotes");
  });

  it('finishes starting (and prints its banner) only once the simulator has quoted every instrument', async () => {
    const t = await startTestServer({ feed: 'sim' });
    servers.push(t);
    assert.deepEqual(unquoted(t), [], 'every instrument is quoted once start-up has finished');
    assert.equal((await raw(t.url, 'GET', '/readyz')).status, 200);
  });

  it('on one PostgreSQL database, the leader and the process standing by each finish starting only once they show every instrument quoted', async () => {
    const database = await createTestDatabase();
    const started: TestServer[] = [];
    try {
      // Started together, so the one standing by may still be starting when the leader quotes.
      const starts = await Promise.all(
        [1, 2].map(() =>
          startTestServer({ feed: 'sim', databaseUrl: database.url }).then((t) => {
            started.push(t);
            return { t, unquoted: unquoted(t) };
          }),
        ),
      );
      const states = await Promise.all(starts.map(async ({ t }) => (await t.admin.feed()).state));
      assert.deepEqual(states.sort(), ['running', 'standby'], 'one process leads, the other stands by');
      for (const { t, unquoted: missing } of starts) {
        assert.deepEqual(missing, [], 'every instrument is quoted once start-up has finished');
        assert.equal((await raw(t.url, 'GET', '/readyz')).status, 200);
      }
    } finally {
      await Promise.all(started.map((t) => t.close()));
      await database.drop();
    }
  });

  it('answers 503 from the moment shutdown begins', async () => {
    const t = await startTestServer();
    servers.push(t);
    assert.equal((await raw(t.url, 'GET', '/readyz')).status, 200);
    // A request already arriving when shutdown begins is still answered: with "not ready".
    const { hostname, port } = new URL(t.url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`GET /readyz HTTP/1.1\r\nHost: ${hostname}\r\n`);
    await delay(50);
    const closing = t.server.close();
    socket.write('Connection: close\r\n\r\n');
    await ended;
    await closing;
    assert.match(answer, /^HTTP\/1\.1 503 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.deepEqual(body, { code: 'error', msg: 'not ready: shutting down', error: 'not_ready' });
  });

  it('answers 503 while the upstream feed is failing, and ready again once it recovers', async () => {
    let healthy = false;
    const upstream = createServer((request, response) => {
      const ticker = decodeURIComponent((request.url ?? '').split('/')[6] ?? '');
      response.writeHead(healthy ? 200 : 401, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(
          healthy
            ? {
                code: 'ok',
                data: {
                  bid_price: 1.1,
                  ask_price: 1.2,
                  ask_bid_price_time: Math.floor(Date.now() / 1000),
                  ticker,
                },
              }
            : { code: 'error', msg: 'invalid token' },
        ),
      );
    });
    upstreams.push(upstream);
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const t = await startTestServer({
      feed: 'upstream',
      upstream: {
        url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        token: 'upstream-token',
        account: '93012898',
        watch: ['EURUSD', 'GBPUSD', 'USDJPY'],
        requestsPerSecond: 20,
      },
    });
    servers.push(t);
    const feed = await until('the feed to say failing', async () => {
      const status = await t.admin.feed();
      return status.state === 'failing' ? status : undefined;
    });
    assert.equal(feed.name, 'upstream');
    const ready = await raw(t.url, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.error, 'not_ready');
    assert.match(ready.body.msg ?? '', /^not ready: the upstream feed is failing: [A-Z]+: unauthorized/);

    healthy = true;
    await until('/readyz to answer 200 again', async () => {
      const response = await raw(t.url, 'GET', '/readyz');
      return response.status === 200 ? true : undefined;
    });
    assert.equal((await t.admin.feed()).state, 'running');
  });
});
