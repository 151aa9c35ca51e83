/**
 * Hostile input: fast-check fires thousands of random and adversarial requests at every endpoint of
 * the public API (/api/v1) and the admin API (/admin/v1) of a real server, over raw TCP so that
 * nothing (fetch, URL normalisation, header validation) cleans the input up on the way.
 *
 * Every response must be 200, 400, 401 or 429 (413 for a body over 64 KiB; never 5xx, never
 * silence), every non-200 body the JSON envelope {"code":"error","msg":<non-empty>} and every 200
 * body {"code":"ok",…}. A burst of only-invalid mutations must leave a victim account exactly as it
 * was, except for the `rejected` orders that business rejections record (one per such reply, with
 * the reply's msg as comment).
 *
 * Phases run in order on one server: state-unchanged burst, the general fuzz of every endpoint
 * (after which every account's books must still balance), 10 MB and deeply nested bodies, logout,
 * and the clock last (it only moves forward). Two more servers take parser-level garbage and
 * traffic against a tight rate limiter (429s must carry the envelope and Retry-After).
 * A request head over Node's 16 KiB limit may get 431 (with the envelope); nothing else may.
 *
 * Knobs: FUZZ_RUNS (requests of the general fuzz, default 3000; the other phases scale with it),
 * FUZZ_SEED (fast-check seed; printed, so a failure can be replayed) and FUZZ_DEBUG (a generator
 * label, e.g. "orders POST": prints the outcome of each of its requests).
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { PUBLIC_PREFIX, PublicRoutes as P } from '../../src/contract/public-routes.ts';
import { ADMIN_PREFIX, AdminRoutes as A } from '../../src/contract/admin-routes.ts';
import { fillPath, type PathParams, type RouteSpec } from '../../src/contract/route-spec.ts';
import {
  ADMIN_TOKEN,
  raw,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../support/test-server.ts';

const FUZZ_RUNS = positiveInt(process.env.FUZZ_RUNS, 3000);
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
const BURST_RUNS = Math.max(200, Math.round(FUZZ_RUNS / 5));
const CLOCK_RUNS = Math.max(100, Math.round(FUZZ_RUNS / 15));
const LOGOUT_RUNS = Math.max(60, Math.round(FUZZ_RUNS / 40));
const PARALLEL = 8;
const TEN_MB = 10 * 1024 * 1024;

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over TCP: any method, any target, any header bytes, any body; one connection each.
// ---------------------------------------------------------------------------------------------

interface HostileRequest {
  method: string;
  /** The request target exactly as sent (already percent-encoded where wanted). */
  target: string;
  headers: [string, string][];
  body?: Buffer;
  /** Without it the body goes with a matching Content-Length; "raw" sends it unframed (chunked tests). */
  framing?: 'raw';
  /** Host header values to send instead of the server's one ([] sends none). */
  hosts?: readonly string[];
  /** What generated it, for failure messages. */
  label: string;
}

interface RawReply {
  status: number;
  headers: Record<string, string>;
  text: string;
  error?: string;
  /** Size of the request line and headers sent. */
  headBytes?: number;
}

/** Node's default --max-http-header-size: a bigger request head is answered 431 by the HTTP layer. */
const MAX_HEAD_BYTES = 16 * 1024;

const stats = { requests: 0, histogram: new Map<string, number>() };

/** Gives a request a short printable form, so fast-check counterexamples stay readable. */
function printable(request: HostileRequest): HostileRequest {
  Object.defineProperty(request, fc.toStringMethod, {
    value: () => describeRequest(request),
    enumerable: false,
  });
  return request;
}

function describeRequest(request: HostileRequest): string {
  const body =
    request.body === undefined
      ? ''
      : ` body(${request.body.length} B)=${JSON.stringify(request.body.subarray(0, 300).toString('utf8'))}`;
  const hosts = request.hosts?.map((host): [string, string] => ['Host', host]) ?? [];
  const headers = [...hosts, ...request.headers]
    .map(([name, value]) => `${name}: ${value.slice(0, 120)}`)
    .join(' | ');
  return `[${request.label}] ${request.method} ${request.target.slice(0, 300)} {${headers}}${body}`;
}

function send(baseUrl: string, request: HostileRequest, timeoutMs = 20_000): Promise<RawReply> {
  const url = new URL(baseUrl);
  const lines = [
    `${request.method} ${request.target} HTTP/1.1`,
    ...(request.hosts ?? [url.host]).map((host) => `Host: ${host}`),
    'Connection: close',
  ];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (request.body !== undefined && request.framing !== 'raw')
    lines.push(`Content-Length: ${request.body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8');
  stats.requests++;
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    let socketError: string | undefined;
    let responded = false;
    let finished = false;
    const finish = (why?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const reply = { ...parseReply(Buffer.concat(chunks), why ?? socketError), headBytes: head.length };
      const key = String(reply.status);
      stats.histogram.set(key, (stats.histogram.get(key) ?? 0) + 1);
      resolve(reply);
    };
    const timer = setTimeout(() => finish('timeout: no complete response'), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      responded = true;
      chunks.push(chunk);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socketError = error.code ?? error.message;
    });
    socket.on('close', () => finish());
    socket.on('connect', () => {
      socket.setNoDelay(true);
      socket.write(head);
      const body = request.body;
      if (body === undefined || body.length === 0) return;
      // Big bodies go in slices, and stop as soon as the server has answered (it may refuse early).
      void (async () => {
        const slice = 256 * 1024;
        for (let offset = 0; offset < body.length; offset += slice) {
          if (responded || socket.destroyed) return;
          if (!socket.write(body.subarray(offset, offset + slice))) {
            await new Promise<void>((done) => {
              const settle = (): void => {
                socket.off('drain', settle);
                socket.off('close', settle);
                socket.off('data', settle);
                done();
              };
              socket.on('drain', settle);
              socket.on('close', settle);
              socket.on('data', settle);
            });
          }
        }
      })();
    });
  });
}

function parseReply(all: Buffer, error: string | undefined): RawReply {
  let rest = all;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0)
      return { status: 0, headers: {}, text: rest.toString('latin1'), error: error ?? 'no response' };
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue; // 100 Continue and friends precede the answer
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = rest;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let position = 0;
      for (;;) {
        const newline = body.indexOf('\r\n', position);
        if (newline < 0) break;
        const size = parseInt(body.subarray(position, newline).toString('latin1'), 16);
        if (!size) break;
        parts.push(body.subarray(newline + 2, newline + 2 + size));
        position = newline + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      body = body.subarray(0, Number(headers['content-length']));
    }
    return { status, headers, text: body.toString('utf8'), ...(error === undefined ? {} : { error }) };
  }
}

/** The contract every reply must meet, whatever was sent. */
function checkReply(request: HostileRequest, reply: RawReply): Record<string, unknown> | undefined {
  const where = `${describeRequest(request)}\n  → ${reply.status} ${reply.error ?? ''} ${reply.text.slice(0, 300)}`;
  // 431 is Node's answer to a request head over its 16 KiB limit, before any route runs: allowed
  // there (with the envelope), nowhere else.
  const oversized = (reply.headBytes ?? 0) > MAX_HEAD_BYTES - 512;
  // 413 answers a body over the 64 KiB limit, and nothing else.
  const overLimit = (request.body?.length ?? 0) > 64 * 1024;
  const allowed = [200, 400, 401, 429, ...(oversized ? [431] : []), ...(overLimit ? [413] : [])];
  assert.ok(allowed.includes(reply.status), `status must be one of ${allowed.join('/')}: ${where}`);
  if (request.method === 'HEAD') return undefined;
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

async function sendChecked(
  baseUrl: string,
  request: HostileRequest,
): Promise<Record<string, unknown> | undefined> {
  return checkReply(request, await send(baseUrl, request));
}

/**
 * fc.assert, with the failing assertion's own message appended: fast-check reports the
 * counterexample but keeps the cause out of the message node:test prints.
 */
async function assertProperty<T>(
  arbitrary: fc.Arbitrary<T>,
  run: (value: T) => Promise<void>,
  numRuns: number,
): Promise<void> {
  let firstFailure: string | undefined;
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        try {
          await run(value);
        } catch (error) {
          firstFailure ??= (error as Error).message;
          throw error;
        }
      }),
      { numRuns, seed: SEED },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nFirst failure: ${firstFailure ?? 'n/a'}`);
  }
}

async function inPool<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Values: valid ones, nasty numbers, nasty strings, wrong types, repeated parameters, deep nesting.
// ---------------------------------------------------------------------------------------------

/** A field value: a JS value (serialised properly) or raw text pasted as is into JSON or a form. */
type Value = { js: unknown } | { raw: string };
type Fields = [string, Value][];

const js = (value: unknown): Value => ({ js: value });
const good = (...values: unknown[]): fc.Arbitrary<Value> => fc.constantFrom(...values).map(js);

const LONE_SURROGATES = ['\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', '\ud83d'];
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u0000AAPL.nq',
  'AAPL.nq\u0000',
  '\u0001\u0002\u0003\u001f\u007f',
  '\r\n',
  '\t',
  '\u202eqn.LPAA',
  '\u200f\u200e\u2066',
  '\ufeff',
  '\u00a0',
  '😀',
  '👨‍👩‍👧‍👦',
  'Ａ１',
  "' OR '1'='1",
  "1' OR 1=1 --",
  '1; DROP TABLE orders; --',
  "Robert'); DROP TABLE accounts;--",
  '" OR ""="',
  '1 UNION SELECT token FROM tokens',
  '%',
  '%00',
  '%ZZ',
  '../../etc/passwd',
  '..%2f..%2f',
  '%2e%2e%2f',
  '..\\..\\',
  '${jndi:ldap://x/a}',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '0x10',
  '1_000',
  '١٢٣',
  'null',
  'undefined',
  'true',
  '[object Object]',
  'x'.repeat(256),
  'y'.repeat(5000),
  ...LONE_SURROGATES,
];
const NASTY_NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1e15,
  -1e15,
  5e-324,
  -5e-324,
  Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  Number.MIN_SAFE_INTEGER,
  1e21,
  1e-7,
  1e-9,
  0.1 + 0.2,
  100.30000000000001,
  -1,
  0.5,
  1.5,
  99_999_999.99,
  89_999_999_999_999.98,
  1e11,
  1e11 + 1,
  2 ** 31,
  2 ** 32,
  2 ** 64,
];
/** Raw JSON/form text: invalid JSON literals, numbers JS cannot hold, strings that look like numbers. */
const RAW_TOKENS = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  '-0',
  '1e15',
  '5e-324',
  '0.000000000000000000000000000001',
  '123456789012345678901234567890',
  '0x10',
  '+1',
  '.5',
  '1.',
  '01',
  '1e',
  '--1',
  'undefined',
  '"1.5"',
  '"NaN"',
  '"Infinity"',
  '"1e309"',
  '" 1 "',
  '"\\u0000"',
  '"\\ud800"',
  '[]',
  '{}',
  '[1,2]',
  '{"$gt":0}',
  'null',
  'true',
];

const loneSurrogateString = fc.string({
  unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  maxLength: 4,
});
const controlString = fc.string({
  unit: fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
  maxLength: 6,
});
const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: loneSurrogateString },
  { weight: 1, arbitrary: controlString },
);

/** An object or array nested `depth` levels deep. */
function nested(depth: number, kind: 'object' | 'array'): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = kind === 'object' ? { a: value } : [value];
  return value;
}

const hostileValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_NUMBERS).map(js) },
  { weight: 2, arbitrary: fc.double().map(js) },
  { weight: 1, arbitrary: fc.integer().map(js) },
  { weight: 3, arbitrary: fc.constantFrom(...RAW_TOKENS).map((text): Value => ({ raw: text })) },
  { weight: 4, arbitrary: anyString.map(js) },
  { weight: 1, arbitrary: fc.boolean().map(js) },
  { weight: 1, arbitrary: fc.constant(js(null)) },
  // Arrays are repeated parameters in a form or query.
  {
    weight: 2,
    arbitrary: fc.array(fc.oneof(fc.double(), anyString, fc.integer()), { maxLength: 4 }).map(js),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(js) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 10, max: 4000 }), fc.constantFrom('object' as const, 'array' as const))
      .map(([depth, kind]) => js(nested(depth, kind))),
  },
);

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD). */
function pct(text: string): string {
  let out = '';
  for (const char of text) {
    if (UNRESERVED.test(char)) out += char;
    else
      for (const byte of Buffer.from(char, 'utf8'))
        out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function formTexts(value: Value): string[] {
  if ('raw' in value) return [value.raw];
  const item = value.js;
  if (Array.isArray(item)) return item.length === 0 ? [''] : item.map((entry) => scalarText(entry));
  return [scalarText(item)];
}

function scalarText(item: unknown): string {
  if (typeof item === 'number') return Object.is(item, -0) ? '-0' : String(item);
  if (typeof item === 'string') return item;
  if (item === null || item === undefined) return '';
  if (typeof item === 'object') return JSON.stringify(item) ?? '';
  return String(item);
}

function encodeForm(fields: Fields): string {
  return fields
    .flatMap(([key, value]) => formTexts(value).map((text) => `${pct(key)}=${pct(text)}`))
    .join('&');
}

function encodeJson(fields: Fields): string {
  const members = fields.map(
    ([key, value]) =>
      `${JSON.stringify(key)}:${'raw' in value ? value.raw : (JSON.stringify(value.js) ?? 'null')}`,
  );
  return `{${members.join(',')}}`;
}

const BODY_KINDS = [
  'json',
  'json',
  'json',
  'form',
  'form',
  'form',
  'none',
  'empty',
  'text',
  'multipart',
  'binary',
  'json-array',
  'json-scalar',
  'json-broken',
] as const;

const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded',
  undefined,
  'text/plain',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded; charset=latin1',
  'APPLICATION/JSON',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/octet-stream',
  '*/*',
  'application/json, text/plain',
  ';;;==',
  'text/html; charset=utf-16',
  'application/vnd.api+json',
];

const bodyShape = fc.record({
  kind: fc.constantFrom(...BODY_KINDS),
  contentType: fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 60 }) },
  ),
  junk: fc.oneof(
    anyString,
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  ),
  binary: fc.uint8Array({ maxLength: 300 }),
});

function encodeBody(
  fields: Fields,
  shape: typeof bodyShape extends fc.Arbitrary<infer T> ? T : never,
): { body?: Buffer; contentType?: string } {
  const contentType = shape.contentType;
  const withType = (body: Buffer): { body: Buffer; contentType?: string } =>
    contentType === undefined ? { body } : { body, contentType };
  switch (shape.kind) {
    case 'json':
      return withType(Buffer.from(encodeJson(fields), 'utf8'));
    case 'form':
      return withType(Buffer.from(encodeForm(fields), 'utf8'));
    case 'none':
      return contentType === undefined ? {} : { contentType };
    case 'empty':
      return withType(Buffer.alloc(0));
    case 'text':
      return withType(Buffer.from(shape.junk, 'utf8'));
    case 'multipart':
      return withType(
        Buffer.from(
          `------x\r\nContent-Disposition: form-data; name="${fields[0]?.[0] ?? 'ticker'}"\r\n\r\n${shape.junk}\r\n------x--\r\n`,
          'utf8',
        ),
      );
    case 'binary':
      return withType(Buffer.from(shape.binary));
    case 'json-array':
      return withType(Buffer.from(`[${encodeJson(fields)}]`, 'utf8'));
    case 'json-scalar':
      return withType(Buffer.from(JSON.stringify(shape.junk) ?? '""', 'utf8'));
    case 'json-broken':
      return withType(Buffer.from(encodeJson(fields).slice(0, -1) + ',', 'utf8'));
  }
}

/** Field sets: each known field absent, valid or hostile; plus stray and repeated keys. */
function fieldsArb(spec: Record<string, fc.Arbitrary<Value>>): fc.Arbitrary<Fields> {
  const known = Object.entries(spec).map(([key, valid]) =>
    fc
      .oneof(
        { weight: 2, arbitrary: fc.constant(undefined) },
        { weight: 6, arbitrary: valid },
        { weight: 2, arbitrary: hostileValue },
      )
      .map((value): Fields => (value === undefined ? [] : [[key, value]])),
  );
  const strayKey = fc.oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'x',
      '',
      ' ',
      'a[b]',
      'a.b',
      '$where',
      ...Object.keys(spec),
    ),
    anyString,
  );
  return fc
    .tuple(fc.tuple(...known), fc.array(fc.tuple(strayKey, hostileValue), { maxLength: 2 }), fc.boolean())
    .map(([parts, stray, shuffle]) => {
      const fields = [...parts.flat(), ...stray];
      return shuffle ? fields.reverse() : fields;
    });
}

function encodeQuery(fields: Fields, junk: string | undefined): string {
  const text = encodeForm(fields) + (junk ?? '');
  return text === '' ? '' : `?${text}`;
}

const QUERY_JUNK = [
  '',
  '&',
  '&&&',
  '%',
  '%FF',
  '%ED%A0%80',
  '%C0%AF',
  '&=',
  '&==&',
  '#frag',
  '&a',
  '&%00=%00',
];

// ---------------------------------------------------------------------------------------------
// The world the fuzz plays in.
// ---------------------------------------------------------------------------------------------

interface World {
  url: string;
  /** The fuzz account: most valid-auth traffic of the general phase lands here. */
  fuzz: TestAccount;
  /** The victim of the state-unchanged burst. */
  victim: TestAccount;
  /** Another user, for foreign ids and tokens. */
  other: TestAccount;
  revokedToken: string;
  throwawayUserId: string;
  throwawayTokens: string[];
  victimIds: {
    activeOrder: string;
    filledOrder: string;
    rejectedOrder: string;
    openDeal: string;
    closedDeal: string;
  };
  otherIds: { order: string; deal: string };
  fuzzIds: { orders: string[]; deals: string[] };
  /** The fuzz account's live pending orders and open deals, refreshed while the fuzz runs. */
  live: { orders: string[]; deals: string[] };
}

const TICKERS = ['AAPL.nq', 'MSFT.nq', 'EURUSD', 'USDJPY'];

function idVariants(id: string): string[] {
  return [id, String(Number(id)), `0${id}`];
}

function hostileId(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      '0',
      '00000000',
      '99999999',
      '999999999',
      '999999999999999',
      '1'.repeat(16),
      '9'.repeat(40),
      'abc',
      '-1',
      '1.5',
      '1e3',
      '+1',
      '%20%31',
      '0x1',
      '..',
      '.',
      '%2e%2e',
      '..%2f..',
      '..%2f..%2fadmin%2fv1%2fclock',
      '%2e%2e%2f%2e%2e',
      '%00',
      '1%00',
      '%2f',
      '%5c..%5c',
      "1'%20OR%20'1'%3D'1",
      '1%3B%20DROP%20TABLE%20orders',
      '%E2%80%AE1',
      '%F0%9F%98%80',
      'null',
      'undefined',
      '__proto__',
      'constructor',
    ),
    fc.nat().map(String),
    fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
    anyString.map(pct),
  );
}

function idArb(known: readonly string[]): fc.Arbitrary<string> {
  const variants = known.flatMap(idVariants);
  return variants.length === 0
    ? hostileId()
    : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...variants) }, { weight: 2, arbitrary: hostileId() });
}

function tickerArb(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...TICKERS) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'aapl.nq',
        'AAPL',
        'NOPE',
        'XAUUSD',
        'A'.repeat(32),
        'A'.repeat(33),
        '..',
        '.',
        '-',
      ),
    },
    { weight: 2, arbitrary: anyString.map(pct) },
  );
}

type Api = 'public' | 'admin';

/** Authorization headers: mostly the right kind, otherwise missing, garbage, wrong kind, huge. */
function authArb(world: World, api: Api, rightToken: string): fc.Arbitrary<string | undefined> {
  const wrongKind = api === 'public' ? ADMIN_TOKEN : world.fuzz.token;
  return fc.oneof(
    { weight: 14, arbitrary: fc.constant(`Bearer ${rightToken}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${wrongKind}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${world.revokedToken}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${world.other.token}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Bearer  ',
        `bearer ${rightToken}`,
        `BEARER ${rightToken}`,
        `Bearer ${rightToken} extra`,
        `Bearer ${rightToken}x`,
        `Bearer ${rightToken.slice(0, -1)}`,
        `Token ${rightToken}`,
        `Basic ${Buffer.from(`admin:${rightToken}`).toString('base64')}`,
        rightToken,
        'Bearer null',
        'Bearer undefined',
        "Bearer ' OR '1'='1",
        'Bearer 😀\u202e\u200f',
        'Bearer \ufeff',
        `Bearer ${ADMIN_TOKEN}${ADMIN_TOKEN}`,
      ),
    },
    { weight: 1, arbitrary: anyString.map((text) => `Bearer ${text}`) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 500, max: 12_000 }), fc.constantFrom('x', 'é', '😀'))
        .map(([length, char]) => `Bearer ${char.repeat(length)}`),
    },
  );
}

/**
 * Header values may carry any byte the HTTP parser accepts (printable ASCII, tab, and UTF-8
 * bytes as obs-text); control characters are refused by the parser itself (see the todo below).
 */
function headerSafe(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += (code < 0x20 && code !== 0x09) || code === 0x7f ? '?' : char;
  }
  return out;
}

const EXTRA_HEADERS = fc.array(
  fc.oneof(
    fc.constant<[string, string]>(['Expect', '100-continue']),
    fc.constant<[string, string]>(['Accept', 'text/html']),
    fc.constant<[string, string]>(['Accept-Encoding', 'gzip, br']),
    fc.constant<[string, string]>(['Content-Encoding', 'gzip']),
    fc.constant<[string, string]>(['X-HTTP-Method-Override', 'DELETE']),
    fc.constant<[string, string]>(['X-Forwarded-For', '1.2.3.4, ::1, garbage']),
    anyString.map((text): [string, string] => ['X-Request-Id', headerSafe(text).slice(0, 2000)]),
    anyString.map((text): [string, string] => ['X-Fuzz', headerSafe(text).slice(0, 2000)]),
  ),
  { maxLength: 2 },
);

/**
 * Garbage the HTTP parser or the URL decoder refuses: malformed percent-encoding in the path,
 * method tokens it does not know, control characters in headers, raw spaces or non-ASCII in the
 * target, broken chunked framing, heads over 16 KiB.
 */
function belowRouterArb(): fc.Arbitrary<HostileRequest> {
  const badEscape = fc.constantFrom(
    '%',
    '%Z',
    '%ZZ',
    '%E0%A4%A',
    '%FF',
    '%ED%A0%80',
    '%C0%AF',
    '%%',
    '%u0041',
    '%0',
  );
  const prefix = fc.constantFrom(
    '/api/v1/accounts/',
    '/api/v1/',
    '/admin/v1/quotes/',
    '/admin/v1/accounts/',
    '/',
  );
  const auth = fc.constantFrom(`Bearer ${ADMIN_TOKEN}`, 'Bearer x', undefined);
  return fc.oneof(
    fc
      .tuple(prefix, badEscape, fc.constantFrom('', '/orders', '/deals/1', '?limit=1'), auth)
      .map(([head, junk, tail, header]) =>
        assemble('bad percent-encoding', 'GET', head + junk + tail, header, {}),
      ),
    fc
      .tuple(fc.constantFrom('FOO', 'get', 'G3T', 'PRI', 'X-Y', 'GETT', 'DELETEX'), prefix, auth)
      .map(([method, path, header]) => assemble('unknown method token', method, path, header, {})),
    fc
      .tuple(
        controlString.filter((text) => /[^\t]/.test(text)),
        auth,
      )
      .map(([junk, header]) =>
        printable({
          label: 'control character in a header',
          method: 'GET',
          target: '/api/v1/accounts',
          headers: [['Authorization', `${header ?? 'Bearer'} ${junk}x`]],
        }),
      ),
    fc
      .tuple(
        fc.constantFrom(
          '/api/v1/accounts /x',
          '/api/v1/accounts/😀',
          'api/v1/accounts',
          '/api/v1/\u00e9',
          '//',
        ),
        auth,
      )
      .map(([target, header]) => assemble('raw target', 'GET', target, header, {})),
    fc
      .tuple(
        fc.constantFrom(
          'zz\r\nxx\r\n',
          '5\r\n{"nam\r\n8\r\ne":"ab"}\r\n0\r\n\r\n',
          '3\r\nabcdef\r\n0\r\n\r\n',
          '-1\r\n\r\n',
          '2\r\nabc\r\n0\r\n\r\n',
          '0\r\n\r\n',
        ),
        fc.boolean(),
      )
      .map(([body, withLength]) =>
        printable({
          label: 'chunked framing',
          method: 'POST',
          target: '/admin/v1/users',
          headers: [
            ['Authorization', `Bearer ${ADMIN_TOKEN}`],
            ['Content-Type', 'application/json'],
            ['Transfer-Encoding', 'chunked'],
            ...(withLength ? [['Content-Length', String(body.length)] as [string, string]] : []),
          ],
          body: Buffer.from(body),
          framing: 'raw',
        }),
      ),
    fc
      .tuple(fc.integer({ min: 17_000, max: 40_000 }), fc.constantFrom('header', 'target'))
      .map(([size, where]) =>
        where === 'header'
          ? assemble('oversized head', 'GET', '/api/v1/accounts', `Bearer ${'x'.repeat(size)}`, {})
          : assemble('oversized head', 'GET', `/api/v1/accounts?q=${'y'.repeat(size)}`, 'Bearer x', {}),
      ),
  );
}

/** A request from its parts; header values are made parser-safe, the rest is sent as is. */
function assemble(
  label: string,
  method: string,
  target: string,
  auth: string | undefined,
  encoded: { body?: Buffer; contentType?: string },
  extra: [string, string][] = [],
): HostileRequest {
  const headers: [string, string][] = [];
  if (auth !== undefined) headers.push(['Authorization', headerSafe(auth)]);
  if (encoded.contentType !== undefined) headers.push(['Content-Type', headerSafe(encoded.contentType)]);
  headers.push(...extra);
  return printable({
    method,
    target,
    headers,
    ...(encoded.body === undefined ? {} : { body: encoded.body }),
    label,
  });
}

interface EndpointSpec {
  name: string;
  method: string;
  api: Api;
  path: fc.Arbitrary<string>;
  query?: Record<string, fc.Arbitrary<Value>>;
  body?: Record<string, fc.Arbitrary<Value>>;
  /** The token the route wants (defaults to the fuzz user's or the admin's). */
  token?: fc.Arbitrary<string>;
  /** Body fields a clean request always carries. */
  required?: string[];
  /** A coherent body for clean requests, where independent fields would rarely make sense together. */
  cleanBody?: fc.Arbitrary<Fields>;
}

/** The quotes the fuzz starts from, and sensible volumes and price steps per instrument. */
const MARKET: Record<string, { bid: number; ask: number; step: number; volumes: number[] }> = {
  'AAPL.nq': { bid: 99.98, ask: 100, step: 0.5, volumes: [1, 2, 5, 10] },
  'MSFT.nq': { bid: 199.98, ask: 200, step: 0.5, volumes: [1, 2, 3] },
  EURUSD: { bid: 1.1, ask: 1.1001, step: 0.001, volumes: [0.01, 0.1, 1] },
  USDJPY: { bid: 150, ask: 150.01, step: 0.5, volumes: [0.01, 0.1] },
};

/** A coherent order: prices on the right side of the starting quotes, SL/TP on the right side of those. */
const cleanOrderBody: fc.Arbitrary<Fields> = fc
  .record({
    ticker: fc.constantFrom(...Object.keys(MARKET)),
    side: fc.constantFrom('buy', 'sell'),
    type: fc.constantFrom('market', 'market', 'limit', 'stop'),
    volume: fc.nat(),
    offset: fc.integer({ min: 1, max: 20 }),
    stopLoss: fc.boolean(),
    takeProfit: fc.boolean(),
    expiration: fc.option(fc.integer({ min: 60, max: 86_400 })),
  })
  .map((draft): Fields => {
    const market = MARKET[draft.ticker] ?? { bid: 1, ask: 1, step: 1, volumes: [1] };
    const buy = draft.side === 'buy';
    const round = (value: number): number => Number(value.toFixed(5));
    const fields: Fields = [
      ['ticker', js(draft.ticker)],
      ['side', js(draft.side)],
      ['type', js(draft.type)],
      ['volume', js(market.volumes[draft.volume % market.volumes.length])],
    ];
    let reference = buy ? market.bid : market.ask;
    if (draft.type !== 'market') {
      const below = (draft.type === 'limit') === buy;
      const base = buy ? market.ask : market.bid;
      reference = round(base + (below ? -1 : 1) * draft.offset * market.step);
      fields.push(['price', js(reference)]);
      if (draft.expiration !== null)
        fields.push(['expiration', js(Math.floor(Date.now() / 1000) + draft.expiration)]);
    }
    const away = 30 * market.step;
    if (draft.stopLoss) fields.push(['stop_loss', js(round(reference + (buy ? -away : away)))]);
    if (draft.takeProfit) fields.push(['take_profit', js(round(reference + (buy ? away : -away)))]);
    return fields;
  });

/** Clean field sets: required fields always, others half the time, all with valid-looking values. */
function cleanFieldsArb(
  spec: Record<string, fc.Arbitrary<Value>>,
  required: readonly string[],
): fc.Arbitrary<Fields> {
  const parts = Object.entries(spec).map(([key, valid]) =>
    (required.includes(key)
      ? valid.map((value) => [value])
      : fc.option(valid).map((value) => (value === null ? [] : [value]))
    ).map((values): Fields => values.map((value) => [key, value])),
  );
  return fc.tuple(...parts).map((lists) => lists.flat());
}

/**
 * A nearly valid request: the right token, a well-formed JSON or form body with a matching
 * content type, valid-looking values, and at most one hostile value. These get past the schema
 * and into the business rules, where the deeper bugs live.
 */
function cleanEndpointArb(spec: EndpointSpec, token: string): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      path: spec.path,
      fields: spec.cleanBody ?? cleanFieldsArb(spec.body ?? {}, spec.required ?? []),
      query: cleanFieldsArb(spec.query ?? {}, []),
      json: fc.boolean(),
      typed: fc.oneof(
        { weight: 5, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
      mutation: fc.option(fc.tuple(fc.nat(), hostileValue, fc.boolean()), { freq: 2 }),
    })
    .map(({ path, fields, query, json, typed, mutation }) => {
      const body = spec.body === undefined ? undefined : [...fields];
      if (mutation !== null) {
        const [index, value, inQuery] = mutation;
        const target = inQuery || body === undefined ? query : body;
        const slot = target[index % Math.max(1, target.length)];
        if (slot) target[index % target.length] = [slot[0], value];
        else target.push([Object.keys((inQuery ? spec.query : spec.body) ?? {})[0] ?? 'x', value]);
      }
      const encoded =
        body === undefined
          ? {}
          : json
            ? { body: Buffer.from(encodeJson(body)), ...(typed ? { contentType: 'application/json' } : {}) }
            : {
                body: Buffer.from(encodeForm(body)),
                ...(typed ? { contentType: 'application/x-www-form-urlencoded' } : {}),
              };
      return assemble(
        spec.name,
        spec.method,
        path + encodeQuery(query, undefined),
        `Bearer ${token}`,
        encoded,
      );
    });
}

function endpointArb(world: World, spec: EndpointSpec): fc.Arbitrary<HostileRequest> {
  const tokenArb = spec.token ?? fc.constant(spec.api === 'admin' ? ADMIN_TOKEN : world.fuzz.token);
  return fc
    .record({
      path: spec.path,
      auth: tokenArb.chain((token) => authArb(world, spec.api, token)),
      query: fieldsArb(spec.query ?? {}),
      queryJunk: fc.option(fc.constantFrom(...QUERY_JUNK), { freq: 5 }),
      fields: fieldsArb(spec.body ?? {}),
      shape: bodyShape,
      extra: EXTRA_HEADERS,
      bodyless: fc.boolean(),
    })
    .map(({ path, auth, query, queryJunk, fields, shape, extra, bodyless }) => {
      const headers: [string, string][] = [];
      if (auth !== undefined) headers.push(['Authorization', headerSafe(auth)]);
      // Routes without a body schema get a body now and then; routes with one nearly always.
      const { body, contentType } = spec.body === undefined && bodyless ? {} : encodeBody(fields, shape);
      if (contentType !== undefined) headers.push(['Content-Type', headerSafe(contentType)]);
      headers.push(...extra);
      return printable({
        method: spec.method,
        target: path + encodeQuery(query, queryJunk ?? undefined),
        headers,
        ...(body === undefined ? {} : { body }),
        label: spec.name,
      });
    });
}

/** One of a pool that changes while the fuzz runs (read when a value is generated). */
function livePick(pool: readonly string[]): fc.Arbitrary<string> {
  return fc.nat().map((index) => pool[index % Math.max(1, pool.length)] ?? '1');
}

/** Refreshes the fuzz account's live ids from the server. */
async function refreshLive(t: TestServer, world: World): Promise<void> {
  const acct = `/api/v1/accounts/${world.fuzz.accountId}`;
  const orders = await raw(t.url, 'GET', `${acct}/orders`, { token: world.fuzz.token });
  const deals = await raw(t.url, 'GET', `${acct}/deals`, { token: world.fuzz.token });
  if (orders.status === 200 && deals.status === 200) {
    world.live.orders.splice(0, Infinity, ...(orders.body.data as { id: string }[]).map((order) => order.id));
    world.live.deals.splice(0, Infinity, ...(deals.body.data as { id: string }[]).map((deal) => deal.id));
  }
}

/** Paths from the contract's route tables, parameters left as given (hostile text included). */
const pub = <R extends RouteSpec>(route: R, params: PathParams<R>) => fillPath(PUBLIC_PREFIX, route, params);
const adm = <R extends RouteSpec>(route: R, params: PathParams<R>) => fillPath(ADMIN_PREFIX, route, params);

/**
 * Every endpoint (clock mutations and logout aside: they have their own phases). In `clean` mode
 * ids name real things (mostly the fuzz account's, which then owns them), otherwise anything goes.
 */
function endpoints(world: World, now: number, mode: 'clean' | 'hostile'): EndpointSpec[] {
  // Ids are global sequences: any small number may name one of the fuzz account's orders or deals.
  const sequential = (width: number) =>
    fc.integer({ min: 1, max: 3000 }).map((id) => String(id).padStart(width, '0'));
  const account =
    mode === 'clean'
      ? fc.oneof(
          { weight: 8, arbitrary: fc.constant(world.fuzz.accountId) },
          { weight: 1, arbitrary: fc.constantFrom(world.victim.accountId, world.other.accountId) },
        )
      : idArb([world.fuzz.accountId, world.fuzz.accountId, world.victim.accountId, world.other.accountId]);
  const order =
    mode === 'clean'
      ? fc.oneof(
          { weight: 3, arbitrary: livePick(world.live.orders) },
          { weight: 1, arbitrary: sequential(9) },
        )
      : idArb([...world.fuzzIds.orders, world.victimIds.filledOrder, world.otherIds.order]);
  const deal =
    mode === 'clean'
      ? fc.oneof(
          { weight: 3, arbitrary: livePick(world.live.deals) },
          { weight: 1, arbitrary: sequential(6) },
        )
      : idArb([...world.fuzzIds.deals, world.victimIds.closedDeal, world.otherIds.deal]);
  const ticker = mode === 'clean' ? fc.constantFrom(...TICKERS) : tickerArb();
  const bystander = fc.constantFrom(world.victim.accountId, world.other.accountId);
  const a = <R extends RouteSpec>(route: R, rest: fc.Arbitrary<Record<string, string>> = fc.constant({})) =>
    fc.tuple(account, rest).map(([id, more]) => pub(route, { ...more, account_id: id } as PathParams<R>));
  const price = good(100, 100.02, 99.5, 101, 150, 99.999, 1.1, 1.10005, 150.123, 0, '100.5', 200.01);
  const level = good(0, 80, 90, 95, 105, 110, 120, 1.05, 1.2, 150.001, '95');
  const volume = good(1, 2, 10, 0.01, 0.1, 1.5, 100_000, 100_001, '1', '0.01');
  const stamp = good(0, now, now + 3600, now + 86_400 * 365, 1, 1e11, '0', `${now + 60}`);
  const page = {
    skip: good(0, 1, 5, 1000, Number.MAX_SAFE_INTEGER, '2'),
    limit: good(1, 2, 100, 500, 501, 1e6, Number.MAX_SAFE_INTEGER, '3'),
  };
  const history = {
    status: good('active', 'in_execution', 'filled', 'rejected', 'canceled', 'open', 'ACTIVE'),
    history_from: stamp,
    history_to: stamp,
    ...page,
  };
  const userId = fc.oneof(
    fc.constantFrom(world.fuzz.userId, world.other.userId, world.throwawayUserId),
    hostileId(),
  );
  // Revoking tokens by id only ever aims at the throwaway user, so the fuzz never locks itself out.
  const safeUserId = fc.oneof(fc.constant(world.throwawayUserId), hostileId());
  const instrumentFields = {
    description: good('fuzzed', ''),
    contract_size: good(1, 100_000, 0.5),
    units: good('Share(s)', 'Lot(s)'),
    min_volume: good(1, 0.01, 2),
    max_volume: good(100_000, 100, 1),
    volume_step: good(1, 0.01, 3),
    min_tick: good(0.01, 0.00001, 0.05),
    leverage: good(0.05, 0.01, 1, 0.2),
    trade_mode: good('full', 'buy_only', 'sell_only', 'close_only', 'disabled'),
    quote_currency: good('USD', 'EUR', 'JPY', 'XXX'),
    calendar: good('always', 'fx', 'us_equities'),
    volatility: good(0, 0.2, 10),
    spread_ticks: good(1, 2, 10_000),
    reference_price: good(100, 1.1, 0.01),
  };
  const overrideFields = {
    min_volume: instrumentFields.min_volume,
    max_volume: instrumentFields.max_volume,
    volume_step: instrumentFields.volume_step,
    min_tick: instrumentFields.min_tick,
    leverage: instrumentFields.leverage,
    trade_mode: instrumentFields.trade_mode,
  };
  return [
    { name: 'instruments', method: 'GET', api: 'public', path: fc.constant(pub(P.instruments, {})) },
    { name: 'accounts', method: 'GET', api: 'public', path: fc.constant(pub(P.accounts, {})) },
    { name: 'account state', method: 'GET', api: 'public', path: a(P.accountState) },
    { name: 'account instruments', method: 'GET', api: 'public', path: a(P.accountInstruments) },
    {
      name: 'instrument',
      method: 'GET',
      api: 'public',
      path: a(
        P.accountInstrument,
        ticker.map((t) => ({ ticker: t })),
      ),
    },
    {
      name: 'quote',
      method: 'GET',
      api: 'public',
      path: a(
        P.quote,
        ticker.map((t) => ({ ticker: t })),
      ),
    },
    { name: 'orders GET', method: 'GET', api: 'public', path: a(P.orders), query: history },
    {
      name: 'orders POST',
      method: 'POST',
      api: 'public',
      required: ['ticker', 'side', 'type', 'volume'],
      cleanBody: cleanOrderBody,
      path: a(P.placeOrder),
      body: {
        ticker: fc.oneof(good(...TICKERS), ticker.map(js)),
        side: good('buy', 'sell'),
        type: good('market', 'limit', 'stop'),
        volume,
        price,
        expiration: stamp,
        stop_loss: level,
        take_profit: level,
      },
    },
    {
      name: 'order PUT',
      method: 'PUT',
      api: 'public',
      path: a(
        P.modifyOrder,
        order.map((id) => ({ order_id: id })),
      ),
      body: { volume, price, expiration: stamp, stop_loss: level, take_profit: level },
      // One change that fits any pending order: clear SL/TP, a later expiry, a smaller size.
      cleanBody: fc
        .constantFrom<Fields>(
          [['stop_loss', js(0)]],
          [['take_profit', js(0)]],
          [['expiration', js(now + 7200)]],
          [['expiration', js(0)]],
          [['volume', js(1)]],
          [
            ['stop_loss', js(0)],
            ['take_profit', js(0)],
          ],
        )
        .map((fields) => [...fields]),
    },
    {
      name: 'order DELETE',
      method: 'DELETE',
      api: 'public',
      path: a(
        P.cancelOrder,
        order.map((id) => ({ order_id: id })),
      ),
    },
    { name: 'deals GET', method: 'GET', api: 'public', path: a(P.deals), query: history },
    {
      name: 'deal PUT',
      method: 'PUT',
      api: 'public',
      path: a(
        P.modifyDeal,
        deal.map((id) => ({ deal_id: id })),
      ),
      body: { stop_loss: level, take_profit: level },
      cleanBody: fc
        .constantFrom<Fields>(
          [['stop_loss', js(0)]],
          [['take_profit', js(0)]],
          [
            ['stop_loss', js(0)],
            ['take_profit', js(0)],
          ],
        )
        .map((fields) => [...fields]),
    },
    {
      name: 'deal DELETE',
      method: 'DELETE',
      api: 'public',
      path: a(
        P.closeDeal,
        deal.map((id) => ({ deal_id: id })),
      ),
    },
    {
      name: 'admin users POST',
      method: 'POST',
      api: 'admin',
      required: ['name'],
      path: fc.constant(adm(A.createUser, {})),
      body: { name: good('fuzz-user', 'x'.repeat(200), 'x'.repeat(201)) },
    },
    {
      name: 'admin tokens POST',
      method: 'POST',
      api: 'admin',
      path: fc
        .oneof(fc.constant(world.throwawayUserId), userId)
        .map((id) => adm(A.issueToken, { user_id: id })),
    },
    {
      name: 'admin token DELETE',
      method: 'DELETE',
      api: 'admin',
      path: fc
        .tuple(safeUserId, fc.oneof(fc.integer({ min: 1, max: 400 }).map(String), hostileId()))
        .map(([user, token]) => adm(A.revokeTokenById, { user_id: user, token_id: token })),
    },
    {
      name: 'admin tokens revoke',
      method: 'POST',
      api: 'admin',
      required: ['token'],
      path: fc.constant(adm(A.revokeToken, {})),
      body: { token: good(...world.throwawayTokens, world.revokedToken, 'no-such-token', 'x'.repeat(201)) },
    },
    {
      name: 'admin accounts POST',
      method: 'POST',
      api: 'admin',
      required: ['user_id', 'name', 'type', 'system', 'currency'],
      path: fc.constant(adm(A.createAccount, {})),
      body: {
        user_id: good(world.throwawayUserId, world.fuzz.userId, '999999', '0'),
        name: good('fuzz account', ''),
        type: good('demo', 'real'),
        system: good('netting', 'hedging'),
        currency: good('USD', 'EUR', 'JPY', 'XXX', 'usd'),
        balance: good(0, 1000, 0.01, -1, 0.001),
      },
    },
    {
      name: 'admin account GET',
      method: 'GET',
      api: 'admin',
      path: account.map((id) => adm(A.account, { account_id: id })),
    },
    {
      name: 'admin account PATCH',
      method: 'PATCH',
      api: 'admin',
      // Statuses change on the bystanders only, so the fuzz account keeps trading.
      path: (mode === 'clean' ? bystander : idArb([world.victim.accountId, world.other.accountId])).map(
        (id) => adm(A.updateAccount, { account_id: id }),
      ),
      body: { name: good('renamed', ''), status: good('enabled', 'enabled', 'disabled', 'no_new_deals') },
    },
    {
      name: 'admin balance',
      method: 'POST',
      api: 'admin',
      required: ['amount'],
      path: account.map((id) => adm(A.adjustBalance, { account_id: id })),
      body: { amount: good(1, -1, 0.01, 1000, -1e9, 0, 0.001), comment: good('fuzz', '') },
    },
    {
      name: 'admin account reset',
      method: 'POST',
      api: 'admin',
      // Resets wipe the bystanders only: the fuzz account keeps its orders and deals to work on.
      path: (mode === 'clean' ? bystander : idArb([world.victim.accountId, world.other.accountId])).map(
        (id) => adm(A.resetAccount, { account_id: id }),
      ),
      body: { balance: good(0, 1000, 0.01, 250_000.5, -1, 0.001, 1e13) },
    },
    {
      name: 'admin ledger',
      method: 'GET',
      api: 'admin',
      path: account.map((id) => adm(A.ledger, { account_id: id })),
      query: page,
    },
    {
      name: 'admin fills',
      method: 'GET',
      api: 'admin',
      path: account.map((id) => adm(A.fills, { account_id: id })),
      query: page,
    },
    {
      name: 'admin instrument PUT',
      method: 'PUT',
      api: 'admin',
      // Clean requests reshape only instruments of their own, not the ones the fuzz account trades.
      path: (mode === 'clean'
        ? fc.constantFrom('FUZZ1', 'FUZZ2')
        : fc.oneof(ticker, fc.constantFrom('FUZZ1', 'FUZZ2'))
      ).map((t) => adm(A.putInstrument, { ticker: t })),
      body: instrumentFields,
    },
    {
      name: 'admin overrides PUT',
      method: 'PUT',
      api: 'admin',
      path: fc
        .tuple(mode === 'clean' ? bystander : account, ticker)
        .map(([id, t]) => adm(A.putOverrides, { account_id: id, ticker: t })),
      body: overrideFields,
    },
    {
      name: 'admin quote PUT',
      method: 'PUT',
      api: 'admin',
      required: ['bid', 'ask'],
      path: ticker.map((t) => adm(A.setQuote, { ticker: t })),
      body: {
        bid: good(99.98, 100, 100.5, 1.1, 1.10005, 149.5, 0.01),
        ask: good(100, 100.02, 100.5, 1.1001, 1.10015, 150, 0.01),
        last: good(100.01, 1.1, 0.01),
      },
    },
    {
      name: 'admin quote GET',
      method: 'GET',
      api: 'admin',
      path: ticker.map((t) => adm(A.quote, { ticker: t })),
    },
    {
      name: 'admin ticks',
      method: 'GET',
      api: 'admin',
      path: ticker.map((t) => adm(A.ticks, { ticker: t })),
      query: { limit: page.limit },
    },
    { name: 'admin feed', method: 'GET', api: 'admin', path: fc.constant(adm(A.feed, {})) },
    {
      name: 'admin feed control',
      method: 'POST',
      api: 'admin',
      path: fc.constantFrom(adm(A.pauseFeed, {}), adm(A.resumeFeed, {})),
    },
    {
      name: 'admin feed step',
      method: 'POST',
      api: 'admin',
      path: fc.constant(adm(A.stepFeed, {})),
      body: { quotes: good(1, 10, 100_000), seconds: good(0.001, 1, 60, 86_400) },
    },
    { name: 'admin clock GET', method: 'GET', api: 'admin', path: fc.constant(adm(A.clock, {})) },
  ];
}

/** Random methods on random paths. No `logout` and no clock mutation: those have their own phases. */
function randomRouteArb(world: World): fc.Arbitrary<HostileRequest> {
  const segment = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        'api',
        'v1',
        'v2',
        'admin',
        'accounts',
        'orders',
        'deals',
        'instruments',
        'quote',
        'quotes',
        'ticks',
        'users',
        'tokens',
        'revoke',
        'balance',
        'ledger',
        'fills',
        'feed',
        'clock',
        world.fuzz.accountId,
        world.victim.accountId,
        'AAPL.nq',
        'EURUSD',
        '1',
        '000000001',
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom('', '.', '..', '%2e', '%2e%2e', '%2f', '%00', '%5c', ';', 'a;b=c', '~', '*'),
    },
    { weight: 2, arbitrary: hostileId() },
  );
  const prefix = fc.constantFrom(
    '/api/v1',
    '/api/v1',
    '/admin/v1',
    '/admin/v1',
    '',
    '/api',
    '/admin',
    '/api/v2',
    '/API/V1',
  );
  const method = fc.constantFrom(
    'GET',
    'POST',
    'PUT',
    'DELETE',
    'PATCH',
    'HEAD',
    'OPTIONS',
    'TRACE',
    'PROPFIND',
    'SEARCH',
    'MKCOL',
    'LOCK',
    'COPY',
    'PURGE',
    'REPORT',
    'QUERY',
  );
  const genericFields = fieldsArb({
    ticker: good('AAPL.nq'),
    side: good('buy'),
    volume: good(1),
    name: good('x'),
    stop_loss: good(90),
    amount: good(1),
  });
  return fc
    .record({
      method,
      prefix,
      segments: fc.array(segment, { maxLength: 6 }),
      slash: fc.boolean(),
      api: fc.constantFrom<Api>('public', 'admin'),
      query: fieldsArb({ limit: good(1), skip: good(0) }),
      queryJunk: fc.option(fc.constantFrom(...QUERY_JUNK), { freq: 4 }),
      fields: genericFields,
      shape: bodyShape,
      bodyless: fc.boolean(),
    })
    .chain((draft) =>
      authArb(world, draft.api, draft.api === 'admin' ? ADMIN_TOKEN : world.fuzz.token).map((auth) => {
        const path = `${draft.prefix}/${draft.segments.join('/')}${draft.slash ? '/' : ''}`;
        const headers: [string, string][] = [];
        if (auth !== undefined) headers.push(['Authorization', headerSafe(auth)]);
        const { body, contentType } = draft.bodyless ? {} : encodeBody(draft.fields, draft.shape);
        if (contentType !== undefined) headers.push(['Content-Type', headerSafe(contentType)]);
        return printable({
          method: draft.method,
          target: path + encodeQuery(draft.query, draft.queryJunk ?? undefined),
          headers,
          ...(body === undefined ? {} : { body }),
          label: 'random route',
        });
      }),
    );
}

// ---------------------------------------------------------------------------------------------
// Invalid-only mutations against the victim (the state-unchanged burst).
// ---------------------------------------------------------------------------------------------

/** Rejection codes of a new order that the engine records as a `rejected` order. */
const RECORDED_REJECTIONS = new Set([
  'account_status',
  'invalid_volume',
  'invalid_price',
  'invalid_expiration',
  'invalid_stop_loss',
  'invalid_take_profit',
  'trade_mode',
  'market_closed',
  'no_quote',
  'stale_quote',
  'no_conversion_rate',
  'insufficient_margin',
]);

type Body = Record<string, Value>;
type Poison = (body: Body) => void;

/**
 * Values no numeric field accepts in any encoding (JSON or form). Careful: "-0", "+1", "01", "1.",
 * '" 1 "' or '"1.5"' are valid numbers once a form or a JSON string is coerced, and -1 is a valid
 * withdrawal, so none of them is here.
 */
const BAD_RAW = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  '0x10',
  '1e',
  '--1',
  'undefined',
  '"NaN"',
  '"Infinity"',
  '"1e309"',
  '[]',
  '{}',
  '[1,2]',
  '{"$gt":0}',
  'true',
  'null',
  '0.000000000000000000000000000001',
  '123456789012345678901234567890',
];
const badNumber: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom(...BAD_RAW).map((text): Value => ({ raw: text })),
  fc.constantFrom(NaN, Infinity, -Infinity, 1e-9, 5e-324, -5e-324, 1e15, Number.MAX_VALUE, 2 ** 64).map(js),
  fc
    .constantFrom('abc', '', ' ', 'NaN', '1,5', '1e309', '\u0000', true, false, null, [1, 2], { a: 1 })
    .map(js),
);

function poisonsArb(poisons: fc.Arbitrary<Poison>): fc.Arbitrary<Poison[]> {
  return fc.array(poisons, { minLength: 1, maxLength: 3 });
}

function withPoisons(base: Body, poisons: Poison[]): Fields {
  const body = { ...base };
  for (const poison of poisons) poison(body);
  return Object.entries(body);
}

function invalidBurstArb(world: World): fc.Arbitrary<HostileRequest> {
  const victim = world.victim;
  const ids = world.victimIds;
  const acct = `/api/v1/accounts/${victim.accountId}`;
  // Auth aimed at the victim: its own token mostly; otherwise garbage, the admin token or a stranger's.
  const victimAuth = fc.oneof(
    { weight: 8, arbitrary: fc.constant<string | undefined>(`Bearer ${victim.token}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<string | undefined>(
        undefined,
        'Bearer',
        `Bearer ${ADMIN_TOKEN}`,
        `Bearer ${world.revokedToken}`,
        `Bearer ${victim.token}x`,
        `bearer  ${'z'.repeat(3000)}`,
      ),
    },
    { weight: 1, arbitrary: fc.constant<string | undefined>(`Bearer ${world.other.token}`) },
  );
  const adminAuth = fc.oneof(
    { weight: 8, arbitrary: fc.constant<string | undefined>(`Bearer ${ADMIN_TOKEN}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | undefined>(undefined, `Bearer ${victim.token}`, 'Bearer x'),
    },
  );

  const side = fc.constantFrom('buy', 'sell');
  // A valid-looking order on AAPL.nq (ask 100) or MSFT.nq (ask 200), before poisoning.
  const orderBase = fc
    .record({
      ticker: fc.constantFrom('AAPL.nq', 'MSFT.nq'),
      side,
      type: fc.constantFrom('market', 'limit', 'stop'),
      volume: fc.constantFrom(1, 2, 3),
      sl: fc.boolean(),
      tp: fc.boolean(),
      expiry: fc.boolean(),
    })
    .map((draft): Body => {
      const body: Body = {
        ticker: js(draft.ticker),
        side: js(draft.side),
        type: js(draft.type),
        volume: js(draft.volume),
      };
      const ask = draft.ticker === 'AAPL.nq' ? 100 : 200;
      const buy = draft.side === 'buy';
      if (draft.type !== 'market') {
        const below = (draft.type === 'limit') === buy;
        body.price = js(below ? ask - 10 : ask + 10);
        if (draft.expiry) body.expiration = js(4_000_000_000);
      }
      if (draft.sl) body.stop_loss = js(buy ? ask - 30 : ask + 30);
      if (draft.tp) body.take_profit = js(buy ? ask + 30 : ask - 30);
      return body;
    });
  const orderPoison: fc.Arbitrary<Poison> = fc.oneof(
    badNumber.map(
      (value): Poison =>
        (body) =>
          void (body.volume = value),
    ),
    fc.constantFrom(0, -1, 0.5, 1.5, 1e-7, 100_001, 100_000, '0', '1.0000001').map(
      (volume): Poison =>
        (body) =>
          void (body.volume = js(volume)),
    ),
    fc.constant<Poison>((body) => void delete body.volume),
    fc.constantFrom('BUY', 'hold', '', 'buy ', 'sell\u0000', 1, null).map(
      (value): Poison =>
        (body) =>
          void (body.side = js(value)),
    ),
    fc.constantFrom('stop_loss', 'take_profit', 'stop_out', 'MARKET', 'limit ', '', 0).map(
      (value): Poison =>
        (body) =>
          void (body.type = js(value)),
    ),
    fc
      .constantFrom('NOPE', 'aapl.nq', '', 'A'.repeat(33), '__proto__', "AAPL.nq' OR 1=1", '\u202eqn.LPAA', 7)
      .map(
        (value): Poison =>
          (body) =>
            void (body.ticker = js(value)),
      ),
    fc.constant<Poison>((body) => void delete body.ticker),
    // A price: not a number on market orders (which ignore any number); off the grid, missing or on
    // the wrong side otherwise.
    fc.constantFrom('off-grid', 'wrong-side', 'missing', 'bad').chain((kind) =>
      badNumber.map((value): Poison => (body) => {
        const type = (body.type as { js?: unknown }).js;
        const buy = (body.side as { js?: unknown }).js === 'buy';
        if (type === 'market') body.price = kind === 'bad' ? { raw: 'NaN' } : js('150.5x');
        else if (kind === 'off-grid') body.price = js(90.005);
        else if (kind === 'wrong-side') body.price = js((type === 'limit') === buy ? 250 : 50);
        else if (kind === 'missing') delete body.price;
        else body.price = value;
      }),
    ),
    fc.constantFrom(-1, 1000, 1e12, 'x', 1.5e11).map((value): Poison => (body) => {
      // A market order refuses any expiration but 0; a pending one refuses the past.
      body.expiration = js(
        (body.type as { js?: unknown }).js === 'market' && value === 1000 ? 4_000_000_000 : value,
      );
    }),
    fc.constantFrom('wrong-side', 'off-grid', 'negative').map((kind): Poison => (body) => {
      const buy = (body.side as { js?: unknown }).js === 'buy';
      body.stop_loss = js(kind === 'wrong-side' ? (buy ? 250 : 10) : kind === 'off-grid' ? 50.005 : -5);
    }),
    fc.constantFrom('wrong-side', 'off-grid', 'bad').chain((kind) =>
      badNumber.map((value): Poison => (body) => {
        const buy = (body.side as { js?: unknown }).js === 'buy';
        body.take_profit =
          kind === 'wrong-side' ? js(buy ? 10 : 250) : kind === 'off-grid' ? js(300.001) : value;
      }),
    ),
  );
  // Poisons that pass the schema and the parsers and only the engine refuses (a business rejection,
  // which records a rejected order): half-applied changes would hide here if anywhere.
  const businessOrderPoison: fc.Arbitrary<Poison> = fc.oneof(
    fc.constantFrom(0.5, 1.5, 100_001, 100_000).map(
      (volume): Poison =>
        (body) =>
          void (body.volume = js(volume)),
    ),
    fc.constantFrom('off-grid', 'wrong-side', 'missing').map((kind): Poison => (body) => {
      const type = (body.type as { js?: unknown }).js;
      const buy = (body.side as { js?: unknown }).js === 'buy';
      // A market order ignores its price, but not an expiration.
      if (type === 'market') body.expiration = js(4_000_000_000);
      else if (kind === 'off-grid') body.price = js(90.005);
      else if (kind === 'wrong-side') body.price = js((type === 'limit') === buy ? 250 : 50);
      else delete body.price;
    }),
    fc.constant<Poison>((body) => {
      body.expiration = js((body.type as { js?: unknown }).js === 'market' ? 4_000_000_000 : 1000);
    }),
    fc.constantFrom('wrong-side', 'off-grid').map((kind): Poison => (body) => {
      const buy = (body.side as { js?: unknown }).js === 'buy';
      body.stop_loss = js(kind === 'wrong-side' ? (buy ? 250 : 10) : 50.005);
    }),
    fc.constantFrom('wrong-side', 'off-grid').map((kind): Poison => (body) => {
      const buy = (body.side as { js?: unknown }).js === 'buy';
      body.take_profit = js(kind === 'wrong-side' ? (buy ? 10 : 250) : 300.001);
    }),
  );
  const modifyOrderPoison: fc.Arbitrary<Poison> = fc.oneof(
    fc.constantFrom(0, -1, 0.5, 1.5, 100_001, 1e-7).map(
      (v): Poison =>
        (body) =>
          void (body.volume = js(v)),
    ),
    badNumber.map(
      (value): Poison =>
        (body) =>
          void (body.volume = value),
    ),
    // The active order is a buy limit at 190 on MSFT.nq (ask 200): ≥ ask is the wrong side.
    fc.constantFrom(0, -1, 190.005, 200, 250, 1e-9).map(
      (v): Poison =>
        (body) =>
          void (body.price = js(v)),
    ),
    badNumber.map(
      (value): Poison =>
        (body) =>
          void (body.price = value),
    ),
    fc.constantFrom(-1, 1000, 1e12, 'x').map(
      (v): Poison =>
        (body) =>
          void (body.expiration = js(v)),
    ),
    fc.constantFrom(195, 250, 180.001, -1).map(
      (v): Poison =>
        (body) =>
          void (body.stop_loss = js(v)),
    ),
    fc.constantFrom(10, 150, 210.005, -1).map(
      (v): Poison =>
        (body) =>
          void (body.take_profit = js(v)),
    ),
    fc.constant<Poison>((body) => {
      delete body.volume;
      delete body.price;
      delete body.expiration;
      delete body.stop_loss;
      delete body.take_profit;
    }),
  );
  const modifyOrderBase = fc
    .record({
      volume: fc.option(fc.constantFrom(1, 2, 5)),
      price: fc.option(fc.constantFrom(185, 189.5, 190)),
      stop_loss: fc.option(fc.constantFrom(0, 170, 180)),
      take_profit: fc.option(fc.constantFrom(0, 220)),
    })
    .map((draft): Body => {
      const body: Body = {};
      for (const [key, value] of Object.entries(draft)) if (value !== null) body[key] = js(value);
      return body;
    });
  // The open deal is a long of AAPL.nq (bid 99.98): SL must stay below, TP above.
  const modifyDealPoison: fc.Arbitrary<Poison> = fc.oneof(
    fc.constantFrom(99.98, 100, 250, 95.005, -1, 1e-9).map(
      (v): Poison =>
        (body) =>
          void (body.stop_loss = js(v)),
    ),
    fc.constantFrom(99.98, 10, 120.005, -1, 1e-9).map(
      (v): Poison =>
        (body) =>
          void (body.take_profit = js(v)),
    ),
    badNumber.map(
      (value): Poison =>
        (body) =>
          void (body.stop_loss = value),
    ),
    badNumber.map(
      (value): Poison =>
        (body) =>
          void (body.take_profit = value),
    ),
    fc.constant<Poison>((body) => {
      delete body.stop_loss;
      delete body.take_profit;
    }),
  );
  const modifyDealBase = fc
    .record({
      stop_loss: fc.option(fc.constantFrom(0, 80, 85)),
      take_profit: fc.option(fc.constantFrom(0, 130)),
    })
    .map((draft): Body => {
      const body: Body = {};
      for (const [key, value] of Object.entries(draft)) if (value !== null) body[key] = js(value);
      return body;
    });

  const encodeArb = fc.record({
    kind: fc.constantFrom<'json' | 'form'>('json', 'form'),
    contentType: fc.constantFrom(
      'application/json',
      'application/x-www-form-urlencoded',
      undefined,
      'text/plain',
      'application/json; charset=utf-8',
    ),
  });
  const build = (
    label: string,
    method: string,
    target: string,
    auth: string | undefined,
    fields?: Fields,
    encoding?: { kind: 'json' | 'form'; contentType: string | undefined },
  ): HostileRequest => {
    const headers: [string, string][] = [];
    if (auth !== undefined) headers.push(['Authorization', auth]);
    let body: Buffer | undefined;
    if (fields !== undefined && encoding !== undefined) {
      body = Buffer.from(encoding.kind === 'json' ? encodeJson(fields) : encodeForm(fields), 'utf8');
      if (encoding.contentType !== undefined) headers.push(['Content-Type', encoding.contentType]);
    }
    return printable({ method, target, headers, ...(body === undefined ? {} : { body }), label });
  };

  // Ids are read as numbers ("2" and "00000002" name the same order), so compare numerically.
  const names = (id: string, target: string): boolean =>
    /^[0-9]{1,15}$/.test(id) && Number(id) === Number(target);
  const notActiveOrder = idArb([ids.filledOrder, ids.rejectedOrder, world.otherIds.order]).filter(
    (id) => !names(id, ids.activeOrder),
  );
  const notOpenDeal = idArb([ids.closedDeal, world.otherIds.deal]).filter((id) => !names(id, ids.openDeal));
  // Without the stranger's token: a valid order sent with it to the stranger's own account would fill.
  const victimOnlyAuth = victimAuth.filter((auth) => auth !== `Bearer ${world.other.token}`);
  const badIdAuthOnly = fc.constantFrom<string | undefined>(
    undefined,
    `Bearer ${ADMIN_TOKEN}`,
    `Bearer ${world.other.token}`,
    'Bearer x',
  );

  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(
          victimAuth,
          orderBase,
          poisonsArb(
            fc.oneof({ weight: 2, arbitrary: orderPoison }, { weight: 3, arbitrary: businessOrderPoison }),
          ),
          encodeArb,
        )
        .map(([auth, base, poisons, encoding]) =>
          build('burst: place order', 'POST', `${acct}/orders`, auth, withPoisons(base, poisons), encoding),
        ),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          victimAuth,
          modifyOrderBase,
          poisonsArb(modifyOrderPoison),
          encodeArb,
          fc.constantFrom(...idVariants(ids.activeOrder)),
        )
        .map(([auth, base, poisons, encoding, id]) =>
          build(
            'burst: modify active order',
            'PUT',
            `${acct}/orders/${id}`,
            auth,
            withPoisons(base, poisons),
            encoding,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(victimAuth, notActiveOrder, modifyOrderBase, encodeArb)
        .map(([auth, id, base, encoding]) =>
          build(
            'burst: modify other order',
            'PUT',
            `${acct}/orders/${id}`,
            auth,
            Object.entries(base),
            encoding,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(victimAuth, notActiveOrder)
        .map(([auth, id]) => build('burst: cancel other order', 'DELETE', `${acct}/orders/${id}`, auth)),
    },
    {
      weight: 1,
      arbitrary: badIdAuthOnly.map((auth) =>
        build('burst: cancel active order, wrong auth', 'DELETE', `${acct}/orders/${ids.activeOrder}`, auth),
      ),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(victimAuth, modifyDealBase, poisonsArb(modifyDealPoison), encodeArb)
        .map(([auth, base, poisons, encoding]) =>
          build(
            'burst: modify open deal',
            'PUT',
            `${acct}/deals/${ids.openDeal}`,
            auth,
            withPoisons(base, poisons),
            encoding,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(victimAuth, notOpenDeal, modifyDealBase, encodeArb)
        .map(([auth, id, base, encoding]) =>
          build(
            'burst: modify other deal',
            'PUT',
            `${acct}/deals/${id}`,
            auth,
            Object.entries(base),
            encoding,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(victimAuth, notOpenDeal)
        .map(([auth, id]) => build('burst: close other deal', 'DELETE', `${acct}/deals/${id}`, auth)),
    },
    {
      weight: 1,
      arbitrary: badIdAuthOnly.map((auth) =>
        build('burst: close open deal, wrong auth', 'DELETE', `${acct}/deals/${ids.openDeal}`, auth),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            ['PATCH', acct],
            ['DELETE', acct],
            ['PUT', `${acct}/orders`],
            ['POST', `${acct}/deals`],
            ['DELETE', `${acct}/orders`],
            ['POST', `${acct}/orders/${ids.activeOrder}`],
            ['PATCH', `${acct}/deals/${ids.openDeal}`],
            ['POST', `${acct}/..%2f${world.other.accountId}/orders`],
            ['POST', `/api/v1/accounts/${world.other.accountId}/orders`],
          ),
          victimOnlyAuth,
          orderBase,
          encodeArb,
        )
        .map(([[method, target], auth, base, encoding]) =>
          build('burst: wrong route', method, target, auth, Object.entries(base), encoding),
        ),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          adminAuth,
          fc.oneof(fc.constantFrom(0, 0.001, -1e9, -1e13, 1e14, -100_000_000, '0', '').map(js), badNumber),
          fc.option(fc.constantFrom('', 'fuzz', 'x'.repeat(501))),
          encodeArb,
        )
        .map(([auth, amount, comment, encoding]) =>
          build(
            'burst: balance',
            'POST',
            `/admin/v1/accounts/${victim.accountId}/balance`,
            auth,
            comment === null
              ? [['amount', amount]]
              : [
                  ['amount', amount],
                  ['comment', js(comment)],
                ],
            encoding,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          adminAuth,
          fc.oneof(fc.constantFrom(-1, -0.01, 0.001, 1e13, 1e14, '', 'lots').map(js), badNumber),
          encodeArb,
        )
        .map(([auth, balance, encoding]) =>
          build(
            'burst: reset with a bad balance',
            'POST',
            `/admin/v1/accounts/${victim.accountId}/reset`,
            auth,
            [['balance', balance]],
            encoding,
          ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom<string | undefined>(
            undefined,
            `Bearer ${victim.token}`,
            `Bearer ${world.other.token}`,
            'Bearer x',
          ),
          fc.constantFrom(`/admin/v1/accounts/${victim.accountId}/reset`, '/admin/v1/reset'),
        )
        .map(([auth, target]) => build('burst: reset, wrong auth', 'POST', target, auth)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(adminAuth, fc.string({ maxLength: 10 }), encodeArb)
        .map(([auth, comment, encoding]) =>
          build(
            'burst: balance with a comment too long',
            'POST',
            `/admin/v1/accounts/${victim.accountId}/balance`,
            auth,
            [
              ['amount', js(10)],
              ['comment', js(comment.padEnd(501, 'c'))],
            ],
            encoding,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          adminAuth,
          fc.oneof(
            fc.constant<Fields>([]),
            fc.constantFrom('', 'x'.repeat(201), 'a\u0001b', 'line\nbreak', null).map((name): Fields => [
              ['name', js(name)],
              ['status', js('disabled')],
            ]),
            fc.constantFrom('ENABLED', 'closed', '', 1, null, 'disabled ').map((status): Fields => [
              ['name', js('renamed')],
              ['status', js(status)],
            ]),
          ),
          encodeArb,
        )
        .map(([auth, fields, encoding]) =>
          build(
            'burst: patch account',
            'PATCH',
            `/admin/v1/accounts/${victim.accountId}`,
            auth,
            fields,
            encoding,
          ),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          adminAuth,
          fc.constantFrom('AAPL.nq', 'MSFT.nq', 'NOPE'),
          fc.constantFrom<Fields>(
            [['min_volume', js(0)]],
            [
              ['leverage', js(2)],
              ['trade_mode', js('disabled')],
            ],
            [['leverage', js(0)]],
            [
              ['trade_mode', js('closed')],
              ['min_volume', js(2)],
            ],
            [['min_tick', js(1e-9)]],
            [
              ['volume_step', js(1e-7)],
              ['max_volume', js(10)],
            ],
            [['max_volume', js(-1)]],
            [['min_volume', { raw: 'NaN' }]],
          ),
          encodeArb,
        )
        .map(([auth, ticker, fields, encoding]) => {
          // An unknown ticker makes even a clean body fail; a known one needs the poisoned fields.
          const body: Fields = ticker === 'NOPE' ? [['trade_mode', js('disabled')]] : fields;
          return build(
            'burst: overrides',
            'PUT',
            `/admin/v1/accounts/${victim.accountId}/instruments/${ticker}`,
            auth,
            body,
            encoding,
          );
        }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          adminAuth,
          fc.constantFrom('AAPL.nq', 'MSFT.nq'),
          fc.constantFrom<Fields>(
            [['leverage', js(0)]],
            [
              ['leverage', js(2)],
              ['description', js('changed')],
            ],
            [['contract_size', js(-1)]],
            [['min_tick', js(0)]],
            [['spread_ticks', js(1.5)]],
            [['volatility', js(11)]],
            [['calendar', js('moon')]],
            [['quote_currency', js('usd')]],
            [['trade_mode', js('closed')]],
            [['reference_price', js(100.005)]],
            [
              ['min_volume', js(3)],
              ['volume_step', js(2)],
            ],
            [['min_volume', js(200_000)]],
            [['description', js('d'.repeat(201))]],
            [['units', js('u'.repeat(51))]],
          ),
          encodeArb,
        )
        .map(([auth, ticker, fields, encoding]) =>
          build('burst: instrument', 'PUT', `/admin/v1/instruments/${ticker}`, auth, fields, encoding),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          adminAuth,
          // Both tick at 0.01: the off-grid quotes below are off-grid for them (not for EURUSD).
          fc.constantFrom('AAPL.nq', 'MSFT.nq'),
          fc.constantFrom<Fields>(
            [
              ['bid', js(101)],
              ['ask', js(100)],
            ],
            [
              ['bid', js(0)],
              ['ask', js(100)],
            ],
            [['bid', js(100)]],
            [['ask', js(100)]],
            [
              ['bid', js(100.005)],
              ['ask', js(100.01)],
            ],
            [
              ['bid', js(-1)],
              ['ask', js(1)],
            ],
            [
              ['bid', { raw: 'NaN' }],
              ['ask', js(1)],
            ],
            [
              ['bid', js('1e309')],
              ['ask', js('1e309')],
            ],
            [
              ['bid', js(99)],
              ['ask', js(100)],
              ['last', js(0)],
            ],
            [
              ['bid', js(1e-9)],
              ['ask', js(1e-9)],
            ],
          ),
          encodeArb,
        )
        .map(([auth, ticker, fields, encoding]) =>
          build('burst: quote', 'PUT', `/admin/v1/quotes/${ticker}`, auth, fields, encoding),
        ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          adminAuth,
          fc.constantFrom<[string, string, Fields]>(
            ['POST', '/admin/v1/users', [['name', js('')]]],
            ['POST', '/admin/v1/users', [['name', js('n'.repeat(201))]]],
            ['POST', '/admin/v1/users', [['name', js('tab\there')]]],
            ['POST', '/admin/v1/users/999999999/tokens', []],
            ['POST', '/admin/v1/users/abc/tokens', []],
            ['DELETE', '/admin/v1/users/999999999/tokens/1', []],
            ['POST', '/admin/v1/tokens/revoke', [['token', js('no-such-token')]]],
            ['POST', '/admin/v1/tokens/revoke', [['token', js('')]]],
            [
              'POST',
              '/admin/v1/accounts',
              [
                ['user_id', js('999999999')],
                ['name', js('x')],
                ['type', js('demo')],
                ['system', js('netting')],
                ['currency', js('USD')],
              ],
            ],
            [
              'POST',
              '/admin/v1/accounts',
              [
                ['user_id', js(world.victim.userId)],
                ['name', js('x')],
                ['type', js('demo')],
                ['system', js('netting')],
                ['currency', js('usd')],
              ],
            ],
            [
              'POST',
              '/admin/v1/accounts',
              [
                ['user_id', js(world.victim.userId)],
                ['name', js('x')],
                ['type', js('demo')],
                ['system', js('netting')],
                ['currency', js('USD')],
                ['balance', js(-1)],
              ],
            ],
            [
              'POST',
              '/admin/v1/accounts',
              [
                ['user_id', js(world.victim.userId)],
                ['name', js('x')],
                ['type', js('paper')],
                ['system', js('netting')],
                ['currency', js('USD')],
              ],
            ],
            ['POST', '/api/v1/logout', []],
          ),
          encodeArb,
        )
        .map(([auth, [method, target, fields], encoding]) => {
          // Logout is only ever sent with tokens that are not valid, so it revokes nothing.
          const headerAuth = target === '/api/v1/logout' ? 'Bearer not-a-token' : auth;
          return build('burst: admin create/revoke', method, target, headerAuth, fields, encoding);
        }),
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Snapshots of everything observable about the victim.
// ---------------------------------------------------------------------------------------------

interface WireOrder {
  id: string;
  status: string;
  comment?: string;
}

async function snapshot(t: TestServer, victim: TestAccount): Promise<Record<string, unknown>> {
  const get = async (path: string, token: string): Promise<unknown> => {
    const reply = await raw(t.url, 'GET', path, { token });
    assert.equal(reply.status, 200, `snapshot ${path}: ${reply.status} ${reply.text}`);
    return reply.body.data;
  };
  const acct = `/api/v1/accounts/${victim.accountId}`;
  const admin = `/admin/v1/accounts/${victim.accountId}`;
  return {
    accounts: await get('/api/v1/accounts', victim.token),
    state: await get(acct, victim.token),
    instruments: await get('/api/v1/instruments', victim.token),
    accountInstruments: await get(`${acct}/instruments`, victim.token),
    quotes: await Promise.all(
      ['AAPL.nq', 'MSFT.nq', 'EURUSD'].map((t) => get(`${acct}/instruments/${t}/quote`, victim.token)),
    ),
    currentOrders: await get(`${acct}/orders`, victim.token),
    orderHistory: await get(`${acct}/orders?history_from=0&limit=500`, victim.token),
    openDeals: await get(`${acct}/deals`, victim.token),
    dealHistory: await get(`${acct}/deals?history_from=0&limit=500`, victim.token),
    adminAccount: await get(admin, ADMIN_TOKEN),
    ledger: await get(`${admin}/ledger?limit=500`, ADMIN_TOKEN),
    fills: await get(`${admin}/fills?limit=500`, ADMIN_TOKEN),
    ticks: await Promise.all(
      ['AAPL.nq', 'MSFT.nq'].map((t) => get(`/admin/v1/quotes/${t}/ticks?limit=1000`, ADMIN_TOKEN)),
    ),
  };
}

/** Every page of a listing (limit 500). */
async function allPages<T>(t: TestServer, path: string, token: string): Promise<T[]> {
  const items: T[] = [];
  for (let skip = 0; ; skip += 500) {
    const separator = path.includes('?') ? '&' : '?';
    const reply = await raw(t.url, 'GET', `${path}${separator}skip=${skip}&limit=500`, { token });
    assert.equal(reply.status, 200, `${path}: ${reply.status} ${reply.text}`);
    const page = reply.body.data as T[];
    items.push(...page);
    if (page.length < 500) return items;
  }
}

const cents = (amount: number): number => Math.round(amount * 100);

/** Balance = every ledger amount (initial deposit included) + every closed deal's profit, exactly. */
async function assertBooksBalance(t: TestServer, account: TestAccount): Promise<void> {
  const ledger = await allPages<{ amount: number }>(
    t,
    `/admin/v1/accounts/${account.accountId}/ledger`,
    ADMIN_TOKEN,
  );
  const deals = await allPages<{ status: string; profit: number }>(
    t,
    `/api/v1/accounts/${account.accountId}/deals?history_from=0`,
    account.token,
  );
  const admin = await raw(t.url, 'GET', `/admin/v1/accounts/${account.accountId}`, { token: ADMIN_TOKEN });
  const balance = (admin.body.data as { account: { balance: number } }).account.balance;
  const deposits = ledger.reduce((sum, entry) => sum + cents(entry.amount), 0);
  const realised = deals
    .filter((deal) => deal.status === 'closed')
    .reduce((sum, deal) => sum + cents(deal.profit), 0);
  assert.equal(
    cents(balance),
    deposits + realised,
    `account ${account.accountId}: balance = deposits + realised P/L`,
  );
}

// ---------------------------------------------------------------------------------------------

describe('hostile input: every endpoint, thousands of adversarial requests', () => {
  let t: TestServer;
  let world: World;
  let now: number;
  const started = performance.now();

  before(async () => {
    t = await startTestServer();
    await t.admin.setQuote('AAPL.nq', { bid: 99.98, ask: 100 });
    await t.admin.setQuote('MSFT.nq', { bid: 199.98, ask: 200 });
    await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.1001 });
    await t.admin.setQuote('USDJPY', { bid: 150, ask: 150.01 });
    now = (await t.admin.clock()).now;

    const victim = await t.newAccount({ system: 'netting', balance: 100_000 });
    const other = await t.newAccount({ system: 'hedging', balance: 50_000 });
    const fuzz = await t.newAccount({ system: 'hedging', balance: 1_000_000 });
    const v = victim.client;
    const openOrder = await v.placeOrder(victim.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 10,
      stop_loss: 90,
      take_profit: 110,
    });
    const activeOrder = await v.placeOrder(victim.accountId, {
      ticker: 'MSFT.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 190,
      stop_loss: 180,
      take_profit: 210,
    });
    await v.placeOrder(victim.accountId, { ticker: 'EURUSD', side: 'buy', type: 'market', volume: 0.1 });
    await v.placeOrder(victim.accountId, { ticker: 'EURUSD', side: 'sell', type: 'market', volume: 0.1 });
    const rejected = await raw(t.url, 'POST', `/api/v1/accounts/${victim.accountId}/orders`, {
      token: victim.token,
      contentType: 'application/x-www-form-urlencoded',
      body: 'ticker=AAPL.nq&side=buy&type=market&volume=0.5',
    });
    assert.equal(rejected.status, 400);
    await t.admin.adjustBalance(victim.accountId, 500, 'fuzz deposit');
    const deals = await v.deals(victim.accountId, { history_from: 0 });
    const openDeal = deals.find((deal) => deal.status === 'open');
    const closedDeal = deals.find((deal) => deal.status === 'closed');
    const history = await v.orders(victim.accountId, { history_from: 0 });
    const rejectedOrder = history.find((order) => order.status === 'rejected');
    assert.ok(openDeal && closedDeal && rejectedOrder);

    const otherOrder = await other.client.placeOrder(other.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'limit',
      volume: 1,
      price: 95,
    });
    await other.client.placeOrder(other.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    const [otherDeal] = await other.client.deals(other.accountId);
    assert.ok(otherDeal);

    // Some state on the fuzz account for the ids to hit.
    const fuzzOrders: string[] = [];
    for (const [ticker, price] of [
      ['AAPL.nq', 95],
      ['MSFT.nq', 190],
      ['EURUSD', 1.09],
    ] as const) {
      fuzzOrders.push(
        await fuzz.client.placeOrder(fuzz.accountId, {
          ticker,
          side: 'buy',
          type: 'limit',
          volume: ticker === 'EURUSD' ? 0.1 : 1,
          price,
        }),
      );
      fuzzOrders.push(
        await fuzz.client.placeOrder(fuzz.accountId, {
          ticker,
          side: 'buy',
          type: 'market',
          volume: ticker === 'EURUSD' ? 0.1 : 1,
        }),
      );
    }
    const fuzzDeals = (await fuzz.client.deals(fuzz.accountId)).map((deal) => deal.id);

    const revoked = await t.admin.issueToken(fuzz.userId);
    await t.admin.revokeToken(revoked.token);
    const throwawayUserId = await t.admin.createUser('throwaway');
    const throwawayTokens: string[] = [];
    for (let index = 0; index < 40; index++)
      throwawayTokens.push((await t.admin.issueToken(throwawayUserId)).token);

    world = {
      url: t.url,
      fuzz,
      victim,
      other,
      revokedToken: revoked.token,
      throwawayUserId,
      throwawayTokens,
      victimIds: {
        activeOrder,
        filledOrder: openOrder,
        rejectedOrder: rejectedOrder.id,
        openDeal: openDeal.id,
        closedDeal: closedDeal.id,
      },
      otherIds: { order: otherOrder, deal: otherDeal.id },
      fuzzIds: { orders: fuzzOrders, deals: fuzzDeals },
      live: { orders: [...fuzzOrders], deals: [...fuzzDeals] },
    };
  });

  after(async () => {
    await t?.close();
  });

  it('leaves the victim untouched by a burst of only-invalid mutations (rejected orders aside)', async (ctx: TestContext) => {
    const before = await snapshot(t, world.victim);
    const requests = fc.sample(invalidBurstArb(world), { numRuns: BURST_RUNS, seed: SEED });
    const recorded: string[] = [];
    const codes = new Map<string, number>();
    await inPool(requests, PARALLEL, async (request) => {
      const reply = await send(t.url, request);
      const body = checkReply(request, reply);
      assert.notEqual(
        reply.status,
        200,
        `an invalid mutation was accepted: ${describeRequest(request)} → ${reply.text}`,
      );
      const code = String(body?.error ?? reply.status);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      const placesVictimOrder =
        request.method === 'POST' && request.target === `/api/v1/accounts/${world.victim.accountId}/orders`;
      if (placesVictimOrder && reply.status === 400 && RECORDED_REJECTIONS.has(String(body?.error))) {
        recorded.push(String(body?.msg));
      }
    });
    const afterwards = await snapshot(t, world.victim);

    // Business rejections of new orders are recorded: exactly one `rejected` order per such reply.
    const beforeIds = new Set((before.orderHistory as WireOrder[]).map((order) => order.id));
    const added = (afterwards.orderHistory as WireOrder[]).filter((order) => !beforeIds.has(order.id));
    assert.ok(
      added.every((order) => order.status === 'rejected'),
      `only rejected orders may appear: ${JSON.stringify(added.filter((order) => order.status !== 'rejected'))}`,
    );
    assert.deepEqual(
      added.map((order) => order.comment ?? '').sort(),
      [...recorded].sort(),
      'one rejected order per business rejection, its comment the reply msg',
    );
    const kept = (afterwards.orderHistory as WireOrder[]).filter((order) => beforeIds.has(order.id));
    assert.deepEqual({ ...afterwards, orderHistory: kept }, before, 'nothing else about the victim changed');

    ctx.diagnostic(
      `burst: ${requests.length} invalid mutations, ${recorded.length} recorded as rejected orders; codes ${JSON.stringify(Object.fromEntries([...codes].sort()))}`,
    );
  });

  it('answers every random and adversarial request to every endpoint with 200/400/401/429 and the envelope', async (ctx: TestContext) => {
    const specs = endpoints(world, now, 'hostile');
    const clean = endpoints(world, now, 'clean');
    const request = fc.oneof(
      ...specs.map((spec, index) => ({
        weight: 3,
        arbitrary: fc.oneof(
          endpointArb(world, spec),
          cleanEndpointArb(clean[index] ?? spec, spec.api === 'admin' ? ADMIN_TOKEN : world.fuzz.token),
        ),
      })),
      { weight: 10, arbitrary: randomRouteArb(world) },
      { weight: 3, arbitrary: belowRouterArb() },
    );
    const before = stats.requests;
    const perRoute = new Map<string, { sent: number; ok: number }>();
    let sent = 0;
    // Sequential, so a failure shrinks to one minimal request; the burst above covered parallelism.
    await assertProperty(
      request,
      async (hostile) => {
        const tally = perRoute.get(hostile.label) ?? { sent: 0, ok: 0 };
        perRoute.set(hostile.label, tally);
        tally.sent++;
        const body = await sendChecked(t.url, hostile);
        if (body?.code === 'ok') tally.ok++;
        if (++sent % 25 === 0) await refreshLive(t, world);
        if (process.env.FUZZ_DEBUG === hostile.label)
          console.log(`${hostile.label}: ${String(body?.error ?? body?.code)} ${String(body?.msg ?? '')}`);
      },
      FUZZ_RUNS,
    );
    assert.ok(stats.requests - before >= FUZZ_RUNS);
    const untouched = specs.filter((spec) => !perRoute.has(spec.name)).map((spec) => spec.name);
    assert.deepEqual(untouched, [], 'every endpoint was fuzzed');

    // Whatever was accepted on the way, the books still balance to the cent.
    for (const account of [world.fuzz, world.victim, world.other]) await assertBooksBalance(t, account);

    const routes = [...perRoute].map(([label, { sent, ok }]) => `${label} ${ok}/${sent}`).join(', ');
    ctx.diagnostic(
      `general fuzz: ${stats.requests - before} requests; accepted/sent per generator: ${routes}`,
    );
  });

  it('refuses 10 MB bodies and deeply nested JSON cleanly', async () => {
    const acct = `/api/v1/accounts/${world.fuzz.accountId}`;
    const user = `Bearer ${world.fuzz.token}`;
    const admin = `Bearer ${ADMIN_TOKEN}`;
    const big = (text: string): Buffer =>
      Buffer.from(text.repeat(Math.ceil(TEN_MB / text.length)).slice(0, TEN_MB), 'utf8');
    const huge: HostileRequest[] = [
      {
        label: '10 MB JSON string',
        method: 'POST',
        target: `${acct}/orders`,
        headers: [
          ['Authorization', user],
          ['Content-Type', 'application/json'],
        ],
        body: Buffer.concat([Buffer.from('{"ticker":"'), big('A'), Buffer.from('"}')]),
      },
      {
        label: '10 MB form',
        method: 'PUT',
        target: `${acct}/deals/${world.fuzzIds.deals[0] ?? '1'}`,
        headers: [
          ['Authorization', user],
          ['Content-Type', 'application/x-www-form-urlencoded'],
        ],
        body: big('stop_loss=1&'),
      },
      {
        label: '10 MB nested arrays',
        method: 'PUT',
        target: '/admin/v1/quotes/AAPL.nq',
        headers: [
          ['Authorization', admin],
          ['Content-Type', 'application/json'],
        ],
        body: Buffer.concat([big('['), big(']')]).subarray(0, TEN_MB),
      },
      {
        label: '10 MB binary, no content type',
        method: 'POST',
        target: '/admin/v1/users',
        headers: [['Authorization', admin]],
        body: Buffer.alloc(TEN_MB, 0xff),
      },
      {
        label: '10 MB without a token',
        method: 'POST',
        target: `${acct}/orders`,
        headers: [['Content-Type', 'application/json']],
        body: big('{"a":'),
      },
      {
        label: '10 MB on a GET',
        method: 'GET',
        target: acct,
        headers: [
          ['Authorization', user],
          ['Content-Type', 'text/plain'],
        ],
        body: big('😀'),
      },
    ];
    for (const request of huge) {
      const body = await sendChecked(t.url, request);
      // A GET has no body schema; the server may skip the body and answer the read.
      if (request.method !== 'GET') assert.equal(body?.code, 'error', `${request.label} was refused`);
    }
    // Deep nesting inside the 64 KiB limit reaches the JSON parser itself.
    const deep: HostileRequest[] = [];
    for (const [open, close] of [
      ['[', ']'],
      ['{"a":', '}'],
      ['{"ticker":[', ']}'],
      ['{"__proto__":', '}'],
      ['{"constructor":{"prototype":', '}}'],
    ] as const) {
      for (const depth of [100, 1000, 6000]) {
        for (const target of [
          `${acct}/orders`,
          '/admin/v1/accounts',
          `${acct}/orders/${world.fuzzIds.orders[0] ?? '1'}`,
        ]) {
          const text = open.repeat(depth) + '1' + close.repeat(depth);
          if (text.length > 64 * 1024) continue;
          deep.push({
            label: `nested ${open} × ${depth}`,
            method: target === '/admin/v1/accounts' ? 'POST' : target.endsWith('/orders') ? 'POST' : 'PUT',
            target,
            headers: [
              ['Authorization', target.startsWith('/admin') ? admin : user],
              ['Content-Type', 'application/json'],
            ],
            body: Buffer.from(text),
          });
        }
      }
    }
    await inPool(deep, PARALLEL, async (request) => {
      const body = await sendChecked(t.url, request);
      assert.equal(body?.code, 'error', `${request.label} is refused`);
    });
  });

  it('logs out only the token it is called with, whatever else is sent', async () => {
    const throwaways = [...world.throwawayTokens];
    const requests = fc.sample(
      fc.record({
        auth: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...throwaways).map((token) => `Bearer ${token}`) },
          {
            weight: 2,
            arbitrary: fc.constantFrom<string | undefined>(
              undefined,
              'Bearer',
              `Bearer ${ADMIN_TOKEN}`,
              `Bearer ${world.revokedToken}`,
              'Bearer garbage',
              `Basic ${world.fuzz.token}`,
              `Bearer ${'x'.repeat(10_000)}`,
            ),
          },
        ),
        method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE'),
        fields: fieldsArb({ token: good(world.fuzz.token) }),
        shape: bodyShape,
      }),
      { numRuns: LOGOUT_RUNS, seed: SEED },
    );
    for (const draft of requests) {
      const headers: [string, string][] = [];
      if (draft.auth !== undefined) headers.push(['Authorization', draft.auth]);
      const { body, contentType } = encodeBody(draft.fields, draft.shape);
      if (contentType !== undefined) headers.push(['Content-Type', headerSafe(contentType)]);
      await sendChecked(t.url, {
        label: 'logout',
        method: draft.method,
        target: '/api/v1/logout',
        headers,
        ...(body === undefined ? {} : { body }),
      });
    }
    // A logout with a throwaway token revoked that token and nothing else.
    const last = throwaways[0] as string;
    const out = await raw(t.url, 'POST', '/api/v1/logout', { token: last });
    assert.ok([200, 401, 429].includes(out.status), `logout → ${out.status} ${out.text}`);
    const reuse = await raw(t.url, 'GET', '/api/v1/accounts', { token: last });
    assert.ok([401, 429].includes(reuse.status), `a logged-out token is refused: ${reuse.status}`);
    for (const account of [world.fuzz, world.victim, world.other]) {
      const still = await raw(t.url, 'GET', '/api/v1/accounts', { token: account.token });
      assert.ok(
        [200, 429].includes(still.status),
        `other users keep their sessions: ${still.status} ${still.text}`,
      );
    }
  });

  it('survives clock fuzzing (last: the clock only moves forward) and still answers', async (ctx: TestContext) => {
    const clockBody = fc.oneof(
      fieldsArb({
        mode: good('manual', 'manual', 'real', 'replay', 'MANUAL'),
        now: fc.oneof(
          fc.integer({ min: 0, max: 3600 }).map((ahead) => js(now + ahead)),
          good(0, now - 86_400, 1e11, 1e11 + 1, 1e12, now + 0.5),
        ),
      }),
    );
    const advanceBody = fieldsArb({
      seconds: fc.oneof(
        good(1, 0.5, 60, 3600, 0.0001, 0, -1, 1e9, 1e9 + 1, 86_400),
        fc.double({ min: 0, max: 100 }).map(js),
      ),
    });
    const auth = authArb(world, 'admin', ADMIN_TOKEN);
    const request = fc.oneof(
      fc
        .tuple(auth, clockBody, bodyShape)
        .map(([header, fields, shape]) =>
          assemble('clock PUT', 'PUT', '/admin/v1/clock', header, encodeBody(fields, shape)),
        ),
      fc
        .tuple(auth, advanceBody, bodyShape)
        .map(([header, fields, shape]) =>
          assemble('clock advance', 'POST', '/admin/v1/clock/advance', header, encodeBody(fields, shape)),
        ),
      auth.map((header) => assemble('clock GET', 'GET', '/admin/v1/clock', header, {})),
    );
    let previous = (await t.admin.clock()).now;
    await assertProperty(
      request,
      async (hostile) => {
        const envelope = await sendChecked(t.url, hostile);
        const data = envelope?.data as { now?: number } | undefined;
        if (typeof data?.now === 'number') {
          assert.ok(
            data.now >= previous,
            `the clock went backwards: ${previous} → ${data.now} after ${describeRequest(hostile)}`,
          );
          previous = data.now;
        }
      },
      CLOCK_RUNS,
    );
    // Still alive and trading after all of it.
    const health = await raw(t.url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    const state = await raw(t.url, 'GET', `/api/v1/accounts/${world.other.accountId}`, {
      token: world.other.token,
    });
    assert.ok([200, 429].includes(state.status), `${state.status} ${state.text}`);
    const order = await raw(t.url, 'POST', `/api/v1/accounts/${world.other.accountId}/orders`, {
      token: world.other.token,
      contentType: 'application/x-www-form-urlencoded',
      body: 'ticker=MSFT.nq&side=buy&type=limit&volume=1&price=1',
    });
    assert.ok([200, 400, 429].includes(order.status), `${order.status} ${order.text}`);

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const histogram = Object.fromEntries([...stats.histogram].sort());
    ctx.diagnostic(
      `hostile input: ${stats.requests} requests in ${seconds} s, seed ${SEED}, statuses ${JSON.stringify(histogram)}`,
    );
  });
});

/**
 * Below the router: requests the HTTP parser or the URL decoder refuses before any route runs.
 * These were answered with Fastify's or Node's own bodies (no envelope) until the
 * frameworkErrors/clientErrorHandler fix; they stay here as a regression.
 */
describe('hostile input below the router', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t?.close();
  });

  it('answers parser-level garbage with the envelope', async () => {
    const requests = fc.sample(belowRouterArb(), { numRuns: 200, seed: SEED });
    for (const request of requests) await sendChecked(t.url, request);
  });

  it('refuses a missing or repeated Host and a repeated Authorization with a 400 envelope', async () => {
    const url = new URL(t.url);
    const target = fc.constantFrom(
      '/api/v1/accounts',
      '/api/v1/accounts/10000001/orders',
      '/admin/v1/users',
      '/api/v1/nope',
      '/',
    );
    const token = fc.constantFrom(`Bearer ${ADMIN_TOKEN}`, 'Bearer x', 'Basic eDp5', '');
    const name = fc.constantFrom('Authorization', 'authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn');
    const requests = fc.sample(
      fc.oneof(
        fc
          .tuple(target, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), fc.option(token))
          .map(([path, method, auth]) => ({
            msg: 'missing Host header: HTTP/1.1 requests must carry one',
            request: Object.assign(assemble('no Host', method, path, auth ?? undefined, {}), { hosts: [] }),
          })),
        fc
          .tuple(target, fc.constantFrom(url.host, 'evil.example', ''), fc.boolean(), fc.option(token))
          .map(([path, other, otherFirst, auth]) => ({
            msg: 'repeated Host header: send exactly one',
            request: Object.assign(assemble('two Hosts', 'GET', path, auth ?? undefined, {}), {
              hosts: otherFirst ? [other, url.host] : [url.host, other],
            }),
          })),
        fc.tuple(target, name, token, name, token).map(([path, firstName, first, secondName, second]) => ({
          msg: 'repeated Authorization header: send exactly one',
          request: printable({
            label: 'two Authorizations',
            method: 'GET',
            target: path,
            headers: [
              [firstName, first],
              [secondName, second],
            ],
          }),
        })),
      ),
      { numRuns: 100, seed: SEED },
    );
    for (const { msg, request } of requests) {
      const reply = await send(t.url, request);
      const envelope = checkReply(request, reply);
      assert.equal(reply.status, 400, describeRequest(request));
      assert.deepEqual(envelope, { code: 'error', msg, error: 'invalid_request' }, describeRequest(request));
    }
  });

  it('answers CONNECT with the envelope', async () => {
    for (const target of ['/api/v1/accounts', 'localhost:443']) {
      await sendChecked(t.url, printable({ label: 'CONNECT', method: 'CONNECT', target, headers: [] }));
    }
  });
});

/** With the limiter on, hostile traffic meets 429s: they carry the envelope and Retry-After too. */
describe('hostile input against the rate limiter', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ rateLimit: 5, rateBurst: 5 });
  });
  after(async () => {
    await t?.close();
  });

  it('answers 429 with the envelope, whatever the request', async (ctx: TestContext) => {
    const route = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      path: fc.constantFrom(
        '/api/v1/accounts',
        '/api/v1/instruments',
        '/api/v1/accounts/10000001/orders',
        '/api/v1/logout',
        '/admin/v1/clock',
        '/admin/v1/users',
        '/admin/v1/quotes/AAPL.nq',
        '/api/v1/nope',
      ),
      auth: fc.constantFrom(
        `Bearer ${ADMIN_TOKEN}`,
        'Bearer x',
        'Bearer y',
        undefined,
        `bearer   ${ADMIN_TOKEN}`,
      ),
      fields: fieldsArb({ name: good('limited'), ticker: good('AAPL.nq'), bid: good(1), ask: good(1) }),
      shape: bodyShape,
    });
    const requests = fc.sample(
      fc.oneof(
        {
          weight: 4,
          arbitrary: route.map((r) =>
            assemble('limited', r.method, r.path, r.auth, encodeBody(r.fields, r.shape)),
          ),
        },
        { weight: 1, arbitrary: belowRouterArb() },
      ),
      { numRuns: 400, seed: SEED },
    );
    const before = stats.histogram.get('429') ?? 0;
    await inPool(requests, PARALLEL, async (request) => {
      await sendChecked(t.url, request);
    });
    const limited = (stats.histogram.get('429') ?? 0) - before;
    assert.ok(limited > 0, 'the limiter answered');
    ctx.diagnostic(`rate limiter: ${limited} of ${requests.length} requests answered 429`);
  });
});
