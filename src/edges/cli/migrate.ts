/**
 * `stockstrader migrate`: opens the database named by `--db` or `--database-url` (the same options
 * as `serve`), which creates or upgrades its schema, and closes it again.
 */
import { Command } from 'commander';
import { SqliteStorage } from '../../adapters/storage/sqlite/sqlite-storage.ts';
import { PostgresStorage } from '../../adapters/storage/postgres/postgres-storage.ts';
import { redactUrl } from './redact-url.ts';
import { DATABASE_OPTIONS, serverConfigFrom } from './serve-options.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('create or upgrade the database schema, then exit')
    .addOption(DATABASE_OPTIONS.db.commanderOption())
    .addOption(DATABASE_OPTIONS.databaseUrl.commanderOption())
    .action(async (options: Record<string, unknown>) => {
      const { db, databaseUrl } = serverConfigFrom(DATABASE_OPTIONS, options, { warn: () => undefined });
      if (databaseUrl !== undefined) {
        const storage = await PostgresStorage.open(databaseUrl).catch((error: unknown) => {
          throw new Error(
            `cannot open PostgreSQL database ${redactUrl(databaseUrl)}: ${(error as Error).message}`,
          );
        });
        await storage.close();
        process.stdout.write(`database ${redactUrl(databaseUrl)} is up to date\n`);
        return;
      }
      const storage = SqliteStorage.open(db);
      await storage.close();
      process.stdout.write(`database ${db} is up to date\n`);
    });
}
