/**
 * The `stockstrader` command: `serve` runs the server, `admin …` drives a running one through the
 * admin API, `migrate` prepares a database. Configuration is read here, once, from flags and the
 * environment variables that mirror them.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminClient } from '../../client/admin-client.ts';
import { MAX_FEED_STEP_QUOTES, MAX_FEED_STEP_SECONDS } from '../../contract/admin-api.ts';
import { StocksTraderError } from '../../client/http.ts';
import { SqliteStorage } from '../../adapters/storage/sqlite/sqlite-storage.ts';
import { PostgresStorage } from '../../adapters/storage/postgres/postgres-storage.ts';
import { credentialsPath } from '../credentials-file.ts';
import { describeTime, type ControllableClock } from '../../adapters/clock/controllable-clock.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../config.ts';
import { startServer } from '../server.ts';
import { StartupError } from '../startup-error.ts';
import { readTokenFile } from './token-file.ts';
import { REQUEST_LOG_MODES } from '../http/request-log.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return Number(value);
  };
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(number > 0))
    throw new InvalidArgumentError('must be a positive number');
  return number;
}

function nonNegativeNumber(value: string): number {
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(number))
    throw new InvalidArgumentError('must be a number ≥ 0');
  return number;
}

function list(value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new InvalidArgumentError('must name at least one item');
  return items;
}

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return value;
}

function decimal(value: string): number {
  const number = Number(value);
  if (!/^-?\d+(\.\d+)?$/.test(value) || !Number.isFinite(number))
    throw new InvalidArgumentError('must be a decimal number');
  return number;
}

/** A time as Unix seconds (`1795000000`, `1795000000.5`) or ISO 8601 with a zone (`2026-11-26T14:30:00Z`); in milliseconds. */
function time(value: string): number {
  const ms = /^\d+(\.\d+)?$/.test(value)
    ? Number(value) * 1000
    : /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)
      ? Date.parse(value)
      : NaN;
  if (!Number.isFinite(ms) || ms > 1e14)
    throw new InvalidArgumentError(
      'must be Unix seconds (1795000000) or an ISO 8601 time with its zone (2026-11-26T14:30:00Z)',
    );
  return Math.round(ms);
}

function serveCommand(): Command {
  return new Command('serve')
    .description('run the server (SQLite in ./data by default, simulator feed)')
    .addOption(
      new Option('--port <number>', 'port to listen on')
        .env('PORT')
        .default(DEFAULT_CONFIG.port)
        .argParser(integer(0, 65535)),
    )
    .addOption(new Option('--host <host>', 'interface to listen on').env('HOST').default(DEFAULT_CONFIG.host))
    .addOption(
      new Option('--db <file>', 'SQLite database file').env('STOCKSTRADER_DB').default(DEFAULT_CONFIG.db),
    )
    .addOption(
      new Option(
        '--database-url <url>',
        'PostgreSQL URL (postgres://user:pass@host:5432/db); used instead of --db, shareable by several processes',
      ).env('DATABASE_URL'),
    )
    .addOption(
      new Option('--feed <feed>', 'market data feed')
        .env('STOCKSTRADER_FEED')
        .choices(['sim', 'manual', 'replay', 'upstream'])
        .default(DEFAULT_CONFIG.feed),
    )
    .addOption(
      new Option('--replay-file <files>', 'replay CSV file(s), comma-separated')
        .env('STOCKSTRADER_REPLAY_FILE')
        .argParser(list),
    )
    .addOption(
      new Option('--speed <factor>', 'replay speed: data seconds per second (0 = as fast as possible)')
        .env('STOCKSTRADER_SPEED')
        .default(DEFAULT_CONFIG.replay.speed)
        .argParser(nonNegativeNumber),
    )
    .addOption(
      new Option('--replay-on-malformed <action>', 'skip malformed CSV lines or fail the replay')
        .env('STOCKSTRADER_REPLAY_ON_MALFORMED')
        .choices(['skip', 'fail'])
        .default(DEFAULT_CONFIG.replay.onMalformed),
    )
    .addOption(
      new Option('--replay-start <state>', 'start the replay running, or paused until a resume or a step')
        .env('STOCKSTRADER_REPLAY_START')
        .choices(['running', 'paused'])
        .default(DEFAULT_CONFIG.replay.start),
    )
    .addOption(
      new Option('--upstream-url <url>', 'StocksTrader server to take quotes from').env(
        'STOCKSTRADER_UPSTREAM_URL',
      ),
    )
    .addOption(
      new Option('--upstream-token <token>', 'bearer token for the upstream server').env(
        'STOCKSTRADER_UPSTREAM_TOKEN',
      ),
    )
    .addOption(
      new Option('--upstream-token-file <path>', 'file holding the upstream bearer token (kept out of ps)')
        .env('STOCKSTRADER_UPSTREAM_TOKEN_FILE')
        .conflicts('upstreamToken'),
    )
    .addOption(
      new Option('--upstream-account <id>', 'upstream account id used for quote requests').env(
        'STOCKSTRADER_UPSTREAM_ACCOUNT',
      ),
    )
    .addOption(
      new Option('--watch <tickers>', 'tickers to poll upstream, comma-separated')
        .env('STOCKSTRADER_WATCH')
        .argParser(list),
    )
    .addOption(
      new Option('--upstream-rate <requests>', 'upstream request budget per second')
        .env('STOCKSTRADER_UPSTREAM_RATE')
        .default(DEFAULT_CONFIG.upstream.requestsPerSecond)
        .argParser(positiveNumber),
    )
    .addOption(
      new Option('--admin-token <token>', 'admin token (generated at first start when absent)').env(
        'STOCKSTRADER_ADMIN_TOKEN',
      ),
    )
    .addOption(
      new Option('--market-hours <mode>', 'enforce trading calendars or ignore them')
        .env('STOCKSTRADER_MARKET_HOURS')
        .choices(['enforce', 'ignore'])
        .default(DEFAULT_CONFIG.marketHours),
    )
    .addOption(
      new Option(
        '--clock <mode>',
        'clock: real, manual (stands still; moved with the admin API) or running (from --clock-start at --clock-speed); default: the stored clock, else real',
      )
        .env('STOCKSTRADER_CLOCK')
        .choices(['real', 'manual', 'running']),
    )
    .addOption(
      new Option(
        '--clock-start <time>',
        'where a manual or running clock starts: Unix seconds or ISO 8601 (implies --clock running)',
      )
        .env('STOCKSTRADER_CLOCK_START')
        .argParser(time),
    )
    .addOption(
      new Option('--clock-speed <factor>', 'running clock: clock seconds per real second')
        .env('STOCKSTRADER_CLOCK_SPEED')
        .argParser(positiveNumber),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .env('LOG_LEVEL')
        .choices(LOG_LEVELS)
        .default(DEFAULT_CONFIG.logLevel),
    )
    .addOption(
      new Option('--request-log <mode>', 'log a line for no request, those answered 4xx/5xx, or all')
        .env('STOCKSTRADER_REQUEST_LOG')
        .choices(REQUEST_LOG_MODES)
        .default(DEFAULT_CONFIG.requestLog),
    )
    .addOption(
      new Option('--seed <number>', 'simulator seed')
        .env('STOCKSTRADER_SEED')
        .default(DEFAULT_CONFIG.seed)
        .argParser(integer(0, 2 ** 31 - 1)),
    )
    .addOption(
      new Option('--sim-speed <factor>', 'simulator time acceleration (1 = real volatility)')
        .env('STOCKSTRADER_SIM_SPEED')
        .default(DEFAULT_CONFIG.simulatorSpeed)
        .argParser(positiveNumber),
    )
    .addOption(
      new Option('--stop-out-level <percent>', 'margin level that triggers stop-out')
        .env('STOCKSTRADER_STOP_OUT_LEVEL')
        .default(DEFAULT_CONFIG.stopOutLevel)
        .argParser(integer(0, 10_000)),
    )
    .addOption(
      new Option('--margin-call-level <percent>', 'margin level that triggers a margin call')
        .env('STOCKSTRADER_MARGIN_CALL_LEVEL')
        .default(DEFAULT_CONFIG.marginCallLevel)
        .argParser(integer(0, 10_000)),
    )
    .addOption(
      new Option('--max-quote-age <seconds>', 'reject market orders on older quotes (0 disables)')
        .env('STOCKSTRADER_MAX_QUOTE_AGE')
        .default(DEFAULT_CONFIG.maxQuoteAgeSeconds)
        .argParser(integer(0, 1e9)),
    )
    .addOption(
      new Option('--rate-limit <per-second>', 'requests per second per token (0 disables)')
        .env('STOCKSTRADER_RATE_LIMIT')
        .default(DEFAULT_CONFIG.rateLimit)
        .argParser(integer(0, 1_000_000)),
    )
    .addOption(
      new Option('--rate-burst <requests>', 'requests a token may send at once')
        .env('STOCKSTRADER_RATE_BURST')
        .default(DEFAULT_CONFIG.rateBurst)
        .argParser(integer(1, 1_000_000)),
    )
    .addOption(
      new Option(
        '--auth-failure-limit <per-second>',
        'failed authentications per second per client address (0 disables)',
      )
        .env('STOCKSTRADER_AUTH_FAILURE_LIMIT')
        .default(DEFAULT_CONFIG.authFailureLimit)
        .argParser(integer(0, 1_000_000)),
    )
    .addOption(
      new Option(
        '--auth-failure-burst <failures>',
        'failed authentications a client address may have at once',
      )
        .env('STOCKSTRADER_AUTH_FAILURE_BURST')
        .default(DEFAULT_CONFIG.authFailureBurst)
        .argParser(integer(1, 1_000_000)),
    )
    .addOption(
      new Option('--metrics-token <token>', 'require Authorization: Bearer <token> on /metrics')
        .env('STOCKSTRADER_METRICS_TOKEN')
        .argParser(nonEmpty),
    )
    .addOption(new Option('--no-demo', 'do not create the demo user at first start'))
    .action(async (options: Record<string, unknown>) => {
      let upstreamToken = options.upstreamToken as string | undefined;
      const tokenFile = options.upstreamTokenFile as string | undefined;
      if (tokenFile !== undefined) {
        const read = readTokenFile(tokenFile, '--upstream-token-file');
        if (read.warning) process.stderr.write(`stockstrader: warning: ${read.warning}\n`);
        upstreamToken = read.token;
      }
      const config: ServerConfig = {
        port: options.port as number,
        host: options.host as string,
        db: options.db as string,
        databaseUrl: options.databaseUrl as string | undefined,
        feed: options.feed as ServerConfig['feed'],
        clock: {
          mode: options.clock as ServerConfig['clock']['mode'],
          startMs: options.clockStart as number | undefined,
          speed: options.clockSpeed as number | undefined,
        },
        replay: {
          files: (options.replayFile as string[] | undefined) ?? [],
          speed: options.speed as number,
          onMalformed: options.replayOnMalformed as ServerConfig['replay']['onMalformed'],
          start: options.replayStart as ServerConfig['replay']['start'],
        },
        upstream: {
          url: options.upstreamUrl as string | undefined,
          token: upstreamToken,
          account: options.upstreamAccount as string | undefined,
          watch: (options.watch as string[] | undefined) ?? [],
          requestsPerSecond: options.upstreamRate as number,
        },
        adminToken: options.adminToken as string | undefined,
        marketHours: options.marketHours as ServerConfig['marketHours'],
        logLevel: options.logLevel as string,
        requestLog: options.requestLog as ServerConfig['requestLog'],
        seed: options.seed as number,
        simulatorSpeed: options.simSpeed as number,
        stopOutLevel: options.stopOutLevel as number,
        marginCallLevel: options.marginCallLevel as number,
        maxQuoteAgeSeconds: options.maxQuoteAge === 0 ? null : (options.maxQuoteAge as number),
        seedDemo: options.demo !== false,
        rateLimit: options.rateLimit as number,
        rateBurst: options.rateBurst as number,
        authFailureLimit: options.authFailureLimit as number,
        authFailureBurst: options.authFailureBurst as number,
        metricsToken: options.metricsToken as string | undefined,
        requestTimeoutMs: DEFAULT_CONFIG.requestTimeoutMs,
      };
      await serve(config);
    });
}

async function serve(config: ServerConfig): Promise<void> {
  let server;
  try {
    server = await startServer(config);
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`stockstrader: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const running = server;
  const shutdown = (signal: string): void => {
    process.stderr.write(`stockstrader: ${signal} received, shutting down\n`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stockstrader: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  const { url, firstStart } = server;
  const lines = [
    '',
    `stockstrader-server is running at ${url}`,
    `  API base URL:  ${url}/api/v1`,
    `  docs:          ${url}/docs  (OpenAPI: ${url}/openapi.json)`,
    `  database:      ${config.databaseUrl === undefined ? config.db : redactUrl(config.databaseUrl)}`,
    `  feed:          ${describeFeed(config)}`,
    `  market hours:  ${config.marketHours}`,
    `  clock:         ${describeClock(server.clock)}`,
  ];
  if (config.adminToken)
    lines.push('  admin token:   the one given by --admin-token / STOCKSTRADER_ADMIN_TOKEN');
  else if (firstStart.adminToken) lines.push(`  admin token:   ${firstStart.adminToken}`);
  else lines.push(`  admin token:   printed at first start${savedIn(config)}`);
  if (firstStart.demo) {
    lines.push(
      `  demo token:    ${firstStart.demo.token}`,
      `  demo accounts: ${firstStart.demo.nettingAccountId} (netting, USD 100,000), ${firstStart.demo.hedgingAccountId} (hedging, USD 100,000)`,
    );
  } else if (config.seedDemo) {
    lines.push(`  demo user:     created at first start${savedIn(config)}`);
  }
  if (firstStart.credentialsFile) lines.push(`  saved to:      ${firstStart.credentialsFile}`);
  lines.push('', `Try: curl -H "Authorization: Bearer <demo token>" ${url}/api/v1/accounts`, '');
  // Standard output is the log stream (pino writes JSON lines there); the banner is for a person.
  process.stderr.write(lines.join('\n') + '\n');
}

/** Where a first start saved its tokens: beside a SQLite database, nowhere for PostgreSQL. */
function savedIn(config: ServerConfig): string {
  if (config.databaseUrl !== undefined || config.db === ':memory:') return '';
  return ` (see ${credentialsPath(config.db)})`;
}

function describeClock(clock: ControllableClock): string {
  const now = describeTime(clock.nowMs());
  switch (clock.mode) {
    case 'real':
      return 'real time';
    case 'manual':
      return `manual, standing at ${now}`;
    case 'running':
      return `running at ${clock.speed}×, now ${now}`;
    case 'replay':
      return `following the replay, now ${now}`;
  }
}

function describeFeed(config: ServerConfig): string {
  switch (config.feed) {
    case 'sim':
      return `simulator (seed ${config.seed})`;
    case 'manual':
      return 'manual (set quotes with the admin API)';
    case 'replay':
      return `replay of ${config.replay.files.join(', ')} at ${config.replay.speed === 0 ? 'full' : `${config.replay.speed}×`} speed${config.replay.start === 'paused' ? ', paused until a resume or a step' : ''}`;
    case 'upstream':
      return `upstream ${config.upstream.url ?? ''} watching ${config.upstream.watch.join(', ')}`;
  }
}

function adminCommand(): Command {
  const admin = new Command('admin')
    .description('drive a running server through its admin API')
    .addOption(
      new Option('--url <url>', 'server URL').env('STOCKSTRADER_URL').default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--admin-token <token>', 'admin token').env('STOCKSTRADER_ADMIN_TOKEN'));

  const client = (command: Command): AdminClient => {
    const options = command.optsWithGlobals<{ url: string; adminToken?: string }>();
    if (!options.adminToken)
      throw new InvalidArgumentError('an admin token is required: --admin-token or STOCKSTRADER_ADMIN_TOKEN');
    return new AdminClient({ baseUrl: options.url, token: options.adminToken });
  };
  const print = (value: unknown): void => {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  };

  const user = admin.command('user').description('users');
  user
    .command('add')
    .description('create a user')
    .requiredOption('--name <name>', 'user name')
    .action(async (options: { name: string }, command: Command) =>
      print({ user_id: await client(command).createUser(options.name) }),
    );

  const token = admin.command('token').description('bearer tokens');
  token
    .command('issue')
    .description('issue a token for a user')
    .requiredOption('--user <id>', 'user id')
    .action(async (options: { user: string }, command: Command) =>
      print(await client(command).issueToken(options.user)),
    );
  token
    .command('revoke')
    .description('revoke a token (by value, or by user and token id)')
    .option('--token <token>', 'the token')
    .option('--user <id>', 'user id')
    .option('--token-id <id>', 'token id')
    .action(async (options: { token?: string; user?: string; tokenId?: string }, command: Command) => {
      if (options.token) await client(command).revokeToken(options.token);
      else if (options.user && options.tokenId)
        await client(command).revokeTokenById(options.user, options.tokenId);
      else throw new InvalidArgumentError('give --token, or --user with --token-id');
      print({ revoked: true });
    });

  const account = admin.command('account').description('accounts');
  account
    .command('add')
    .description('create an account')
    .requiredOption('--user <id>', 'owner user id')
    .requiredOption('--name <name>', 'account name')
    .addOption(
      new Option('--system <system>', 'position accounting')
        .choices(['netting', 'hedging'])
        .default('netting'),
    )
    .addOption(new Option('--type <type>', 'account type').choices(['demo', 'real']).default('demo'))
    .option('--currency <code>', 'account currency', 'USD')
    .option('--balance <amount>', 'opening balance', decimal, 0)
    .action(
      async (
        options: {
          user: string;
          name: string;
          system: 'netting' | 'hedging';
          type: 'demo' | 'real';
          currency: string;
          balance: number;
        },
        command: Command,
      ) => {
        const id = await client(command).createAccount({
          user_id: options.user,
          name: options.name,
          system: options.system,
          type: options.type,
          currency: options.currency,
          balance: options.balance,
        });
        print({ id });
      },
    );
  account
    .command('show')
    .description('show an account and its state')
    .argument('<account>', 'account id')
    .action(async (accountId: string, _options: unknown, command: Command) =>
      print(await client(command).account(accountId)),
    );
  account
    .command('set')
    .description('rename an account or change its status')
    .argument('<account>', 'account id')
    .option('--name <name>', 'new name')
    .addOption(new Option('--status <status>', 'new status').choices(['enabled', 'disabled', 'no_new_deals']))
    .action(
      async (
        accountId: string,
        options: { name?: string; status?: 'enabled' | 'disabled' | 'no_new_deals' },
        command: Command,
      ) => {
        await client(command).updateAccount(accountId, {
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(options.status === undefined ? {} : { status: options.status }),
        });
        print({ updated: true });
      },
    );

  account
    .command('reset')
    .description('reset an account to its opening state: no orders, deals or history; tokens stay')
    .argument('<account>', 'account id')
    .option('--balance <amount>', 'new opening balance (default: the one it has)', decimal)
    .action(async (accountId: string, options: { balance?: number }, command: Command) =>
      print({ balance: await client(command).resetAccount(accountId, options.balance) }),
    );

  admin
    .command('reset')
    .description('reset every account to its opening state; users, tokens and instruments stay')
    .action(async (_options: unknown, command: Command) =>
      print({ accounts: await client(command).reset() }),
    );

  admin
    .command('deposit')
    .description('deposit into an account (use --amount=-100 or `withdraw` to take money out)')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--amount <amount>', 'amount in the account currency', decimal)
    .option('--comment <text>', 'ledger comment')
    .action(async (options: { account: string; amount: number; comment?: string }, command: Command) =>
      print({
        balance: await client(command).adjustBalance(options.account, options.amount, options.comment),
      }),
    );
  admin
    .command('withdraw')
    .description('withdraw from an account')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--amount <amount>', 'amount in the account currency', positiveNumber)
    .option('--comment <text>', 'ledger comment')
    .action(async (options: { account: string; amount: number; comment?: string }, command: Command) =>
      print({
        balance: await client(command).adjustBalance(
          options.account,
          -options.amount,
          options.comment ?? 'withdrawal',
        ),
      }),
    );

  const quote = admin.command('quote').description('quotes');
  quote
    .command('set')
    .description('make a quote current; crossed triggers fire before it returns')
    .argument('<ticker>', 'instrument ticker')
    .requiredOption('--bid <price>', 'bid price', positiveNumber)
    .requiredOption('--ask <price>', 'ask price', positiveNumber)
    .option('--last <price>', 'last trade price', positiveNumber)
    .action(async (ticker: string, options: { bid: number; ask: number; last?: number }, command: Command) =>
      print(
        await client(command).setQuote(ticker, {
          bid: options.bid,
          ask: options.ask,
          ...(options.last === undefined ? {} : { last: options.last }),
        }),
      ),
    );
  quote
    .command('get')
    .description('show the current quote')
    .argument('<ticker>', 'instrument ticker')
    .action(async (ticker: string, _options: unknown, command: Command) =>
      print(await client(command).getQuote(ticker)),
    );

  quote
    .command('ticks')
    .description('show the newest quotes of an instrument')
    .argument('<ticker>', 'instrument ticker')
    .option('--limit <n>', 'how many', integer(1, 1000), 20)
    .action(async (ticker: string, options: { limit: number }, command: Command) =>
      print(await client(command).ticks(ticker, options.limit)),
    );

  const feed = admin.command('feed').description('the market data feed');
  feed
    .command('status')
    .action(async (_options: unknown, command: Command) => print(await client(command).feed()));
  feed
    .command('pause')
    .action(async (_options: unknown, command: Command) => print(await client(command).pauseFeed()));
  feed
    .command('resume')
    .action(async (_options: unknown, command: Command) => print(await client(command).resumeFeed()));
  feed
    .command('step')
    .description('while the replay is paused, deliver the next quotes or seconds of data; it stays paused')
    .option(
      '--quotes <n>',
      `how many quotes (1 to ${MAX_FEED_STEP_QUOTES})`,
      integer(1, MAX_FEED_STEP_QUOTES),
    )
    .option('--seconds <s>', `how many seconds of data time (up to ${MAX_FEED_STEP_SECONDS})`, positiveNumber)
    .action(async (options: { quotes?: number; seconds?: number }, command: Command) => {
      if ((options.quotes === undefined) === (options.seconds === undefined))
        throw new InvalidArgumentError('give either --quotes <n> or --seconds <s>');
      print(
        await client(command).stepFeed(
          options.quotes === undefined ? { seconds: options.seconds ?? 0 } : { quotes: options.quotes },
        ),
      );
    });

  const clock = admin.command('clock').description('the server clock');
  clock
    .command('show')
    .action(async (_options: unknown, command: Command) => print(await client(command).clock()));
  clock
    .command('set')
    .description(
      'stop the clock at <time> (manual), run it from <time> with --running, or switch back to real time with --real; without <time>, from the current clock time',
    )
    .argument('[time]', 'Unix seconds or ISO 8601 (2026-11-26T14:30:00Z)', time)
    .option('--real', 'switch back to real time')
    .option('--running', 'let the clock run from <time>')
    .option('--speed <factor>', 'with --running: clock seconds per real second', positiveNumber)
    .action(
      async (
        nowMs: number | undefined,
        options: { real?: boolean; running?: boolean; speed?: number },
        command: Command,
      ) => {
        if (options.real && (options.running || nowMs !== undefined || options.speed !== undefined))
          throw new InvalidArgumentError('--real takes no time, --running or --speed');
        if (options.speed !== undefined && !options.running)
          throw new InvalidArgumentError('--speed needs --running');
        const now = nowMs === undefined ? {} : { now: nowMs / 1000 };
        print(
          await client(command).setClock(
            options.real
              ? { mode: 'real' }
              : options.running
                ? {
                    mode: 'running',
                    ...now,
                    ...(options.speed === undefined ? {} : { speed: options.speed }),
                  }
                : { mode: 'manual', ...now },
          ),
        );
      },
    );
  clock
    .command('advance')
    .argument('<seconds>', 'seconds to advance', positiveNumber)
    .action(async (seconds: number, _options: unknown, command: Command) =>
      print(await client(command).advanceClock(seconds)),
    );

  return admin;
}

function migrateCommand(): Command {
  return new Command('migrate')
    .description('create or upgrade the database schema, then exit')
    .addOption(
      new Option('--db <file>', 'SQLite database file').env('STOCKSTRADER_DB').default(DEFAULT_CONFIG.db),
    )
    .addOption(
      new Option(
        '--database-url <url>',
        'PostgreSQL URL (postgres://user:pass@host:5432/db); used instead of --db, shareable by several processes',
      ).env('DATABASE_URL'),
    )
    .action(async (options: { db: string; databaseUrl?: string }) => {
      if (options.databaseUrl !== undefined) {
        const storage = await PostgresStorage.open(options.databaseUrl).catch((error: unknown) => {
          throw new Error(
            `cannot open PostgreSQL database ${redactUrl(options.databaseUrl ?? '')}: ${(error as Error).message}`,
          );
        });
        await storage.close();
        process.stdout.write(`database ${redactUrl(options.databaseUrl)} is up to date\n`);
        return;
      }
      const storage = SqliteStorage.open(options.db);
      await storage.close();
      process.stdout.write(`database ${options.db} is up to date\n`);
    });
}

/** A database URL fit to print: without its password. */
function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('stockstrader')
    .description('Self-hosted StocksTrader REST API server')
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(adminCommand())
    .addCommand(migrateCommand());
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof StocksTraderError) {
      process.stderr.write(`stockstrader: ${error.message} (HTTP ${error.status})\n`);
    } else if (error instanceof InvalidArgumentError || error instanceof StartupError) {
      process.stderr.write(`stockstrader: ${error.message}\n`);
    } else if (error instanceof TypeError && /fetch failed/.test(error.message)) {
      process.stderr.write(
        `stockstrader: cannot reach the server: ${String((error as { cause?: unknown }).cause ?? error.message)}\n`,
      );
    } else {
      process.stderr.write(`stockstrader: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    process.exit(1);
  }
}

await main(process.argv);
