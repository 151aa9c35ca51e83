import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { StartupError } from '../../src/edges/server.ts';
import { ADMIN_TOKEN, raw, startTestServer } from '../support/test-server.ts';

const SAMPLES = fileURLToPath(new URL('../../samples/replay/', import.meta.url));

describe('feeds through the server', () => {
  it('replays the samples as one timeline: the clock follows the data and quotes land', async () => {
    const t = await startTestServer({
      feed: 'replay',
      marketHours: 'enforce',
      replay: { files: [`${SAMPLES}ticks.csv`, `${SAMPLES}bars.csv`], speed: 0, onMalformed: 'fail' },
    });
    try {
      let state = '';
      for (let attempt = 0; attempt < 200 && state !== 'finished'; attempt++) {
        state = (await t.admin.feed()).state;
        if (state !== 'finished') await new Promise((resolve) => setTimeout(resolve, 50));
      }
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
