/**
 * A steady, seeded trading load against real server processes, with a model of everything the
 * client was told, and the checks that what is stored agrees with it. Shared by the stress suites
 * (crash safety: one process killed and restarted; multi-process: a cluster on one PostgreSQL).
 *
 * The load: traders send market and limit orders (some with SL/TP), modify and cancel their limits,
 * close deals and move their SL/TP; an admin loop moves quotes in a bounded random walk (so resting
 * limits and SL/TP keep firing) and deposits or withdraws. Each request goes to a process picked at
 * random from the round's live ones.
 *
 * The checks (`verify`, with no load running):
 * - every acknowledged order exists, in the state it was acknowledged in or a later legal one;
 * - no trade is half-applied: filled orders have their deals and exactly one fill, deals have the
 *   orders that opened (and closed) them;
 * - every resting order, SL and TP fired at most once: no two filled orders close the same deal, and
 *   every closed deal has exactly one closing fill (open ones none);
 * - balance = Σ ledger + Σ realised profit of closed deals, exactly in cents, via the API and in the
 *   database;
 * - ids are unique and keep naming what they named; nothing seen before disappears; order ids that
 *   one process acknowledges one after another increase; with `idsIncrease`, every id new since the
 *   previous check is above the previous maximum.
 */
import assert from 'node:assert/strict';
import { AdminClient } from '../../src/client/admin-client.ts';
import { StocksTraderClient, StocksTraderError } from '../../src/client/stockstrader-client.ts';
import type { Deal, Order, PlaceOrderBody } from '../../src/contract/public-api.ts';
import { seededRandom } from './seeded-random.ts';

/** Generous: a request only times out if the server hangs. */
export const REQUEST_TIMEOUT_MS = 30_000;
const PAGE = 500;

export function positiveInteger(text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`expected a whole number, got ${text}`);
  return value;
}

export const timedFetch: typeof fetch = (input, init) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

export function publicClient(url: string, token: string): StocksTraderClient {
  return new StocksTraderClient({ baseUrl: url, token, fetch: timedFetch });
}

export function adminClient(url: string, token: string): AdminClient {
  return new AdminClient({ baseUrl: url, token, fetch: timedFetch });
}

/** Reads every page (skip/limit) until an empty one. */
export async function pageAll<T>(read: (skip: number) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  for (;;) {
    const page = await read(all.length);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

export const cents = (amount: number): number => Math.round(amount * 100);
export const idNumber = (id: string): number => Number.parseInt(id, 10);

/** The low-level cause of a failed fetch (ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET, …). */
export function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}

export function countBy(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- What the database holds, read directly (SQLite or PostgreSQL) ----

export interface StoredOrder {
  id: number;
  account: number;
  type: string;
  status: string;
  deals: number[];
  /** The deal a closing order (client close, SL, TP, stop-out) targets. */
  targetDeal: number | null;
}

export interface StoredDeal {
  id: number;
  account: number;
  side: string;
  status: string;
  /** Cents. */
  profit: number;
}

export interface StoredFill {
  order: number;
  account: number;
  side: string;
  deals: number[];
}

export interface StoredLedgerEntry {
  account: number;
  /** Cents. */
  amount: number;
  comment: string;
}

export interface StoreSnapshot {
  /** Balance in cents by account id. */
  balances: Map<number, number>;
  orders: StoredOrder[];
  deals: StoredDeal[];
  fills: StoredFill[];
  ledger: StoredLedgerEntry[];
}

export interface StoreView {
  /** Storage-level soundness (integrity check and the like); throws on failure. */
  integrity(): Promise<void>;
  snapshot(): Promise<StoreSnapshot>;
}

/** "1,2,3" (the orders.deals and fills.deal_ids columns) → [1, 2, 3]. */
export function idList(text: string): number[] {
  return text === '' ? [] : text.split(',').map(Number);
}

// ---- The model of what the client was told ----

export type Side = 'buy' | 'sell';

export interface Instrument {
  ticker: string;
  /** Price units per 1.0 (100 for cents, 100_000 for FX tenths of a pip). */
  scale: number;
  spread: number;
  low: number;
  high: number;
  volume(random: () => number): number;
}

export const INSTRUMENTS: readonly Instrument[] = [
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

export interface TestAccountInfo {
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

export interface Stats {
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
  /** Refusals by error code. */
  refusals: Record<string, number>;
}

export type Outcome<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'rejected'; status: number; code: string | undefined }
  | { kind: 'unknown' };

/** One server process as the load sees it (one lifetime: a restart is a new node). */
export interface LoadNode {
  name: string;
  url: string;
  /** Set just before the process is killed on purpose: its requests may then fail. */
  dead: boolean;
  stderr(): string;
  /** The highest order id this process has acknowledged: within one lifetime ids only increase. */
  lastOrderId: number;
}

/** A stretch of load; loops run until `stopped`. */
export interface Round {
  index: number;
  stopped: boolean;
  /** Where requests go: one of the live nodes at random per request. */
  nodes: LoadNode[];
  /** Every order / deal id handed out during the round is above these (0 where not known). */
  minOrderId: number;
  minDealId: number;
}

export interface LoadOptions {
  seed: number;
  adminToken: string;
  /** Prefix of the ledger comments, so that each balance change can be found. */
  tag: string;
  /** One process at a time: every id new since the previous verification is above the previous maximum. */
  idsIncrease: boolean;
  /**
   * Counts a 503 `account_busy` answer (a cluster process that kept losing the race for an account)
   * as an unknown outcome in `busy` instead of a problem, so that the caller can report it at the
   * end without stopping the other checks.
   */
  tolerateBusy?: boolean;
}

export class TradingLoad {
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
  /** Deals the client saw in a listing: they must survive. */
  readonly dealsSeen = new Map<string, string>();
  /** Quote possibilities per ticker: the last acknowledged one and any unknown-outcome one after it. */
  readonly quotes = new Map<string, { bid: number; ask: number }[]>();
  /** The quote the traders price against (the last one sent). */
  readonly market = new Map<string, { bid: number; ask: number }>();
  readonly ledgerAcked = new Set<string>();
  readonly ledgerUnknown = new Set<string>();
  /**
   * Acknowledged orders that a later cancel or modification was told do not exist
   * (`order_not_found`): if such an order is still active at the next verification, the process
   * that answered acted on a stale view of the account.
   */
  readonly notFound = new Map<string, string>();
  readonly problems: string[] = [];
  /** Requests answered 503 `account_busy` while `tolerateBusy`. */
  readonly busy: string[] = [];
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
    refusals: {},
  };
  maxOrderId = 0;
  maxDealId = 0;
  verifications = 0;
  #ledgerCounter = 0;

  constructor(readonly options: LoadOptions) {
    this.random = seededRandom(options.seed);
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

  /** A live node of the round, at random. */
  node(round: Round): LoadNode {
    const node = this.pick(round.nodes.filter((candidate) => !candidate.dead));
    if (!node) throw new Error(`round ${round.index} has no live process`);
    return node;
  }

  client(node: LoadNode, account: TestAccountInfo): StocksTraderClient {
    return publicClient(node.url, account.token);
  }

  admin(node: LoadNode): AdminClient {
    return adminClient(node.url, this.options.adminToken);
  }

  /** Creates one user and account per spec through `url`, and sets the first quotes. */
  async setUp(
    url: string,
    specs: readonly { system: 'netting' | 'hedging'; currency: string }[],
    balance = 1_000_000,
  ): Promise<void> {
    const admin = adminClient(url, this.options.adminToken);
    for (const { system, currency } of specs) {
      const userId = await admin.createUser(`${this.options.tag}-${system}-${currency}`);
      const { token } = await admin.issueToken(userId);
      const id = await admin.createAccount({
        user_id: userId,
        name: `${this.options.tag} ${system} ${currency}`,
        type: 'demo',
        system,
        currency,
        balance,
      });
      this.accounts.push({ id, token, system });
    }
    for (const instrument of INSTRUMENTS) {
      const bid = (instrument.low + instrument.high) / 2;
      const quote = { bid, ask: bid + instrument.spread };
      await admin.setQuote(instrument.ticker, {
        bid: quote.bid / instrument.scale,
        ask: quote.ask / instrument.scale,
      });
      this.quotes.set(instrument.ticker, [quote]);
      this.market.set(instrument.ticker, quote);
    }
  }

  /** Runs one request and classifies it: acknowledged, refused (not applied), or unknown outcome. */
  async attempt<T>(
    round: Round,
    node: LoadNode,
    label: string,
    request: () => Promise<T>,
  ): Promise<Outcome<T>> {
    this.stats.requests++;
    try {
      const value = await request();
      this.stats.acknowledged++;
      return { kind: 'ok', value };
    } catch (error) {
      if (error instanceof StocksTraderError) {
        if (error.status === 400 || error.status === 429) {
          this.stats.rejected++;
          const code = error.code ?? `HTTP ${error.status}`;
          this.stats.refusals[code] = (this.stats.refusals[code] ?? 0) + 1;
          return { kind: 'rejected', status: error.status, code: error.code };
        }
        if (this.options.tolerateBusy && error.status === 503 && error.code === 'account_busy') {
          this.stats.unknown++;
          this.busy.push(`round ${round.index}: ${label} through ${node.name}: ${error.message}`);
          return { kind: 'unknown' };
        }
        this.problems.push(
          `round ${round.index}: ${label} through ${node.name} answered HTTP ${error.status}: ${error.message}`,
        );
        return { kind: 'unknown' };
      }
      this.stats.unknown++;
      if (!node.dead) {
        this.problems.push(
          `round ${round.index}: ${label} failed while ${node.name} should be up: ${String(error)}; ` +
            `its stderr: ${node.stderr()}`,
        );
      }
      return { kind: 'unknown' };
    }
  }

  /** Runs the traders (one loop per entry, so an account listed twice races itself) and the admin loop. */
  run(round: Round, traders: readonly TestAccountInfo[], owned: Map<number, string[]>): Promise<void> {
    const loops = [
      ...traders.map((account, index) => {
        const mine = owned.get(index) ?? [];
        owned.set(index, mine);
        return this.traderLoop(round, account, mine);
      }),
      this.adminLoop(round),
    ].map((loop) =>
      loop.catch((error: unknown) => {
        this.problems.push(`round ${round.index}: load loop failed: ${String(error)}`);
      }),
    );
    return Promise.all(loops).then(() => undefined);
  }

  // ---- Load ----

  async traderLoop(round: Round, account: TestAccountInfo, owned: string[]): Promise<void> {
    while (!round.stopped) {
      const node = this.node(round);
      const client = this.client(node, account);
      const roll = this.random();
      if (roll < 0.3) await this.marketOrder(round, node, client, account);
      else if (roll < 0.5) await this.limitOrder(round, node, client, account, owned);
      else if (roll < 0.6) await this.modifyLimit(round, node, client, account, owned);
      else if (roll < 0.68) await this.cancelLimit(round, node, client, account, owned);
      else if (roll < 0.84) await this.closeDeal(round, node, client, account);
      else await this.modifyDeal(round, node, client, account);
    }
  }

  async marketOrder(round: Round, node: LoadNode, client: StocksTraderClient, account: TestAccountInfo) {
    const instrument = this.anyInstrument();
    const side: Side = this.random() < 0.5 ? 'buy' : 'sell';
    const volume = instrument.volume(this.random);
    const body: PlaceOrderBody = { ticker: instrument.ticker, side, type: 'market', volume };
    if (account.system === 'hedging' && this.random() < 0.5) {
      const levels = this.protectiveLevels(instrument, side);
      body.stop_loss = levels.stopLoss;
      body.take_profit = levels.takeProfit;
    }
    const floor = node.lastOrderId;
    const outcome = await this.attempt(round, node, `market order on ${account.id}`, () =>
      client.placeOrder(account.id, body),
    );
    if (outcome.kind === 'ok') {
      this.stats.marketFills++;
      this.acknowledgeOrder(round, node, floor, {
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

  async limitOrder(
    round: Round,
    node: LoadNode,
    client: StocksTraderClient,
    account: TestAccountInfo,
    owned: string[],
  ) {
    const instrument = this.anyInstrument();
    const side: Side = this.random() < 0.5 ? 'buy' : 'sell';
    const volume = instrument.volume(this.random);
    const price = this.restingPrice(instrument, side);
    const floor = node.lastOrderId;
    const outcome = await this.attempt(round, node, `limit order on ${account.id}`, () =>
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
      this.acknowledgeOrder(round, node, floor, {
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

  async modifyLimit(
    round: Round,
    node: LoadNode,
    client: StocksTraderClient,
    account: TestAccountInfo,
    owned: string[],
  ) {
    const order = this.orders.get(this.pick(owned) ?? '');
    if (!order) return this.limitOrder(round, node, client, account, owned);
    const instrument = this.instrument(order.ticker);
    const price = this.restingPrice(instrument, order.side);
    const outcome = await this.attempt(round, node, `modify order ${order.id}`, () =>
      client.modifyOrder(account.id, order.id, { price: price / instrument.scale }),
    );
    if (outcome.kind === 'ok') {
      this.stats.orderModifications++;
      order.prices = new Set([price]);
    } else if (outcome.kind === 'unknown') order.prices?.add(price);
    else if (outcome.code === 'order_not_found') this.notFound.set(order.id, `modify through ${node.name}`);
    return outcome;
  }

  async cancelLimit(
    round: Round,
    node: LoadNode,
    client: StocksTraderClient,
    account: TestAccountInfo,
    owned: string[],
  ) {
    const id = this.pick(owned);
    if (id === undefined) return this.limitOrder(round, node, client, account, owned);
    const outcome = await this.attempt(round, node, `cancel order ${id}`, () =>
      client.cancelOrder(account.id, id),
    );
    if (outcome.kind === 'ok') {
      this.stats.cancels++;
      const order = this.orders.get(id);
      if (order) order.cancelAcked = true;
    } else if (outcome.kind === 'rejected' && outcome.code === 'order_not_found') {
      this.notFound.set(id, `cancel through ${node.name}`);
    }
    // Canceled, or filled or canceled before: either way it is no longer ours to touch.
    if (outcome.kind !== 'unknown') owned.splice(owned.indexOf(id), 1);
    return outcome;
  }

  /** Lists the open deals and returns one at random (or undefined), noting every id seen. */
  async someOpenDeal(
    round: Round,
    node: LoadNode,
    client: StocksTraderClient,
    account: TestAccountInfo,
  ): Promise<Outcome<Deal | undefined>> {
    const listed = await this.attempt(round, node, `list deals of ${account.id}`, () =>
      client.deals(account.id),
    );
    if (listed.kind !== 'ok') return listed;
    for (const deal of listed.value) {
      if (!this.dealsSeen.has(deal.id)) {
        this.dealsSeen.set(
          deal.id,
          `listed by ${node.name} in round ${round.index} as ${JSON.stringify(deal)} (account ${account.id})`,
        );
      }
      if (!this.dealIdentity.has(deal.id) && idNumber(deal.id) <= round.minDealId) {
        this.problems.push(
          `deal ${deal.id}, new in round ${round.index}, is not above ${round.minDealId}, ` +
            'the highest id stored when the round began',
        );
      }
      this.noteDealIdentity(account.id, deal, `listing through ${node.name} in round ${round.index}`);
    }
    return { kind: 'ok', value: this.pick(listed.value) };
  }

  async closeDeal(round: Round, node: LoadNode, client: StocksTraderClient, account: TestAccountInfo) {
    const listed = await this.someOpenDeal(round, node, client, account);
    if (listed.kind !== 'ok' || !listed.value) return listed;
    const deal = listed.value;
    const outcome = await this.attempt(round, node, `close deal ${deal.id}`, () =>
      client.closeDeal(account.id, deal.id),
    );
    if (outcome.kind === 'ok') {
      this.stats.dealCloses++;
      this.dealRecord(account.id, deal.id).closeAcked = true;
    }
    return outcome;
  }

  async modifyDeal(round: Round, node: LoadNode, client: StocksTraderClient, account: TestAccountInfo) {
    const listed = await this.someOpenDeal(round, node, client, account);
    if (listed.kind !== 'ok' || !listed.value) return listed;
    const deal = listed.value;
    const instrument = this.instrument(deal.ticker);
    const clear = this.random() < 0.15;
    const levels = clear ? { stopLoss: 0, takeProfit: 0 } : this.protectiveLevels(instrument, deal.side);
    const outcome = await this.attempt(round, node, `modify deal ${deal.id}`, () =>
      client.modifyDeal(account.id, deal.id, {
        stop_loss: levels.stopLoss,
        take_profit: levels.takeProfit,
      }),
    );
    if (account.system !== 'hedging' || outcome.kind === 'rejected') return outcome;
    // Only one loop trades a hedging account, so an acknowledgement pins its SL/TP down.
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

  async adminLoop(round: Round): Promise<void> {
    while (!round.stopped) {
      const node = this.node(round);
      const admin = this.admin(node);
      if (this.random() < 0.85) await this.moveQuote(round, node, admin);
      else await this.changeBalance(round, node, admin);
    }
  }

  async moveQuote(round: Round, node: LoadNode, admin: AdminClient) {
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
    const outcome = await this.attempt(round, node, `quote ${instrument.ticker}`, () =>
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

  async changeBalance(round: Round, node: LoadNode, admin: AdminClient) {
    const account = this.pick(this.accounts);
    if (!account) throw new Error('no accounts');
    const comment = `${this.options.tag}-${this.options.seed}-${++this.#ledgerCounter}`;
    const amount = this.random() < 0.75 ? this.int(1, 500_000) / 100 : -this.int(1, 20_000) / 100;
    const outcome = await this.attempt(round, node, `balance change on ${account.id}`, () =>
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

  /**
   * `floor` is the highest order id `node` had acknowledged when the request was sent: the new id
   * was handed out later by the same process, so it must be above it.
   */
  acknowledgeOrder(round: Round, node: LoadNode, floor: number, order: OrderRecord): void {
    this.stats.ordersAcknowledged++;
    const id = idNumber(order.id);
    if (this.orders.has(order.id) || this.orderIdentity.has(order.id)) {
      this.problems.push(`order id ${order.id} acknowledged in round ${round.index} was already in use`);
    }
    if (id <= round.minOrderId) {
      this.problems.push(
        `order id ${order.id} acknowledged in round ${round.index} is not above ${round.minOrderId}, ` +
          'the highest id stored when the round began',
      );
    }
    if (id <= floor) {
      this.problems.push(
        `order id ${order.id} acknowledged by ${node.name} is not above ${floor}, which it acknowledged ` +
          'before this order was sent: ids must increase within one process',
      );
    }
    node.lastOrderId = Math.max(node.lastOrderId, id);
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

  // ---- Verification (no load running) ----

  /** Checks everything through the process at `url` and directly in the database. */
  async verify(url: string, store: StoreView): Promise<void> {
    this.verifications++;
    await store.integrity();
    const snapshot = await store.snapshot();
    // The rows first: a fill applied twice shows here with the most precise message.
    verifyStoredTrades(snapshot, `verification ${this.verifications}`);
    const admin = adminClient(url, this.options.adminToken);
    const allOrderIds = new Set<string>();
    const allDealIds = new Set<string>();
    for (const account of this.accounts) {
      await this.verifyAccount(url, admin, snapshot, account, allOrderIds, allDealIds);
    }

    // Nothing that was ever stored disappears.
    for (const id of this.orderStatus.keys()) assert.ok(allOrderIds.has(id), `order ${id} disappeared`);
    for (const id of this.dealStatus.keys()) assert.ok(allDealIds.has(id), `deal ${id} disappeared`);
    for (const [id, seen] of this.dealsSeen) {
      assert.ok(allDealIds.has(id), `deal ${id}, ${seen}, is missing: a listing showed a deal never stored`);
    }

    // Ids: with one process at a time, every id new since the last check is above the old maximum.
    const maxOrder = snapshot.orders.reduce((max, order) => Math.max(max, order.id), 0);
    const maxDeal = snapshot.deals.reduce((max, deal) => Math.max(max, deal.id), 0);
    if (this.options.idsIncrease) {
      assert.ok(maxOrder >= this.maxOrderId, `max order id went back from ${this.maxOrderId} to ${maxOrder}`);
      assert.ok(maxDeal >= this.maxDealId, `max deal id went back from ${this.maxDealId} to ${maxDeal}`);
    }
    this.maxOrderId = Math.max(this.maxOrderId, maxOrder);
    this.maxDealId = Math.max(this.maxDealId, maxDeal);

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
        `quote of ${instrument.ticker} is ${JSON.stringify(quote)}, expected one of ${JSON.stringify(possible)}`,
      );
      this.quotes.set(instrument.ticker, [quote]);
      this.market.set(instrument.ticker, quote);
    }

    // Balance changes: each acknowledged one exactly once, each unknown one at most once.
    const comments = countBy(snapshot.ledger.map((entry) => entry.comment));
    for (const comment of this.ledgerAcked) {
      assert.equal(comments[comment], 1, `acknowledged balance change ${comment} stored once`);
    }
    for (const comment of this.ledgerUnknown) {
      assert.ok((comments[comment] ?? 0) <= 1, `balance change ${comment} stored at most once`);
    }
  }

  async verifyAccount(
    url: string,
    admin: AdminClient,
    snapshot: StoreSnapshot,
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
    const storedOrders = snapshot.orders.filter((order) => order.account === numericId);
    const storedDeals = snapshot.deals.filter((deal) => deal.account === numericId);
    assert.equal(orders.length, storedOrders.length, `${where}: orders`);
    assert.equal(deals.length, storedDeals.length, `${where}: deals`);

    // Money: balance = Σ ledger + Σ realised profit, to the cent, through the API and in the database.
    const ledgerCents = ledger.reduce((sum, entry) => sum + cents(entry.amount), 0);
    const closed = deals.filter((deal) => deal.status === 'closed');
    const profitCents = closed.reduce((sum, deal) => sum + cents(deal.profit), 0);
    assert.equal(
      cents(state.margin.balance),
      ledgerCents + profitCents,
      `${where}: API balance ${state.margin.balance} = ledger ${ledgerCents / 100} + realised ${profitCents / 100}`,
    );
    const storedBalance = snapshot.balances.get(numericId);
    const storedLedger = snapshot.ledger
      .filter((entry) => entry.account === numericId)
      .reduce((sum, entry) => sum + entry.amount, 0);
    const storedProfit = storedDeals
      .filter((deal) => deal.status === 'closed')
      .reduce((sum, deal) => sum + deal.profit, 0);
    assert.equal(
      storedBalance,
      storedLedger + storedProfit,
      `${where}: stored balance = Σ ledger + Σ realised profit`,
    );
    assert.equal(storedBalance, cents(state.margin.balance), `${where}: stored balance = API balance`);

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
        if (this.options.idsIncrease && this.verifications > 1) {
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
      const notFound = this.notFound.get(order.id);
      if (notFound !== undefined) {
        assert.notEqual(
          order.status,
          'active',
          `${where}: order ${order.id} is active, yet a ${notFound} was told it does not exist ` +
            '(the process acted on a stale view of the account)',
        );
        this.notFound.delete(order.id);
      }

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
      if (!known && this.options.idsIncrease && this.verifications > 1) {
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

/**
 * Checks on the rows themselves that every fill happened exactly once:
 * - a filled order has exactly one fill row naming the deals the order names; any other order none;
 * - no two filled orders target (close) the same deal: a client close, SL, TP or stop-out fired once;
 * - a closed deal has exactly one closing fill, an open one none. A fill closes a deal it names on
 *   the other side, except the position a netting fill only reduces (named first, followed by the
 *   closed part it split off, which is on the position's side).
 */
export function verifyStoredTrades(snapshot: StoreSnapshot, where: string): void {
  const fillsByOrder = new Map<number, StoredFill[]>();
  for (const fill of snapshot.fills)
    fillsByOrder.set(fill.order, [...(fillsByOrder.get(fill.order) ?? []), fill]);
  const ordersById = new Map(snapshot.orders.map((order) => [order.id, order]));
  for (const fill of snapshot.fills) {
    const order = ordersById.get(fill.order);
    assert.ok(order, `${where}: stored fill of unknown order ${fill.order}`);
    assert.equal(order.account, fill.account, `${where}: fill of order ${fill.order} on another account`);
  }
  const closers = new Map<number, number[]>();
  for (const order of snapshot.orders) {
    const fills = fillsByOrder.get(order.id) ?? [];
    if (order.status === 'filled') {
      assert.equal(
        fills.length,
        1,
        `${where}: filled ${order.type} order ${order.id} has ${fills.length} stored fills, expected exactly 1`,
      );
      assert.deepEqual(
        fills[0]?.deals,
        order.deals,
        `${where}: stored fill of order ${order.id} names its deals`,
      );
      if (order.targetDeal !== null) {
        closers.set(order.targetDeal, [...(closers.get(order.targetDeal) ?? []), order.id]);
      }
    } else {
      assert.equal(
        fills.length,
        0,
        `${where}: ${order.status} order ${order.id} has ${fills.length} stored fills`,
      );
    }
  }
  for (const [deal, orders] of closers) {
    assert.equal(
      orders.length,
      1,
      `${where}: deal ${deal} was closed by ${orders.length} filled orders (${orders.join(', ')}): a close fired twice`,
    );
  }

  const dealsById = new Map(snapshot.deals.map((deal) => [deal.id, deal]));
  const closings = new Map<number, number>();
  for (const fill of snapshot.fills) {
    fill.deals.forEach((dealId, index) => {
      const deal = dealsById.get(dealId);
      assert.ok(deal, `${where}: fill of order ${fill.order} names missing deal ${dealId}`);
      if (deal.side === fill.side) return;
      const next = index === 0 ? dealsById.get(fill.deals[1] ?? -1) : undefined;
      const onlyReduced = next !== undefined && next.side !== fill.side;
      if (!onlyReduced) closings.set(dealId, (closings.get(dealId) ?? 0) + 1);
    });
  }
  for (const deal of snapshot.deals) {
    const count = closings.get(deal.id) ?? 0;
    if (count === (deal.status === 'closed' ? 1 : 0)) continue;
    const naming = snapshot.fills
      .filter((fill) => fill.deals.includes(deal.id))
      .map((fill) => {
        const order = ordersById.get(fill.order);
        return `order ${fill.order} (${order?.type} ${fill.side} ${order?.status}, target ${order?.targetDeal}) fill naming deals ${fill.deals.join(',')}`;
      });
    assert.fail(
      `${where}: ${deal.status} ${deal.side} deal ${deal.id} of account ${deal.account} has ${count} closing fills: ` +
        naming.join('; '),
    );
  }
}
