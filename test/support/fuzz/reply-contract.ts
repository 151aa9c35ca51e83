/**
 * The contract every reply must meet, whatever was sent: 200, 400, 401 or 429 (431 for a head over
 * Node's 16 KiB limit, 413 for a body over 64 KiB), a JSON body, `{"code":"ok",…}` on 200 and
 * `{"code":"error","msg":<non-empty>}` otherwise, and Retry-After on 429.
 */
import assert from 'node:assert/strict';
import { MAX_HEAD_BYTES, describeRequest, send, type HostileRequest, type RawReply } from './raw-http.ts';

/** The contract every reply must meet, whatever was sent. */
export function checkReply(request: HostileRequest, reply: RawReply): Record<string, unknown> | undefined {
  const where = `${describeRequest(request)}\n  → ${reply.status} ${reply.error ?? ''} ${reply.text.slice(0, 300)}`;
  // 431 is Node's answer to a request head over its 16 KiB limit, before any route runs: allowed
  // there (with the envelope), nowhere else.
  const oversized = (reply.headBytes ?? 0) > MAX_HEAD_BYTES - 512;
  // 413 answers a body over the 64 KiB limit, and nothing else.
  const overLimit = (request.body?.length ?? 0) > 64 * 1024;
  const allowed = [200, 400, 401, 429, ...(oversized ? [431] : []), ...(overLimit ? [413] : [])];
  assert.ok(allowed.includes(reply.status), `status must be one of ${allowed.join('/')}: ${where}`);
  if (request.method === 'HEAD') return undefined;
  if (/^text\/event-stream/.test(reply.headers['content-type'] ?? '')) {
    // A stream opened: only for a request that was right, so only with 200.
    assert.equal(reply.status, 200, `an event stream opens with 200: ${where}`);
    return { code: 'ok' };
  }
  assert.match(reply.headers['content-type'] ?? '', /^application\/json/, `JSON content type: ${where}`);
  let body: unknown;
  try {
    body = JSON.parse(reply.text);
  } catch {
    assert.fail(`body is not JSON: ${where}`);
  }
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `body is an object: ${where}`);
  const envelope = body as Record<string, unknown>;
  if (reply.status === 200) {
    assert.equal(envelope.code, 'ok', `200 carries code "ok": ${where}`);
  } else {
    assert.equal(envelope.code, 'error', `non-200 carries code "error": ${where}`);
    assert.ok(typeof envelope.msg === 'string' && envelope.msg.length > 0, `non-empty msg: ${where}`);
    if (reply.status === 429) assert.ok(reply.headers['retry-after'], `429 has Retry-After: ${where}`);
  }
  return envelope;
}

export async function sendChecked(
  baseUrl: string,
  request: HostileRequest,
): Promise<Record<string, unknown> | undefined> {
  return checkReply(request, await send(baseUrl, request));
}
