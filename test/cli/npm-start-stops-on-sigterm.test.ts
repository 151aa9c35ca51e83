/**
 * `npm start`, exactly as the README runs it: SIGTERM to the process npm started must stop the
 * server gracefully (its port closes, every process of the tree exits, the shutdown is announced),
 * rather than kill a wrapper and leave the server serving. Linux only: the process tree is read
 * from /proc. Whatever happens, every process the test started is killed at the end.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;

/** The processes whose parent is `pid`, from /proc/<pid>/stat. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  for (const child of childrenOf(pid)) found.push(child, ...descendantsOf(child));
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('npm start', { skip: process.platform !== 'linux' && 'reads the process tree from /proc' }, () => {
  let dir = '';
  let npm: ChildProcess | undefined;
  const seen = new Set<number>();
  after(() => {
    // npm leads a process group of its own: end the group, then anything seen that escaped it.
    if (npm?.pid !== undefined) {
      try {
        process.kill(-npm.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const pid of seen) {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stops the server gracefully when the process npm started gets SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stockstrader-npm-start-'));
    const started = spawn(
      'npm',
      [
        'start',
        '--',
        '--port',
        '0',
        '--db',
        join(dir, 'server.db'),
        '--feed',
        'manual',
        '--log-level',
        'silent',
      ],
      { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    npm = started;
    assert.ok(started.pid !== undefined);
    seen.add(started.pid);
    let output = '';
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));

    let port: number | undefined;
    await waitFor(
      () => `the banner:\n${output}`,
      () => {
        if (started.exitCode !== null) assert.fail(`no banner:\n${output}`);
        const match = /running at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (match) port = Number(match[1]);
        return port !== undefined;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 50 },
    );
    assert.ok(port !== undefined);
    assert.ok(await portOpen(port), 'the server listens');

    const tree = descendantsOf(started.pid);
    for (const pid of tree) seen.add(pid);
    const [direct, ...others] = childrenOf(started.pid);
    assert.ok(
      direct !== undefined && others.length === 0,
      `npm started one process: ${tree.map(commandOf).join(' | ')}`,
    );
    process.kill(direct, 'SIGTERM');

    const code = await Promise.race([exited, delay(STOP_TIMEOUT_MS).then(() => 'still running')]);
    assert.equal(code, 0, `npm ended with ${String(code)}:\n${output}`);
    await waitFor(
      () => `every process of the tree to exit: ${tree.filter(alive).map(commandOf).join(' | ')}`,
      () => !tree.some(alive),
      { timeoutMs: STOP_TIMEOUT_MS, intervalMs: 50 },
    );
    assert.deepEqual(
      tree.filter(alive).map((pid) => `${pid} ${commandOf(pid)}`),
      [],
      'every process of the tree has exited',
    );
    assert.equal(await portOpen(port), false, 'the port is closed');
    assert.match(output, /SIGTERM received, shutting down/);
  });
});
