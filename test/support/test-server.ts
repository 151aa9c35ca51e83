/**
 * Starts a real server on a random port with a fresh SQLite file in a temp dir, the manual feed
 * and a known admin token; removes everything on close. Tests drive it with the typed clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type DestinationStream } from 'pino';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createTestDatabase } from './postgres-cluster.ts';
import { createUserAccount } from './user-accounts.ts';
import { AdminClient } from '../../src/client/admin-client.ts';
import { StocksTraderClient } from '../../src/client/stockstrader-client.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../../src/edges/config.ts';
import { startServer, type RunningServer } from '../../src/edges/server.ts';

export const ADMIN_TOKEN = 'admin-test-token';

export interface TestServer {
  server: RunningServer;
  url: string;
  admin: AdminClient;
  dir: string;
  dbPath: string;
  /** A new user with one account; returns a client bound to the user's token. */
  newAccount(options?: Partial<AccountOptions>): Promise<TestAccount>;
  /**
   * Stops the server and starts a new one on the same database file and port, as after a
   * process restart: clients made before keep working. `server` then names the new one.
   * `overrides` change the configuration from this restart on.
   */
  restart(overrides?: Partial<ServerConfig>): Promise<void>;
  /** Reads straight from the server's database (SQLite or PostgreSQL), bypassing the API. */
  query<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

export interface AccountOptions {
  system: 'netting' | 'hedging';
  currency: string;
  balance: number;
}

export interface TestAccount {
  userId: string;
  token: string;
  accountId: string;
  client: StocksTraderClient;
}

/**
 * Which database the API suites run on: SQLite by default; `STOCKSTRADER_TEST_DATABASE=postgres`
 * (set by the test/postgres wrappers) gives each server a fresh PostgreSQL database instead.
 */
export const TEST_DATABASE = process.env.STOCKSTRADER_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

export interface TestServerOptions {
  /** Where the server's log goes (with `logLevel` in the overrides): to inspect what it logs. */
  logStream?: DestinationStream;
}

export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'stockstrader-test-'));
  const dbPath = join(dir, 'test.db');
  const database = TEST_DATABASE === 'postgres' ? await createTestDatabase() : undefined;
  let config: ServerConfig = {
    ...DEFAULT_CONFIG,
    port: 0,
    db: dbPath,
    databaseUrl: database?.url,
    feed: 'manual',
    adminToken: ADMIN_TOKEN,
    marketHours: 'ignore',
    logLevel: 'silent',
    maxQuoteAgeSeconds: null,
    seedDemo: false,
    // Suites drive thousands of requests from one token; the rate-limit suite turns it on.
    rateLimit: 0,
    // Suites send bad tokens on purpose (the stress suites thousands); the throttle's suite turns it on.
    authFailureLimit: 0,
    ...overrides,
  };
  const logger = () => pino({ level: config.logLevel }, options.logStream);
  let server: RunningServer;
  try {
    server = await startServer(config, { logger: logger() });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    await database?.drop();
    throw error;
  }
  const admin = new AdminClient({ baseUrl: server.url, token: ADMIN_TOKEN });
  let closed = false;
  const testServer: TestServer = {
    server,
    url: server.url,
    admin,
    dir,
    dbPath,
    async restart(overrides = {}) {
      await testServer.server.close();
      // The same port keeps the URL, so clients bound to it before the restart still reach it.
      config = { ...config, port: Number(new URL(testServer.url).port), ...overrides };
      testServer.server = await startServer(config, { logger: logger() });
    },
    async query<T>(sql: string): Promise<T[]> {
      if (database) {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          return (await client.query(sql)).rows as T[];
        } finally {
          await client.end();
        }
      }
      const db = new Database(dbPath, { readonly: true });
      try {
        return db.prepare(sql).all() as T[];
      } finally {
        db.close();
      }
    },
    async newAccount(options = {}) {
      const { userId, token, accountId } = await createUserAccount(
        admin,
        `user-${Math.random().toString(36).slice(2, 8)}`,
        { ...options, accountName: 'test account' },
      );
      return { userId, token, accountId, client: new StocksTraderClient({ baseUrl: testServer.url, token }) };
    },
    async close() {
      if (closed) return;
      closed = true;
      await testServer.server.close();
      rmSync(dir, { recursive: true, force: true });
      await database?.drop();
    },
  };
  return testServer;
}

/** Raw HTTP for wire-level assertions (status codes, exact bodies). */
export async function raw(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: string; contentType?: string } = {},
): Promise<{
  status: number;
  body: { code?: string; msg?: string; data?: unknown; error?: string };
  text: string;
  headers: Headers;
}> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.contentType) headers['content-type'] = options.contentType;
  const response = await fetch(url + path, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await response.text();
  let body: { code?: string; msg?: string; data?: unknown; error?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = {};
  }
  return { status: response.status, body, text, headers: response.headers };
}
