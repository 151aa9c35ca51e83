/**
 * The SQLite adapter: the storage contract on a temp file per test, plus what only this adapter
 * has: its numbered, append-only migrations.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS_DIR, SqliteStorage } from '../../src/adapters/storage/sqlite/sqlite-storage.ts';
import { readMigrations } from '../../src/adapters/storage/migrations.ts';
import type { Storage } from '../../src/application/storage.ts';
import { storageContract } from './storage-contract.ts';

const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function tempDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'stockstrader-sqlite-'));
  directories.push(directory);
  return directory;
}

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

  it('are numbered in increasing order from 0001, one file per number', () => {
    const migrations = readMigrations(MIGRATIONS_DIR);
    assert.ok(migrations.length >= 1);
    const numbers = migrations.map((migration) => migration.number);
    assert.deepEqual(
      numbers,
      [...numbers].sort((a, b) => a - b),
    );
    assert.equal(new Set(numbers).size, numbers.length);
    assert.ok((numbers[0] ?? 0) >= 1);
    const files = readdirSync(MIGRATIONS_DIR).filter((file) => file.endsWith('.sql'));
    assert.equal(files.length, migrations.length);
    for (const migration of migrations) assert.match(migration.name, /^\d{4}-[a-z0-9-]+\.sql$/);
  });

  it('refuses a repeated number or a badly named file, and allows a gap', () => {
    const repeated = tempDirectory();
    cpSync(MIGRATIONS_DIR, repeated, { recursive: true });
    const last = readMigrations(repeated).at(-1)?.number ?? 0;
    writeFileSync(join(repeated, `${String(last).padStart(4, '0')}-again.sql`), 'SELECT 1;');
    assert.throws(() => readMigrations(repeated), /is out of order: numbers start at 0001, each used once/);
    const badName = tempDirectory();
    cpSync(MIGRATIONS_DIR, badName, { recursive: true });
    writeFileSync(join(badName, 'extra.sql'), 'SELECT 1;');
    assert.throws(() => readMigrations(badName), /must be named NNNN-name\.sql/);
    // Parallel branches each take a number: the folder of one of them has a gap.
    const gap = tempDirectory();
    cpSync(MIGRATIONS_DIR, gap, { recursive: true });
    writeFileSync(join(gap, `${String(last + 2).padStart(4, '0')}-skipped-one.sql`), 'SELECT 1;');
    assert.equal(readMigrations(gap).at(-1)?.number, last + 2);
  });

  it('applies a migration merged later below one already applied, on the next start', async () => {
    const directory = tempDirectory();
    const migrations = join(directory, 'migrations');
    cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
    const last = readMigrations(migrations).at(-1)?.number ?? 0;
    const name = (number: number, text: string): string => `${String(number).padStart(4, '0')}-${text}.sql`;
    writeFileSync(
      join(migrations, name(last + 2, 'later-branch')),
      'CREATE TABLE later_branch (id INTEGER);',
    );
    const path = join(directory, 'store.db');
    await (await SqliteStorage.open(path, { migrationsDir: migrations })).close();
    writeFileSync(
      join(migrations, name(last + 1, 'merged-after')),
      'CREATE TABLE merged_after (id INTEGER);',
    );
    await (await SqliteStorage.open(path, { migrationsDir: migrations })).close();
    const db = new Database(path, { readonly: true });
    try {
      const applied = db.prepare('SELECT number FROM schema_migrations ORDER BY number').all() as {
        number: number;
      }[];
      assert.deepEqual(
        applied.slice(-2).map((row) => row.number),
        [last + 1, last + 2],
      );
      assert.ok(db.prepare("SELECT name FROM sqlite_master WHERE name = 'merged_after'").get());
    } finally {
      db.close();
    }
  });

  it('applies each migration once, records it, and applies a new one on the next start', async () => {
    const directory = tempDirectory();
    const migrations = join(directory, 'migrations');
    cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
    const path = join(directory, 'store.db');
    const numbers = readMigrations(migrations).map((migration) => migration.number);
    const count = numbers.length;

    await SqliteStorage.open(path, { migrationsDir: migrations }).close();
    await SqliteStorage.open(path, { migrationsDir: migrations }).close();
    assert.equal(appliedMigrations(path).length, count, 'reopening applies nothing twice');

    const next = String((numbers.at(-1) ?? 0) + 1).padStart(4, '0');
    writeFileSync(
      join(migrations, `${next}-add-probe.sql`),
      'CREATE TABLE probe (id INTEGER PRIMARY KEY);\n',
    );
    const storage = SqliteStorage.open(path, { migrationsDir: migrations });
    await storage.setSetting('still', 'works');
    await storage.close();
    assert.deepEqual(
      appliedMigrations(path).map((row) => row.number),
      [...numbers, (numbers.at(-1) ?? 0) + 1],
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
});
