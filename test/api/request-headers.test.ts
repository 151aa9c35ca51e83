/**
 * Headers that must come once, sent over a raw socket (fetch would join or refuse them): a
 * repeated Authorization or Host, and an HTTP/1.1 request without Host, get 400 with the JSON
 * envelope. Node keeps the first of repeated Authorization and Host lines and drops the rest, so
 * without the check a request carrying two tokens ran as the first.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ADMIN_TOKEN, startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

interface RawReply {
  status: number;
  contentType: string;
  body: { code?: string; msg?: string; error?: string; data?: unknown };
}

/** Sends the request line and header lines exactly as given (Connection: close is added). */
function send(url: string, requestLine: string, headers: readonly string[]): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.write([requestLine, ...headers, 'Connection: close', '', ''].join('\r\n'));
    });
    // The server closes after replying (Connection: close); a server that never does fails the test.
    socket.setTimeout(10_000, () => socket.destroy());
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end);
      let rest = text.slice(end + 4);
      if (/^transfer-encoding:\s*chunked/im.test(head)) {
        // Enough for one chunk, which is all these small replies need.
        const [, size = '0', data = ''] = /^([0-9a-f]+)\r\n([\s\S]*)$/i.exec(rest) ?? [];
        rest = data.slice(0, parseInt(size, 16));
      }
      let body: RawReply['body'] = {};
      try {
        body = JSON.parse(rest) as RawReply['body'];
      } catch {
        body = {};
      }
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        contentType: /^content-type:\s*(.*)$/im.exec(head)?.[1] ?? '',
        body,
      });
    });
  });
}

describe('headers that must come once', () => {
  let t: TestServer;
  let alice: TestAccount;
  let host: string;
  before(async () => {
    t = await startTestServer();
    alice = await t.newAccount();
    host = `Host: ${new URL(t.url).host}`;
  });
  after(() => t.close());

  function assert400(reply: RawReply, msg: string): void {
    assert.equal(reply.status, 400, JSON.stringify(reply));
    assert.match(reply.contentType, /^application\/json/);
    assert.deepEqual(reply.body, { code: 'error', msg, error: 'invalid_request' });
  }

  it('refuses a second Authorization header, whichever token comes first, on both APIs', async () => {
    const repeated = 'repeated Authorization header: send exactly one';
    const good = `Authorization: Bearer ${alice.token}`;
    for (const [first, second] of [
      [good, 'Authorization: Bearer not-a-token'],
      ['authorization: Bearer not-a-token', good],
      [good, `AUTHORIZATION: Bearer ${alice.token}`],
    ] as const) {
      assert400(await send(t.url, 'GET /api/v1/accounts HTTP/1.1', [host, first, second]), repeated);
    }
    assert400(
      await send(t.url, 'GET /admin/v1/users HTTP/1.1', [
        host,
        `Authorization: Bearer ${ADMIN_TOKEN}`,
        'Authorization: Bearer x',
      ]),
      repeated,
    );
    // One is fine.
    const once = await send(t.url, 'GET /api/v1/accounts HTTP/1.1', [host, good]);
    assert.equal(once.status, 200);
    assert.equal(once.body.code, 'ok');
  });

  it('refuses a request with two Host headers', async () => {
    assert400(
      await send(t.url, 'GET /api/v1/accounts HTTP/1.1', [
        host,
        'host: evil.example',
        `Authorization: Bearer ${alice.token}`,
      ]),
      'repeated Host header: send exactly one',
    );
  });

  it('refuses an HTTP/1.1 request without Host in the envelope; HTTP/1.0 needs none', async () => {
    const auth = `Authorization: Bearer ${alice.token}`;
    assert400(
      await send(t.url, 'GET /api/v1/accounts HTTP/1.1', [auth]),
      'missing Host header: HTTP/1.1 requests must carry one',
    );
    assert400(
      await send(t.url, `POST /api/v1/accounts/${alice.accountId}/orders HTTP/1.1`, [
        auth,
        'Content-Type: application/x-www-form-urlencoded',
        'Content-Length: 0',
      ]),
      'missing Host header: HTTP/1.1 requests must carry one',
    );
    const old = await send(t.url, 'GET /api/v1/accounts HTTP/1.0', [auth]);
    assert.equal(old.status, 200);
    assert.equal(old.body.code, 'ok');
  });
});
