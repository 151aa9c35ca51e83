/**
 * The SQLite adapter: the storage contract on a temp file per test, plus what only this adapter
 * has: its numbered, append-only migrations.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS_DIR, SqliteStorage } from '../../src/adapters/storage/sqlite/sqlite-storage.ts';
import { readMigrations } from '../../src/adapters/storage/migrations.ts';
import type { Storage } from '../../src/application/storage.ts';
import { storageContract } from './storage-contract.ts';
import { tempDirectories } from '../support/temp-directories.ts';

const tempDirectory = tempDirectories('stockstrader-sqlite-');

storageContract('sqlite', async () => {
  const directory = tempDirectory();
  const path = join(directory, 'contract.db');
  let current: Storage = SqliteStorage.open(path);
  return {
    storage: current,
    async reopen() {
      await current.close();
      current = SqliteStorage.open(path);
      return current;
    },
    async dispose() {
      await current.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

describe('sqlite files on disk', () => {
  const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

  it('creates the database, its -wal and -shm files owner-only (0600) and new folders 0700', async () => {
    const directory = tempDirectory();
    const path = join(directory, 'made', 'by', 'us', 'server.db');
    const storage = SqliteStorage.open(path);
    try {
      await storage.setSetting('probe', 'written');
      for (const file of [path, `${path}-wal`, `${path}-shm`]) assert.equal(mode(file), '600', file);
      for (const folder of ['made', 'made/by', 'made/by/us'])
        assert.equal(mode(join(directory, folder)), '700', folder);
    } finally {
      await storage.close();
    }
  });

  it('leaves an existing folder and an existing database file as they are', async () => {
    const directory = tempDirectory();
    const folder = join(directory, 'shared');
    mkdirSync(folder);
    chmodSync(folder, 0o755);
    const path = join(folder, 'server.db');
    await SqliteStorage.open(path).close();
    assert.equal(mode(folder), '755', 'a folder the user chose is not chmodded');
    chmodSync(path, 0o640);
    const reopened = SqliteStorage.open(path);
    try {
      await reopened.setSetting('probe', 'written');
      assert.equal(mode(path), '640');
      assert.equal(mode(`${path}-wal`), '640', "SQLite gives -wal the database file's mode");
    } finally {
      await reopened.close();
    }
  });
});

describe('sqlite migrations', () => {
  function appliedMigrations(path: string): { number: number; name: string }[] {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT number, name FROM schema_migrations ORDER BY number').all() as {
        number: number;
        name: string;
      }[];
    } finally {
      db.close();
    }
  }

  it('are numbered consecutively from 0001, one file per number', () => {
    const migrations = readMigrations(MIGRATIONS_DIR);
    assert.ok(migrations.length >= 1);
    assert.deepEqual(
      migrations.map((migration) => migration.number),
      migrations.map((_, index) => index + 1),
    );
    const files = readdirSync(MIGRATIONS_DIR).filter((file) => file.endsWith('.sql'));
    assert.equal(files.length, migrations.length);
    for (const migration of migrations) assert.match(migration.name, /^\d{4}-[a-z0-9-]+\.sql$/);
  });

  it('refuses a gap or a badly named file', () => {
    const gap = tempDirectory();
    cpSync(MIGRATIONS_DIR, gap, { recursive: true });
    const count = readMigrations(gap).length;
    writeFileSync(join(gap, `${String(count + 2).padStart(4, '0')}-skipped-one.sql`), 'SELECT 1;');
    assert.throws(() => readMigrations(gap), new RegExp(`out of sequence: expected ${count + 1}`));
    const badName = tempDirectory();
    cpSync(MIGRATIONS_DIR, badName, { recursive: true });
    writeFileSync(join(badName, 'extra.sql'), 'SELECT 1;');
    assert.throws(() => readMigrations(badName), /must be named NNNN-name\.sql/);
  });

  it('applies each migration once, records it, and applies a new one on the next start', async () => {
    const directory = tempDirectory();
    const migrations = join(directory, 'migrations');
    cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
    const path = join(directory, 'store.db');
    const count = readMigrations(migrations).length;

    await SqliteStorage.open(path, { migrationsDir: migrations }).close();
    await SqliteStorage.open(path, { migrationsDir: migrations }).close();
    assert.equal(appliedMigrations(path).length, count, 'reopening applies nothing twice');

    const next = String(count + 1).padStart(4, '0');
    writeFileSync(
      join(migrations, `${next}-add-probe.sql`),
      'CREATE TABLE probe (id INTEGER PRIMARY KEY);\n',
    );
    const storage = SqliteStorage.open(path, { migrationsDir: migrations });
    await storage.setSetting('still', 'works');
    await storage.close();
    assert.deepEqual(
      appliedMigrations(path).map((row) => row.number),
      Array.from({ length: count + 1 }, (_, index) => index + 1),
    );
    assert.equal(appliedMigrations(path).at(-1)?.name, `${next}-add-probe.sql`);
  });

  it('refuses to start when an applied migration was edited, and leaves the file usable', async () => {
    const directory = tempDirectory();
    const migrations = join(directory, 'migrations');
    cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
    const path = join(directory, 'store.db');
    const first = SqliteStorage.open(path, { migrationsDir: migrations });
    await first.setSetting('kept', 'yes');
    await first.close();

    const edited = join(migrations, readMigrations(migrations)[0]?.name ?? '');
    appendFileSync(edited, '\n-- an innocent-looking edit\n');
    assert.throws(
      () => SqliteStorage.open(path, { migrationsDir: migrations }),
      /migration 0001-.*\.sql was changed after it was applied; migrations are append-only/,
    );

    // The refused open closed its handle: the shipped migrations still open the same file.
    const reopened = SqliteStorage.open(path);
    assert.equal(await reopened.getSetting('kept'), 'yes');
    await reopened.close();
  });

  it('gives instruments stored before the trigger source the broker default: stocks on last', async () => {
    const file = readdirSync(MIGRATIONS_DIR).find((name) => name.endsWith('-trigger-source.sql'));
    assert.ok(file, 'the trigger source migration exists');
    // A database as a release before that migration left it: the earlier migrations applied and
    // recorded the way the adapter records them (its statements need the new column to open).
    const path = join(tempDirectory(), 'store.db');
    const db = new Database(path);
    db.exec(
      'CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    for (const migration of readMigrations(MIGRATIONS_DIR).filter((candidate) => candidate.name < file)) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?, 0)').run(
        migration.number,
        migration.name,
        migration.checksum,
      );
    }
    const insert = db.prepare(
      `INSERT INTO instruments (ticker, description, contract_size, units, min_volume, max_volume,
         volume_step, min_tick, leverage, trade_mode, quote_currency, calendar, volatility,
         spread_ticks, reference_price)
       VALUES (?, ?, 1000000, 'unit(s)', 1000000, 100000000, 1000000, 1000000, 50000, 'full', 'USD', ?, 0.2, 2, 10000000000)`,
    );
    insert.run('OLD.nq', 'an old stock', 'us_equities');
    insert.run('OLDFX', 'an old pair', 'fx');
    insert.run('OLDANY', 'an old any-hours instrument', 'always');
    db.close();

    const storage = SqliteStorage.open(path);
    const sources = (await storage.loadInstruments()).map((instrument) => [
      instrument.ticker,
      instrument.triggerSource,
    ]);
    await storage.close();
    assert.deepEqual(sources, [
      ['OLD.nq', 'last'],
      ['OLDANY', 'bid_ask'],
      ['OLDFX', 'bid_ask'],
    ]);
  });
});
