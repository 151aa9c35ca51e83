/**
 * Migrations are the numbered SQL files of ./migrations, applied in order inside one transaction
 * that holds a database-wide advisory lock, so processes starting together migrate exactly once.
 * Each applied migration's checksum is recorded and checked at every start: an edited migration
 * is refused rather than skipped.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from 'pg';
import { changedMigrationError, type Migration } from '../migrations.ts';
import { inTransaction } from './postgres-pool.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** The advisory lock key that serialises migrations of one database ("STMIGR01" in ASCII). */
const MIGRATION_LOCK = 0x53544d4947523031n;

export async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<void> {
  await inTransaction(await pool.connect(), 'BEGIN', async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations
         (number INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const { rows } = await client.query<{ number: number; checksum: string }>(
      'SELECT number, checksum FROM schema_migrations',
    );
    const applied = new Map(rows.map((row) => [row.number, row.checksum]));
    for (const migration of migrations) {
      const checksum = applied.get(migration.number);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) throw changedMigrationError(migration);
        continue;
      }
      await client.query(migration.sql);
      await client.query(
        'INSERT INTO schema_migrations (number, name, checksum, applied_at) VALUES ($1, $2, $3, $4)',
        [migration.number, migration.name, migration.checksum, Math.floor(Date.now() / 1000)],
      );
    }
  });
}
