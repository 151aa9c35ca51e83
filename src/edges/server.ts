/**
 * Composition root: wires storage, engine, application, feed and HTTP together from a resolved
 * configuration, and tears them down in order. The CLI and the tests both start servers here.
 * Configuration (config.ts), the feed (feed-factory.ts) and first-start seeding (first-start.ts)
 * live in their own modules; this one only composes them.
 */
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { ControllableClock, describeTime } from '../adapters/clock/controllable-clock.ts';
import { DEFAULT_INSTRUMENTS } from '../adapters/catalogue/default-instruments.ts';
import { ReplayFeed } from '../adapters/feeds/replay-feed.ts';
import { SqliteStorage } from '../adapters/storage/sqlite/sqlite-storage.ts';
import { PostgresStorage } from '../adapters/storage/postgres/postgres-storage.ts';
import { Leadership } from './leadership.ts';
import { seedCatalogue } from '../application/bootstrap.ts';
import type { IdentityService } from '../application/identity-service.ts';
import { ClockControl, type ClockStart } from '../application/clock-control.ts';
import { AppError } from '../application/errors.ts';
import type { Storage } from '../application/storage.ts';
import { PeriodicWork } from '../application/periodic-work.ts';
import { CandleRecorder } from '../application/market-data/candle-recorder.ts';
import { TradingService } from '../application/trading-service.ts';
import { Engine } from '../engine/engine.ts';
import type { ServerConfig } from './config.ts';
import { createFeed } from './feed-factory.ts';
import { saveFirstStartCredentials, seedFirstStart, type FirstStart } from './first-start.ts';
import { StartupError } from './startup-error.ts';
import { VERSION } from './version.ts';
import { buildApp } from './http/build-app.ts';
import { ServerMetrics } from './http/metrics.ts';

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

/** How long a graceful shutdown waits for open connections before closing them. */
const CLOSE_GRACE_MS = 5_000;

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
  const candles = new CandleRecorder({
    store: storage,
    clock,
    logger,
    tickers: () => engine.instruments().map((instrument) => instrument.ticker),
  });
  const trading = new TradingService({
    engine,
    storage,
    clock,
    logger,
    onFatal: (error) => fatal.handler?.(error),
    observer: metrics,
    candles,
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
    return seedFirstStart(config, storage, trading);
  };
  // Processes starting together on a shared database seed it once, one after another.
  const { identity, firstStart } = storage.shared
    ? await storage.shared.exclusively(bootstrap)
    : await bootstrap();
  saveFirstStartCredentials(config, firstStart);

  const ownFeed = createFeed(config, { engine, clock, logger });
  if (ownFeed instanceof ReplayFeed) await checkReplayStart(ownFeed, storage);
  // With a shared database one process, the leader, runs the feed and the periodic tick; the
  // others stand by and take over when the leader's database session ends.
  // The leader's periodic work also keeps candle retention, by its clock (a replay's is the data's).
  const periodic = new PeriodicWork({ tick: () => trading.tick().finally(() => candles.prune()) }, logger);
  const leader = new Leadership(ownFeed, trading, periodic, logger);
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
    candles,
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
  // Quotes ingested before this wait in memory for the first write.
  candles.start();

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
      await candles.close();
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
