/**
 * `stockstrader serve`: reads the serve options (serve-options.ts) into a ServerConfig, starts the
 * server, prints the banner on standard error once the feed's first quotes are in, and shuts down
 * on SIGTERM or SIGINT. A StartupError ends the process with its message and exit code 1.
 */
import { Command } from 'commander';
import { describeTime, type ControllableClock } from '../../adapters/clock/controllable-clock.ts';
import type { ServerConfig } from '../config.ts';
import { credentialsPath } from '../credentials-file.ts';
import { startServer, type RunningServer } from '../server.ts';
import { StartupError } from '../startup-error.ts';
import { redactUrl } from './redact-url.ts';
import { SERVE_OPTIONS, commanderOptions, serverConfigFrom } from './serve-options.ts';

export function serveCommand(): Command {
  const command = new Command('serve').description(
    'run the server (SQLite in ./data by default, simulator feed)',
  );
  for (const built of commanderOptions(SERVE_OPTIONS)) command.addOption(built);
  return command.action(async (options: Record<string, unknown>) => {
    const config = serverConfigFrom(SERVE_OPTIONS, options, {
      warn: (message) => process.stderr.write(`stockstrader: warning: ${message}\n`),
    });
    await run(config);
  });
}

async function run(config: ServerConfig): Promise<void> {
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
  // Standard output is the log stream (pino writes JSON lines there); the banner is for a person.
  process.stderr.write(banner(config, server).join('\n') + '\n');
}

/** What a person needs to start using the server, printed once it is ready. */
function banner(config: ServerConfig, server: RunningServer): string[] {
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
  return lines;
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
