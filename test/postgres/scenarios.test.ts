// test/scenarios, every file, on PostgreSQL.
import { runFolderOnPostgres } from './on-postgres.ts';

await runFolderOnPostgres('scenarios');
