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
 * The harness (raw HTTP, generators, the reply contract, the world) lives in test/support/fuzz/.
 * Knobs: FUZZ_RUNS (requests of the general fuzz, default 3000; the other phases scale with it),
 * FUZZ_SEED (fast-check seed; printed, so a failure can be replayed) and FUZZ_DEBUG (a generator
 * label, e.g. "orders POST": prints the outcome of each of its requests).
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ADMIN_TOKEN, raw, startTestServer, type TestServer } from '../support/test-server.ts';
import { belowRouterArb } from '../support/fuzz/below-router.ts';
import { assertBooksBalance } from '../support/fuzz/books-balance.ts';
import { bodyShape, encodeBody } from '../support/fuzz/encoding.ts';
import { cleanEndpointArb, endpointArb, endpoints } from '../support/fuzz/endpoints.ts';
import { authArb } from '../support/fuzz/ids-and-auth.ts';
import { RECORDED_REJECTIONS, invalidBurstArb } from '../support/fuzz/invalid-burst.ts';
import { BURST_RUNS, CLOCK_RUNS, FUZZ_RUNS, LOGOUT_RUNS, PARALLEL, SEED } from '../support/fuzz/knobs.ts';
import { assertProperty, inPool } from '../support/fuzz/property.ts';
import { randomRouteArb } from '../support/fuzz/random-routes.ts';
import { describeRequest, printable, send, stats, type HostileRequest } from '../support/fuzz/raw-http.ts';
import { checkReply, sendChecked } from '../support/fuzz/reply-contract.ts';
import { assemble } from '../support/fuzz/requests.ts';
import { fieldsArb, good, js } from '../support/fuzz/values.ts';
import { snapshot, type WireOrder } from '../support/fuzz/victim-snapshot.ts';
import { createWorld, refreshLive, type World } from '../support/fuzz/world.ts';

const TEN_MB = 10 * 1024 * 1024;

describe('hostile input: every endpoint, thousands of adversarial requests', () => {
  let t: TestServer;
  let world: World;
  let now: number;
  const started = performance.now();

  before(async () => {
    t = await startTestServer();
    world = await createWorld(t);
    now = world.now;
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
      // Every auth value above is printable already, so making it header-safe leaves it as is.
      const request = assemble(
        'logout',
        draft.method,
        '/api/v1/logout',
        draft.auth,
        encodeBody(draft.fields, draft.shape),
      );
      await sendChecked(t.url, request);
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
