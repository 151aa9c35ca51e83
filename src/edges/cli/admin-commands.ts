/**
 * `stockstrader admin …`: drives a running server through its admin API, one group of subcommands
 * per resource. Every command prints the API's answer as JSON on standard output; errors propagate
 * to main.ts, which prints them.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminClient } from '../../client/admin-client.ts';
import { MAX_FEED_STEP_QUOTES, MAX_FEED_STEP_SECONDS } from '../../contract/admin-api.ts';
import {
  ACCOUNT_STATUSES,
  ACCOUNT_SYSTEMS,
  ACCOUNT_TYPES,
  type AccountStatus,
  type AccountSystem,
  type AccountType,
} from '../../engine/model.ts';
import { decimal, integer, positiveNumber, time } from './parsers.ts';

export function adminCommand(): Command {
  const admin = new Command('admin')
    .description('drive a running server through its admin API')
    .addOption(
      new Option('--url <url>', 'server URL').env('STOCKSTRADER_URL').default('http://127.0.0.1:8080'),
    )
    .addOption(new Option('--admin-token <token>', 'admin token').env('STOCKSTRADER_ADMIN_TOKEN'));
  userCommands(admin);
  tokenCommands(admin);
  accountCommands(admin);
  balanceCommands(admin);
  quoteCommands(admin);
  feedCommands(admin);
  clockCommands(admin);
  return admin;
}

function client(command: Command): AdminClient {
  const options = command.optsWithGlobals<{ url: string; adminToken?: string }>();
  if (!options.adminToken)
    throw new InvalidArgumentError('an admin token is required: --admin-token or STOCKSTRADER_ADMIN_TOKEN');
  return new AdminClient({ baseUrl: options.url, token: options.adminToken });
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** `admin user add`. */
function userCommands(admin: Command): void {
  const user = admin.command('user').description('users');
  user
    .command('add')
    .description('create a user')
    .requiredOption('--name <name>', 'user name')
    .action(async (options: { name: string }, command: Command) =>
      print({ user_id: await client(command).createUser(options.name) }),
    );
}

/** `admin token issue|revoke`. */
function tokenCommands(admin: Command): void {
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
}

/** `admin account add|show|set|reset`. */
function accountCommands(admin: Command): void {
  const account = admin.command('account').description('accounts');
  account
    .command('add')
    .description('create an account')
    .requiredOption('--user <id>', 'owner user id')
    .requiredOption('--name <name>', 'account name')
    .addOption(
      new Option('--system <system>', 'position accounting').choices(ACCOUNT_SYSTEMS).default('netting'),
    )
    .addOption(new Option('--type <type>', 'account type').choices(ACCOUNT_TYPES).default('demo'))
    .option('--currency <code>', 'account currency', 'USD')
    .option('--balance <amount>', 'opening balance', decimal, 0)
    .action(
      async (
        options: {
          user: string;
          name: string;
          system: AccountSystem;
          type: AccountType;
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
    .addOption(new Option('--status <status>', 'new status').choices(ACCOUNT_STATUSES))
    .action(
      async (accountId: string, options: { name?: string; status?: AccountStatus }, command: Command) => {
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
}

/** `admin reset`, `admin deposit`, `admin withdraw`. */
function balanceCommands(admin: Command): void {
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
}

/** `admin quote set|get|ticks`. */
function quoteCommands(admin: Command): void {
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
}

/** `admin feed status|pause|resume|step`. */
function feedCommands(admin: Command): void {
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
}

/** `admin clock show|set|advance`. */
function clockCommands(admin: Command): void {
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
}
