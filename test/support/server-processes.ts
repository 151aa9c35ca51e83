/**
 * Real `stockstrader serve` processes for the stress suites: spawned on a free port, ready once the
 * start banner is printed (on standard error) or `/readyz` answers 200, killed with SIGKILL or
 * stopped with SIGTERM.
 * A `ServerProcesses` set remembers every process it started so that `killAll` (call it in `after`)
 * leaves nothing running, even when a test fails half-way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/stockstrader.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 200;

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** The last few kB of standard error. */
  stderr(): string;
  /** The last few kB of standard output and standard error (the logs), for failure messages. */
  output(): string;
  /** True until the process has exited. */
  alive(): boolean;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export class ServerProcesses {
  readonly #children = new Set<ChildProcess>();
  /** Ports handed out, so that processes started together never share one (and /readyz asks ours). */
  readonly #ports = new Set<number>();

  /**
   * Starts a server for crash tests on the SQLite file `db`: the manual feed, market hours
   * ignored, quotes never stale, no demo user, silent logs and no rate limiting (the load is
   * deliberately heavier than one client should send).
   */
  startOnSqlite(db: string, adminToken: string): Promise<ServerProcess> {
    return this.start(
      [
        '--db',
        db,
        '--feed',
        'manual',
        '--market-hours',
        'ignore',
        '--admin-token',
        adminToken,
        '--log-level',
        'silent',
        '--no-demo',
        '--max-quote-age',
        '0',
      ],
      { ...process.env, STOCKSTRADER_RATE_LIMIT: '0' },
    );
  }

  /**
   * Starts a cluster member on the PostgreSQL database `databaseUrl` (DATABASE_URL of the test run
   * left out, so the flag is the one database): `feed`, market hours ignored, quotes never stale,
   * no rate limiting, warnings only, and no demo user (nothing to race over at first start, and
   * no credentials file in ./data).
   */
  startOnPostgres(
    databaseUrl: string,
    adminToken: string,
    feed: 'manual' | 'sim' = 'manual',
  ): Promise<ServerProcess> {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    return this.start(
      [
        '--database-url',
        databaseUrl,
        '--host',
        '127.0.0.1',
        '--feed',
        feed,
        '--market-hours',
        'ignore',
        '--max-quote-age',
        '0',
        '--rate-limit',
        '0',
        '--admin-token',
        adminToken,
        '--log-level',
        'warn',
        '--no-demo',
      ],
      env,
    );
  }

  /**
   * Starts `stockstrader serve <args> --port <free port>` and resolves once it serves requests;
   * retries on the rare port race. `args` must not name a port; `nodeArgs` go to node itself
   * (e.g. `--cpu-prof`).
   */
  async start(
    args: readonly string[],
    env: NodeJS.ProcessEnv = process.env,
    nodeArgs: readonly string[] = [],
  ): Promise<ServerProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        let port = await freePort();
        while (this.#ports.has(port)) port = await freePort();
        this.#ports.add(port);
        return await this.#spawn(args, port, env, nodeArgs);
      } catch (error) {
        if (attempt >= 5 || !/already in use/.test(String(error))) throw error;
      }
    }
  }

  #spawn(
    args: readonly string[],
    port: number,
    env: NodeJS.ProcessEnv,
    nodeArgs: readonly string[],
  ): Promise<ServerProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', ...args, '--port', String(port)], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.#children.add(child);
      let stdout = '';
      let stderr = '';
      let settled = false;
      let polling: NodeJS.Timeout | undefined;
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      const url = `http://127.0.0.1:${port}`;
      const server: ServerProcess = {
        child,
        url,
        port,
        exited,
        stderr: () => stderr,
        output: () => `${stdout}\n${stderr}`.trim(),
        alive: () => child.exitCode === null && child.signalCode === null,
      };
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(polling);
        if (error) reject(error);
        else resolve(server);
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(new Error(`server did not start within ${START_TIMEOUT_MS} ms: ${stdout}${stderr}`));
      }, START_TIMEOUT_MS);
      // The banner goes to standard error; standard output is the log stream.
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-8_000);
        if (!settled && /is running at http:\/\/\S+/.test(stderr) && stderr.includes('Try: curl')) finish();
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout = (stdout + chunk.toString()).slice(-8_000);
      });
      // The banner may change; /readyz answering 200 means the same thing.
      const poll = (): void => {
        if (settled) return;
        fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
          (response) => {
            void response.body?.cancel();
            if (response.status === 200) finish();
            else polling = setTimeout(poll, READY_POLL_MS);
          },
          () => {
            polling = setTimeout(poll, READY_POLL_MS);
          },
        );
      };
      polling = setTimeout(poll, READY_POLL_MS);
      void exited.then((code) => {
        const signal = child.signalCode === null ? '' : ` (${child.signalCode})`;
        finish(new Error(`server exited with ${code}${signal} before listening: ${server.output()}`));
      });
    });
  }

  /** SIGKILL: no chance to flush or say goodbye. */
  async killHard(server: ServerProcess): Promise<void> {
    if (server.alive()) server.child.kill('SIGKILL');
    await server.exited;
    this.#children.delete(server.child);
  }

  /** SIGTERM; resolves with the exit code. */
  async terminate(server: ServerProcess): Promise<number | null> {
    if (server.alive()) server.child.kill('SIGTERM');
    const code = await server.exited;
    this.#children.delete(server.child);
    return code;
  }

  /** Forgets a process that has exited on its own terms (it is no longer ours to kill). */
  forget(server: ServerProcess): void {
    this.#children.delete(server.child);
  }

  async killAll(): Promise<void> {
    await Promise.all(
      [...this.#children].map(async (child) => {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await gone;
        }
        this.#children.delete(child);
      }),
    );
  }
}
