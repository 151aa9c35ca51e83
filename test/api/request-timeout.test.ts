/**
 * A client that never finishes its request body (slowloris) is cut off with the JSON envelope once
 * the request deadline passes, and its connection is closed.
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

  it(
    'answers a request whose body never completes with a 400 envelope and closes it',
    { timeout: 20_000 },
    async () => {
      const { hostname, port } = new URL(t.url);
      const started = Date.now();
      const response = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(
            `POST /api/v1/accounts/${alice.accountId}/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\n` +
              'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nticker=AA',
          );
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      assert.ok(Date.now() - started >= 1000, 'not before the timeout');
      assert.match(response, /^HTTP\/1\.1 400 /);
      const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as {
        code: string;
        msg: string;
      };
      assert.equal(body.code, 'error');
      assert.equal(body.msg, 'request timed out: send the whole request within the time limit');
    },
  );
});
