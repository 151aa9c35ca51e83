/**
 * The credentials file a first start writes beside a SQLite database: the admin token and the demo
 * user's token and accounts, the only copy of them outside the start-up banner (the database keeps
 * only hashes).
 *
 * Invariants:
 * - One file per database, named `<database file name>.credentials.txt`, so two databases in one
 *   folder never overwrite each other's tokens. The whole file name is kept (`a.db` and `a.sqlite`
 *   stay apart), and the file sorts beside the database and its `-wal` and `-shm` files.
 * - The file is readable by its owner only (0600), whatever was at its path before, and it appears
 *   complete or not at all: the text goes to a fresh temporary file in the same folder (created
 *   exclusively, so neither a planted file nor a planted symlink is ever opened), is flushed to
 *   disk, and is renamed over the target. A rename replaces a symlink at the target rather than
 *   following it, so a link planted there never redirects the tokens into another file.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DemoCredentials } from '../application/bootstrap.ts';

const OWNER_ONLY = 0o600;

/** Where the credentials of the SQLite database at `databasePath` are kept. */
export function credentialsPath(databasePath: string): string {
  return `${databasePath}.credentials.txt`;
}

export function credentialsText(tokens: {
  adminToken: string | undefined;
  demo: DemoCredentials | undefined;
}): string {
  const lines = [
    '# Written at first start by stockstrader-server. Tokens are stored only as hashes in the database.',
  ];
  if (tokens.adminToken) lines.push(`admin_token=${tokens.adminToken}`);
  if (tokens.demo) {
    lines.push(`demo_token=${tokens.demo.token}`);
    lines.push(`demo_netting_account=${tokens.demo.nettingAccountId}`);
    lines.push(`demo_hedging_account=${tokens.demo.hedgingAccountId}`);
  }
  return lines.join('\n') + '\n';
}

/** Replaces `path` atomically with `text`, readable and writable by the owner only. */
export function writeOwnerOnlyFile(path: string, text: string): void {
  const folder = dirname(path);
  const temporary = join(folder, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  // O_EXCL fails on anything already at the name, a symlink included; O_NOFOLLOW says so twice.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
  const fd = openSync(temporary, flags, OWNER_ONLY);
  try {
    try {
      // The umask can only narrow the mode open gave; set it exactly.
      fchmodSync(fd, OWNER_ONLY);
      const bytes = Buffer.from(text, 'utf8');
      for (let written = 0; written < bytes.length;) {
        written += writeSync(fd, bytes, written, bytes.length - written);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  // The rename itself must survive a crash too.
  const directory = openSync(folder, 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}
