/**
 * Composition root: wires storage, engine, application, feed and HTTP together from a resolved
 * configuration, and tears them down in order. The CLI and the tests both start servers here.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { ControllableClock } from '../adapters/clock/controllable-clock.ts';
import { DEFAULT_INSTRUMENTS } from '../adapters/catalogue/default-instruments.ts';
import { ReplayFeed } from '../adapters/feeds/replay-feed.ts';
import { SimulatorFeed } from '../adapters/feeds/simulator-feed.ts';
import { UpstreamFeed } from '../adapters/feeds/upstream-feed.ts';
import { SqliteStorage } from '../adapters/storage/sqlite/sqlite-storage.ts';
import { PostgresStorage } from '../adapters/storage/postgres/postgres-storage.ts';
import { Leadership } from './leadership.ts';
import { seedCatalogue, seedDemo, type DemoCredentials } from '../application/bootstrap.ts';
import { IdentityService, generateToken, hashToken } from '../application/identity-service.ts';
import type { Feed } from '../application/ports.ts';
import type { Storage } from '../application/storage.ts';
import { TradingService } from '../application/trading-service.ts';
import { Engine } from '../engine/engine.ts';
import { isMarketOpen } from '../engine/calendar/trading-calendar.ts';
import { buildApp } from './http/build-app.ts';
import { CLOCK_SETTING } from './http/admin-routes.ts';
import { ServerMetrics } from './http/metrics.ts';
import type { RequestLogMode } from './http/request-log.ts';

export interface ServerConfig {
  port: number;
  host: string;
  /** SQLite file path, or ':memory:'. */
  db: string;
  /** PostgreSQL URL: when set, it is used instead of `db`, and several processes may share it. */
  databaseUrl: string | undefined;
  feed: 'sim' | 'manual' | 'replay' | 'upstream';
  replay: ReplayConfig;
  upstream: UpstreamConfig;
  /** Fixed admin token; when absent one is generated at first start and only its hash kept. */
  adminToken: string | undefined;
  marketHours: 'enforce' | 'ignore';
  logLevel: string;
  /** Which requests get a log line: none, those answered 4xx/5xx, or all. */
  requestLog: RequestLogMode;
  seed: number;
  stopOutLevel: number;
  marginCallLevel: number;
  /** Market orders on quotes older than this are rejected; null disables the check. */
  maxQuoteAgeSeconds: number | null;
  /** Simulator time acceleration (1 = real volatility). */
  simulatorSpeed: number;
  /** Create the demo user and accounts on first start. */
  seedDemo: boolean;
  /** Requests per second per token (0 disables), and the burst a token may send at once. */
  rateLimit: number;
  rateBurst: number;
  /** A request must arrive completely within this many milliseconds. */
  requestTimeoutMs: number;
}

export interface ReplayConfig {
  files: string[];
  /** Data seconds per wall second; 0 replays as fast as possible. */
  speed: number;
  onMalformed: 'skip' | 'fail';
}

export interface UpstreamConfig {
  url: string | undefined;
  token: string | undefined;
  account: string | undefined;
  watch: string[];
  requestsPerSecond: number;
}

export const DEFAULT_CONFIG: ServerConfig = {
  port: 8080,
  host: '127.0.0.1',
  db: 'data/stockstrader.db',
  databaseUrl: undefined,
  feed: 'sim',
  replay: { files: [], speed: 1, onMalformed: 'fail' },
  upstream: { url: undefined, token: undefined, account: undefined, watch: [], requestsPerSecond: 2 },
  adminToken: undefined,
  marketHours: 'enforce',
  logLevel: 'info',
  requestLog: 'errors',
  seed: 42,
  stopOutLevel: 50,
  marginCallLevel: 100,
  maxQuoteAgeSeconds: 60,
  simulatorSpeed: 1,
  seedDemo: true,
  rateLimit: 50,
  rateBurst: 100,
  requestTimeoutMs: 30_000,
};

export interface FirstStart {
  adminToken: string | undefined;
  demo: DemoCredentials | undefined;
  credentialsFile: string | undefined;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  trading: TradingService;
  identity: IdentityService;
  clock: ControllableClock;
  storage: Storage;
  firstStart: FirstStart;
  close(): Promise<void>;
}

export class StartupError extends Error {}

const VERSION = '0.1.0';
/** How long a graceful shutdown waits for open connections before closing them. */
const CLOSE_GRACE_MS = 5_000;
const ADMIN_HASH_SETTING = 'admin_token_hash';

export async function startServer(
  config: ServerConfig,
  options: { logger?: Logger } = {},
): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const storage = await openStorage(config, logger);
  try {
    return await startOnStorage(config, storage, logger);
  } catch (error) {
    await storage.close();
    throw error;
  }
}

async function openStorage(config: ServerConfig, logger: Logger): Promise<Storage> {
  if (config.databaseUrl !== undefined) {
    try {
      return await PostgresStorage.open(config.databaseUrl, {
        onBackgroundError: (error) =>
          logger.warn({ err: error }, 'database background connection failed; retrying'),
      });
    } catch (error) {
      throw new StartupError(`cannot open PostgreSQL database: ${(error as Error).message}`);
    }
  }
  try {
    return SqliteStorage.open(config.db);
  } catch (error) {
    throw new StartupError(`cannot open database ${config.db}: ${(error as Error).message}`);
  }
}

async function startOnStorage(
  config: ServerConfig,
  storage: Storage,
  logger: Logger,
): Promise<RunningServer> {
  const clock = new ControllableClock();
  const engine = new Engine({
    ids: storage.ids,
    marketHours: config.marketHours,
    stopOutLevel: config.stopOutLevel,
    marginCallLevel: config.marginCallLevel,
    maxQuoteAgeSeconds: config.maxQuoteAgeSeconds,
  });
  // The fatal handler needs `close`, which needs everything built below: bind it late.
  const fatal: { handler?: (error: unknown) => void } = {};
  // The metrics read the service lazily (gauges), and the service reports into the metrics.
  const ref: { trading?: TradingService } = {};
  const metrics = new ServerMetrics(() => ref.trading);
  const trading = new TradingService({
    engine,
    storage,
    clock,
    logger,
    onFatal: (error) => fatal.handler?.(error),
    observer: metrics,
  });
  ref.trading = trading;
  const bootstrap = async (): Promise<{ identity: IdentityService; firstStart: FirstStart }> => {
    await seedCatalogue(storage, DEFAULT_INSTRUMENTS);
    await restoreClock(storage, clock, logger);
    await trading.load();
    const firstStart: FirstStart = { adminToken: undefined, demo: undefined, credentialsFile: undefined };
    let adminHash =
      config.adminToken === undefined
        ? await storage.getSetting(ADMIN_HASH_SETTING)
        : hashToken(config.adminToken);
    if (adminHash === undefined) {
      firstStart.adminToken = generateToken('admin');
      adminHash = hashToken(firstStart.adminToken);
      await storage.setSetting(ADMIN_HASH_SETTING, adminHash);
    }
    const identity = new IdentityService(storage, adminHash, () => trading.now());
    if (config.seedDemo) firstStart.demo = await seedDemo(storage, identity, trading);
    return { identity, firstStart };
  };
  // Processes starting together on a shared database seed it once, one after another.
  const { identity, firstStart } = storage.shared
    ? await storage.shared.exclusively(bootstrap)
    : await bootstrap();
  if (
    config.databaseUrl === undefined &&
    config.db !== ':memory:' &&
    (firstStart.demo || firstStart.adminToken)
  ) {
    firstStart.credentialsFile = join(dirname(config.db), 'credentials.txt');
    writeFileSync(firstStart.credentialsFile, credentialsText(firstStart), { mode: 0o600 });
  }

  const ownFeed = createFeed(config, { engine, clock, logger });
  // With a shared database one process, the leader, runs the feed and the periodic tick; the
  // others stand by and take over when the leader's database session ends.
  const leader = new Leadership(ownFeed, trading, logger);
  const feed = storage.shared ? leader.feed() : ownFeed;
  // Not ready until the feed's first quotes are in, and again from the moment shutdown begins.
  const readiness = { starting: true, closing: false };
  const notReady = (): string | undefined => {
    if (readiness.closing) return 'shutting down';
    if (readiness.starting) return "starting: waiting for the feed's first quotes";
    const status = feed?.status();
    if (status?.state === 'failing' || status?.state === 'failed') {
      const lastError = status.detail.last_error;
      return `the ${status.name} feed is ${status.state}${lastError ? `: ${String(lastError)}` : ''}`;
    }
    return undefined;
  };
  const app = await buildApp({
    trading,
    identity,
    clock,
    feed,
    logger,
    version: VERSION,
    metrics,
    rateLimit: { ratePerSecond: config.rateLimit, burst: config.rateBurst },
    requestTimeoutMs: config.requestTimeoutMs,
    requestLog: config.requestLog,
    notReady,
  });

  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(`port ${config.port} on ${config.host} is already in use`);
    if (code === 'EACCES') throw new StartupError(`no permission to listen on ${config.host}:${config.port}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new StartupError(`cannot listen on host ${config.host}`);
    throw error;
  }
  if (storage.shared) {
    await storage.shared.listen(trading.clusterListener());
    storage.shared.contendForFeed(leader);
  } else {
    leader.acquired();
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      readiness.closing = true;
      await leader.stop();
      // Requests in flight finish; a connection still open after a grace period (a client that
      // keeps a keep-alive socket busy) is cut rather than holding the exit for its timeout.
      const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      force.unref();
      await app.close();
      clearTimeout(force);
      await trading.flush().catch(() => undefined);
      await storage.close();
    })());
  fatal.handler = (error) => {
    logger.fatal({ err: error }, 'storage failure: shutting down');
    void close().finally(() => {
      process.exitCode = 1;
    });
  };
  // The banner and /readyz wait for the first quotes, so no client sees an instrument unquoted.
  await leader.started();
  readiness.starting = false;

  return { url: address, app, trading, identity, clock, storage, firstStart, close };
}

/** A manual clock survives restarts, so time never runs backwards across them. */
async function restoreClock(storage: Storage, clock: ControllableClock, logger: Logger): Promise<void> {
  const stored = await storage.getSetting(CLOCK_SETTING);
  if (stored === undefined) return;
  const { mode, nowMs } = JSON.parse(stored) as { mode: string; nowMs: number };
  if (mode === 'manual' && Number.isFinite(nowMs)) {
    clock.setManual(nowMs);
    logger.info({ event: 'clock_restored', now: Math.floor(nowMs / 1000) }, 'manual clock restored');
  }
}

function createFeed(
  config: ServerConfig,
  { engine, clock, logger }: { engine: Engine; clock: ControllableClock; logger: Logger },
): Feed | undefined {
  switch (config.feed) {
    case 'manual':
      return undefined;
    case 'sim':
      return new SimulatorFeed({
        instruments: engine.instruments(),
        clock,
        seed: config.seed,
        initialQuotes: new Map([...engine.market.all()].map((quote) => [quote.ticker, quote])),
        isOpen: (instrument, now) =>
          config.marketHours === 'ignore' || isMarketOpen(instrument.calendar, now),
        timeAcceleration: config.simulatorSpeed,
        onError: (error) => logger.error({ err: error }, 'simulator step failed'),
      });
    case 'replay':
      if (config.replay.files.length === 0)
        throw new StartupError('--feed replay needs --replay-file <file.csv>[,more.csv]');
      for (const file of config.replay.files) {
        if (!existsSync(file)) throw new StartupError(`replay file ${file} does not exist`);
      }
      return new ReplayFeed({
        files: config.replay.files,
        instruments: (ticker) => engine.instrument(ticker),
        clock,
        speed: config.replay.speed,
        onMalformed: config.replay.onMalformed,
        logger,
      });
    case 'upstream': {
      const { url, token, account, watch, requestsPerSecond } = config.upstream;
      if (!url || !token || !account || watch.length === 0) {
        throw new StartupError(
          '--feed upstream needs --upstream-url, --upstream-token, --upstream-account and --watch',
        );
      }
      const unknown = watch.filter((ticker) => !engine.instrument(ticker));
      if (unknown.length > 0)
        throw new StartupError(`--watch names unknown instruments: ${unknown.join(', ')}`);
      return new UpstreamFeed({
        baseUrl: url,
        token,
        accountId: account,
        watch,
        requestsPerSecond,
        clock,
        logger,
      });
    }
  }
}

function credentialsText(firstStart: FirstStart): string {
  const lines = [
    '# Written at first start by stockstrader-server. Tokens are stored only as hashes in the database.',
  ];
  if (firstStart.adminToken) lines.push(`admin_token=${firstStart.adminToken}`);
  if (firstStart.demo) {
    lines.push(`demo_token=${firstStart.demo.token}`);
    lines.push(`demo_netting_account=${firstStart.demo.nettingAccountId}`);
    lines.push(`demo_hedging_account=${firstStart.demo.hedgingAccountId}`);
  }
  return lines.join('\n') + '\n';
}
