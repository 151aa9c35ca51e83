/**
 * Reads a bearer token from a file, so it need not appear on the command line (where `ps` shows it to
 * every user of the machine).
 *
 * The file holds the token on one line; surrounding whitespace, such as the newline an editor or
 * `echo` adds, is trimmed. An empty file, a file that cannot be read, or one whose content has
 * whitespace inside is refused with a StartupError naming the flag. A file that other users may read
 * is accepted, with a warning, since the token is no safer there than on the command line.
 */
import { readFileSync, statSync } from 'node:fs';
import { StartupError } from '../startup-error.ts';

export interface TokenFile {
  token: string;
  /** Set when the file's permissions let other users read it. */
  warning: string | undefined;
}

export function readTokenFile(path: string, flag: string): TokenFile {
  let text: string;
  let mode: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw new StartupError(`${flag} ${path} is not a file`);
    mode = stats.mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof StartupError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new StartupError(`${flag} ${path} ${reason}: ${(error as Error).message}`, { cause: error });
  }
  const token = text.trim();
  if (token === '') throw new StartupError(`${flag} ${path} is empty: it must hold the token`);
  if (/\s/.test(token)) {
    throw new StartupError(`${flag} ${path} must hold one token on one line, with no spaces inside it`);
  }
  // Windows has no POSIX permission bits to speak of; there the check would always warn.
  const exposed = process.platform !== 'win32' && (mode & 0o044) !== 0;
  const warning = exposed
    ? `${flag} ${path} can be read by other users (mode ${(mode & 0o777).toString(8).padStart(3, '0')}): ` +
      `restrict it with chmod 600 ${path}`
    : undefined;
  return { token, warning };
}
