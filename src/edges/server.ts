/**
 * Composition root: wires storage, engine, application, feed and HTTP together from a resolved
 * configuration, and tears them down in order. The CLI and the tests both start servers here.
 */
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { ControllableClock, describeTime } from '../adapters/clock/controllable-clock.ts';
import { DEFAULT_INSTRUMENTS } from '../adapters/catalogue/default-instruments.ts';
import { ReplayFeed } from '../adapters/feeds/replay-feed.ts';
import { SimulatorFeed } from '../adapters/feeds/simulator-feed.ts';
import { UpstreamFeed } from '../adapters/feeds/upstream-feed.ts';
import { SqliteStorage } from '../adapters/storage/sqlite/sqlite-storage.ts';
import { PostgresStorage } from '../adapters/storage/postgres/postgres-storage.ts';
import { Leadership } from './leadership.ts';
import { seedCatalogue, seedDemo, type DemoCredentials } from '../application/bootstrap.ts';
import { IdentityService, generateToken, hashToken } from '../application/identity-service.ts';
import { ClockControl, RESUME_STORED_CLOCK, type ClockStart } from '../application/clock-control.ts';
import { AppError } from '../application/errors.ts';
import type { Feed } from '../application/ports.ts';
import type { Storage } from '../application/storage.ts';
import { TradingService } from '../application/trading-service.ts';
import { Engine } from '../engine/engine.ts';
import { isMarketOpen } from '../engine/calendar/trading-calendar.ts';
import { credentialsPath, credentialsText, writeOwnerOnlyFile } from './credentials-file.ts';
import { buildApp } from './http/build-app.ts';
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
  /** How the clock starts; the default resumes the stored clock (real time on a new database). */
  clock: ClockStart;
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
  /** Failed authentications per second per client address (0 disables), and the burst allowed. */
  authFailureLimit: number;
  authFailureBurst: number;
  /** When set, GET /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken: string | undefined;
  /** A request must arrive completely within this many milliseconds. */
  requestTimeoutMs: number;
}

export interface ReplayConfig {
  files: string[];
  /** Data seconds per wall second; 0 replays as fast as possible. */
  speed: number;
  onMalformed: 'skip' | 'fail';
  /** 'paused' holds the first quote until a resume or a step, so clients can connect first. */
  start: 'running' | 'paused';
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
  clock: RESUME_STORED_CLOCK,
  replay: { files: [], speed: 1, onMalformed: 'fail', start: 'running' },
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
  authFailureLimit: 2,
  authFailureBurst: 20,
  metricsToken: undefined,
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
  if (config.feed === 'replay' && Object.values(config.clock).some((value) => value !== undefined))
    throw new StartupError('--clock cannot be used with --feed replay: the replayed data sets the time');
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
  const metrics = new ServerMetrics(() => ref.trading, { token: config.metricsToken });
  const trading = new TradingService({
    engine,
    storage,
    clock,
    logger,
    onFatal: (error) => fatal.handler?.(error),
    observer: metrics,
  });
  ref.trading = trading;
  const clockControl = new ClockControl({
    clock,
    settings: storage,
    hasTradingHistory: () => trading.hasTradingHistory(),
    afterMove: () => trading.tick(),
  });
  const bootstrap = async (): Promise<{ identity: IdentityService; firstStart: FirstStart }> => {
    await seedCatalogue(storage, DEFAULT_INSTRUMENTS);
    await startClock(clockControl, config.clock, logger);
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
    firstStart.credentialsFile = credentialsPath(config.db);
    try {
      writeOwnerOnlyFile(firstStart.credentialsFile, credentialsText(firstStart));
    } catch (error) {
      throw new StartupError(`cannot write ${firstStart.credentialsFile}: ${(error as Error).message}`);
    }
  }

  const ownFeed = createFeed(config, { engine, clock, logger });
  if (ownFeed instanceof ReplayFeed) await checkReplayStart(ownFeed, storage);
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
    clock: clockControl,
    feed,
    logger,
    version: VERSION,
    metrics,
    rateLimit: { ratePerSecond: config.rateLimit, burst: config.rateBurst },
    authFailureLimit: { ratePerSecond: config.authFailureLimit, burst: config.authFailureBurst },
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

/** A replay sets the clock to its data: refused when that would go back over stored trades. */
async function checkReplayStart(feed: ReplayFeed, storage: Storage): Promise<void> {
  const startMs = feed.dataStartMs;
  const latest = await storage.latestTradeTime();
  if (startMs === undefined || latest === undefined || startMs >= latest * 1000) return;
  throw new StartupError(
    `the replay starts at ${describeTime(startMs)}, before this database's latest trade at ` +
      `${describeTime(latest * 1000)}: time never moves back over trading history; reset the ` +
      'accounts (`stockstrader admin reset`) or replay on a fresh database',
  );
}

/** Resumes the stored clock and applies the start-up settings; a refusal ends the start. */
async function startClock(clockControl: ClockControl, start: ClockStart, logger: Logger): Promise<void> {
  try {
    await clockControl.start(start);
  } catch (error) {
    if (error instanceof AppError) throw new StartupError(error.message);
    throw error;
  }
  const { mode, now, speed } = clockControl.view();
  if (mode !== 'real') logger.info({ event: 'clock_started', mode, now, speed }, `${mode} clock`);
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
        initialQuotes: new Map(engine.allQuotes().map((quote) => [quote.ticker, quote])),
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
      try {
        return new ReplayFeed({
          files: config.replay.files,
          instruments: (ticker) => engine.instrument(ticker),
          clock,
          speed: config.replay.speed,
          onMalformed: config.replay.onMalformed,
          start: config.replay.start,
          logger,
        });
      } catch (error) {
        throw new StartupError((error as Error).message);
      }
    case 'upstream': {
      const { url, token, account, watch, requestsPerSecond } = config.upstream;
      if (!url || !token || !account || watch.length === 0) {
        throw new StartupError(
          '--feed upstream needs --upstream-url, --upstream-token (or --upstream-token-file), --upstream-account and --watch',
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
