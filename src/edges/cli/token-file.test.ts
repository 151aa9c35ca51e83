import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartupError } from '../startup-error.ts';
import { readTokenFile } from './token-file.ts';

const FLAG = '--upstream-token-file';
let directory: string;
before(() => {
  directory = mkdtempSync(join(tmpdir(), 'token-file-'));
});
after(() => rmSync(directory, { recursive: true, force: true }));

function file(name: string, content: string, mode = 0o600): string {
  const path = join(directory, name);
  writeFileSync(path, content);
  // Set after writing, so the process umask cannot change it.
  chmodSync(path, mode);
  return path;
}

function refusal(path: string): string {
  try {
    readTokenFile(path, FLAG);
  } catch (error) {
    assert.ok(error instanceof StartupError, String(error));
    return error.message;
  }
  assert.fail(`${path} was accepted`);
}

describe('readTokenFile', () => {
  it('reads the token and trims the newline around it', () => {
    assert.deepEqual(readTokenFile(file('plain', 'st_abc123\n'), FLAG), {
      token: 'st_abc123',
      warning: undefined,
    });
    assert.equal(readTokenFile(file('crlf', '  st_abc123\r\n\n'), FLAG).token, 'st_abc123');
    assert.equal(readTokenFile(file('bare', 'st_abc123'), FLAG).token, 'st_abc123');
  });

  it('refuses a missing, empty, unreadable or multi-token file, naming the flag and the path', () => {
    const missing = join(directory, 'missing');
    assert.match(refusal(missing), new RegExp(`^${FLAG} ${missing} does not exist`));
    const empty = file('empty', '');
    assert.equal(refusal(empty), `${FLAG} ${empty} is empty: it must hold the token`);
    assert.equal(
      refusal(file('blank', ' \n\n')),
      `${FLAG} ${join(directory, 'blank')} is empty: it must hold the token`,
    );
    const two = file('two', 'st_one\nst_two\n');
    assert.equal(refusal(two), `${FLAG} ${two} must hold one token on one line, with no spaces inside it`);
    const folder = join(directory, 'folder');
    mkdirSync(folder);
    assert.equal(refusal(folder), `${FLAG} ${folder} is not a file`);
  });

  it('warns when other users can read the file', { skip: process.platform === 'win32' }, () => {
    const open = file('open', 'st_abc123\n', 0o644);
    assert.equal(
      readTokenFile(open, FLAG).warning,
      `${FLAG} ${open} can be read by other users (mode 644): restrict it with chmod 600 ${open}`,
    );
    assert.equal(
      readTokenFile(file('group', 'st_abc123\n', 0o640), FLAG).warning?.includes('mode 640'),
      true,
    );
    assert.equal(readTokenFile(file('private', 'st_abc123\n', 0o600), FLAG).warning, undefined);
  });
});
