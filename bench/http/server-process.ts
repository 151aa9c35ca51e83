/**
 * Starts a real `stockstrader serve` process for a benchmark, the way an operator would (the CLI
 * binary, its own SQLite file, the manual feed), and waits until it is ready. The benchmark's own
 * process then only generates or orchestrates load; the server has a process of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/server-processes.ts';

export { freePort };

export const BENCH_ADMIN_TOKEN = 'bench-admin-token';
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stockstrader.js');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  dbPath: string;
  /** Milliseconds from spawn until /readyz answered 200. */
  startupMs: number;
  /** Resident set size of the server process, in MiB, read from /proc. */
  rssMiB(): number;
  stop(): Promise<void>;
}

export async function waitUntilReady(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`server exited with code ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server at ${url} not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Starts a server on `dbPath` (a fresh temp file when omitted) and waits until it is ready. */
export async function startServerProcess(
  options: { dbPath?: string; extraArgs?: string[] } = {},
): Promise<ServerProcess> {
  const dir = options.dbPath ? undefined : mkdtempSync(join(tmpdir(), 'stockstrader-bench-'));
  const dbPath = options.dbPath ?? join(dir as string, 'bench.db');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = process.hrtime.bigint();
  // BENCH_CPU_PROFILE=<dir> writes a V8 CPU profile of the server (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROFILE;
  const child = spawn(
    process.execPath,
    [
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      BIN,
      'serve',
      '--port',
      String(port),
      '--db',
      dbPath,
      '--feed',
      'manual',
      '--market-hours',
      'ignore',
      '--max-quote-age',
      '0',
      '--rate-limit',
      '0',
      '--log-level',
      'warn',
      '--admin-token',
      BENCH_ADMIN_TOKEN,
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitUntilReady(url, child);
  const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    url,
    child,
    dbPath,
    startupMs,
    rssMiB: () => readRssMiB(child.pid),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return Number.NaN;
  }
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}
