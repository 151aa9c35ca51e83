import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.ts';

const BIN = fileURLToPath(new URL('../../bin/stockstrader.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Starts `serve` and resolves once the banner is printed (on standard error: standard output is
 * the log stream). `stdout()` is what the process has written to standard output so far.
 */
function serve(
  args: string[],
  logLevel = 'silent',
): Promise<{
  child: ChildProcess;
  banner: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--log-level', logLevel, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((done) => child.on('exit', done));
    // No banner on standard error in time: stop the server and fail rather than hang.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner on standard error within 30 s; stdout: ${stdout} stderr: ${stderr}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('Try: curl')) {
        clearTimeout(timer);
        resolve({ child, banner: stderr, stdout: () => stdout, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('stockstrader CLI', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stockstrader-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves, prints the credentials once, answers the admin CLI and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const db = join(dir, 'first', 'server.db');
    const { child, banner, exited } = await serve(['--port', String(port), '--db', db, '--feed', 'manual']);
    const admin = /admin token:\s+(admin_\S+)/.exec(banner)?.[1];
    const demo = /demo token:\s+(st_\S+)/.exec(banner)?.[1];
    assert.ok(admin, banner);
    assert.ok(demo, banner);
    assert.match(banner, new RegExp(`http://127\\.0\\.0\\.1:${port}`));
    assert.match(banner, /demo accounts: (\d{8}) \(netting, USD 100,000\), (\d{8}) \(hedging, USD 100,000\)/);
    const credentials = readFileSync(join(dir, 'first', 'server.db.credentials.txt'), 'utf8');
    assert.match(credentials, new RegExp(`admin_token=${admin}`));

    const env = { STOCKSTRADER_URL: `http://127.0.0.1:${port}`, STOCKSTRADER_ADMIN_TOKEN: admin };
    const user = await run(['admin', 'user', 'add', '--name', 'carol'], env);
    assert.equal(user.code, 0, user.stderr);
    const userId = (JSON.parse(user.stdout) as { user_id: string }).user_id;
    const account = await run(
      ['admin', 'account', 'add', '--user', userId, '--name', 'c', '--balance', '1000'],
      env,
    );
    assert.equal(account.code, 0, account.stderr);
    const accountId = (JSON.parse(account.stdout) as { id: string }).id;
    const deposit = await run(['admin', 'deposit', '--account', accountId, '--amount', '250.5'], env);
    assert.deepEqual(JSON.parse(deposit.stdout), { balance: 1250.5 });
    const quote = await run(['admin', 'quote', 'set', 'EURUSD', '--bid', '1.1', '--ask', '1.10008'], env);
    assert.equal((JSON.parse(quote.stdout) as { ask: number }).ask, 1.10008);

    // Reset: back to the opening balance, or to a new one, which then counts as the opening one.
    const reset = await run(['admin', 'account', 'reset', accountId], env);
    assert.equal(reset.code, 0, reset.stderr);
    assert.deepEqual(JSON.parse(reset.stdout), { balance: 1000 });
    const rebalanced = await run(['admin', 'account', 'reset', accountId, '--balance', '777.25'], env);
    assert.deepEqual(JSON.parse(rebalanced.stdout), { balance: 777.25 });
    await run(['admin', 'deposit', '--account', accountId, '--amount', '5'], env);
    const everything = await run(['admin', 'reset'], env);
    assert.equal(everything.code, 0, everything.stderr);
    assert.deepEqual(JSON.parse(everything.stdout), { accounts: 3 }, 'two demo accounts and carol’s');
    const shown = await run(['admin', 'account', 'show', accountId], env);
    assert.equal((JSON.parse(shown.stdout) as { account: { balance: number } }).account.balance, 777.25);
    const negative = await run(['admin', 'account', 'reset', accountId, '--balance', '-5'], env);
    assert.equal(negative.code, 1);
    assert.match(negative.stderr, /balance must not be negative \(HTTP 400\)/);
    const unknown = await run(['admin', 'account', 'reset', '99999999'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /account not found \(HTTP 400\)/);
    const malformed = await run(['admin', 'account', 'reset', accountId, '--balance', 'lots'], env);
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /--balance.*must be a decimal number/);
    const refused = await run(['admin', 'user', 'add', '--name', 'x'], {
      ...env,
      STOCKSTRADER_ADMIN_TOKEN: 'wrong',
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /admin token required.*\(HTTP 401\)/);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);

    // Second start on the same database: no new demo user, credentials not printed again.
    const second = await serve(['--port', String(port), '--db', db, '--feed', 'manual']);
    assert.doesNotMatch(second.banner, /demo token:/);
    assert.ok(second.banner.includes(`(see ${db}.credentials.txt)`), second.banner);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  it('starts the clock where it is told, and sets it as the README shows', async () => {
    const port = await freePort();
    const db = join(dir, 'clock', 'server.db');
    const env = { STOCKSTRADER_URL: `http://127.0.0.1:${port}`, STOCKSTRADER_ADMIN_TOKEN: 'admin-clock' };
    const { child, exited } = await serve(
      ['--port', String(port), '--db', db, '--feed', 'manual', '--admin-token', 'admin-clock'].concat([
        '--clock',
        'running',
        '--clock-start',
        '2026-11-26T14:30:00Z',
        '--clock-speed',
        '60',
      ]),
    );
    const shown = JSON.parse((await run(['admin', 'clock', 'show'], env)).stdout) as {
      mode: string;
      now: number;
    };
    assert.equal(shown.mode, 'running');
    assert.ok(shown.now >= 1795703400 && shown.now < 1795703400 + 3600, String(shown.now));
    // The README's example, on a database without trading history: earlier than the start is fine.
    const set = await run(['admin', 'clock', 'set', '1795000000'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout), { mode: 'manual', now: 1795000000, speed: 0 });
    const advance = await run(['admin', 'clock', 'advance', '3600'], env);
    assert.equal((JSON.parse(advance.stdout) as { now: number }).now, 1795003600);
    const iso = await run(
      ['admin', 'clock', 'set', '--running', '--speed', '2', '2026-11-26T15:00:00Z'],
      env,
    );
    assert.equal(iso.code, 0, iso.stderr);
    assert.equal((JSON.parse(iso.stdout) as { speed: number }).speed, 2);
    const bad = await run(['admin', 'clock', 'set', 'yesterday'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /must be Unix seconds \(1795000000\) or an ISO 8601 time/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const badStart = await run(['serve', '--clock-start', 'last thursday', '--db', db]);
    assert.equal(badStart.code, 1);
    assert.match(badStart.stderr, /--clock-start.*must be Unix seconds/);
  });

  it('prints the banner on standard error and keeps standard output for JSON log lines', async () => {
    const port = await freePort();
    const db = join(dir, 'banner', 'server.db');
    const { child, banner, stdout, exited } = await serve(
      ['--port', String(port), '--db', db, '--feed', 'manual'],
      'info',
    );
    const admin = /admin token:\s+(admin_\S+)/.exec(banner)?.[1];
    assert.ok(admin, banner);
    // A request is logged, so standard output carries at least one log line after the banner.
    await fetch(`http://127.0.0.1:${port}/healthz`);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const lines = stdout()
      .split('\n')
      .filter((line) => line !== '');
    assert.ok(lines.length > 0, 'the server logged nothing');
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
    assert.ok(!stdout().includes(admin), 'the admin token reached the log stream');
    assert.doesNotMatch(stdout(), /is running at|Try: curl/);
  });

  it('exits non-zero with a clear message on a bad flag', async () => {
    const result = await run(['serve', '--feed', 'nope']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /--feed.*nope.*(sim, manual|Allowed choices)/s);
    const unknown = await run(['serve', '--bogus']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown option '--bogus'/);
    const badPort = await run(['serve', '--port', 'eighty']);
    assert.notEqual(badPort.code, 0);
    assert.match(badPort.stderr, /--port.*must be a whole number/);
  });

  it('exits non-zero with a clear message when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const result = await run([
      'serve',
      '--port',
      String(port),
      '--db',
      join(dir, 'busy.db'),
      '--feed',
      'manual',
      '--log-level',
      'silent',
    ]);
    blocker.close();
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
  });

  it('exits non-zero with a clear message when the database path is unwritable', async () => {
    const result = await run(['serve', '--db', '/proc/stockstrader/forbidden.db', '--log-level', 'silent']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot open database \/proc\/stockstrader\/forbidden\.db/);
  });

  it('reads the upstream token from --upstream-token-file, trimmed, and warns when others can read it', async () => {
    const seen: string[] = [];
    const upstream = createHttpServer((request, response) => {
      seen.push(request.headers.authorization ?? '');
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end('{"code":"error","msg":"test upstream"}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const address = upstream.address();
    const upstreamUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const tokenFile = join(dir, 'upstream-token');
    writeFileSync(tokenFile, 'st_from_file\n');
    chmodSync(tokenFile, 0o644);
    const { child, banner, exited, stderr } = await serve([
      '--port',
      String(await freePort()),
      '--db',
      join(dir, 'upstream.db'),
      '--feed',
      'upstream',
      '--upstream-url',
      upstreamUrl,
      '--upstream-token-file',
      tokenFile,
      '--upstream-account',
      '1',
      '--watch',
      'EURUSD',
    ]);
    try {
      assert.match(banner, /feed:\s+upstream/);
      await waitFor('the upstream to be called', () => seen.length > 0, { timeoutMs: 5_000, intervalMs: 25 });
      assert.equal(seen[0], 'Bearer st_from_file');
      assert.match(stderr(), /warning: --upstream-token-file .* can be read by other users \(mode 644\)/);
      assert.doesNotMatch(banner, /st_from_file/);
    } finally {
      child.kill('SIGTERM');
      await exited;
      upstream.close();
    }
  });

  it('refuses a missing or empty token file, and a token given both ways', async () => {
    const upstream = [
      '--feed',
      'upstream',
      '--upstream-url',
      'http://127.0.0.1:1',
      '--upstream-account',
      '1',
      '--watch',
      'EURUSD',
    ];
    const db = ['--db', join(dir, 'refused.db'), '--log-level', 'silent'];
    const missing = join(dir, 'no-such-token');
    const absent = await run(['serve', ...db, ...upstream, '--upstream-token-file', missing]);
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, new RegExp(`stockstrader: --upstream-token-file ${missing} does not exist`));
    const empty = join(dir, 'empty-token');
    writeFileSync(empty, '\n');
    const blank = await run(['serve', ...db, ...upstream], { STOCKSTRADER_UPSTREAM_TOKEN_FILE: empty });
    assert.equal(blank.code, 1);
    assert.match(blank.stderr, new RegExp(`--upstream-token-file ${empty} is empty`));
    const both = await run([
      'serve',
      ...db,
      ...upstream,
      '--upstream-token',
      't',
      '--upstream-token-file',
      empty,
    ]);
    assert.equal(both.code, 1);
    assert.match(
      both.stderr,
      /--upstream-token-file <path>' cannot be used with option '--upstream-token <token>'/,
    );
    const bothByEnv = await run(['serve', ...db, ...upstream, '--upstream-token-file', empty], {
      STOCKSTRADER_UPSTREAM_TOKEN: 't',
    });
    assert.equal(bothByEnv.code, 1);
    assert.match(bothByEnv.stderr, /cannot be used with environment variable 'STOCKSTRADER_UPSTREAM_TOKEN'/);
    const neither = await run(['serve', ...db, ...upstream]);
    assert.equal(neither.code, 1);
    assert.match(
      neither.stderr,
      /--feed upstream needs --upstream-url, --upstream-token \(or --upstream-token-file\)/,
    );
  });

  it('starts a replay paused and steps it from the admin CLI', async () => {
    const samples = fileURLToPath(new URL('../../samples/replay/', import.meta.url));
    const port = await freePort();
    const { child, banner, exited } = await serve([
      '--port',
      String(port),
      '--db',
      join(dir, 'replay.db'),
      '--admin-token',
      'admin_cli_replay',
      '--feed',
      'replay',
      '--replay-file',
      `${samples}ticks.csv,${samples}bars.csv`,
      '--replay-start',
      'paused',
    ]);
    try {
      assert.match(banner, /feed:\s+replay of .* paused until a resume or a step/);
      const env = {
        STOCKSTRADER_URL: `http://127.0.0.1:${port}`,
        STOCKSTRADER_ADMIN_TOKEN: 'admin_cli_replay',
      };
      const stepped = await run(['admin', 'feed', 'step', '--quotes', '2'], env);
      assert.equal(stepped.code, 0, stepped.stderr);
      const status = JSON.parse(stepped.stdout) as {
        state: string;
        delivered: number;
        detail: { quotes_sent: number };
      };
      assert.equal(status.state, 'paused');
      assert.equal(status.delivered, 2);
      assert.equal(status.detail.quotes_sent, 2);
      const bySeconds = await run(['admin', 'feed', 'step', '--seconds', '30'], env);
      assert.equal(bySeconds.code, 0, bySeconds.stderr);
      assert.equal(
        (JSON.parse(bySeconds.stdout) as { detail: { data_time: string } }).detail.data_time,
        '2026-03-10T14:30:30.000Z',
      );
      const neither = await run(['admin', 'feed', 'step'], env);
      assert.equal(neither.code, 1);
      assert.match(neither.stderr, /give either --quotes <n> or --seconds <s>/);
      const zero = await run(['admin', 'feed', 'step', '--quotes', '0'], env);
      assert.equal(zero.code, 1);
      assert.match(zero.stderr, /--quotes.*must be a whole number from 1 to 100000/);
      await run(['admin', 'feed', 'resume'], env);
      const running = await run(['admin', 'feed', 'step', '--quotes', '1'], env);
      assert.equal(running.code, 1);
      assert.match(running.stderr, /the replay is running: pause it .* before stepping \(HTTP 400\)/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('honours environment variables that mirror the flags', async () => {
    const result = await run(['serve'], { STOCKSTRADER_MARKET_HOURS: 'sometimes' });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /sometimes/);
  });
});
