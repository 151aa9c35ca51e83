/**
 * `stockstrader watch quotes <tickers>` and `stockstrader watch account <id>`: a stream of the
 * running server on standard output, through the SDK's iterators (which reconnect and resume on
 * their own). One line per message: human-readable (watch-format.ts), or with `--json` the
 * stream's JSON message, one object a line. Reconnections are reported on standard error.
 *
 * SIGINT and SIGTERM close the stream and exit 0; a refusal (bad token, unknown account or
 * ticker) propagates to main.ts, which prints its msg and exits 1. A closed standard output (a
 * pipe into `head`) ends the stream too.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { StocksTraderClient, type Reconnect } from '../../client/stockstrader-client.ts';
import { accountLine, quoteLine } from './watch-format.ts';
import { integer, list } from './parsers.ts';

interface WatchOptions {
  url: string;
  token?: string;
  json?: boolean;
}

export function watchCommand(): Command {
  const watch = new Command('watch')
    .description('print a stream of a running server: quotes, or an account’s events')
    .addOption(
      new Option('--url <url>', 'server URL').env('STOCKSTRADER_URL').default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--token <token>', 'a user’s bearer token').env('STOCKSTRADER_TOKEN'))
    .option('--json', 'one JSON object per line: the stream’s messages as they are');
  watch
    .command('quotes')
    .description('the quotes of some tickers: their current ones first, then each new one')
    .argument('<tickers>', 'comma-separated tickers, e.g. AAPL.nq,EURUSD', list)
    .action((tickers: string[], _options: object, command: Command) =>
      follow(command, (client, options, signal) => quotes(client, tickers, options, signal)),
    );
  watch
    .command('account')
    .description('an account’s events as they are committed')
    .argument('<account_id>', 'account id')
    .option(
      '--since <id>',
      'start after this event id (0: every event kept)',
      integer(0, 999_999_999_999_999),
    )
    .action((accountId: string, options: { since?: number }, command: Command) =>
      follow(command, (client, watchOptions, signal) =>
        account(client, accountId, options.since, watchOptions, signal),
      ),
    );
  return watch;
}

type Run = (client: StocksTraderClient, options: WatchOptions, signal: AbortSignal) => Promise<void>;

/** Runs a stream until it fails, or a signal or a closed standard output stops it. */
async function follow(command: Command, run: Run): Promise<void> {
  const options = command.optsWithGlobals<WatchOptions>();
  if (!options.token)
    throw new InvalidArgumentError('a user token is required: --token or STOCKSTRADER_TOKEN');
  const client = new StocksTraderClient({ baseUrl: options.url, token: options.token });
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.once('error', stop);
  try {
    await run(client, options, controller.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', stop);
  }
}

function reportReconnect(reconnect: Reconnect): void {
  const seconds = (reconnect.delayMs / 1000).toFixed(1);
  process.stderr.write(`stockstrader: ${reconnect.reason}; reconnecting in ${seconds} s\n`);
}

function print(line: string): void {
  process.stdout.write(line + '\n');
}

async function quotes(
  client: StocksTraderClient,
  tickers: string[],
  options: WatchOptions,
  signal: AbortSignal,
): Promise<void> {
  const width = Math.max(...tickers.map((ticker) => ticker.length));
  for await (const quote of client.quotes(tickers, { signal, onReconnect: reportReconnect }))
    print(options.json ? JSON.stringify(quote) : quoteLine(quote, width));
}

async function account(
  client: StocksTraderClient,
  accountId: string,
  since: number | undefined,
  options: WatchOptions,
  signal: AbortSignal,
): Promise<void> {
  const stream = client.events(accountId, {
    ...(since === undefined ? {} : { since }),
    signal,
    onReconnect: reportReconnect,
  });
  for await (const item of stream)
    print(options.json ? JSON.stringify(item) : accountLine(item, Math.floor(Date.now() / 1000)));
}
