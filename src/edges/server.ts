/**
 * Composition root: wires storage, engine, application, feed and HTTP together from a resolved
 * configuration, and tears them down in order. The CLI and the tests both start servers here.
 * Configuration (config.ts), the feed (feed-factory.ts), first-start seeding (first-start.ts),
 * readiness (readiness.ts) and the order of shutdown (shutdown.ts) live in their own modules;
 * this one only composes them.
 *
 * Start-up order: storage, then the service (loaded under the cluster's exclusive lock on shared
 * PostgreSQL), then HTTP; only then does the process contend for the feed, and it becomes ready
 * once the feed's first quotes are in (Leadership.firstQuotes).
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
import { EventRetention } from '../application/streaming/event-retention.ts';
import { CandleRecorder } from '../application/market-data/candle-recorder.ts';
import { TradingService } from '../application/trading-service.ts';
import { Engine } from '../engine/engine.ts';
import type { ServerConfig } from './config.ts';
import { createFeed } from './feed-factory.ts';
import { saveFirstStartCredentials, seedFirstStart, type FirstStart } from './first-start.ts';
import { listenOrRefuse } from './listen.ts';
import { Readiness } from './readiness.ts';
import { closeInOrder } from './shutdown.ts';
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
  if (config.feed === 'replay' && Object.values(config.clock).some((value) => value !== undefined))
    throw new StartupError('--clock cannot be used with --feed replay: the replayed data sets the time');
  const { engine, trading, candles, clock, clockControl, metrics, fatal } = composeService(
    config,
    storage,
    logger,
  );
  // Processes starting together on a shared database seed it once, one after another.
  const seed = (): Promise<{ identity: IdentityService; firstStart: FirstStart }> =>
    bootstrap(config, { storage, trading, clockControl, logger });
  const { identity, firstStart } = storage.shared ? await storage.shared.exclusively(seed) : await seed();
  saveFirstStartCredentials(config, firstStart);

  const ownFeed = createFeed(config, { engine, clock, logger });
  if (ownFeed instanceof ReplayFeed) await checkReplayStart(ownFeed, storage);
  // With a shared database one process, the leader, runs the feed and the periodic tick; the
  // others stand by and take over when the leader's database session ends.
  const leader = new Leadership(
    ownFeed,
    trading,
    periodicWork(config, storage, { trading, candles }, logger),
    logger,
  );
  const feed = storage.shared ? leader.feed() : ownFeed;
  const readiness = new Readiness(feed);
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
    notReady: () => readiness.notReady(),
    streamLimits: { heartbeatMs: config.streamHeartbeatMs, bufferBytes: config.streamBufferBytes },
  });
  const address = await listenOrRefuse(app, config);

  const close = closeInOrder({ readiness, leader, app, trading, candles, storage });
  fatal.handler = (error) => {
    logger.fatal({ err: error }, 'storage failure: shutting down');
    void close().finally(() => {
      process.exitCode = 1;
    });
  };
  await takeTurnForFeed(storage, trading, leader);
  // Quotes ingested before this wait in memory for the first write.
  candles.start();
  // The banner and /readyz wait for the first quotes, so no client sees an instrument unquoted.
  await leader.firstQuotes();
  readiness.started();

  return { url: address, app, trading, identity, clock, storage, firstStart, close };
}

/** The engine and the application around it, on open storage, not yet loaded. */
function composeService(config: ServerConfig, storage: Storage, logger: Logger) {
  const clock = new ControllableClock();
  const engine = new Engine({
    ids: storage.ids,
    marketHours: config.marketHours,
    stopOutLevel: config.stopOutLevel,
    marginCallLevel: config.marginCallLevel,
    maxQuoteAgeSeconds: config.maxQuoteAgeSeconds,
  });
  // The fatal handler needs `close`, which needs everything built after: bound late.
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
  return { engine, trading, candles, clock, clockControl, metrics, fatal };
}

/**
 * What the leading process runs on a timer: expirations and stop-outs, event retention, and
 * candle retention, by its clock (a replay's is the data's).
 */
function periodicWork(
  config: ServerConfig,
  storage: Storage,
  { trading, candles }: { trading: TradingService; candles: CandleRecorder },
  logger: Logger,
): PeriodicWork {
  const retention = new EventRetention(
    storage,
    { days: config.eventRetentionDays, count: config.eventRetentionCount },
    () => trading.now(),
    logger,
  );
  return new PeriodicWork(
    {
      tick: () =>
        Promise.all([trading.tick().finally(() => candles.prune()), retention.tick()]).then(() => undefined),
    },
    logger,
  );
}

/** The catalogue, the clock, the stored state, then the first start's admin token and demo user. */
async function bootstrap(
  config: ServerConfig,
  parts: { storage: Storage; trading: TradingService; clockControl: ClockControl; logger: Logger },
): Promise<{ identity: IdentityService; firstStart: FirstStart }> {
  await seedCatalogue(parts.storage, DEFAULT_INSTRUMENTS);
  await startClock(parts.clockControl, config.clock, parts.logger);
  await parts.trading.load();
  return seedFirstStart(config, parts.storage, parts.trading);
}

/**
 * Alone on its database this process leads at once. On a shared one it first hears the other
 * processes, then waits until its first attempt at the feed lock is decided, so that readiness
 * knows whose quotes to wait for (Leadership.firstQuotes).
 */
async function takeTurnForFeed(storage: Storage, trading: TradingService, leader: Leadership): Promise<void> {
  if (!storage.shared) {
    leader.acquired();
    return;
  }
  await trading.joinCluster();
  await storage.shared.contendForFeed(leader);
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
