import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, raw, startTestServer, type TestServer } from '../support/test-server.ts';
import { waitFor } from '../support/wait-for.ts';
import { StartupError } from '../../src/edges/startup-error.ts';

const utc = (iso: string): number => Math.floor(Date.parse(iso) / 1000);
const LAST_THURSDAY = utc('2026-11-26T14:30:00Z');

const putClock = (t: TestServer, body: unknown) =>
  raw(t.url, 'PUT', '/admin/v1/clock', {
    token: ADMIN_TOKEN,
    contentType: 'application/json',
    body: JSON.stringify(body),
  });

/** One filled market order: the database now has trading history. */
async function trade(t: TestServer): Promise<void> {
  const { accountId, client } = await t.newAccount();
  await t.admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });
  await client.placeOrder(accountId, { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1 });
}

describe('the clock on a database without trading history', () => {
  const servers: TestServer[] = [];
  const start = async (...args: Parameters<typeof startTestServer>): Promise<TestServer> => {
    const t = await startTestServer(...args);
    servers.push(t);
    return t;
  };
  after(() => Promise.all(servers.map((t) => t.close())));

  it('accepts any time, backwards too, and goes back to real time from ahead of it', async () => {
    const t = await start();
    await t.newAccount();
    const ahead = await putClock(t, { mode: 'manual', now: utc('2031-01-01T00:00:00Z') });
    assert.equal(ahead.status, 200, ahead.text);
    const back = await putClock(t, { mode: 'manual', now: LAST_THURSDAY });
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(back.body.data, { mode: 'manual', now: LAST_THURSDAY, speed: 0 });
    await t.admin.setClock({ mode: 'manual', now: utc('2031-01-01T00:00:00Z') });
    const real = await putClock(t, { mode: 'real' });
    assert.equal(real.status, 200, real.text);
    assert.equal((await t.admin.clock()).mode, 'real');
  });

  it('runs from a chosen time at a chosen speed, through the admin API', async () => {
    const t = await start();
    const running = await t.admin.setClock({ mode: 'running', now: LAST_THURSDAY, speed: 3600 });
    assert.equal(running.mode, 'running');
    assert.equal(running.speed, 3600);
    assert.ok(running.now >= LAST_THURSDAY && running.now < LAST_THURSDAY + 3600, String(running.now));
    // An hour of clock time per real second: the clock visibly moves on.
    await waitFor('the running clock to move', async () => (await t.admin.clock()).now >= LAST_THURSDAY + 60);
    const advanced = await t.admin.advanceClock(86_400);
    assert.ok(advanced.now >= LAST_THURSDAY + 86_400);
    assert.equal(advanced.mode, 'running');
  });

  it('starts where the server is told to start, and stays there across a restart', async () => {
    const t = await start({ clock: { mode: 'manual', startMs: LAST_THURSDAY * 1000 } });
    assert.deepEqual(await t.admin.clock(), { mode: 'manual', now: LAST_THURSDAY, speed: 0 });
    await t.admin.advanceClock(60);
    await t.restart();
    assert.deepEqual(await t.admin.clock(), { mode: 'manual', now: LAST_THURSDAY + 60, speed: 0 });
  });

  it('refuses inconsistent requests with a clear message and changes nothing', async () => {
    const t = await start({ clock: { mode: 'manual', startMs: LAST_THURSDAY * 1000 } });
    const cases: [unknown, RegExp][] = [
      [{ mode: 'manual', now: LAST_THURSDAY, speed: 2 }, /speed is only for mode running/],
      [{ mode: 'real', now: LAST_THURSDAY }, /now is not allowed for mode real/],
      [{ mode: 'running', speed: 0 }, /speed/],
      [{ mode: 'running', speed: 2_000_000 }, /speed/],
      [{ mode: 'running', now: -5 }, /now/],
      [{ mode: 'replay' }, /mode/],
    ];
    for (const [body, message] of cases) {
      const response = await putClock(t, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.code, 'error');
      assert.match(response.body.msg ?? '', message, JSON.stringify(body));
    }
    assert.deepEqual(await t.admin.clock(), { mode: 'manual', now: LAST_THURSDAY, speed: 0 });
  });

  it('refuses a start-up clock that contradicts itself or the feed', async () => {
    const refused = async (clock: object, feed?: 'replay'): Promise<string> => {
      try {
        await start({
          clock,
          ...(feed
            ? { feed, replay: { files: ['x.csv'], speed: 0, onMalformed: 'fail', start: 'running' } }
            : {}),
        });
      } catch (error) {
        assert.ok(error instanceof StartupError, String(error));
        return error.message;
      }
      assert.fail('the server started');
    };
    assert.match(
      await refused({ mode: 'real', startMs: LAST_THURSDAY * 1000 }),
      /--clock-start needs --clock manual or running/,
    );
    assert.match(await refused({ mode: 'manual', speed: 2 }), /--clock-speed needs --clock running/);
    assert.match(await refused({ mode: 'manual' }, 'replay'), /--clock cannot be used with --feed replay/);
  });
});

describe('the clock once trading history exists', () => {
  let t: TestServer;
  after(() => t.close());

  it('never moves backwards, and the refusal says how to get there', async () => {
    t = await startTestServer({ clock: { mode: 'running', startMs: LAST_THURSDAY * 1000, speed: 1 } });
    await trade(t);
    const before = await t.admin.clock();
    const back = await putClock(t, { mode: 'manual', now: LAST_THURSDAY - 86_400 });
    assert.equal(back.status, 400);
    assert.match(
      back.body.msg ?? '',
      /^the clock cannot go backwards: 2026-11-25T14:30:00Z \(1795617000\) is before now/,
    );
    assert.match(
      back.body.msg ?? '',
      /reset the accounts \(POST \/admin\/v1\/reset.*or start on a fresh database/,
    );
    const after = await t.admin.clock();
    assert.equal(after.mode, 'running');
    assert.ok(after.now >= before.now);
  });

  it('lets a manual clock ahead of real time run again, but not switch back to real time', async () => {
    const ahead = Math.floor(Date.now() / 1000) + 10 * 365 * 86_400;
    await t.admin.setClock({ mode: 'manual', now: ahead });
    const real = await putClock(t, { mode: 'real' });
    assert.equal(real.status, 400);
    assert.match(real.body.msg ?? '', /switching to real time would move it back/);
    const running = await t.admin.setClock({ mode: 'running' });
    assert.equal(running.mode, 'running');
    assert.ok(running.now >= ahead);
  });

  it('resumes after a restart with the same start-up settings, and refuses an earlier start', async () => {
    const beforeRestart = await t.admin.clock();
    await t.restart();
    const resumed = await t.admin.clock();
    assert.equal(resumed.mode, 'running');
    assert.ok(resumed.now >= beforeRestart.now, `${resumed.now} < ${beforeRestart.now}`);
    await assert.rejects(
      t.restart({ clock: { mode: 'manual', startMs: (LAST_THURSDAY + 3600) * 1000 } }),
      (error: Error) =>
        error instanceof StartupError &&
        /^the clock cannot go backwards: 2026-11-26T15:30:00Z \(1795707000\) is before now/.test(
          error.message,
        ),
    );
  });
});

describe('the clock after a reset', () => {
  let t: TestServer;
  after(() => t.close());

  it('may go back again once every account is reset, and not after one account alone', async () => {
    t = await startTestServer({ clock: { mode: 'manual', startMs: LAST_THURSDAY * 1000 } });
    await trade(t);
    const other = await t.newAccount();
    await other.client.placeOrder(other.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    const lastWeek = LAST_THURSDAY - 7 * 86_400;
    assert.equal((await putClock(t, { mode: 'manual', now: lastWeek })).status, 400);
    await t.admin.resetAccount(other.accountId);
    assert.equal((await putClock(t, { mode: 'manual', now: lastWeek })).status, 400);
    await t.admin.reset();
    const back = await putClock(t, { mode: 'manual', now: lastWeek });
    assert.equal(back.status, 200, back.text);
    assert.equal((await t.admin.clock()).now, lastWeek);
  });
});
