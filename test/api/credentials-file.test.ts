/**
 * The credentials a first start writes beside its SQLite database: one owner-only file per
 * database, written atomically, whatever a previous run or another user left at its path.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { AdminClient } from '../../src/client/admin-client.ts';
import { StocksTraderClient } from '../../src/client/stockstrader-client.ts';
import { DEFAULT_CONFIG } from '../../src/edges/config.ts';
import { startServer, type RunningServer } from '../../src/edges/server.ts';
import { tempDirectories } from '../support/temp-directories.ts';

const tempDirectory = tempDirectories('stockstrader-credentials-');

/** A first start with a generated admin token and the demo user, as `stockstrader serve` does. */
async function firstStart(db: string): Promise<RunningServer> {
  return startServer(
    {
      ...DEFAULT_CONFIG,
      port: 0,
      db,
      feed: 'manual',
      marketHours: 'ignore',
      logLevel: 'silent',
      rateLimit: 0,
    },
    { logger: pino({ level: 'silent' }) },
  );
}

function parse(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => line.split('=') as [string, string]),
  );
}

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('credentials file', () => {
  it('is <database>.credentials.txt, owner-only, and holds tokens that work', async () => {
    const directory = tempDirectory();
    const db = join(directory, 'stockstrader.db');
    const server = await firstStart(db);
    try {
      const path = join(directory, 'stockstrader.db.credentials.txt');
      assert.equal(server.firstStart.credentialsFile, path);
      assert.equal(mode(path), '600');
      const saved = parse(readFileSync(path, 'utf8'));
      assert.equal(saved.admin_token, server.firstStart.adminToken);
      assert.equal(saved.demo_token, server.firstStart.demo?.token);
      const admin = new AdminClient({ baseUrl: server.url, token: saved.admin_token ?? '' });
      assert.ok(await admin.createUser('works'));
      const demo = new StocksTraderClient({ baseUrl: server.url, token: saved.demo_token ?? '' });
      assert.deepEqual(
        (await demo.accounts()).map((account) => account.id).sort(),
        [saved.demo_netting_account, saved.demo_hedging_account].sort(),
      );
      // No temporary file is left behind.
      assert.deepEqual(
        readdirSync(directory).filter((name) => name.includes('credentials')),
        ['stockstrader.db.credentials.txt'],
      );
    } finally {
      await server.close();
    }
  });

  it('replaces a world-readable file left at its path with an owner-only one', async () => {
    const directory = tempDirectory();
    const db = join(directory, 'server.db');
    const path = `${db}.credentials.txt`;
    writeFileSync(path, 'admin_token=stale\n');
    chmodSync(path, 0o644);
    const server = await firstStart(db);
    try {
      assert.equal(mode(path), '600');
      assert.equal(parse(readFileSync(path, 'utf8')).admin_token, server.firstStart.adminToken);
    } finally {
      await server.close();
    }
  });

  it('never writes through a symlink planted at its path', async () => {
    const directory = tempDirectory();
    const db = join(directory, 'server.db');
    const path = `${db}.credentials.txt`;
    const victim = join(directory, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    chmodSync(victim, 0o644);
    symlinkSync(victim, path);
    const server = await firstStart(db);
    try {
      assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the link target is untouched');
      assert.equal(mode(victim), '644');
      const entry = lstatSync(path);
      assert.ok(entry.isFile() && !entry.isSymbolicLink(), 'the link itself was replaced by a file');
      assert.equal(mode(path), '600');
      assert.equal(parse(readFileSync(path, 'utf8')).admin_token, server.firstStart.adminToken);
    } finally {
      await server.close();
    }
  });

  it('keeps two databases in one folder apart', async () => {
    const directory = tempDirectory();
    const first = await firstStart(join(directory, 'first.db'));
    const second = await firstStart(join(directory, 'second.db'));
    try {
      const a = parse(readFileSync(join(directory, 'first.db.credentials.txt'), 'utf8'));
      const b = parse(readFileSync(join(directory, 'second.db.credentials.txt'), 'utf8'));
      assert.equal(a.admin_token, first.firstStart.adminToken);
      assert.equal(b.admin_token, second.firstStart.adminToken);
      assert.notEqual(a.admin_token, b.admin_token);
      // Each file's tokens open its own server.
      const admin = new AdminClient({ baseUrl: first.url, token: a.admin_token ?? '' });
      assert.ok(await admin.createUser('first'));
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('is not written again on a later start', async () => {
    const directory = tempDirectory();
    const db = join(directory, 'server.db');
    const path = `${db}.credentials.txt`;
    await (await firstStart(db)).close();
    const text = readFileSync(path, 'utf8');
    const again = await firstStart(db);
    try {
      assert.equal(again.firstStart.credentialsFile, undefined);
      assert.equal(readFileSync(path, 'utf8'), text);
    } finally {
      await again.close();
    }
  });
});
