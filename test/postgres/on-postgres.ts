/**
 * Runs a folder of API-level test files again with every test server on a fresh PostgreSQL
 * database (see TEST_DATABASE in test/support/test-server.ts), so both storage adapters are held
 * to the same requests and answers. One wrapper file per folder imports it.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function runFolderOnPostgres(folder: string): Promise<void> {
  process.env.STOCKSTRADER_TEST_DATABASE = 'postgres';
  const directory = join(dirname(fileURLToPath(import.meta.url)), '..', folder);
  for (const file of readdirSync(directory)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()) {
    await import(join(directory, file));
  }
}
