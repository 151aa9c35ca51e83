/**
 * Candles with two server processes on one PostgreSQL database: each quote is recorded by the
 * process that ingests it, and only the process that runs the feed deletes old candles (by its
 * clock, which the replay sets). The leader replays a bar file; the other process only hears the
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
import pg from 'pg';
import { pino } from 'pino';
import { AdminClient } from '../../src/client/admin-client.ts';
import { StocksTraderClient } from '../../src/client/stockstrader-client.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../../src/edges/config.ts';
import { startServer, type RunningServer } from '../../src/edges/server.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres-cluster.ts';
import { ADMIN_TOKEN } from '../support/test-server.ts';
import { waitFor } from '../support/wait-for.ts';

const START = Date.parse('2026-03-10T14:40:00Z') / 1000;

async function storedCount(url: string, where: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM candles WHERE ${where}`);
    return Number(rows[0]?.n);
  } finally {
    await client.end();
  }
}

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
    const start = async (): Promise<{ admin: AdminClient; server: RunningServer }> => {
      const server = await startServer(config, { logger: pino({ level: 'silent' }) });
      servers.push(server);
      return { server, admin: new AdminClient({ baseUrl: server.url, token: ADMIN_TOKEN }) };
    };
    // The leader first, alone: it replays the bars and stores their candles.
    const leader = await start();
    await waitFor('the leader', async () => (await leader.admin.feed()).state === 'paused');
    const userId = await leader.admin.createUser('chart reader');
    const { token } = await leader.admin.issueToken(userId);
    await leader.admin.resumeFeed();
    await waitFor('the replay to finish', async () => (await leader.admin.feed()).state === 'finished');
    await waitFor('the bars to be stored', async () => {
      const rows = await storedCount(database.url, "ticker = 'AAPL.nq' AND interval_seconds = 60");
      return rows === 2;
    });

    // Then the other process, whose clock the replay does not set (it reads real time): it must
    // neither record the replayed quotes nor delete the bars as older than its retention. Its
    // first candle write comes a second after its start; give it that second.
    const other = await start();
    assert.equal((await other.admin.feed()).state, 'standby');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const bars = [
      { time: START, open: 271.42, high: 271.42, low: 271.22, close: 271.3, volume: 100 },
      { time: START + 60, open: 271.3, high: 271.5, low: 271.25, close: 271.5, volume: 200 },
    ];
    const otherClient = new StocksTraderClient({ baseUrl: other.server.url, token });
    const leaderClient = new StocksTraderClient({ baseUrl: leader.server.url, token });
    assert.deepEqual(await otherClient.candles('AAPL.nq', { interval: '1m' }), bars);
    assert.deepEqual(await leaderClient.candles('AAPL.nq', { interval: '1m' }), bars);

    // An admin quote sent to the other process is recorded there, and reaches the leader's reads.
    const quote = await other.admin.setQuote('MSFT.nq', { bid: 400.5, ask: 400.52 });
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
