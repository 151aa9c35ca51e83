/**
 * Numbered SQL migrations, shared by the storage adapters (each dialect keeps its own folder).
 *
 * A folder holds `NNNN-name.sql` files numbered in increasing order from 0001; a repeated number or
 * a badly named file is refused when the folder is read. A gap is allowed: parallel branches each
 * take a number, and the one merged later may be lower than one applied already. Adapters apply
 * every migration not yet recorded, in number order, so it is applied on the next start. Each migration carries the SHA-256 of its text: an
 * adapter records it when applying the migration and compares it at every start, so an applied
 * migration that was edited afterwards is refused rather than silently skipped.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Migration {
  number: number;
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(directory: string): Migration[] {
  const files = readdirSync(directory)
    .filter((file) => file.endsWith('.sql'))
    .sort();
  let previous = 0;
  return files.map((file) => {
    const match = /^(\d{4})-[a-z0-9-]+\.sql$/.exec(file);
    if (!match) throw new Error(`migration file ${file} must be named NNNN-name.sql`);
    const number = Number(match[1]);
    if (number <= previous)
      throw new Error(`migration ${file} is out of order: numbers start at 0001, each used once`);
    previous = number;
    const sql = readFileSync(join(directory, file), 'utf8');
    return { number, name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/** The refusal every adapter gives for an applied migration whose text has changed. */
export function changedMigrationError(migration: Migration): Error {
  return new Error(
    `migration ${migration.name} was changed after it was applied; migrations are append-only`,
  );
}
