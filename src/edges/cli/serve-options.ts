/**
 * The one table of `serve` options: flag, environment variable, default, parser, help text and the
 * `ServerConfig` field each sets. It builds both the commander options and the configuration, and
 * README.md's flag table is kept equal to it (test/docs/flag-table.test.ts).
 *
 * Invariants:
 * - An option's value type is fixed by its `parse`/`is` pair, and `apply` is checked against the
 *   config field it sets, so adding an option types its config field without a cast.
 * - The table key is commander's attribute name for the flag (`--clock-start` → `clockStart`,
 *   `--no-demo` → `demo`); `serveOptions()` refuses a key that is not.
 * - Options apply in table order onto a copy of DEFAULT_CONFIG: `--upstream-token-file` comes after
 *   `--upstream-token` (commander refuses the two together).
 */
import { Option } from 'commander';
import { REQUEST_LOG_MODES } from '../http/request-log.ts';
import {
  CLOCK_START_MODES,
  DEFAULT_CONFIG,
  FEEDS,
  LOG_LEVELS,
  MARKET_HOURS_MODES,
  type ServerConfig,
} from '../config.ts';
import { REPLAY_ON_MALFORMED } from '../../adapters/feeds/replay-csv.ts';
import { REPLAY_STARTS } from '../../adapters/feeds/replay-feed.ts';
import { integer, list, nonEmpty, nonNegativeNumber, positiveNumber, time } from './parsers.ts';
import { readTokenFile } from './token-file.ts';

/** What applying an option may need besides the configuration. */
export interface ServeContext {
  warn(message: string): void;
}

interface ServeOptionSpec<T> {
  /** Commander flag with its value placeholder, e.g. `--port <number>`. */
  flag: string;
  env?: string;
  help: string;
  /** Given to commander (shown by `--help`) when neither the flag nor its variable is set. */
  default?: NoInfer<T>;
  /** The default as README states it, when it is not the value itself. */
  documentedDefault?: string;
  choices?: readonly string[];
  parse?: (raw: string) => NoInfer<Exclude<T, undefined>>;
  /** The attribute name of an option this one may not be given with. */
  conflicts?: string;
  /** Checks the value commander hands back against the option's type, which it fixes. */
  is: (value: unknown) => value is T;
  apply: (config: ServerConfig, value: NoInfer<T>, context: ServeContext) => void;
}

/** A table entry with its value type closed over: what the CLI and the README test read. */
export interface ServeOption {
  flag: string;
  /** The long flag without its placeholder, e.g. `--port`. */
  name: string;
  env: string | undefined;
  /** The default as README shows it: empty when there is none. */
  documentedDefault: string;
  commanderOption(): Option;
  applyTo(config: ServerConfig, value: unknown, context: ServeContext): void;
}

function option<T>(spec: ServeOptionSpec<T>): ServeOption {
  const name = spec.flag.split(' ')[0] ?? spec.flag;
  return {
    flag: spec.flag,
    name,
    env: spec.env,
    documentedDefault:
      spec.documentedDefault ?? (spec.default === undefined ? '' : `\`${String(spec.default)}\``),
    commanderOption: () => {
      const built = new Option(spec.flag, spec.help);
      if (spec.env !== undefined) built.env(spec.env);
      if (spec.choices !== undefined) built.choices(spec.choices);
      if (spec.default !== undefined) built.default(spec.default);
      if (spec.parse !== undefined) built.argParser(spec.parse);
      if (spec.conflicts !== undefined) built.conflicts(spec.conflicts);
      return built;
    },
    applyTo: (config, value, context) => {
      if (!spec.is(value)) throw new Error(`${name}: unexpected value ${String(value)}`);
      spec.apply(config, value, context);
    },
  };
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number';
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');
const isOneOf =
  <C extends string>(choices: readonly C[]) =>
  (value: unknown): value is C =>
    choices.some((choice) => choice === value);
const orUndefined =
  <T>(is: (value: unknown) => value is T) =>
  (value: unknown): value is T | undefined =>
    value === undefined || is(value);

// Named, so that each option's value type is inferred from a concrete guard.
const isFeed = isOneOf(FEEDS);
const isMarketHoursMode = isOneOf(MARKET_HOURS_MODES);
const isReplayOnMalformed = isOneOf(REPLAY_ON_MALFORMED);
const isReplayStart = isOneOf(REPLAY_STARTS);
const isRequestLogMode = isOneOf(REQUEST_LOG_MODES);
const isOptionalNumber = orUndefined(isNumber);
const isOptionalClockStartMode = orUndefined(isOneOf(CLOCK_START_MODES));
const isOptionalString = orUndefined(isString);
const isOptionalStringList = orUndefined(isStringList);

const POSTGRES_HELP =
  'PostgreSQL URL (postgres://user:pass@host:5432/db); used instead of --db, shareable by several processes';

/** `--db` and `--database-url`, which `migrate` takes too. */
export const DATABASE_OPTIONS = {
  db: option({
    flag: '--db <file>',
    env: 'STOCKSTRADER_DB',
    help: 'SQLite database file',
    default: DEFAULT_CONFIG.db,
    is: isString,
    apply: (config, value) => (config.db = value),
  }),
  databaseUrl: option({
    flag: '--database-url <url>',
    env: 'DATABASE_URL',
    help: POSTGRES_HELP,
    is: isOptionalString,
    apply: (config, value) => (config.databaseUrl = value),
  }),
} as const;

export const SERVE_OPTIONS: Readonly<Record<string, ServeOption>> = {
  port: option({
    flag: '--port <number>',
    env: 'PORT',
    help: 'port to listen on',
    default: DEFAULT_CONFIG.port,
    parse: integer(0, 65535),
    is: isNumber,
    apply: (config, value) => (config.port = value),
  }),
  host: option({
    flag: '--host <host>',
    env: 'HOST',
    help: 'interface to listen on',
    default: DEFAULT_CONFIG.host,
    is: isString,
    apply: (config, value) => (config.host = value),
  }),
  ...DATABASE_OPTIONS,
  feed: option({
    flag: '--feed <feed>',
    env: 'STOCKSTRADER_FEED',
    help: 'market data feed',
    choices: FEEDS,
    default: DEFAULT_CONFIG.feed,
    is: isFeed,
    apply: (config, value) => (config.feed = value),
  }),
  replayFile: option({
    flag: '--replay-file <files>',
    env: 'STOCKSTRADER_REPLAY_FILE',
    help: 'replay CSV file(s), comma-separated',
    parse: list,
    is: isOptionalStringList,
    apply: (config, value) => (config.replay.files = value ?? []),
  }),
  speed: option({
    flag: '--speed <factor>',
    env: 'STOCKSTRADER_SPEED',
    help: 'replay speed: data seconds per second (0 = as fast as possible)',
    default: DEFAULT_CONFIG.replay.speed,
    parse: nonNegativeNumber,
    is: isNumber,
    apply: (config, value) => (config.replay.speed = value),
  }),
  replayOnMalformed: option({
    flag: '--replay-on-malformed <action>',
    env: 'STOCKSTRADER_REPLAY_ON_MALFORMED',
    help: 'skip malformed CSV lines or fail the replay',
    choices: REPLAY_ON_MALFORMED,
    default: DEFAULT_CONFIG.replay.onMalformed,
    is: isReplayOnMalformed,
    apply: (config, value) => (config.replay.onMalformed = value),
  }),
  replayStart: option({
    flag: '--replay-start <state>',
    env: 'STOCKSTRADER_REPLAY_START',
    help: 'start the replay running, or paused until a resume or a step',
    choices: REPLAY_STARTS,
    default: DEFAULT_CONFIG.replay.start,
    is: isReplayStart,
    apply: (config, value) => (config.replay.start = value),
  }),
  upstreamUrl: option({
    flag: '--upstream-url <url>',
    env: 'STOCKSTRADER_UPSTREAM_URL',
    help: 'StocksTrader server to take quotes from',
    is: isOptionalString,
    apply: (config, value) => (config.upstream.url = value),
  }),
  upstreamToken: option({
    flag: '--upstream-token <token>',
    env: 'STOCKSTRADER_UPSTREAM_TOKEN',
    help: 'bearer token for the upstream server',
    is: isOptionalString,
    apply: (config, value) => (config.upstream.token = value),
  }),
  upstreamTokenFile: option({
    flag: '--upstream-token-file <path>',
    env: 'STOCKSTRADER_UPSTREAM_TOKEN_FILE',
    help: 'file holding the upstream bearer token (kept out of ps)',
    conflicts: 'upstreamToken',
    is: isOptionalString,
    apply: (config, value, context) => {
      if (value === undefined) return;
      const read = readTokenFile(value, '--upstream-token-file');
      if (read.warning) context.warn(read.warning);
      config.upstream.token = read.token;
    },
  }),
  upstreamAccount: option({
    flag: '--upstream-account <id>',
    env: 'STOCKSTRADER_UPSTREAM_ACCOUNT',
    help: 'upstream account id used for quote requests',
    is: isOptionalString,
    apply: (config, value) => (config.upstream.account = value),
  }),
  watch: option({
    flag: '--watch <tickers>',
    env: 'STOCKSTRADER_WATCH',
    help: 'tickers to poll upstream, comma-separated',
    parse: list,
    is: isOptionalStringList,
    apply: (config, value) => (config.upstream.watch = value ?? []),
  }),
  upstreamRate: option({
    flag: '--upstream-rate <requests>',
    env: 'STOCKSTRADER_UPSTREAM_RATE',
    help: 'upstream request budget per second',
    default: DEFAULT_CONFIG.upstream.requestsPerSecond,
    parse: positiveNumber,
    is: isNumber,
    apply: (config, value) => (config.upstream.requestsPerSecond = value),
  }),
  adminToken: option({
    flag: '--admin-token <token>',
    env: 'STOCKSTRADER_ADMIN_TOKEN',
    help: 'admin token (generated at first start when absent)',
    documentedDefault: 'generated at first start',
    is: isOptionalString,
    apply: (config, value) => (config.adminToken = value),
  }),
  marketHours: option({
    flag: '--market-hours <mode>',
    env: 'STOCKSTRADER_MARKET_HOURS',
    help: 'enforce trading calendars or ignore them',
    choices: MARKET_HOURS_MODES,
    default: DEFAULT_CONFIG.marketHours,
    is: isMarketHoursMode,
    apply: (config, value) => (config.marketHours = value),
  }),
  clock: option({
    flag: '--clock <mode>',
    env: 'STOCKSTRADER_CLOCK',
    help: 'clock: real, manual (stands still; moved with the admin API) or running (from --clock-start at --clock-speed); default: the stored clock, else real',
    documentedDefault: 'stored, else `real`',
    choices: CLOCK_START_MODES,
    is: isOptionalClockStartMode,
    apply: (config, value) => (config.clock.mode = value),
  }),
  clockStart: option({
    flag: '--clock-start <time>',
    env: 'STOCKSTRADER_CLOCK_START',
    help: 'where a manual or running clock starts: Unix seconds or ISO 8601 (implies --clock running)',
    parse: time,
    is: isOptionalNumber,
    apply: (config, value) => (config.clock.startMs = value),
  }),
  clockSpeed: option({
    flag: '--clock-speed <factor>',
    env: 'STOCKSTRADER_CLOCK_SPEED',
    help: 'running clock: clock seconds per real second',
    documentedDefault: '`1`',
    parse: positiveNumber,
    is: isOptionalNumber,
    apply: (config, value) => (config.clock.speed = value),
  }),
  logLevel: option({
    flag: '--log-level <level>',
    env: 'LOG_LEVEL',
    help: 'log level',
    choices: LOG_LEVELS,
    default: DEFAULT_CONFIG.logLevel,
    is: isString,
    apply: (config, value) => (config.logLevel = value),
  }),
  requestLog: option({
    flag: '--request-log <mode>',
    env: 'STOCKSTRADER_REQUEST_LOG',
    help: 'log a line for no request, those answered 4xx/5xx, or all',
    choices: REQUEST_LOG_MODES,
    default: DEFAULT_CONFIG.requestLog,
    is: isRequestLogMode,
    apply: (config, value) => (config.requestLog = value),
  }),
  seed: option({
    flag: '--seed <number>',
    env: 'STOCKSTRADER_SEED',
    help: 'simulator seed',
    default: DEFAULT_CONFIG.seed,
    parse: integer(0, 2 ** 31 - 1),
    is: isNumber,
    apply: (config, value) => (config.seed = value),
  }),
  simSpeed: option({
    flag: '--sim-speed <factor>',
    env: 'STOCKSTRADER_SIM_SPEED',
    help: 'simulator time acceleration (1 = real volatility)',
    default: DEFAULT_CONFIG.simulatorSpeed,
    parse: positiveNumber,
    is: isNumber,
    apply: (config, value) => (config.simulatorSpeed = value),
  }),
  stopOutLevel: option({
    flag: '--stop-out-level <percent>',
    env: 'STOCKSTRADER_STOP_OUT_LEVEL',
    help: 'margin level that triggers stop-out',
    default: DEFAULT_CONFIG.stopOutLevel,
    parse: integer(0, 10_000),
    is: isNumber,
    apply: (config, value) => (config.stopOutLevel = value),
  }),
  marginCallLevel: option({
    flag: '--margin-call-level <percent>',
    env: 'STOCKSTRADER_MARGIN_CALL_LEVEL',
    help: 'margin level that triggers a margin call',
    default: DEFAULT_CONFIG.marginCallLevel,
    parse: integer(0, 10_000),
    is: isNumber,
    apply: (config, value) => (config.marginCallLevel = value),
  }),
  maxQuoteAge: option({
    flag: '--max-quote-age <seconds>',
    env: 'STOCKSTRADER_MAX_QUOTE_AGE',
    help: 'reject market orders on older quotes (0 disables)',
    default: DEFAULT_CONFIG.maxQuoteAgeSeconds ?? 0,
    parse: integer(0, 1e9),
    is: isNumber,
    apply: (config, value) => (config.maxQuoteAgeSeconds = value === 0 ? null : value),
  }),
  rateLimit: option({
    flag: '--rate-limit <per-second>',
    env: 'STOCKSTRADER_RATE_LIMIT',
    help: 'requests per second per token (0 disables)',
    default: DEFAULT_CONFIG.rateLimit,
    parse: integer(0, 1_000_000),
    is: isNumber,
    apply: (config, value) => (config.rateLimit = value),
  }),
  rateBurst: option({
    flag: '--rate-burst <requests>',
    env: 'STOCKSTRADER_RATE_BURST',
    help: 'requests a token may send at once',
    default: DEFAULT_CONFIG.rateBurst,
    parse: integer(1, 1_000_000),
    is: isNumber,
    apply: (config, value) => (config.rateBurst = value),
  }),
  authFailureLimit: option({
    flag: '--auth-failure-limit <per-second>',
    env: 'STOCKSTRADER_AUTH_FAILURE_LIMIT',
    help: 'failed authentications per second per client address (0 disables)',
    default: DEFAULT_CONFIG.authFailureLimit,
    parse: integer(0, 1_000_000),
    is: isNumber,
    apply: (config, value) => (config.authFailureLimit = value),
  }),
  authFailureBurst: option({
    flag: '--auth-failure-burst <failures>',
    env: 'STOCKSTRADER_AUTH_FAILURE_BURST',
    help: 'failed authentications a client address may have at once',
    default: DEFAULT_CONFIG.authFailureBurst,
    parse: integer(1, 1_000_000),
    is: isNumber,
    apply: (config, value) => (config.authFailureBurst = value),
  }),
  metricsToken: option({
    flag: '--metrics-token <token>',
    env: 'STOCKSTRADER_METRICS_TOKEN',
    help: 'require Authorization: Bearer <token> on /metrics',
    parse: nonEmpty,
    is: isOptionalString,
    apply: (config, value) => (config.metricsToken = value),
  }),
  eventRetentionDays: option({
    flag: '--event-retention-days <days>',
    env: 'STOCKSTRADER_EVENT_RETENTION_DAYS',
    help: 'keep account events this many days (or the newest --event-retention-count, whichever keeps more)',
    default: DEFAULT_CONFIG.eventRetentionDays,
    parse: integer(0, 36_500),
    is: isNumber,
    apply: (config, value) => (config.eventRetentionDays = value),
  }),
  eventRetentionCount: option({
    flag: '--event-retention-count <events>',
    env: 'STOCKSTRADER_EVENT_RETENTION_COUNT',
    help: 'keep at least the newest this many account events',
    default: DEFAULT_CONFIG.eventRetentionCount,
    parse: integer(0, 1e12),
    is: isNumber,
    apply: (config, value) => (config.eventRetentionCount = value),
  }),
  streamBuffer: option({
    flag: '--stream-buffer <bytes>',
    env: 'STOCKSTRADER_STREAM_BUFFER',
    help: 'bytes a stream client may leave unread before it is disconnected',
    default: DEFAULT_CONFIG.streamBufferBytes,
    documentedDefault: '`1048576` (1 MiB)',
    parse: integer(16 * 1024, 1024 ** 3),
    is: isNumber,
    apply: (config, value) => (config.streamBufferBytes = value),
  }),
  demo: option({
    flag: '--no-demo',
    help: 'do not create the demo user at first start',
    is: isBoolean,
    apply: (config, value) => (config.seedDemo = value),
  }),
};

/** The table's commander options, each checked to be stored under its table key. */
export function commanderOptions(table: Readonly<Record<string, ServeOption>>): Option[] {
  return Object.entries(table).map(([key, entry]) => {
    const built = entry.commanderOption();
    if (built.attributeName() !== key)
      throw new Error(`serve option ${entry.name} is stored as ${built.attributeName()}, not ${key}`);
    return built;
  });
}

/** The configuration the parsed option values describe, on top of DEFAULT_CONFIG. */
export function serverConfigFrom(
  table: Readonly<Record<string, ServeOption>>,
  values: Readonly<Record<string, unknown>>,
  context: ServeContext,
): ServerConfig {
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    clock: { mode: undefined, startMs: undefined, speed: undefined },
    replay: { ...DEFAULT_CONFIG.replay },
    upstream: { ...DEFAULT_CONFIG.upstream },
  };
  for (const [key, entry] of Object.entries(table)) entry.applyTo(config, values[key], context);
  return config;
}
