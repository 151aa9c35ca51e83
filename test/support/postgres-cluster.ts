/**
 * Throwaway PostgreSQL for tests: a private cluster in a temp dir on a random local port, and
 * fresh databases inside it.
 *
 * - `startPostgresCluster` runs initdb and pg_ctl from the newest /usr/lib/postgresql/<version>
 *   (installing the Debian package first when none is there and we are root). initdb refuses to
 *   run as root, so as root the cluster belongs to the `postgres` user and both tools run through
 *   runuser (or su). The cluster keeps fsync and synchronous_commit on, as production must, and
 *   trusts local connections; `stop` shuts it down and removes its dir, and so does the exit of
 *   the process if `stop` was never called (in immediate mode: an exit handler cannot wait).
 * - `createTestDatabase` makes an empty database `t_<random hex>`: in the cluster named by
 *   STOCKSTRADER_TEST_PG_URL when set (scripts/test.ts starts one cluster for a whole run), else
 *   in a cluster of this process, started on first use. That cluster is stopped shortly after its
 *   last database is dropped, and in any case when the process exits or is killed by
 *   SIGINT/SIGTERM/SIGHUP, so running one test file directly leaves nothing behind.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

export const TEST_PG_URL_VARIABLE = 'STOCKSTRADER_TEST_PG_URL';

export interface PostgresCluster {
  /** Admin URL: postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  /** Shuts the server down and removes its dir; calling it again does nothing. */
  stop(): Promise<void>;
}

export interface TestDatabase {
  url: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

const run = promisify(execFile);
const POSTGRES_ROOT = '/usr/lib/postgresql';
const OS_USER = 'postgres';
/** How long a cluster of this process outlives its last database, in case another one is wanted. */
const LINGER_MS = 2_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface Binaries {
  initdb: string;
  pgCtl: string;
}

/**
 * A cluster that stops itself when the process exits (a caller that forgets `stop` leaks
 * nothing). The exit handler can only run synchronous code, so it stops in immediate mode.
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  return startCluster({ stopOnSignals: false });
}

/**
 * `stopOnSignals` also stops the cluster on SIGINT, SIGTERM and SIGHUP, then lets the signal
 * take its usual course; for processes that do not handle those signals themselves.
 */
async function startCluster({ stopOnSignals }: { stopOnSignals: boolean }): Promise<PostgresCluster> {
  const binaries = findOrInstallBinaries();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'stockstrader-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const command = (program: string, args: readonly string[]): [string, string[]] =>
    asRoot ? asPostgresUser(program, args) : [program, [...args]];

  let stopped = false;
  const forget = (): void => {
    process.off('exit', stopNow);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  const stopNow = (): void => {
    if (stopped) return;
    stopped = true;
    forget();
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      spawnSync(...command(binaries.pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w']), {
        stdio: 'ignore',
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    stopNow();
    // Without other listeners, die of the signal as the process would have without this one.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on('exit', stopNow);
  if (stopOnSignals) for (const signal of SIGNALS) process.on(signal, onSignal);

  try {
    if (asRoot) {
      const { uid, gid } = osUser(OS_USER);
      chownSync(dir, uid, gid);
    }
    const port = await freePort();
    await runTool(
      'initdb',
      command(binaries.initdb, [
        '-D',
        dataDir,
        '-A',
        'trust',
        '-U',
        OS_USER,
        '--no-sync',
        '-E',
        'UTF8',
        '--locale=C',
      ]),
    );
    const serverOptions = [
      `-p ${port}`,
      `-k '${dir}'`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=on',
      '-c synchronous_commit=on',
      '-c max_connections=200',
    ].join(' ');
    await runTool(
      'pg_ctl start',
      command(binaries.pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-o', serverOptions]),
      logFile,
    );
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      forget();
      try {
        await runTool('pg_ctl stop', command(binaries.pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w']));
      } catch {
        await run(...command(binaries.pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w'])).catch(
          () => undefined,
        );
      }
      rmSync(dir, { recursive: true, force: true });
    };
    return { url: `postgres://${OS_USER}@127.0.0.1:${port}/postgres`, stop };
  } catch (error) {
    stopNow();
    throw error;
  }
}

/** The cluster of this process when STOCKSTRADER_TEST_PG_URL is unset, with its live databases. */
let ownCluster: { started: Promise<PostgresCluster>; live: number; linger?: NodeJS.Timeout } | undefined;

export async function createTestDatabase(): Promise<TestDatabase> {
  const shared = process.env[TEST_PG_URL_VARIABLE];
  if (shared !== undefined && shared !== '') return createDatabase(shared, async () => undefined);

  if (ownCluster === undefined) {
    ownCluster = { started: startCluster({ stopOnSignals: true }), live: 0 };
  }
  const own = ownCluster;
  clearTimeout(own.linger);
  own.live += 1;
  try {
    const cluster = await own.started;
    return await createDatabase(cluster.url, async () => {
      own.live -= 1;
      if (own.live > 0) return;
      own.linger = setTimeout(() => {
        if (ownCluster === own) ownCluster = undefined;
        void cluster.stop();
      }, LINGER_MS);
      own.linger.unref();
    });
  } catch (error) {
    own.live -= 1;
    throw error;
  }
}

async function createDatabase(adminUrl: string, afterDrop: () => Promise<void>): Promise<TestDatabase> {
  const name = `t_${randomBytes(8).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      await afterDrop();
    },
  };
}

async function withAdmin(url: string, work: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

function findOrInstallBinaries(): Binaries {
  const found = findBinaries();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `no PostgreSQL server binaries under ${POSTGRES_ROOT}/<version>/bin; install the postgresql package ` +
        `(apt-get install postgresql) or set ${TEST_PG_URL_VARIABLE} to the admin URL of a running server`,
    );
  }
  const install = spawnSync('apt-get', ['install', '-y', 'postgresql'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
  });
  const installed = findBinaries();
  if (installed) return installed;
  throw new Error(
    `no PostgreSQL server binaries under ${POSTGRES_ROOT}/<version>/bin, and apt-get install -y postgresql ` +
      `did not provide them (exit ${install.status ?? install.error?.message}):\n${tail(install.stderr ?? '')}`,
  );
}

function findBinaries(): Binaries | undefined {
  if (!existsSync(POSTGRES_ROOT)) return undefined;
  const versions = readdirSync(POSTGRES_ROOT)
    .filter((entry) => /^\d+(\.\d+)?$/.test(entry))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(POSTGRES_ROOT, version, 'bin');
    const binaries = { initdb: join(bin, 'initdb'), pgCtl: join(bin, 'pg_ctl') };
    if (existsSync(binaries.initdb) && existsSync(binaries.pgCtl)) return binaries;
  }
  return undefined;
}

function osUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      `initdb cannot run as root and there is no "${name}" user to run it as; install the postgresql package`,
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** The command line that runs a program as the postgres user: runuser, or su where it is missing. */
function asPostgresUser(program: string, args: readonly string[]): [string, string[]] {
  if (existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser')) {
    return ['runuser', ['-u', OS_USER, '--', program, ...args]];
  }
  return ['su', ['-s', '/bin/sh', OS_USER, '-c', [program, ...args].map(shellQuote).join(' ')]];
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

async function runTool(label: string, [program, args]: [string, string[]], logFile?: string): Promise<void> {
  try {
    await run(program, args, { timeout: 120_000 });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    const log = logFile !== undefined && existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    throw new Error(
      `${label} failed: ${failure.message.split('\n')[0]}\n${tail(
        [failure.stdout, failure.stderr, log].filter(Boolean).join('\n'),
      )}`,
    );
  }
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-20).join('\n');
}

/** A port that was free a moment ago: bind port 0, read the port, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read a free port');
  return address.port;
}
