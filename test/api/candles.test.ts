/**
 * Candles for charts (`GET /ext/v1/instruments/{ticker}/candles`), driven as a client does: a
 * manual clock at a fixed date, quotes set through the admin API at chosen times, candles read
 * for each interval; the validation and auth answers; candles surviving a restart (read back
 * from the database, and merged with quotes after it); and a replayed bar file giving the bars'
 * own candles, with their volume. Rerun on PostgreSQL by test/postgres/api-suite.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ADMIN_TOKEN,
  raw,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../support/test-server.ts';
import { waitFor } from '../support/wait-for.ts';

const T0 = 1_773_153_000; // Tuesday 2026-03-10T14:30:00Z
const DAY = 1_773_100_800; // 2026-03-10T00:00:00Z
const HOUR = 1_773_151_200; // 14:00Z

interface WireCandle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const candle = (
  time: number,
  open: number,
  high: number,
  low: number,
  close: number,
  volume = 0,
): WireCandle => ({
  time,
  open,
  high,
  low,
  close,
  volume,
});

async function candles(t: TestServer, token: string, ticker: string, query: string): Promise<WireCandle[]> {
  const answer = await raw(t.url, 'GET', `/ext/v1/instruments/${ticker}/candles?${query}`, { token });
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.body.code, 'ok');
  return answer.body.data as WireCandle[];
}

/** Quotes EURUSD at the given clock offsets from T0 (seconds) and bids; the ask is 2 pips above. */
async function quoteAt(t: TestServer, offset: number, bid: number): Promise<void> {
  const { now } = await t.admin.clock();
  if (T0 + offset > now) await t.admin.advanceClock(T0 + offset - now);
  await t.admin.setQuote('EURUSD', { bid, ask: Number((bid + 0.0002).toFixed(5)) });
}

describe('candles extension', () => {
  let t: TestServer;
  let user: TestAccount;

  before(async () => {
    t = await startTestServer({ clock: { mode: 'manual', startMs: T0 * 1000 } });
    user = await t.newAccount();
    // Minute 14:30: open 1.1, high 1.102, low 1.099, close 1.1001. Minute 14:31: one quote.
    // Minute 14:36 (the next five minutes): two quotes.
    await quoteAt(t, 0, 1.1);
    await quoteAt(t, 20, 1.102);
    await quoteAt(t, 40, 1.099);
    await quoteAt(t, 59, 1.1001);
    await quoteAt(t, 61, 1.1005);
    await quoteAt(t, 6 * 60 + 5, 1.0987);
    await quoteAt(t, 6 * 60 + 30, 1.0991);
  });
  after(() => t.close());

  it('answers 1m candles of the bids, oldest first, right after the quotes', async () => {
    assert.deepEqual(await candles(t, user.token, 'EURUSD', 'interval=1m'), [
      candle(T0, 1.1, 1.102, 1.099, 1.1001),
      candle(T0 + 60, 1.1005, 1.1005, 1.1005, 1.1005),
      candle(T0 + 360, 1.0987, 1.0991, 1.0987, 1.0991),
    ]);
  });

  it('aggregates 5m, 15m, 1h and 1d buckets in UTC', async () => {
    assert.deepEqual(await candles(t, user.token, 'EURUSD', 'interval=5m'), [
      candle(T0, 1.1, 1.102, 1.099, 1.1005),
      candle(T0 + 300, 1.0987, 1.0991, 1.0987, 1.0991),
    ]);
    const all = candle(T0, 1.1, 1.102, 1.0987, 1.0991);
    assert.deepEqual(await candles(t, user.token, 'EURUSD', 'interval=15m'), [all]);
    assert.deepEqual(await candles(t, user.token, 'EURUSD', 'interval=1h'), [{ ...all, time: HOUR }]);
    assert.deepEqual(await candles(t, user.token, 'EURUSD', 'interval=1d'), [{ ...all, time: DAY }]);
  });

  it('pages: the newest with only a limit, the first from `from`, bounded by `to`', async () => {
    const times = async (query: string): Promise<number[]> =>
      (await candles(t, user.token, 'EURUSD', query)).map((c) => c.time);
    assert.deepEqual(await times('interval=1m&limit=2'), [T0 + 60, T0 + 360]);
    assert.deepEqual(await times(`interval=1m&from=${T0}&limit=2`), [T0, T0 + 60]);
    // `from` inside a candle's minute includes that candle.
    assert.deepEqual(await times(`interval=1m&from=${T0 + 30}&limit=1`), [T0]);
    assert.deepEqual(await times(`interval=1m&from=${T0 + 61}&to=${T0 + 359}`), [T0 + 60]);
    assert.deepEqual(await times(`interval=1m&to=${T0 + 59}`), [T0]);
    assert.deepEqual(await times(`interval=1m&from=${T0 + 3_600}`), []);
    assert.deepEqual(await candles(t, user.token, 'MSFT.nq', 'interval=1d'), []);
  });

  it('refuses bad parameters with 400 and a msg naming the field', async () => {
    const refused = async (query: string, msg: RegExp, ticker = 'EURUSD'): Promise<void> => {
      const answer = await raw(t.url, 'GET', `/ext/v1/instruments/${ticker}/candles?${query}`, {
        token: user.token,
      });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.body.code, 'error');
      assert.match(answer.body.msg ?? '', msg);
    };
    await refused('', /interval is required/);
    await refused('interval=2m', /interval must be one of: 1m, 5m, 15m, 1h, 1d/);
    await refused('interval=1m&from=20&to=10', /from \(20\) must not be after to \(10\)/);
    await refused('interval=1m&limit=0', /limit must be >= 1/);
    await refused('interval=1m&limit=5001', /limit must be <= 5000/);
    await refused('interval=1m&limit=1.5', /limit must be an integer/);
    await refused('interval=1m&from=abc', /from must be a number/);
    await refused('interval=1m&to=-1', /to must be >= 0/);
    await refused('interval=1m', /^unknown ticker NOPE$/, 'NOPE');
    // The same answer the REST API gives for an unknown instrument.
    const rest = await raw(t.url, 'GET', `/api/v1/accounts/${user.accountId}/instruments/NOPE/quote`, {
      token: user.token,
    });
    const ext = await raw(t.url, 'GET', '/ext/v1/instruments/NOPE/candles?interval=1m', {
      token: user.token,
    });
    assert.deepEqual([ext.status, ext.body], [rest.status, rest.body]);
  });

  it('requires a user bearer token (401), as the public API does', async () => {
    const path = '/ext/v1/instruments/EURUSD/candles?interval=1m';
    for (const token of [undefined, 'st_not-a-real-token-at-all-0000000000000000000', ADMIN_TOKEN]) {
      const answer = await raw(t.url, 'GET', path, token === undefined ? {} : { token });
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.body.error, 'unauthorized');
    }
  });

  it('is in the OpenAPI document, with its parameters', async () => {
    const answer = await raw(t.url, 'GET', '/openapi.json');
    const document = JSON.parse(answer.text) as {
      paths: Record<string, { get?: { parameters?: { name: string; required?: boolean }[] } }>;
    };
    const operation = document.paths['/ext/v1/instruments/{ticker}/candles']?.get;
    assert.ok(operation);
    assert.deepEqual(
      operation.parameters?.map((parameter) => [parameter.name, parameter.required ?? false]).sort(),
      [
        ['from', false],
        ['interval', true],
        ['limit', false],
        ['ticker', true],
        ['to', false],
      ],
    );
  });

  it('keeps the candles across a restart, stored, and merges later quotes into their bucket', async () => {
    const before = await candles(t, user.token, 'EURUSD', 'interval=1m');
    await t.restart();
    const stored = await t.query<{ n: number | string }>(
      "SELECT COUNT(*) AS n FROM candles WHERE ticker = 'EURUSD' AND interval_seconds = 60",
    );
    assert.equal(Number(stored[0]?.n), 3);
    assert.deepEqual(await candles(t, user.token, 'EURUSD', 'interval=1m'), before);
    // The clock stays in 14:36: the bucket keeps its stored open and takes the new low and close.
    await quoteAt(t, 6 * 60 + 50, 1.098);
    assert.deepEqual(
      (await candles(t, user.token, 'EURUSD', 'interval=1m')).at(-1),
      candle(T0 + 360, 1.0987, 1.0991, 1.098, 1.098),
    );
    assert.deepEqual(await candles(t, user.token, 'EURUSD', 'interval=1d'), [
      candle(DAY, 1.1, 1.102, 1.098, 1.098),
    ]);
  });
});

describe('candles of a replayed bar file', () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'candles-test-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('are the bars themselves, with their volume, not the quotes that replay them', async () => {
    const file = join(scratch, 'bars.csv');
    // The first bar's open equals its high: its replayed bid is lowered so the ask stays inside the
    // bar, yet its candle opens at the bar's open.
    writeFileSync(
      file,
      [
        'time,ticker,open,high,low,close,volume',
        '2026-03-10T14:40:00Z,AAPL.nq,271.42,271.42,271.22,271.3,73745',
        '2026-03-10T14:41:00Z,AAPL.nq,271.3,271.5,271.25,271.45,1200.5',
        '2026-03-10T14:42:00Z,AAPL.nq,271.45,271.6,271.4,271.41,',
        '',
      ].join('\n'),
    );
    const t = await startTestServer({
      feed: 'replay',
      replay: { files: [file], speed: 0, onMalformed: 'fail', start: 'running' },
    });
    try {
      for (let attempt = 0; attempt < 200 && (await t.admin.feed()).state !== 'finished'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.equal((await t.admin.feed()).state, 'finished');
      const user = await t.newAccount();
      const start = Date.parse('2026-03-10T14:40:00Z') / 1000;
      assert.deepEqual(await candles(t, user.token, 'AAPL.nq', 'interval=1m'), [
        candle(start, 271.42, 271.42, 271.22, 271.3, 73745),
        candle(start + 60, 271.3, 271.5, 271.25, 271.45, 1200.5),
        candle(start + 120, 271.45, 271.6, 271.4, 271.41, 0),
      ]);
      assert.deepEqual(await candles(t, user.token, 'AAPL.nq', 'interval=5m'), [
        candle(start, 271.42, 271.6, 271.22, 271.41, 74945.5),
      ]);
    } finally {
      await t.close();
    }
  });
});

describe('candles of a fresh simulator', () => {
  it('chart the day before the start at once, and the same day after a restart', async () => {
    const t = await startTestServer({ feed: 'sim', clock: { mode: 'manual', startMs: (T0 + 30) * 1000 } });
    try {
      const user = await t.newAccount();
      const day = await candles(t, user.token, 'EURUSD', 'interval=1m&limit=5000');
      // 1,440 minutes of history up to 14:30, then the live minute that started at 14:30.
      assert.equal(day.length, 1_441);
      assert.deepEqual([day[0]?.time, day.at(-2)?.time, day.at(-1)?.time], [T0 - 86_400, T0 - 60, T0]);
      const opening = await t.admin.getQuote('EURUSD');
      assert.equal(day.at(-2)?.close, opening.bid);
      const hours = await candles(t, user.token, 'EURUSD', 'interval=1h&limit=5000');
      assert.equal(hours.at(-1)?.time, HOUR);
      // The restarted simulator resumes from the stored quotes: no second history, the same hours.
      await t.restart();
      assert.deepEqual(
        await candles(t, user.token, 'EURUSD', `interval=1h&limit=5000&to=${HOUR - 1}`),
        hours.slice(0, -1),
      );
      assert.equal(
        (await candles(t, user.token, 'EURUSD', `interval=1m&limit=5000&to=${T0 - 1}`)).length,
        1_440,
      );
    } finally {
      await t.close();
    }
  });
});

describe('candle retention', () => {
  it('deletes 1-minute candles after 7 days of clock time and keeps the coarser ones', async () => {
    const t = await startTestServer({ clock: { mode: 'manual', startMs: T0 * 1000 } });
    try {
      const user = await t.newAccount();
      await t.admin.setQuote('EURUSD', { bid: 1.1, ask: 1.1002 });
      const minute = `interval=1m&from=${T0}&to=${T0}`;
      assert.equal((await candles(t, user.token, 'EURUSD', minute)).length, 1);
      // Stored first (within a second): retention deletes stored candles.
      await waitFor('the 1-minute candle to be stored', async () => {
        const rows = await t.query<{ n: number | string }>(
          `SELECT COUNT(*) AS n FROM candles WHERE interval_seconds = 60 AND time = ${T0}`,
        );
        return Number(rows[0]?.n) === 1;
      });
      await t.admin.advanceClock(7 * 86_400 + 2 * 3_600);
      await t.admin.setQuote('EURUSD', { bid: 1.2, ask: 1.2002 });
      await waitFor('the old 1-minute candle to go', async () => {
        return (await candles(t, user.token, 'EURUSD', minute)).length === 0;
      });
      const kept = async (interval: string): Promise<number[]> =>
        (await candles(t, user.token, 'EURUSD', `interval=${interval}`)).map((c) => c.close);
      assert.deepEqual(await kept('1m'), [1.2]);
      assert.deepEqual(await kept('5m'), [1.1, 1.2]);
      assert.deepEqual(await kept('1d'), [1.1, 1.2]);
    } finally {
      await t.close();
    }
  });
});

describe('candles rate limiting', () => {
  it('counts /ext requests against the token, as /api ones', async () => {
    // A burst of 3: the admin token's 3 requests of newAccount fit in its own bucket.
    const t = await startTestServer({ rateLimit: 1, rateBurst: 3 });
    try {
      const user = await t.newAccount();
      const path = '/ext/v1/instruments/EURUSD/candles?interval=1m';
      // Sent at once, so the bucket (3, refilled at 1 a second) cannot admit them all.
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => raw(t.url, 'GET', path, { token: user.token })),
      );
      const statuses = answers.map((answer) => answer.status);
      assert.ok(statuses.includes(200), String(statuses));
      const limited = answers.find((answer) => answer.status === 429);
      assert.ok(limited, String(statuses));
      assert.equal(limited.body.error, 'rate_limited');
      assert.ok(limited.headers.get('retry-after'));
    } finally {
      await t.close();
    }
  });
});
