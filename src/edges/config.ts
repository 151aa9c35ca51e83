/**
 * What a server is started with: the resolved configuration and its defaults. The CLI builds one
 * from flags and environment variables (cli/serve-options.ts); tests spread DEFAULT_CONFIG.
 */
import { RESUME_STORED_CLOCK, type ClockStart } from '../application/clock-control.ts';
import type { SettableClockMode } from '../application/ports.ts';
import type { ReplayMalformedPolicy } from '../adapters/feeds/replay-csv.ts';
import type { ReplayStart } from '../adapters/feeds/replay-feed.ts';
import { DEFAULT_UPSTREAM_REQUESTS_PER_SECOND } from '../adapters/feeds/upstream-feed.ts';
import type { RequestLogMode } from './http/request-log.ts';

export const FEEDS = ['sim', 'manual', 'replay', 'upstream'] as const;
export const MARKET_HOURS_MODES = ['enforce', 'ignore'] as const;
export const CLOCK_START_MODES = [
  'real',
  'manual',
  'running',
] as const satisfies readonly SettableClockMode[];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ServerConfig {
  port: number;
  host: string;
  /** SQLite file path, or ':memory:'. */
  db: string;
  /** PostgreSQL URL: when set, it is used instead of `db`, and several processes may share it. */
  databaseUrl: string | undefined;
  feed: (typeof FEEDS)[number];
  /** How the clock starts; the default resumes the stored clock (real time on a new database). */
  clock: ClockStart;
  replay: ReplayConfig;
  upstream: UpstreamConfig;
  /** Fixed admin token; when absent one is generated at first start and only its hash kept. */
  adminToken: string | undefined;
  marketHours: (typeof MARKET_HOURS_MODES)[number];
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
  /** Account events are kept while newer than this many days or among the newest `eventRetentionCount`. */
  eventRetentionDays: number;
  eventRetentionCount: number;
  /** Milliseconds between stream heartbeats (SSE comments, WebSocket pings). */
  streamHeartbeatMs: number;
  /** Bytes a stream client may leave unread before it is cut off. */
  streamBufferBytes: number;
}

export interface ReplayConfig {
  files: string[];
  /** Data seconds per wall second; 0 replays as fast as possible. */
  speed: number;
  onMalformed: ReplayMalformedPolicy;
  /** 'paused' holds the first quote until a resume or a step, so clients can connect first. */
  start: ReplayStart;
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
  upstream: {
    url: undefined,
    token: undefined,
    account: undefined,
    watch: [],
    requestsPerSecond: DEFAULT_UPSTREAM_REQUESTS_PER_SECOND,
  },
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
  eventRetentionDays: 7,
  eventRetentionCount: 1_000_000,
  streamHeartbeatMs: 15_000,
  streamBufferBytes: 1024 * 1024,
};
