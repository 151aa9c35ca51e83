/**
 * A client that never finishes its request (slowloris: the body, or even the headers) is cut off
 * with the JSON envelope once the request deadline passes, and its connection is closed. A
 * complete request on a kept-alive connection is unaffected, however long the connection lives.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';

describe('request timeout', () => {
  let t: TestServer;
  let alice: TestAccount;
  before(async () => {
    t = await startTestServer({ requestTimeoutMs: 1000 });
    alice = await t.newAccount();
  });
  after(() => t.close());

  /** Sends `text` and never more; resolves with everything received once the server closes. */
  const sendAndWait = (text: string): Promise<{ response: string; elapsedMs: number }> => {
    const { hostname, port } = new URL(t.url);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.write(text));
      let response = '';
      socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
      socket.on('close', () => resolve({ response, elapsedMs: Date.now() - started }));
      socket.on('error', reject);
    });
  };

  const assertTimedOut = ({ response, elapsedMs }: { response: string; elapsedMs: number }): void => {
    assert.ok(elapsedMs >= 1000, `not before the timeout (closed after ${elapsedMs} ms)`);
    assert.ok(elapsedMs < 5000, `soon after the timeout (closed after ${elapsedMs} ms)`);
    assert.match(response, /^HTTP\/1\.1 400 /);
    const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as {
      code: string;
      msg: string;
    };
    assert.equal(body.code, 'error');
    assert.equal(body.msg, 'request timed out: send the whole request within the time limit');
  };

  it('answers a request whose body never completes with a 400 envelope and closes it', async () => {
    assertTimedOut(
      await sendAndWait(
        `POST /api/v1/accounts/${alice.accountId}/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\n` +
          'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nticker=AA',
      ),
    );
  });

  it('answers a request whose headers never complete with a 400 envelope and closes it', async () => {
    assertTimedOut(
      await sendAndWait(`GET /api/v1/accounts/${alice.accountId} HTTP/1.1\r\nHost: x\r\nAuthori`),
    );
  });

  it('leaves a kept-alive connection that sends complete requests alone', async () => {
    const { hostname, port } = new URL(t.url);
    const socket = connect(Number(port), hostname);
    const request = `GET /api/v1/accounts/${alice.accountId} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\n\r\n`;
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    try {
      // Three requests spread over more than the time limit, on one connection.
      for (let index = 0; index < 3; index += 1) {
        socket.write(request);
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
      assert.equal(received.match(/HTTP\/1\.1 200 /g)?.length, 3, received);
      assert.ok(!socket.destroyed, 'the connection is still open');
    } finally {
      socket.destroy();
    }
  });
});
