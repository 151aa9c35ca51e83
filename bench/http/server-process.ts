/**
 * Starts a real `stockstrader serve` process for a benchmark, the way an operator would (the CLI
 * binary, its own SQLite file, the manual feed), and waits until it is ready. The benchmark's own
 * process then only generates or orchestrates load; the server has a process of its own. Spawning
 * and readiness are the stress suites' (test/support/server-processes.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerProcesses, freePort } from '../../test/support/server-processes.ts';

export { freePort };

export const BENCH_ADMIN_TOKEN = 'bench-admin-token';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  dbPath: string;
  /** Milliseconds from spawn until the server was ready. */
  startupMs: number;
  /** Resident set size of the server process, in MiB, read from /proc. */
  rssMiB(): number;
  stop(): Promise<void>;
}

const processes = new ServerProcesses();

/** Starts a server on `dbPath` (a fresh temp file when omitted) and waits until it is ready. */
export async function startServerProcess(
  options: { dbPath?: string; extraArgs?: string[] } = {},
): Promise<ServerProcess> {
  const dir = options.dbPath ? undefined : mkdtempSync(join(tmpdir(), 'stockstrader-bench-'));
  const dbPath = options.dbPath ?? join(dir as string, 'bench.db');
  // BENCH_CPU_PROFILE=<dir> writes a V8 CPU profile of the server (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROFILE;
  const started = process.hrtime.bigint();
  const server = await processes.start(
    [
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
    process.env,
    profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
  );
  const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    url: server.url,
    child: server.child,
    dbPath,
    startupMs,
    rssMiB: () => readRssMiB(server.child.pid),
    stop: async () => {
      await processes.terminate(server);
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
