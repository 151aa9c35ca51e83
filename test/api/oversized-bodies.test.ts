/**
 * Bodies the server will not read: over the 64 KiB limit, or sent with a request refused before its
 * body (no token). Every try must get the JSON answer, never a reset or EPIPE: 20 tries out of 20,
 * for 1 MB and 12 MB bodies, with a Content-Length or chunked, with and without
 * `Expect: 100-continue`, through node:http and through fetch. The server runs in a process of its
 * own, as in production: sharing the test's event loop would hide the race a reset wins.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINGER_MAX_BYTES } from '../../src/edges/http/unread-bodies.ts';
import { AdminClient } from '../../src/client/admin-client.ts';
import { ServerProcesses, type ServerProcess } from '../support/server-processes.ts';
import { TEST_DATABASE } from '../support/test-server.ts';

const ADMIN_TOKEN = 'admin-oversized-bodies';
const TRIES = 20;
const MB = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;

interface Outcome {
  /** The final status, or the network error instead of one. */
  status: number | string;
  body: { code?: string; msg?: string; error?: string };
  /** Whether the server said `100 Continue`. */
  continued: boolean;
}

interface Attempt {
  path: string;
  token?: string;
  body: Buffer;
  chunked?: boolean;
  expect?: boolean;
}

/** One request on a connection of its own, the way a client sending a big body does it. */
function send(url: string, attempt: Attempt): Promise<Outcome> {
  const { hostname, port } = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (attempt.token) headers.authorization = `Bearer ${attempt.token}`;
  if (!attempt.chunked) headers['content-length'] = String(attempt.body.length);
  if (attempt.expect) headers.expect = '100-continue';
  return new Promise((resolve) => {
    const request = http.request({
      hostname,
      port,
      method: 'POST',
      path: attempt.path,
      headers,
      agent: false,
    });
    let continued = false;
    let settled = false;
    const settle = (outcome: Omit<Outcome, 'continued'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, continued });
    };
    const timer = setTimeout(() => {
      request.destroy();
      settle({ status: 'timeout', body: {} });
    }, REQUEST_TIMEOUT_MS);
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let body: Outcome['body'] = {};
        try {
          body = JSON.parse(text) as Outcome['body'];
        } catch {
          body = { msg: text };
        }
        settle({ status: response.statusCode ?? 0, body });
      });
      response.on('error', (error: NodeJS.ErrnoException) =>
        settle({ status: error.code ?? 'error', body: {} }),
      );
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      settle({ status: error.code ?? 'error', body: {} }),
    );
    const write = (): void => {
      if (!attempt.chunked) {
        request.end(attempt.body);
        return;
      }
      for (let offset = 0; offset < attempt.body.length; offset += 64 * 1024)
        request.write(attempt.body.subarray(offset, offset + 64 * 1024));
      request.end();
    };
    if (attempt.expect) {
      request.on('continue', () => {
        continued = true;
        write();
      });
      request.flushHeaders();
    } else {
      write();
    }
  });
}

/** Runs `attempt` TRIES times; returns how many got `status` with error code `error`, and the rest. */
async function tally(
  run: () => Promise<Outcome>,
  expected: { status: number; error: string; continued: boolean },
): Promise<{ answered: number; others: string[] }> {
  let answered = 0;
  const others: string[] = [];
  for (let index = 0; index < TRIES; index++) {
    const outcome = await run();
    if (
      outcome.status === expected.status &&
      outcome.body.code === 'error' &&
      outcome.body.error === expected.error &&
      typeof outcome.body.msg === 'string' &&
      outcome.continued === expected.continued
    ) {
      answered++;
    } else {
      others.push(
        `${outcome.status}${outcome.continued ? ' after 100' : ''} ${JSON.stringify(outcome.body)}`,
      );
    }
  }
  return { answered, others };
}

// Bodies are refused before storage is involved: once, on SQLite, is enough.
const onPostgres = TEST_DATABASE === 'postgres' && 'answered before storage is involved';

describe('bodies the server does not read', { skip: onPostgres }, () => {
  const processes = new ServerProcesses();
  let dir = '';
  let t: ServerProcess;
  let alice: { token: string; accountId: string };
  let ordersPath: string;
  const bodies = new Map([
    ['1 MB', Buffer.alloc(MB, 'a')],
    ['12 MB', Buffer.alloc(12 * MB, 'a')],
  ]);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stockstrader-oversized-'));
    t = await processes.start([
      ...['--db', join(dir, 'server.db'), '--feed', 'manual', '--admin-token', ADMIN_TOKEN],
      ...['--log-level', 'silent', '--no-demo', '--rate-limit', '0'],
    ]);
    const admin = new AdminClient({ baseUrl: t.url, token: ADMIN_TOKEN });
    const userId = await admin.createUser('alice');
    const { token } = await admin.issueToken(userId);
    const accountId = await admin.createAccount({
      user_id: userId,
      name: 'alice',
      type: 'demo',
      system: 'netting',
      currency: 'USD',
      balance: 1000,
    });
    alice = { token, accountId };
    ordersPath = `/api/v1/accounts/${accountId}/orders`;
  });
  after(async () => {
    await processes.killAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [size, body] of bodies) {
    it(`answers 413 to a ${size} body with a Content-Length, 20 tries of 20, without reading it`, async () => {
      const plain = await tally(() => send(t.url, { path: ordersPath, token: alice.token, body }), {
        status: 413,
        error: 'body_too_large',
        continued: false,
      });
      assert.deepEqual(plain, { answered: TRIES, others: [] });
      // Declared too large: refused instead of being invited with 100 Continue.
      const expecting = await tally(
        () => send(t.url, { path: ordersPath, token: alice.token, body, expect: true }),
        { status: 413, error: 'body_too_large', continued: false },
      );
      assert.deepEqual(expecting, { answered: TRIES, others: [] });
    });

    it(`answers 413 once a chunked ${size} body crosses the limit, 20 tries of 20`, async () => {
      const chunked = await tally(
        () => send(t.url, { path: ordersPath, token: alice.token, body, chunked: true }),
        { status: 413, error: 'body_too_large', continued: false },
      );
      assert.deepEqual(chunked, { answered: TRIES, others: [] });
      // Nothing tells the size of a chunked body in advance: it is invited, then cut off.
      const expecting = await tally(
        () => send(t.url, { path: ordersPath, token: alice.token, body, chunked: true, expect: true }),
        { status: 413, error: 'body_too_large', continued: true },
      );
      assert.deepEqual(expecting, { answered: TRIES, others: [] });
    });

    it(`answers 401 to a ${size} body without a token, 20 tries of 20`, async () => {
      const chunked = await tally(() => send(t.url, { path: ordersPath, body, chunked: true }), {
        status: 401,
        error: 'unauthorized',
        continued: false,
      });
      assert.deepEqual(chunked, { answered: TRIES, others: [] });
      const expecting = await tally(
        () => send(t.url, { path: ordersPath, body, chunked: true, expect: true }),
        {
          status: 401,
          error: 'unauthorized',
          continued: false,
        },
      );
      assert.deepEqual(expecting, { answered: TRIES, others: [] });
    });

    it(`answers 413 through fetch to a ${size} body, 20 tries of 20`, async () => {
      const outcomes: string[] = [];
      for (let index = 0; index < TRIES; index++) {
        try {
          const response = await fetch(t.url + ordersPath, {
            method: 'POST',
            headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          const answer = (await response.json()) as { error?: string };
          outcomes.push(`${response.status} ${answer.error ?? ''}`);
        } catch (error) {
          outcomes.push(String((error as { cause?: { code?: string } }).cause?.code ?? error));
        }
      }
      assert.deepEqual(
        outcomes,
        Array.from({ length: TRIES }, () => '413 body_too_large'),
      );
    });
  }

  it('says 100 Continue only to a request it admits, and refuses the others before their body', async () => {
    const small = Buffer.from(JSON.stringify({ name: 'expecting' }));
    const refused = await send(t.url, {
      path: '/admin/v1/users',
      token: 'not-the-admin',
      body: small,
      expect: true,
    });
    assert.equal(refused.status, 401);
    assert.equal(refused.continued, false);
    const admitted = await send(t.url, {
      path: '/admin/v1/users',
      token: ADMIN_TOKEN,
      body: small,
      expect: true,
    });
    assert.equal(admitted.continued, true);
    assert.equal(admitted.status, 200, JSON.stringify(admitted.body));
  });

  it('cuts a connection whose refused body never ends, once it has discarded its share', async () => {
    const { hostname, port } = new URL(t.url);
    // Half-open allowed: the client goes on sending after the server's FIN, as a stubborn one would.
    const socket = net.connect({ host: hostname, port: Number(port), allowHalfOpen: true });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.write(
      `POST ${ordersPath} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${alice.token}\r\n` +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 'a'), Buffer.from('\r\n')]);
    let sent = 0;
    let open = true;
    void closed.then(() => (open = false));
    const started = performance.now();
    // Far more than anyone should send, as fast as the server takes it: it must cut us off.
    while (open && sent < 512 * MB && performance.now() - started < 30_000) {
      if (!socket.write(chunk)) {
        await new Promise<void>((resolve) => {
          socket.once('drain', resolve);
          socket.once('close', resolve);
        });
      }
      sent += chunk.length;
    }
    await closed;
    assert.ok(sent < 512 * MB, `the server kept reading: ${sent} bytes`);
    assert.ok(sent > LINGER_MAX_BYTES, `the server read and discarded ${sent} bytes before cutting`);
    const answer = Buffer.concat(received).toString('utf8');
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /connection: close/i);
    assert.match(answer, /"error":"body_too_large"/);
    // The server still serves.
    const response = await fetch(`${t.url}/healthz`);
    assert.equal(response.status, 200);
  });
});
