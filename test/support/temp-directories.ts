/**
 * Temp directories for one test file: `tempDirectories(prefix)` registers an `after` hook that
 * removes every directory the returned function made, however the file ends. Call it once, at the
 * top level of the file.
 */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDirectories(prefix: string): () => string {
  const directories: string[] = [];
  after(() => {
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  });
  return () => {
    const directory = mkdtempSync(join(tmpdir(), prefix));
    directories.push(directory);
    return directory;
  };
}
