/**
 * Crash safety against a real server process.
 *
 * 1. Under a steady load of orders, quotes, SL/TP changes, closes and deposits on three accounts
 *    (netting, hedging, and a hedging EUR account), the server is killed with SIGKILL at random
 *    moments and restarted on the same SQLite file. After every restart:
 *    - every acknowledged order exists, in the state it was acknowledged in or a later legal one;
 *    - no trade is half-applied: filled orders have their deals and fills, deals have the orders
 *      that opened (and closed) them;
 *    - balance = Σ ledger + Σ realised profit of closed deals, exactly in cents, via the API and in
 *      the database;
 *    - ids never repeat and keep increasing across restarts; nothing seen before disappears.
 * 2. SIGTERM while ~50 requests are in flight: every request completes with 200/400 or fails to
 *    connect, the process exits 0 and the database is sound and holds every acknowledged order.
 *
 * CRASH_KILLS sets the number of kills (default 20); CRASH_SEED replays the random choices of a
 * run (the seed is printed).
 */
import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { AdminClient } from '../../src/client/admin-client.ts';
import { StocksTraderClient, StocksTraderError } from '../../src/client/stockstrader-client.ts';
import type { Deal, Order, PlaceOrderBody } from '../../src/contract/public-api.ts';
import { seededRandom } from '../support/seeded-random.ts';

const BIN = fileURLToPath(new URL('../../bin/stockstrader.js', import.meta.url));
const ADMIN_TOKEN = 'crash-safety-admin-token';
const KILLS = positiveInteger(process.env.CRASH_KILLS, 20);
const SEED = positiveInteger(process.env.CRASH_SEED, Date.now() % 2 ** 31);
/** Generous: a request only times out if the server hangs. */
const REQUEST_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const PAGE = 500;

function positiveInteger(text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`expected a whole number, got ${text}`);
  return value;
}

// ---- Processes and temp dirs: all cleaned up in `after`, even on failure ----

const children = new Set<ChildProcess>();
const dirs: string[] = [];

after(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stockstrader-crash-'));
  dirs.push(dir);
  return dir;
}

interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stderr(): string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function spawnServer(db: string, port: number): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--port',
        String(port),
        '--db',
        db,
        '--feed',
        'manual',
        '--market-hours',
        'ignore',
        '--admin-token',
        ADMIN_TOKEN,
        '--log-level',
        'silent',
        '--no-demo',
        '--max-quote-age',
        '0',
      ],
      // No rate limiting: the load is deliberately heavier than one client should send.
      { env: { ...process.env, STOCKSTRADER_RATE_LIMIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    let stdout = '';
    let stderr = '';
    let settled = false;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${START_TIMEOUT_MS} ms: ${stdout}${stderr}`));
    }, START_TIMEOUT_MS);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8_000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (settled) return;
      stdout += chunk.toString();
      const url = /is running at (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url && stdout.includes('Try: curl')) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, url, exited, stderr: () => stderr });
      }
    });
    void exited.then((code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening: ${stderr}`));
    });
  });
}

/** Starts a server on a free port; retries on the rare port race. */
async function startServer(db: string): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnServer(db, await freePort());
    } catch (error) {
      if (attempt >= 5 || !/already in use/.test(String(error))) throw error;
    }
  }
}

async function killHard(server: ServerProcess): Promise<void> {
  server.child.kill('SIGKILL');
  await server.exited;
  children.delete(server.child);
}

const timedFetch: typeof fetch = (input, init) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

function publicClient(url: string, token: string): StocksTraderClient {
  return new StocksTraderClient({ baseUrl: url, token, fetch: timedFetch });
}

function adminClient(url: string): AdminClient {
  return new AdminClient({ baseUrl: url, token: ADMIN_TOKEN, fetch: timedFetch });
}

/** Reads every page (skip/limit) until an empty one. */
async function pageAll<T>(read: (skip: number) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  for (;;) {
    const page = await read(all.length);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

const cents = (amount: number): number => Math.round(amount * 100);
const idNumber = (id: string): number => Number.parseInt(id, 10);

/** The low-level cause of a failed fetch (ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET, …). */
function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}

function countBy(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- The model of what the client was told ----

type Side = 'buy' | 'sell';

interface Instrument {
  ticker: string;
  /** Price units per 1.0 (100 for cents, 100_000 for FX tenths of a pip). */
  scale: number;
  spread: number;
  low: number;
  high: number;
  volume(random: () => number): number;
}

const INSTRUMENTS: readonly Instrument[] = [
  {
    ticker: 'AAPL.nq',
    scale: 100,
    spread: 2,
    low: 9_500,
    high: 10_500,
    volume: (random) => 1 + Math.floor(random() * 20),
  },
  {
    ticker: 'EURUSD',
    scale: 100_000,
    spread: 8,
    low: 109_000,
    high: 111_000,
    volume: (random) => (1 + Math.floor(random() * 20)) / 100,
  },
];

interface TestAccountInfo {
  id: string;
  token: string;
  system: 'netting' | 'hedging';
}

interface OrderRecord {
  id: string;
  account: string;
  ticker: string;
  side: Side;
  type: 'market' | 'limit';
  volume: number;
  /** A DELETE of this order was acknowledged: it must be canceled. */
  cancelAcked: boolean;
  /** Prices the order may rest at (scaled), while it is active; undefined when not tracked. */
  prices: Set<number> | undefined;
}

interface Identity {
  account: string;
  key: string;
}

interface DealRecord {
  id: string;
  account: string;
  /** A DELETE of this deal was acknowledged: it must be closed. */
  closeAcked: boolean;
  /** Possible SL / TP levels (scaled, null = none) while open; hedging accounts only. */
  stopLoss: Set<number | null> | undefined;
  takeProfit: Set<number | null> | undefined;
}

/** Reflexive-transitive closure of the legal order status changes. */
const ORDER_REACHABLE: Readonly<Record<string, readonly string[]>> = {
  active: ['active', 'in_execution', 'filled', 'canceled', 'rejected'],
  in_execution: ['in_execution', 'filled', 'rejected'],
  filled: ['filled'],
  canceled: ['canceled'],
  rejected: ['rejected'],
};
const DEAL_REACHABLE: Readonly<Record<string, readonly string[]>> = {
  open: ['open', 'closing', 'closed'],
  closing: ['closing', 'closed'],
  closed: ['closed'],
};

interface Stats {
  requests: number;
  acknowledged: number;
  ordersAcknowledged: number;
  marketFills: number;
  limitsPlaced: number;
  cancels: number;
  orderModifications: number;
  dealCloses: number;
  dealModifications: number;
  quotes: number;
  balanceChanges: number;
  rejected: number;
  unknown: number;
}

type Outcome<T> = { kind: 'ok'; value: T } | { kind: 'rejected'; status: number } | { kind: 'unknown' };

interface Epoch {
  index: number;
  url: string;
  server: ServerProcess;
  dead: boolean;
  /** Highest order / deal id stored when the epoch began: every id handed out now is above it. */
  minOrderId: number;
  minDealId: number;
}

class CrashHarness {
  readonly random: () => number;
  readonly accounts: TestAccountInfo[] = [];
  readonly orders = new Map<string, OrderRecord>();
  readonly deals = new Map<string, DealRecord>();
  /** Every order / deal id ever seen, with what it must keep naming. */
  readonly orderIdentity = new Map<string, Identity>();
  readonly dealIdentity = new Map<string, Identity>();
  /** Status at the previous verification. */
  readonly orderStatus = new Map<string, string>();
  readonly dealStatus = new Map<string, string>();
  /** Deals the client saw in a listing (read from committed storage): they must survive. */
  readonly dealsSeen = new Set<string>();
  /** Quote possibilities per ticker: the last acknowledged one and any unknown-outcome one after it. */
  readonly quotes = new Map<string, { bid: number; ask: number }[]>();
  /** The quote the traders price against (the last one sent). */
  readonly market = new Map<string, { bid: number; ask: number }>();
  readonly ledgerAcked = new Set<string>();
  readonly ledgerUnknown = new Set<string>();
  readonly problems: string[] = [];
  readonly stats: Stats = {
    requests: 0,
    acknowledged: 0,
    ordersAcknowledged: 0,
    marketFills: 0,
    limitsPlaced: 0,
    cancels: 0,
    orderModifications: 0,
    dealCloses: 0,
    dealModifications: 0,
    quotes: 0,
    balanceChanges: 0,
    rejected: 0,
    unknown: 0,
  };
  maxOrderId = 0;
  maxDealId = 0;
  verifications = 0;
  #ledgerCounter = 0;

  constructor(
    readonly seed: number,
    readonly dbPath: string,
  ) {
    this.random = seededRandom(seed);
  }

  int(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low + 1));
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.random() * items.length)];
  }

  anyInstrument(): Instrument {
    const instrument = this.pick(INSTRUMENTS);
    if (!instrument) throw new Error('no instruments');
    return instrument;
  }

  instrument(ticker: string): Instrument {
    const instrument = INSTRUMENTS.find((candidate) => candidate.ticker === ticker);
    if (!instrument) throw new Error(`no instrument ${ticker}`);
    return instrument;
  }

  /** Runs one request and classifies it: acknowledged, refused (not applied), or unknown outcome. */
  async attempt<T>(epoch: Epoch, label: string, request: () => Promise<T>): Promise<Outcome<T>> {
    this.stats.requests++;
    try {
      const value = await request();
      this.stats.acknowledged++;
      return { kind: 'ok', value };
    } catch (error) {
      if (error instanceof StocksTraderError) {
        if (error.status === 400 || error.status === 429) {
          this.stats.rejected++;
          return { kind: 'rejected', status: error.status };
        }
        this.problems.push(`epoch ${epoch.index}: ${label} answered HTTP ${error.status}: ${error.message}`);
        return { kind: 'unknown' };
      }
      this.stats.unknown++;
      if (!epoch.dead) {
        this.problems.push(
          `epoch ${epoch.index}: ${label} failed while the server should be up: ${String(error)}; ` +
            `server stderr: ${epoch.server.stderr()}`,
        );
      }
      return { kind: 'unknown' };
    }
  }

  // ---- Load ----

  async traderLoop(epoch: Epoch, account: TestAccountInfo, owned: string[]): Promise<void> {
    const client = publicClient(epoch.url, account.token);
    while (!epoch.dead) {
      const roll = this.random();
      let outcome: Outcome<unknown>;
      if (roll < 0.3) outcome = await this.marketOrder(epoch, client, account);
      else if (roll < 0.5) outcome = await this.limitOrder(epoch, client, account, owned);
      else if (roll < 0.6) outcome = await this.modifyLimit(epoch, client, account, owned);
      else if (roll < 0.68) outcome = await this.cancelLimit(epoch, client, account, owned);
      else if (roll < 0.84) outcome = await this.closeDeal(epoch, client, account);
      else outcome = await this.modifyDeal(epoch, client, account);
      if (outcome.kind === 'unknown') return;
    }
  }

  async marketOrder(epoch: Epoch, client: StocksTraderClient, account: TestAccountInfo) {
    const instrument = this.anyInstrument();
    const side: Side = this.random() < 0.5 ? 'buy' : 'sell';
    const volume = instrument.volume(this.random);
    const body: PlaceOrderBody = { ticker: instrument.ticker, side, type: 'market', volume };
    if (account.system === 'hedging' && this.random() < 0.5) {
      const levels = this.protectiveLevels(instrument, side);
      body.stop_loss = levels.stopLoss;
      body.take_profit = levels.takeProfit;
    }
    const outcome = await this.attempt(epoch, `market order on ${account.id}`, () =>
      client.placeOrder(account.id, body),
    );
    if (outcome.kind === 'ok') {
      this.stats.marketFills++;
      this.acknowledgeOrder(epoch, {
        id: outcome.value,
        account: account.id,
        ticker: instrument.ticker,
        side,
        type: 'market',
        volume,
        cancelAcked: false,
        prices: undefined,
      });
    }
    return outcome;
  }

  async limitOrder(epoch: Epoch, client: StocksTraderClient, account: TestAccountInfo, owned: string[]) {
    const instrument = this.anyInstrument();
    const side: Side = this.random() < 0.5 ? 'buy' : 'sell';
    const volume = instrument.volume(this.random);
    const price = this.restingPrice(instrument, side);
    const outcome = await this.attempt(epoch, `limit order on ${account.id}`, () =>
      client.placeOrder(account.id, {
        ticker: instrument.ticker,
        side,
        type: 'limit',
        volume,
        price: price / instrument.scale,
      }),
    );
    if (outcome.kind === 'ok') {
      this.stats.limitsPlaced++;
      owned.push(outcome.value);
      this.acknowledgeOrder(epoch, {
        id: outcome.value,
        account: account.id,
        ticker: instrument.ticker,
        side,
        type: 'limit',
        volume,
        cancelAcked: false,
        prices: new Set([price]),
      });
    }
    return outcome;
  }

  async modifyLimit(epoch: Epoch, client: StocksTraderClient, account: TestAccountInfo, owned: string[]) {
    const order = this.orders.get(this.pick(owned) ?? '');
    if (!order) return this.limitOrder(epoch, client, account, owned);
    const instrument = this.instrument(order.ticker);
    const price = this.restingPrice(instrument, order.side);
    const outcome = await this.attempt(epoch, `modify order ${order.id}`, () =>
      client.modifyOrder(account.id, order.id, { price: price / instrument.scale }),
    );
    if (outcome.kind === 'ok') {
      this.stats.orderModifications++;
      order.prices = new Set([price]);
    } else if (outcome.kind === 'unknown') order.prices?.add(price);
    return outcome;
  }

  async cancelLimit(epoch: Epoch, client: StocksTraderClient, account: TestAccountInfo, owned: string[]) {
    const id = this.pick(owned);
    if (id === undefined) return this.limitOrder(epoch, client, account, owned);
    const outcome = await this.attempt(epoch, `cancel order ${id}`, () => client.cancelOrder(account.id, id));
    if (outcome.kind === 'ok') {
      this.stats.cancels++;
      const order = this.orders.get(id);
      if (order) order.cancelAcked = true;
    }
    // Canceled, or filled or canceled before: either way it is no longer ours to touch.
    if (outcome.kind !== 'unknown') owned.splice(owned.indexOf(id), 1);
    return outcome;
  }

  /** Lists the open deals and returns one at random (or undefined), noting every id seen. */
  async someOpenDeal(
    epoch: Epoch,
    client: StocksTraderClient,
    account: TestAccountInfo,
  ): Promise<Outcome<Deal | undefined>> {
    const listed = await this.attempt(epoch, `list deals of ${account.id}`, () => client.deals(account.id));
    if (listed.kind !== 'ok') return listed;
    for (const deal of listed.value) {
      this.dealsSeen.add(deal.id);
      if (!this.dealIdentity.has(deal.id) && idNumber(deal.id) <= epoch.minDealId) {
        this.problems.push(
          `deal ${deal.id}, new in epoch ${epoch.index}, is not above ${epoch.minDealId}, ` +
            'the highest id stored when the epoch began',
        );
      }
      this.noteDealIdentity(account.id, deal, `listing in epoch ${epoch.index}`);
    }
    return { kind: 'ok', value: this.pick(listed.value) };
  }

  async closeDeal(epoch: Epoch, client: StocksTraderClient, account: TestAccountInfo) {
    const listed = await this.someOpenDeal(epoch, client, account);
    if (listed.kind !== 'ok' || !listed.value) return listed;
    const deal = listed.value;
    const outcome = await this.attempt(epoch, `close deal ${deal.id}`, () =>
      client.closeDeal(account.id, deal.id),
    );
    if (outcome.kind === 'ok') {
      this.stats.dealCloses++;
      this.dealRecord(account.id, deal.id).closeAcked = true;
    }
    return outcome;
  }

  async modifyDeal(epoch: Epoch, client: StocksTraderClient, account: TestAccountInfo) {
    const listed = await this.someOpenDeal(epoch, client, account);
    if (listed.kind !== 'ok' || !listed.value) return listed;
    const deal = listed.value;
    const instrument = this.instrument(deal.ticker);
    const clear = this.random() < 0.15;
    const levels = clear ? { stopLoss: 0, takeProfit: 0 } : this.protectiveLevels(instrument, deal.side);
    const outcome = await this.attempt(epoch, `modify deal ${deal.id}`, () =>
      client.modifyDeal(account.id, deal.id, {
        stop_loss: levels.stopLoss,
        take_profit: levels.takeProfit,
      }),
    );
    if (account.system !== 'hedging' || outcome.kind === 'rejected') return outcome;
    // Only this loop changes a hedging deal's SL/TP, so an acknowledgement pins them down.
    const record = this.dealRecord(account.id, deal.id);
    const stopLoss = levels.stopLoss === 0 ? null : Math.round(levels.stopLoss * instrument.scale);
    const takeProfit = levels.takeProfit === 0 ? null : Math.round(levels.takeProfit * instrument.scale);
    if (outcome.kind === 'ok') {
      this.stats.dealModifications++;
      record.stopLoss = new Set([stopLoss]);
      record.takeProfit = new Set([takeProfit]);
    } else {
      record.stopLoss?.add(stopLoss);
      record.takeProfit?.add(takeProfit);
    }
    return outcome;
  }

  async adminLoop(epoch: Epoch): Promise<void> {
    const admin = adminClient(epoch.url);
    while (!epoch.dead) {
      let outcome: Outcome<unknown>;
      if (this.random() < 0.85) outcome = await this.moveQuote(epoch, admin);
      else outcome = await this.changeBalance(epoch, admin);
      if (outcome.kind === 'unknown') return;
    }
  }

  async moveQuote(epoch: Epoch, admin: AdminClient) {
    const instrument = this.anyInstrument();
    const current = this.market.get(instrument.ticker);
    if (!current) throw new Error(`no quote for ${instrument.ticker}`);
    // A bounded random walk, so resting orders and SL/TP keep firing.
    const middle = (instrument.low + instrument.high) / 2;
    const pull = current.bid > middle ? -1 : 1;
    const step = Math.round((this.random() - 0.5) * instrument.spread * 12) + pull * this.int(0, 2);
    const bid = Math.min(instrument.high, Math.max(instrument.low, current.bid + step));
    const quote = { bid, ask: bid + this.int(1, instrument.spread) };
    this.market.set(instrument.ticker, quote);
    const outcome = await this.attempt(epoch, `quote ${instrument.ticker}`, () =>
      admin.setQuote(instrument.ticker, {
        bid: quote.bid / instrument.scale,
        ask: quote.ask / instrument.scale,
      }),
    );
    if (outcome.kind === 'ok') {
      this.stats.quotes++;
      this.quotes.set(instrument.ticker, [quote]);
    } else if (outcome.kind === 'unknown') this.quotes.get(instrument.ticker)?.push(quote);
    return outcome;
  }

  async changeBalance(epoch: Epoch, admin: AdminClient) {
    const account = this.pick(this.accounts);
    if (!account) throw new Error('no accounts');
    const comment = `crash-${this.seed}-${++this.#ledgerCounter}`;
    const amount = this.random() < 0.75 ? this.int(1, 500_000) / 100 : -this.int(1, 20_000) / 100;
    const outcome = await this.attempt(epoch, `balance change on ${account.id}`, () =>
      admin.adjustBalance(account.id, amount, comment),
    );
    if (outcome.kind === 'ok') {
      this.stats.balanceChanges++;
      this.ledgerAcked.add(comment);
    } else if (outcome.kind === 'unknown') this.ledgerUnknown.add(comment);
    return outcome;
  }

  /** A limit price near the market that may or may not fire soon (scaled). */
  restingPrice(instrument: Instrument, side: Side): number {
    const quote = this.market.get(instrument.ticker);
    if (!quote) throw new Error(`no quote for ${instrument.ticker}`);
    const offset = this.int(0, instrument.spread * 5);
    return side === 'buy' ? quote.bid - offset : quote.ask + offset;
  }

  /** SL and TP on the right side of the current price (unscaled), close enough to fire now and then. */
  protectiveLevels(instrument: Instrument, side: Side): { stopLoss: number; takeProfit: number } {
    const quote = this.market.get(instrument.ticker);
    if (!quote) throw new Error(`no quote for ${instrument.ticker}`);
    const near = (): number => this.int(instrument.spread * 3, instrument.spread * 10);
    const reference = side === 'buy' ? quote.bid : quote.ask;
    const stopLoss = side === 'buy' ? reference - near() : reference + near();
    const takeProfit = side === 'buy' ? reference + near() : reference - near();
    return { stopLoss: stopLoss / instrument.scale, takeProfit: takeProfit / instrument.scale };
  }

  acknowledgeOrder(epoch: Epoch, order: OrderRecord): void {
    this.stats.ordersAcknowledged++;
    if (this.orders.has(order.id) || this.orderIdentity.has(order.id)) {
      this.problems.push(`order id ${order.id} acknowledged in epoch ${epoch.index} was already in use`);
    }
    if (idNumber(order.id) <= epoch.minOrderId) {
      this.problems.push(
        `order id ${order.id} acknowledged in epoch ${epoch.index} is not above ${epoch.minOrderId}, ` +
          'the highest id stored when the epoch began',
      );
    }
    this.orders.set(order.id, order);
  }

  dealRecord(account: string, id: string): DealRecord {
    let record = this.deals.get(id);
    if (!record) {
      record = { id, account, closeAcked: false, stopLoss: undefined, takeProfit: undefined };
      this.deals.set(id, record);
    }
    return record;
  }

  noteDealIdentity(account: string, deal: Deal, where: string): void {
    const key = `${deal.ticker} ${deal.side} opened ${deal.open_time}`;
    const known = this.dealIdentity.get(deal.id);
    if (!known) this.dealIdentity.set(deal.id, { account, key });
    else if (known.account !== account || known.key !== key) {
      this.problems.push(
        `deal id ${deal.id} changed identity (${where}): was ${known.account} ${known.key}, now ${account} ${key}`,
      );
    }
  }

  // ---- Verification after a restart (no load running) ----

  async verify(url: string): Promise<void> {
    this.verifications++;
    const admin = adminClient(url);
    const db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
    try {
      const integrity = db.pragma('integrity_check', { simple: true });
      assert.equal(integrity, 'ok', 'database integrity_check');
      const allOrderIds = new Set<string>();
      const allDealIds = new Set<string>();
      for (const account of this.accounts) {
        await this.verifyAccount(url, admin, db, account, allOrderIds, allDealIds);
      }

      // Nothing that was ever stored disappears.
      for (const id of this.orderStatus.keys()) assert.ok(allOrderIds.has(id), `order ${id} disappeared`);
      for (const id of this.dealStatus.keys()) assert.ok(allDealIds.has(id), `deal ${id} disappeared`);
      for (const id of this.dealsSeen) assert.ok(allDealIds.has(id), `deal ${id}, listed before, is missing`);

      // Ids keep increasing: every id new since the last check is above the old maximum.
      const maxOrder = (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM orders').get() as { id: number })
        .id;
      const maxDeal = (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM deals').get() as { id: number }).id;
      assert.ok(maxOrder >= this.maxOrderId, `max order id went back from ${this.maxOrderId} to ${maxOrder}`);
      assert.ok(maxDeal >= this.maxDealId, `max deal id went back from ${this.maxDealId} to ${maxDeal}`);
      this.maxOrderId = maxOrder;
      this.maxDealId = maxDeal;

      // The quotes are the last acknowledged ones, or a later one whose outcome was unknown.
      for (const instrument of INSTRUMENTS) {
        const stored = await admin.getQuote(instrument.ticker);
        const quote = {
          bid: Math.round(stored.bid * instrument.scale),
          ask: Math.round(stored.ask * instrument.scale),
        };
        const possible = this.quotes.get(instrument.ticker) ?? [];
        assert.ok(
          possible.some((candidate) => candidate.bid === quote.bid && candidate.ask === quote.ask),
          `quote of ${instrument.ticker} after restart is ${JSON.stringify(quote)}, expected one of ${JSON.stringify(possible)}`,
        );
        this.quotes.set(instrument.ticker, [quote]);
        this.market.set(instrument.ticker, quote);
      }

      // Balance changes: each acknowledged one exactly once, each unknown one at most once.
      const comments = new Map<string, number>();
      for (const row of db.prepare('SELECT comment FROM ledger').all() as { comment: string }[]) {
        comments.set(row.comment, (comments.get(row.comment) ?? 0) + 1);
      }
      for (const comment of this.ledgerAcked) {
        assert.equal(comments.get(comment), 1, `acknowledged balance change ${comment} stored once`);
      }
      for (const comment of this.ledgerUnknown) {
        assert.ok((comments.get(comment) ?? 0) <= 1, `balance change ${comment} stored at most once`);
      }
    } finally {
      db.close();
    }
  }

  async verifyAccount(
    url: string,
    admin: AdminClient,
    db: Database.Database,
    account: TestAccountInfo,
    allOrderIds: Set<string>,
    allDealIds: Set<string>,
  ): Promise<void> {
    const client = publicClient(url, account.token);
    const where = `account ${account.id} (${account.system}), verification ${this.verifications}`;
    const orders: Order[] = await pageAll((skip) =>
      client.orders(account.id, { history_from: 0, skip, limit: PAGE }),
    );
    const deals: Deal[] = await pageAll((skip) =>
      client.deals(account.id, { history_from: 0, skip, limit: PAGE }),
    );
    const ledger = await pageAll((skip) => admin.ledger(account.id, { skip, limit: PAGE }));
    const fills = await pageAll((skip) => admin.fills(account.id, { skip, limit: PAGE }));
    const state = await client.accountState(account.id);

    // The API and the database agree on what is stored.
    const numericId = Number(account.id);
    const count = (sql: string): number => (db.prepare(sql).get(numericId) as { n: number }).n;
    assert.equal(
      orders.length,
      count('SELECT COUNT(*) AS n FROM orders WHERE account_id = ?'),
      `${where}: orders`,
    );
    assert.equal(
      deals.length,
      count('SELECT COUNT(*) AS n FROM deals WHERE account_id = ?'),
      `${where}: deals`,
    );

    // Money: balance = Σ ledger + Σ realised profit, to the cent, through the API and in the database.
    const ledgerCents = ledger.reduce((sum, entry) => sum + cents(entry.amount), 0);
    const closed = deals.filter((deal) => deal.status === 'closed');
    const profitCents = closed.reduce((sum, deal) => sum + cents(deal.profit), 0);
    assert.equal(
      cents(state.margin.balance),
      ledgerCents + profitCents,
      `${where}: API balance ${state.margin.balance} = ledger ${ledgerCents / 100} + realised ${profitCents / 100}`,
    );
    const row = db
      .prepare(
        `SELECT a.balance AS balance,
                (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account_id = a.id) AS ledger,
                (SELECT COALESCE(SUM(profit), 0) FROM deals WHERE account_id = a.id AND status = 'closed') AS profit
         FROM accounts a WHERE a.id = ?`,
      )
      .get(numericId) as { balance: number; ledger: number; profit: number };
    assert.equal(
      row.balance,
      row.ledger + row.profit,
      `${where}: stored balance = Σ ledger + Σ realised profit`,
    );
    assert.equal(row.balance, cents(state.margin.balance), `${where}: stored balance = API balance`);

    // Orders: ids unique, identities stable, statuses only move forward, acknowledged ones present.
    const dealsById = new Map(deals.map((deal) => [deal.id, deal]));
    const fillsByOrder = new Map<string, typeof fills>();
    for (const fill of fills)
      fillsByOrder.set(fill.order_id, [...(fillsByOrder.get(fill.order_id) ?? []), fill]);
    const listedBy = new Map<string, number>();
    for (const order of orders) {
      assert.ok(!allOrderIds.has(order.id), `${where}: order id ${order.id} appears twice`);
      allOrderIds.add(order.id);
      const key = `${order.ticker} ${order.side} ${order.type} ${order.volume} created ${order.create_time}`;
      const known = this.orderIdentity.get(order.id);
      if (known) {
        assert.deepEqual(
          { account: account.id, key },
          known,
          `${where}: order id ${order.id} changed identity`,
        );
      } else {
        this.orderIdentity.set(order.id, { account: account.id, key });
        if (this.verifications > 1) {
          assert.ok(
            idNumber(order.id) > this.maxOrderId,
            `${where}: new order ${order.id} is not above the previous maximum ${this.maxOrderId}`,
          );
        }
      }
      const previous = this.orderStatus.get(order.id);
      if (previous !== undefined) {
        assert.ok(
          ORDER_REACHABLE[previous]?.includes(order.status),
          `${where}: order ${order.id} went from ${previous} to ${order.status}`,
        );
      }
      this.orderStatus.set(order.id, order.status);

      const orderFills = fillsByOrder.get(order.id) ?? [];
      if (order.status === 'filled') {
        assert.ok(order.deals.length > 0, `${where}: filled order ${order.id} has no deals`);
        for (const dealId of order.deals) {
          assert.ok(dealsById.has(dealId), `${where}: filled order ${order.id} names missing deal ${dealId}`);
          listedBy.set(dealId, (listedBy.get(dealId) ?? 0) + 1);
        }
        assert.equal(orderFills.length, 1, `${where}: filled order ${order.id} has one fill`);
        assert.deepEqual(orderFills[0]?.deals, order.deals, `${where}: fill of ${order.id} names its deals`);
      } else {
        assert.deepEqual(order.deals, [], `${where}: ${order.status} order ${order.id} has no deals`);
        assert.equal(orderFills.length, 0, `${where}: ${order.status} order ${order.id} has no fill`);
      }
    }
    for (const fill of fills) {
      assert.ok(
        orders.some((order) => order.id === fill.order_id),
        `${where}: fill of unknown order ${fill.order_id}`,
      );
    }

    for (const record of this.orders.values()) {
      if (record.account !== account.id) continue;
      const order = orders.find((candidate) => candidate.id === record.id);
      assert.ok(order, `${where}: acknowledged ${record.type} order ${record.id} is missing`);
      assert.equal(order.ticker, record.ticker, `${where}: order ${record.id} ticker`);
      assert.equal(order.side, record.side, `${where}: order ${record.id} side`);
      assert.equal(order.type, record.type, `${where}: order ${record.id} type`);
      assert.equal(order.volume, record.volume, `${where}: order ${record.id} volume`);
      if (record.type === 'market') {
        assert.equal(order.status, 'filled', `${where}: acknowledged market order ${record.id}`);
      } else if (record.cancelAcked) {
        assert.equal(order.status, 'canceled', `${where}: order ${record.id} whose cancel was acknowledged`);
      } else {
        assert.ok(
          ['active', 'filled', 'canceled', 'rejected'].includes(order.status),
          `${where}: acknowledged limit order ${record.id} is ${order.status}`,
        );
      }
      if (order.status === 'active' && record.prices !== undefined) {
        const scale = this.instrument(record.ticker).scale;
        const price = Math.round((order.price ?? Number.NaN) * scale);
        assert.ok(
          record.prices.has(price),
          `${where}: active order ${record.id} rests at ${order.price}, expected one of ${[...record.prices].map((p) => p / scale).join(', ')}`,
        );
        record.prices = new Set([price]);
      }
    }

    // Deals: each opened (and, in hedging, closed) by a filled order; statuses only move forward.
    const openTickers = new Set<string>();
    for (const deal of deals) {
      assert.ok(!allDealIds.has(deal.id), `${where}: deal id ${deal.id} appears twice`);
      allDealIds.add(deal.id);
      const known = this.dealIdentity.get(deal.id);
      if (!known && this.verifications > 1) {
        assert.ok(
          idNumber(deal.id) > this.maxDealId,
          `${where}: new deal ${deal.id} is not above the previous maximum ${this.maxDealId}`,
        );
      }
      this.noteDealIdentity(account.id, deal, where);
      const previous = this.dealStatus.get(deal.id);
      if (previous !== undefined) {
        assert.ok(
          DEAL_REACHABLE[previous]?.includes(deal.status),
          `${where}: deal ${deal.id} went from ${previous} to ${deal.status}`,
        );
      }
      this.dealStatus.set(deal.id, deal.status);
      const listings = listedBy.get(deal.id) ?? 0;
      assert.ok(listings >= 1, `${where}: ${deal.status} deal ${deal.id} has no filled order`);
      if (account.system === 'hedging') {
        assert.equal(
          listings,
          deal.status === 'closed' ? 2 : 1,
          `${where}: ${deal.status} hedging deal ${deal.id} named by its opening (and closing) order`,
        );
      }
      if (deal.status === 'closed') {
        assert.equal(typeof deal.close_price, 'number', `${where}: closed deal ${deal.id} has a close price`);
        assert.equal(typeof deal.close_time, 'number', `${where}: closed deal ${deal.id} has a close time`);
      } else if (account.system === 'netting') {
        assert.ok(!openTickers.has(deal.ticker), `${where}: two open netting deals on ${deal.ticker}`);
        openTickers.add(deal.ticker);
      }

      const record = this.deals.get(deal.id);
      if (record?.closeAcked) {
        assert.equal(deal.status, 'closed', `${where}: deal ${deal.id} whose close was acknowledged`);
      }
      if (account.system === 'hedging' && deal.status === 'open') {
        const scale = this.instrument(deal.ticker).scale;
        const level = (value: number | undefined): number | null =>
          value === undefined || value === 0 ? null : Math.round(value * scale);
        const tracked = this.dealRecord(account.id, deal.id);
        const stopLoss = level(deal.stop_loss);
        const takeProfit = level(deal.take_profit);
        if (tracked.stopLoss) {
          assert.ok(tracked.stopLoss.has(stopLoss), `${where}: deal ${deal.id} stop loss ${deal.stop_loss}`);
        }
        if (tracked.takeProfit) {
          assert.ok(
            tracked.takeProfit.has(takeProfit),
            `${where}: deal ${deal.id} take profit ${deal.take_profit}`,
          );
        }
        tracked.stopLoss = new Set([stopLoss]);
        tracked.takeProfit = new Set([takeProfit]);
      }
    }
    for (const [dealId] of listedBy) assert.ok(dealsById.has(dealId), `${where}: deal ${dealId} missing`);
  }
}

describe('crash safety', { timeout: 600_000 }, () => {
  it(`survives ${KILLS} SIGKILLs under load without losing or half-applying anything`, async (t: TestContext) => {
    const started = Date.now();
    t.diagnostic(`seed ${SEED} (replay with CRASH_SEED=${SEED}), kills ${KILLS}`);
    console.log(`crash-safety: seed ${SEED} (replay with CRASH_SEED=${SEED}), kills ${KILLS}`);
    const dir = tempDir();
    const harness = new CrashHarness(SEED, join(dir, 'crash.db'));
    const ownedLimits = new Map<number, string[]>();

    let server = await startServer(harness.dbPath);
    {
      const admin = adminClient(server.url);
      for (const [system, currency] of [
        ['netting', 'USD'],
        ['hedging', 'USD'],
        ['hedging', 'EUR'],
      ] as const) {
        const userId = await admin.createUser(`crash-${system}-${currency}`);
        const { token } = await admin.issueToken(userId);
        const id = await admin.createAccount({
          user_id: userId,
          name: `crash ${system} ${currency}`,
          type: 'demo',
          system,
          currency,
          balance: 1_000_000,
        });
        harness.accounts.push({ id, token, system });
      }
      for (const instrument of INSTRUMENTS) {
        const bid = (instrument.low + instrument.high) / 2;
        const quote = { bid, ask: bid + instrument.spread };
        await admin.setQuote(instrument.ticker, {
          bid: quote.bid / instrument.scale,
          ask: quote.ask / instrument.scale,
        });
        harness.quotes.set(instrument.ticker, [quote]);
        harness.market.set(instrument.ticker, quote);
      }
    }
    await harness.verify(server.url);

    const [netting, hedging, hedgingEur] = harness.accounts;
    assert.ok(netting && hedging && hedgingEur);
    // Two traders share the netting account, so its mutations race for real.
    const traders = [netting, netting, hedging, hedgingEur];
    let kills = 0;
    for (; kills < KILLS; kills++) {
      const epoch: Epoch = {
        index: kills + 1,
        url: server.url,
        server,
        dead: false,
        minOrderId: harness.maxOrderId,
        minDealId: harness.maxDealId,
      };
      const loops = [
        ...traders.map((account, index) => {
          const owned = ownedLimits.get(index) ?? [];
          ownedLimits.set(index, owned);
          return harness.traderLoop(epoch, account, owned);
        }),
        harness.adminLoop(epoch),
      ].map((loop) =>
        loop.catch((error: unknown) => {
          harness.problems.push(`epoch ${epoch.index}: load loop failed: ${String(error)}`);
        }),
      );
      await sleep(harness.int(100, 600));
      const unexpected = server.child.exitCode ?? server.child.signalCode;
      assert.equal(unexpected, null, `server died on its own: ${server.stderr()}`);
      epoch.dead = true;
      await killHard(server);
      await Promise.all(loops);
      assert.deepEqual(harness.problems, [], `seed ${SEED}, after kill ${kills + 1}`);

      server = await startServer(harness.dbPath);
      await harness.verify(server.url);
    }

    // A clean stop after the last verification leaves a sound file.
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, `SIGTERM exit: ${server.stderr()}`);
    children.delete(server.child);
    const db = new Database(harness.dbPath, { readonly: true, fileMustExist: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const { stats } = harness;
    const summary =
      `crash-safety: seed ${SEED}: ${kills} kills survived in ${seconds} s; ${stats.requests} requests, ` +
      `${stats.acknowledged} acknowledged, ${stats.rejected} refused (400/429), ${stats.unknown} unknown outcome; ` +
      `${stats.ordersAcknowledged} orders acknowledged (${stats.marketFills} market, ${stats.limitsPlaced} limit), ` +
      `${stats.orderModifications} order modifications, ${stats.cancels} cancels, ${stats.dealCloses} deal closes, ` +
      `${stats.dealModifications} SL/TP changes, ${stats.quotes} quotes, ${stats.balanceChanges} balance changes; ` +
      `${harness.orderStatus.size} orders and ${harness.dealStatus.size} deals stored`;
    t.diagnostic(summary);
  });
});

describe('graceful shutdown', { timeout: 300_000 }, () => {
  it('finishes in-flight requests on SIGTERM, exits 0 and leaves a sound database', async (t: TestContext) => {
    const dir = tempDir();
    const dbPath = join(dir, 'graceful.db');
    const server = await startServer(dbPath);
    const admin = adminClient(server.url);
    const userId = await admin.createUser('graceful');
    const { token } = await admin.issueToken(userId);
    const accountId = await admin.createAccount({
      user_id: userId,
      name: 'graceful',
      type: 'demo',
      system: 'hedging',
      currency: 'USD',
      balance: 1_000_000,
    });
    await admin.setQuote('AAPL.nq', { bid: 100, ask: 100.02 });

    type Result =
      | { kind: 'response'; status: number; orderId: string | undefined; type: string; body: string }
      | { kind: 'connection error'; error: string };
    const random = seededRandom(SEED);
    const requests: Promise<Result>[] = [];
    for (let i = 0; i < 50; i++) {
      const roll = random();
      const type = roll < 0.6 ? 'market' : roll < 0.85 ? 'limit' : 'read';
      const side = random() < 0.5 ? 'buy' : 'sell';
      const body = new URLSearchParams({
        ticker: 'AAPL.nq',
        side,
        type: type === 'limit' ? 'limit' : 'market',
        volume: String(1 + Math.floor(random() * 10)),
        // Resting limits, on the side of the market they wait on.
        ...(type === 'limit' ? { price: side === 'buy' ? '90' : '110' } : {}),
      });
      const path = `/api/v1/accounts/${accountId}${type === 'read' ? '' : '/orders'}`;
      requests.push(
        timedFetch(server.url + path, {
          method: type === 'read' ? 'GET' : 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            ...(type === 'read' ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          },
          ...(type === 'read' ? {} : { body: body.toString() }),
        }).then(
          async (response): Promise<Result> => {
            const text = await response.text();
            let orderId: string | undefined;
            try {
              orderId = (JSON.parse(text) as { data?: { order_id?: string } }).data?.order_id;
            } catch {
              orderId = undefined;
            }
            const body = response.status === 200 ? '' : text;
            return { kind: 'response', status: response.status, orderId, type, body };
          },
          (error: unknown): Result => ({ kind: 'connection error', error: errorCode(error) }),
        ),
      );
    }
    // SIGTERM as soon as the first answer is back: the rest are still in flight.
    await Promise.race(requests);
    server.child.kill('SIGTERM');
    const results = await Promise.all(requests);
    const code = await server.exited;
    children.delete(server.child);
    assert.equal(code, 0, `exit code after SIGTERM; stderr: ${server.stderr()}`);

    const responses = results.filter((result) => result.kind === 'response');
    const fiveHundreds = responses.filter((result) => result.status >= 500);
    const acknowledged = responses.filter((result) => result.status === 200 && result.type !== 'read');
    const answeredOrders = responses.filter(
      (result) => (result.status === 200 || result.status === 400) && result.type !== 'read',
    );
    const summary =
      `graceful shutdown: ${responses.length} answered (${acknowledged.length} orders acknowledged, ` +
      `${responses.filter((result) => result.status === 400).length} refused, ${fiveHundreds.length} 5xx), ` +
      `${results.length - responses.length} connection errors ` +
      JSON.stringify(
        countBy(results.flatMap((result) => (result.kind === 'response' ? [] : [result.error]))),
      ) +
      '; 400s: ' +
      JSON.stringify([...new Set(responses.filter((result) => result.status === 400).map((r) => r.body))]);
    t.diagnostic(summary);
    const unexpected = responses.filter(
      (result) => result.status !== 200 && result.status !== 400 && result.status < 500,
    );
    assert.deepEqual(unexpected, [], 'every answered request is a 200 or a 400');

    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      for (const result of acknowledged) {
        assert.ok(result.orderId, 'an acknowledged order has an id');
        const row = db
          .prepare('SELECT type, status FROM orders WHERE id = ?')
          .get(idNumber(result.orderId)) as { type: string; status: string } | undefined;
        assert.ok(row, `acknowledged order ${result.orderId} is stored`);
        assert.equal(row.status, row.type === 'market' ? 'filled' : 'active', `order ${result.orderId}`);
      }
      const money = db
        .prepare(
          `SELECT a.balance AS balance,
                  (SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE account_id = a.id) AS ledger,
                  (SELECT COALESCE(SUM(profit), 0) FROM deals WHERE account_id = a.id AND status = 'closed') AS profit
           FROM accounts a WHERE a.id = ?`,
        )
        .get(Number(accountId)) as { balance: number; ledger: number; profit: number };
      assert.equal(money.balance, money.ledger + money.profit);
      // Every stored order was answered: none was applied while its reply was lost (our bodies are
      // valid, so a 400 is a business rejection, which is recorded as a rejected order).
      const stored = db.prepare('SELECT COUNT(*) AS n FROM orders').get() as { n: number };
      assert.equal(stored.n, answeredOrders.length, 'stored orders = order requests answered 200 or 400');
    } finally {
      db.close();
    }
    // Last, so the checks above still run: a request cut off by shutdown must not be answered 5xx.
    assert.deepEqual(fiveHundreds, [], 'no request is answered 5xx during a graceful shutdown');
  });
});
