/**
 * The test entry point (`npm test`): starts one throwaway PostgreSQL cluster for the whole run,
 * hands its admin URL to every test file through STOCKSTRADER_TEST_PG_URL, runs the files with
 * node:test, stops the cluster and exits with the runner's code.
 *
 * Without arguments it runs every `*.test.ts` under src/ and test/ except test/stress/, sorted
 * (Node 20's runner does not expand globs). Arguments that name existing files select those
 * files instead; any other argument (`--test-name-pattern=…`, `--test-only`) goes to node as is.
 *
 * The cluster is stopped however the run ends: when the runner exits, when this script is
 * interrupted (SIGINT, SIGTERM, SIGHUP are passed on to the runner first) or when it fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join, relative } from 'node:path';
import { TEST_PG_URL_VARIABLE, startPostgresCluster } from '../test/support/postgres-cluster.ts';

const ROOTS = ['src', 'test'];
const EXCLUDED = ['test/stress'];

function testFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return EXCLUDED.includes(relative('.', path)) ? [] : testFiles(path);
    return entry.isFile() && entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const isFile = (arg: string): boolean => !arg.startsWith('-') && existsSync(arg) && statSync(arg).isFile();
const chosen = args.filter(isFile);
const options = args.filter((arg) => !isFile(arg));
const files = chosen.length > 0 ? chosen : ROOTS.flatMap(testFiles).sort();

// Installed before the cluster starts, so that an interruption during startup still stops it.
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let runner: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;
const onSignal = (signal: NodeJS.Signals): void => {
  interrupted ??= signal;
  runner?.kill(signal);
};
for (const signal of signals) process.on(signal, onSignal);
const signalCode = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];

function runTests(pgUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    runner = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=2', ...options, ...files],
      {
        stdio: 'inherit',
        env: { ...process.env, [TEST_PG_URL_VARIABLE]: pgUrl },
      },
    );
    runner.once('error', reject);
    runner.once('exit', (code, signal) => resolve(code ?? signalCode(signal ?? 'SIGTERM')));
  });
}

const cluster = await startPostgresCluster();
let exitCode: number;
try {
  exitCode = interrupted === undefined ? await runTests(cluster.url) : signalCode(interrupted);
} finally {
  await cluster.stop();
}
process.exit(exitCode);
