/**
 * The `stockstrader` command: `serve` runs the server (serve.ts, its options in serve-options.ts),
 * `admin …` drives a running one through the admin API (admin-commands.ts), `watch …` prints its
 * streams (watch-commands.ts), `migrate` prepares a database (migrate.ts). This module assembles them and turns every error into one line on
 * standard error and exit code 1.
 */
import { Command, InvalidArgumentError } from 'commander';
import { StocksTraderError } from '../../client/http.ts';
import { StartupError } from '../startup-error.ts';
import { adminCommand } from './admin-commands.ts';
import { migrateCommand } from './migrate.ts';
import { serveCommand } from './serve.ts';
import { watchCommand } from './watch-commands.ts';

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('stockstrader')
    .description('Self-hosted StocksTrader REST API server')
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(adminCommand())
    .addCommand(watchCommand())
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
