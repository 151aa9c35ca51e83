/**
 * Candles with two server processes on one PostgreSQL database: each quote is recorded by the
 * process that ingests it. The leader replays a bar file; the other process only hears the
 * replayed quotes announced, and serves the bars' candles (volumes counted once) from the
 * database. An admin quote sent to the other process is recorded there and read through the
 * leader. (Were announced quotes recorded too, a merge of the same quotes would change nothing
 * but a same-second open, which the bars' open could lose in a race; the rule keeps it simple.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AdminClient } from '../../src/client/admin-client.ts';
import { StocksTraderClient } from '../../src/client/stockstrader-client.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../../src/edges/config.ts';
import { startServer, type RunningServer } from '../../src/edges/server.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres-cluster.ts';
import { ADMIN_TOKEN } from '../support/test-server.ts';
import { waitFor } from '../support/wait-for.ts';

const START = Date.parse('2026-03-10T14:40:00Z') / 1000;

describe('candles on two processes sharing PostgreSQL', () => {
  let scratch: string;
  let database: TestDatabase;
  const servers: RunningServer[] = [];

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'candles-cluster-'));
    database = await createTestDatabase();
  });
  after(async () => {
    for (const server of servers) await server.close();
    await database.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('records each quote once, in the process that ingests it', async () => {
    const file = join(scratch, 'bars.csv');
    writeFileSync(
      file,
      [
        'time,ticker,open,high,low,close,volume',
        '2026-03-10T14:40:00Z,AAPL.nq,271.42,271.42,271.22,271.3,100',
        '2026-03-10T14:41:00Z,AAPL.nq,271.3,271.5,271.25,271.5,200',
        '',
      ].join('\n'),
    );
    const config: ServerConfig = {
      ...DEFAULT_CONFIG,
      port: 0,
      databaseUrl: database.url,
      feed: 'replay',
      replay: { files: [file], speed: 0, onMalformed: 'fail', start: 'paused' },
      adminToken: ADMIN_TOKEN,
      marketHours: 'ignore',
      logLevel: 'silent',
      maxQuoteAgeSeconds: null,
      seedDemo: false,
      rateLimit: 0,
      authFailureLimit: 0,
    };
    for (let index = 0; index < 2; index++) {
      servers.push(await startServer(config, { logger: pino({ level: 'silent' }) }));
    }
    const admins = servers.map((server) => new AdminClient({ baseUrl: server.url, token: ADMIN_TOKEN }));
    let leader = -1;
    await waitFor('a leader', async () => {
      const states = await Promise.all(admins.map(async (admin) => (await admin.feed()).state));
      leader = states.indexOf('paused');
      return leader >= 0 && states.includes('standby');
    });
    const other = 1 - leader;
    const userId = await admins[leader]?.createUser('chart reader');
    assert.ok(userId);
    const { token } = await (admins[leader] as AdminClient).issueToken(userId);
    const clients = servers.map((server) => new StocksTraderClient({ baseUrl: server.url, token }));
    await admins[leader]?.resumeFeed();
    await waitFor('the replay to finish', async () => (await admins[leader]?.feed())?.state === 'finished');

    const bars = [
      { time: START, open: 271.42, high: 271.42, low: 271.22, close: 271.3, volume: 100 },
      { time: START + 60, open: 271.3, high: 271.5, low: 271.25, close: 271.5, volume: 200 },
    ];
    // The other process shows what the leader wrote (within a second), not candles of its own.
    const otherClient = clients[other] as StocksTraderClient;
    await waitFor('the bars on the other process', async () => {
      const candles = await otherClient.candles('AAPL.nq', { interval: '1m' });
      return JSON.stringify(candles) === JSON.stringify(bars);
    });
    assert.deepEqual(await otherClient.candles('AAPL.nq', { interval: '1m' }), bars);

    // An admin quote sent to the other process is recorded there, and reaches the leader's reads.
    const quote = await (admins[other] as AdminClient).setQuote('MSFT.nq', { bid: 400.5, ask: 400.52 });
    const leaderClient = clients[leader] as StocksTraderClient;
    await waitFor('the admin quote on the leader', async () => {
      return (await leaderClient.candles('MSFT.nq', { interval: '1m' })).length === 1;
    });
    const [msft] = await leaderClient.candles('MSFT.nq', { interval: '1m' });
    assert.deepEqual(msft, {
      time: quote.time - (quote.time % 60),
      open: 400.5,
      high: 400.5,
      low: 400.5,
      close: 400.5,
      volume: 0,
    });
    // Written once: one row per interval, and the bars' volumes counted once.
    const [daily] = await leaderClient.candles('AAPL.nq', { interval: '1d' });
    assert.equal(daily?.volume, 300);
  });
});
