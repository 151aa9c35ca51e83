import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReplayConfig } from '../../src/edges/config.ts';
import { StartupError } from '../../src/edges/startup-error.ts';
import { ADMIN_TOKEN, raw, startTestServer } from '../support/test-server.ts';
import { waitFor } from '../support/wait-for.ts';

const SAMPLES = fileURLToPath(new URL('../../samples/replay/', import.meta.url));
const T0 = 1_773_153_000; // 2026-03-10T14:30:00Z

let scratch: string;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'feeds-test-'));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

function csvFile(name: string, ...lines: string[]): string {
  const path = join(scratch, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

async function step(url: string, body: string): ReturnType<typeof raw> {
  return raw(url, 'POST', '/admin/v1/feed/step', {
    token: ADMIN_TOKEN,
    contentType: 'application/json',
    body,
  });
}

async function waitForState(t: Awaited<ReturnType<typeof startTestServer>>, state: string): Promise<void> {
  await waitFor(`the feed to reach ${state}`, async () => (await t.admin.feed()).state === state, {
    timeoutMs: 5_000,
    intervalMs: 25,
  });
}

describe('feeds through the server', () => {
  it('replays the samples as one timeline: the clock follows the data and quotes land', async () => {
    const t = await startTestServer({
      feed: 'replay',
      marketHours: 'enforce',
      replay: {
        files: [`${SAMPLES}ticks.csv`, `${SAMPLES}bars.csv`],
        speed: 0,
        onMalformed: 'fail',
        start: 'running',
      },
    });
    try {
      let state = '';
      await waitFor(
        () => `the replay to finish (it is ${state})`,
        async () => (state = (await t.admin.feed()).state) === 'finished',
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      assert.equal(state, 'finished');
      const clock = await t.admin.clock();
      assert.equal(clock.mode, 'replay');
      // The bars run 14:40–15:09 UTC; the last one plays its four path quotes over its minute.
      assert.ok(clock.now >= Date.parse('2026-03-10T15:09:00Z') / 1000, String(clock.now));
      const eurusd = await t.admin.getQuote('EURUSD');
      assert.ok(eurusd.bid > 1 && eurusd.bid < eurusd.ask);
      const ticks = await t.admin.ticks('MSFT.nq', 4);
      assert.equal(ticks.length, 4);
      // In replay mode the clock cannot be set by hand.
      const refused = await raw(t.url, 'POST', '/admin/v1/clock/advance', {
        token: ADMIN_TOKEN,
        contentType: 'application/json',
        body: '{"seconds":5}',
      });
      assert.equal(refused.status, 400);
      assert.match(refused.body.msg ?? '', /follows the replay feed/);
    } finally {
      await t.close();
    }
  });

  it('starts a replay paused at the first data time and steps it; crossed orders fill before the reply', async () => {
    const file = csvFile(
      'steps.csv',
      'time,ticker,bid,ask',
      `${T0},EURUSD,1.10000,1.10010`,
      `${T0},EURUSD,1.10001,1.10011`,
      `${T0 + 60},EURUSD,1.09900,1.09910`,
      `${T0 + 120},EURUSD,1.09800,1.09810`,
    );
    const t = await startTestServer({
      feed: 'replay',
      replay: { files: [file], speed: 1, onMalformed: 'fail', start: 'paused' },
    });
    try {
      // On a shared database the feed starts once this process has taken the lead.
      await waitForState(t, 'paused');
      // Before any quote the clock already shows the data's time, for clients that connect first.
      assert.deepEqual(await t.admin.clock(), { mode: 'replay', now: T0, speed: 0 });
      const paused = await t.admin.feed();
      assert.equal(paused.state, 'paused');
      assert.equal(paused.detail.quotes_sent, 0);
      assert.equal(paused.detail.data_start, '2026-03-10T14:30:00.000Z');

      const first = await t.admin.stepFeed({ quotes: 1 });
      assert.equal(first.delivered, 1);
      assert.equal(first.state, 'paused');
      assert.equal((await t.admin.getQuote('EURUSD')).ask, 1.1001);

      const account = await t.newAccount();
      await account.client.placeOrder(account.accountId, {
        ticker: 'EURUSD',
        side: 'buy',
        type: 'limit',
        volume: 1,
        price: 1.0995,
      });
      const stepped = await t.admin.stepFeed({ seconds: 60 });
      assert.equal(stepped.delivered, 2);
      assert.equal(stepped.state, 'paused');
      assert.equal(stepped.detail.data_time, '2026-03-10T14:31:00.000Z');
      assert.deepEqual(await t.admin.clock(), { mode: 'replay', now: T0 + 60, speed: 0 });
      // The reply came after the quotes were applied: the limit order the last one crossed has filled.
      const [deal] = await account.client.deals(account.accountId);
      assert.equal(deal?.open_price, 1.0991);

      for (const [body, msg] of [
        ['{"quotes":0}', 'quotes must be >= 1'],
        ['{"quotes":-3}', 'quotes must be >= 1'],
        ['{"quotes":1.5}', 'quotes must be an integer'],
        ['{"quotes":100001}', 'quotes must be <= 100000'],
        ['{"quotes":"many"}', 'quotes must be an integer'],
        ['{"seconds":0}', 'seconds must be > 0'],
        ['{"seconds":86401}', 'seconds must be <= 86400'],
        ['{"seconds":0.0001}', 'seconds must be at least 0.001: the replay steps in whole milliseconds'],
        ['{}', 'give either quotes (how many quotes) or seconds (how much data time) to step'],
        [
          '{"quotes":1,"seconds":1}',
          'give either quotes (how many quotes) or seconds (how much data time) to step',
        ],
      ] as const) {
        const refused = await step(t.url, body);
        assert.equal(refused.status, 400, body);
        assert.deepEqual(refused.body, { code: 'error', msg, error: 'invalid_request' }, body);
      }
      assert.equal((await t.admin.feed()).detail.quotes_sent, 3, 'a refused step delivers nothing');

      await t.admin.resumeFeed();
      const running = await step(t.url, '{"quotes":1}');
      assert.equal(running.status, 400);
      assert.deepEqual(running.body, {
        code: 'error',
        msg: 'the replay is running: pause it (POST /admin/v1/feed/pause) before stepping',
        error: 'feed_state',
      });
      await t.admin.pauseFeed();
      assert.equal((await t.admin.stepFeed({ quotes: 5 })).state, 'finished');
      const ended = await step(t.url, '{"seconds":1}');
      assert.equal(ended.status, 400);
      assert.equal(ended.body.msg, 'the replay has finished: no data is left to step through');
      assert.equal(ended.body.error, 'feed_state');
    } finally {
      await t.close();
    }
  });

  it('chains the samples: a position opened on the ticks closes on the bars', async () => {
    const t = await startTestServer({
      feed: 'replay',
      replay: {
        files: [`${SAMPLES}ticks.csv`, `${SAMPLES}bars.csv`],
        speed: 0,
        onMalformed: 'fail',
        start: 'paused',
      },
    });
    try {
      await waitForState(t, 'paused');
      await t.admin.stepFeed({ seconds: 60 });
      const account = await t.newAccount();
      for (const ticker of ['AAPL.nq', 'MSFT.nq', 'EURUSD']) {
        await account.client.placeOrder(account.accountId, {
          ticker,
          side: 'buy',
          type: 'market',
          volume: 1,
        });
      }
      // Past the end of the ticks, into the bars.
      const bars = await t.admin.stepFeed({ seconds: 900 });
      assert.equal(bars.detail.files_done, 1);
      assert.equal(bars.detail.data_time, '2026-03-10T14:46:00.000Z');
      for (const deal of await account.client.deals(account.accountId)) {
        await account.client.closeDeal(account.accountId, deal.id);
      }
      const closed = await account.client.deals(account.accountId, { status: 'closed' });
      assert.deepEqual(closed.map((deal) => deal.ticker).sort(), ['AAPL.nq', 'EURUSD', 'MSFT.nq']);
      for (const deal of closed)
        assert.ok((deal.close_time ?? 0) >= Date.parse('2026-03-10T14:40:00Z') / 1000);
    } finally {
      await t.close();
    }
  });

  it('refuses to replay again over its own trades, until the accounts are reset', async () => {
    const replay: ReplayConfig = {
      files: [`${SAMPLES}ticks.csv`],
      speed: 0,
      onMalformed: 'fail',
      start: 'paused',
    };
    const t = await startTestServer({ feed: 'replay', replay });
    try {
      await waitForState(t, 'paused');
      await t.admin.stepFeed({ seconds: 60 });
      const account = await t.newAccount();
      await account.client.placeOrder(account.accountId, {
        ticker: 'EURUSD',
        side: 'buy',
        type: 'market',
        volume: 1,
      });
      await assert.rejects(
        t.restart(),
        (error: Error) =>
          error instanceof StartupError &&
          /^the replay starts at 2026-03-10T14:30:00Z \(\d+\), before this database's latest trade at 2026-03-10T14:31:00Z/.test(
            error.message,
          ) &&
          /reset the accounts/.test(error.message),
      );
      await t.restart({ feed: 'manual' });
      await t.admin.reset();
      await t.restart({ feed: 'replay', replay });
      await waitForState(t, 'paused');
      assert.equal((await t.admin.clock()).now, Date.parse('2026-03-10T14:30:00Z') / 1000);
    } finally {
      await t.close();
    }
  });

  it('reports a failed replay with the state and the message naming the line', async () => {
    const file = csvFile(
      'fails.csv',
      'time,ticker,bid,ask',
      `${T0},EURUSD,1.1,1.10001`,
      `${T0 + 1},GBPXXX,1.1,1.2`,
    );
    const t = await startTestServer({
      feed: 'replay',
      replay: { files: [file], speed: 0, onMalformed: 'fail', start: 'running' },
    });
    try {
      await waitForState(t, 'failed');
      const status = await t.admin.feed();
      assert.equal(status.detail.last_error, `${file}:3: unknown ticker "GBPXXX"`);
      assert.equal(status.detail.file, file);
      assert.equal(status.detail.line, 3);
      assert.ok(Number(status.detail.percent) < 100);
      await t.admin.pauseFeed();
      const refused = await step(t.url, '{"quotes":1}');
      assert.equal(refused.status, 400);
      assert.equal(refused.body.msg, `the replay has failed: ${file}:3: unknown ticker "GBPXXX"`);
    } finally {
      await t.close();
    }
  });

  it('refuses to step a feed that is not a replay', async () => {
    const t = await startTestServer();
    try {
      const response = await step(t.url, '{"quotes":1}');
      assert.equal(response.status, 400);
      assert.deepEqual(response.body, {
        code: 'error',
        msg: 'the manual feed cannot step: only a replay can',
        error: 'feed_state',
      });
    } finally {
      await t.close();
    }
  });

  it('refuses to pause a feed that cannot pause', async () => {
    const t = await startTestServer();
    try {
      const response = await raw(t.url, 'POST', '/admin/v1/feed/pause', { token: ADMIN_TOKEN });
      assert.equal(response.status, 400);
      assert.equal(response.body.msg, 'the manual feed cannot pause');
    } finally {
      await t.close();
    }
  });

  it('refuses incomplete feed configurations at startup with a clear message', async () => {
    await assert.rejects(startTestServer({ feed: 'replay' }), (error: Error) => {
      assert.ok(error instanceof StartupError);
      assert.match(error.message, /--feed replay needs --replay-file/);
      return true;
    });
    await assert.rejects(
      startTestServer({
        feed: 'upstream',
        upstream: {
          url: 'http://127.0.0.1:1',
          token: 't',
          account: '1',
          watch: ['NOPE'],
          requestsPerSecond: 2,
        },
      }),
      /--watch names unknown instruments: NOPE/,
    );
  });
});
