/**
 * Fifty concurrent clients, each on its own bearer token, hammer the server with a bounded mix of
 * market orders, buy stops and limits, cancels, deal closes, SL/TP changes, reads, deposits,
 * withdrawals and admin quote moves: first all on ONE account (50 tokens of one user), then on 50
 * accounts (one user and token each, netting and hedging mixed).
 *
 * Quotes only ever rise during the burst and every position is long, so prices never move against
 * an account: free margin can only go negative if margin is spent twice. Afterwards every account
 * is reconciled against what the clients were told:
 * - the balance equals the ledger (initial deposit + acknowledged deposits and withdrawals) plus the
 *   realised profit of every closed deal, to the cent;
 * - filled market orders are exactly the acknowledged ones, every business rejection left exactly
 *   one `rejected` order, every acknowledged close and cancel happened exactly once;
 * - volume is conserved: what filled orders opened is what open and closed deals hold;
 * - free margin is not negative, nothing was stopped out.
 * Then a 50-way burst on the one account fills exactly as many orders as its free margin allows.
 * A last run repeats the one-account burst with the rate limiter on: a 429 must change nothing.
 *
 * Every response must be 200, a clean 400 with an expected rejection code, or 429. Knobs:
 * CONCURRENCY_SEED (the op mix; printed), CONCURRENCY_REQUESTS (per client, default 40).
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_TOKEN,
  raw,
  startTestServer,
  type TestAccount,
  type TestServer,
} from '../support/test-server.ts';
import { seededRandom } from '../support/seeded-random.ts';

const CLIENTS = 50;
const REQUESTS_PER_CLIENT = positiveInt(process.env.CONCURRENCY_REQUESTS, 40);
const SEED =
  process.env.CONCURRENCY_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.CONCURRENCY_SEED);
const DEADLINE_MS = 60_000;
const TICKER = 'AAPL.nq';
const VOLUME = 10;
const FORM = 'application/x-www-form-urlencoded';

function positiveInt(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

const cents = (amount: number): number => Math.round(amount * 100);
const price = (value: number): number => Math.round(value * 100) / 100;

type Reply = Awaited<ReturnType<typeof raw>>;

// ---------------------------------------------------------------------------------------------
// Traffic accounting: every reply is checked against the contract and counted.
// ---------------------------------------------------------------------------------------------

class Traffic {
  inFlight = 0;
  maxInFlight = 0;
  readonly statuses = new Map<number, number>();
  readonly ops = new Map<string, { sent: number; ok: number }>();
  readonly violations: string[] = [];

  constructor(readonly url: string) {}

  /**
   * Sends one request; `allowed` lists the rejection codes a 400 may carry for this op. A 429 is
   * always acceptable (the request was not executed).
   */
  async call(
    op: string,
    method: string,
    path: string,
    token: string,
    allowed: readonly string[],
    body?: string,
  ): Promise<Reply> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let reply: Reply;
    try {
      reply = await raw(this.url, method, path, {
        token,
        ...(body === undefined ? {} : { body, contentType: FORM }),
      });
    } finally {
      this.inFlight--;
    }
    this.statuses.set(reply.status, (this.statuses.get(reply.status) ?? 0) + 1);
    const tally = this.ops.get(op) ?? { sent: 0, ok: 0 };
    this.ops.set(op, tally);
    tally.sent++;
    const where = `${op}: ${method} ${path} ${body ?? ''} → ${reply.status} ${reply.text.slice(0, 300)}`;
    if (reply.status === 200) {
      tally.ok++;
      if (reply.body.code !== 'ok') this.violations.push(`200 without code "ok": ${where}`);
    } else if (reply.status === 400) {
      if (reply.body.code !== 'error' || typeof reply.body.msg !== 'string' || reply.body.msg === '') {
        this.violations.push(`400 without the error envelope: ${where}`);
      } else if (!allowed.includes(String(reply.body.error))) {
        this.violations.push(`unexpected rejection: ${where}`);
      }
    } else if (reply.status === 429) {
      if (reply.body.code !== 'error' || !reply.headers.get('retry-after')) {
        this.violations.push(`429 without the envelope or Retry-After: ${where}`);
      }
    } else {
      this.violations.push(`status ${reply.status}: ${where}`);
    }
    return reply;
  }

  summary(): string {
    const statuses = JSON.stringify(Object.fromEntries([...this.statuses].sort()));
    const ops = [...this.ops]
      .sort()
      .map(([op, { sent, ok }]) => `${op} ${ok}/${sent}`)
      .join(', ');
    const total = [...this.statuses.values()].reduce((sum, count) => sum + count, 0);
    return `${total} requests, max ${this.maxInFlight} in flight, statuses ${statuses}; ok/sent: ${ops}`;
  }
}

/**
 * Moves the quote of one instrument up one cent at a time, strictly in order: moves requested
 * concurrently are chained, so the server sees a rising price whatever the interleaving.
 */
class RisingQuote {
  #chain: Promise<unknown> = Promise.resolve();
  #level = 0;

  constructor(
    readonly traffic: Traffic,
    readonly ticker: string,
    readonly baseBid: number,
    readonly spread: number,
  ) {}

  get bid(): number {
    return price(this.baseBid + this.#level / 100);
  }

  get ask(): number {
    return price(this.bid + this.spread);
  }

  /** Sets the initial quote. */
  async start(t: TestServer): Promise<void> {
    await t.admin.setQuote(this.ticker, { bid: this.bid, ask: this.ask });
  }

  move(): Promise<unknown> {
    this.#chain = this.#chain.then(async () => {
      const next = this.#level + 1;
      const bid = price(this.baseBid + next / 100);
      const reply = await this.traffic.call(
        'quote move',
        'PUT',
        `/admin/v1/quotes/${this.ticker}`,
        ADMIN_TOKEN,
        [],
        `bid=${bid}&ask=${price(bid + this.spread)}`,
      );
      if (reply.status === 200) this.#level = next;
    });
    return this.#chain;
  }

  /** Waits for every move issued so far. */
  settle(): Promise<unknown> {
    return this.#chain;
  }
}

// ---------------------------------------------------------------------------------------------
// What the clients were told, per account.
// ---------------------------------------------------------------------------------------------

interface Book {
  account: TestAccount;
  tokens: string[];
  initialCents: number;
  /** Acknowledged market orders (ids from the replies). */
  marketAcks: Set<string>;
  /** Acknowledged buy stops and limits. */
  pendingAcks: Set<string>;
  cancelAcks: Set<string>;
  /** Deal ids whose DELETE was acknowledged. */
  closeAcks: string[];
  /** Messages of business rejections of new orders (each must have left a rejected order). */
  rejections: string[];
  /** Acknowledged deposits and withdrawals, in cents. */
  adjustments: number[];
  /** Targets for closes and modifications, refreshed by reads. */
  knownDeals: string[];
  knownPending: string[];
}

function newBook(account: TestAccount, tokens: string[], initial: number): Book {
  return {
    account,
    tokens,
    initialCents: cents(initial),
    marketAcks: new Set(),
    pendingAcks: new Set(),
    cancelAcks: new Set(),
    closeAcks: [],
    rejections: [],
    adjustments: [],
    knownDeals: [],
    knownPending: [],
  };
}

function pick<T>(random: () => number, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(random() * items.length)];
}

/** One client: `count` requests on `book` with `token`, the op chosen by `random`. */
async function runClient(
  traffic: Traffic,
  quote: RisingQuote,
  book: Book,
  token: string,
  random: () => number,
  count: number,
): Promise<void> {
  const acct = `/api/v1/accounts/${book.account.accountId}`;
  const placed = (reply: Reply, into: Set<string>): void => {
    if (reply.status === 200) {
      const id = (reply.body.data as { order_id: string }).order_id;
      into.add(id);
      if (into === book.pendingAcks) book.knownPending.push(id);
    } else if (reply.status === 400) {
      book.rejections.push(String(reply.body.msg));
    }
  };
  for (let step = 0; step < count; step++) {
    const roll = random();
    if (roll < 0.25) {
      // Market buy, sometimes with a far stop loss and a take profit just above the market.
      let body = `ticker=${quote.ticker}&side=buy&type=market&volume=${VOLUME}`;
      if (random() < 0.4) body += `&stop_loss=${price(quote.bid - 20)}`;
      if (random() < 0.4) body += `&take_profit=${price(quote.ask + 0.05 + Math.floor(random() * 96) / 100)}`;
      const reply = await traffic.call(
        'market buy',
        'POST',
        `${acct}/orders`,
        token,
        ['insufficient_margin', 'invalid_take_profit'],
        body,
      );
      placed(reply, book.marketAcks);
    } else if (roll < 0.33) {
      // A buy stop just above the ask: rising quotes fire it.
      const stop = price(quote.ask + 0.02 + Math.floor(random() * 49) / 100);
      const reply = await traffic.call(
        'buy stop',
        'POST',
        `${acct}/orders`,
        token,
        ['insufficient_margin', 'invalid_price'],
        `ticker=${quote.ticker}&side=buy&type=stop&volume=${VOLUME}&price=${stop}`,
      );
      placed(reply, book.pendingAcks);
    } else if (roll < 0.41) {
      // A buy limit below the ask: quotes only rise, so it rests until canceled.
      const limit = price(quote.ask - 1 - Math.floor(random() * 400) / 100);
      const reply = await traffic.call(
        'buy limit',
        'POST',
        `${acct}/orders`,
        token,
        ['insufficient_margin'],
        `ticker=${quote.ticker}&side=buy&type=limit&volume=${VOLUME}&price=${limit}`,
      );
      placed(reply, book.pendingAcks);
    } else if (roll < 0.49) {
      const id = pick(random, book.knownPending);
      if (id === undefined) continue;
      const reply = await traffic.call('cancel', 'DELETE', `${acct}/orders/${id}`, token, [
        'order_not_found',
      ]);
      if (reply.status === 200) book.cancelAcks.add(id);
    } else if (roll < 0.53) {
      const id = pick(random, book.knownPending);
      if (id === undefined) continue;
      const change = random() < 0.5 ? `stop_loss=${price(quote.bid - 30)}` : 'volume=5';
      await traffic.call(
        'modify order',
        'PUT',
        `${acct}/orders/${id}`,
        token,
        ['order_not_found', 'order_not_modifiable'],
        change,
      );
    } else if (roll < 0.61) {
      const id = pick(random, book.knownDeals);
      if (id === undefined) continue;
      const reply = await traffic.call('close deal', 'DELETE', `${acct}/deals/${id}`, token, [
        'deal_not_found',
      ]);
      if (reply.status === 200) book.closeAcks.push(id);
    } else if (roll < 0.69) {
      const id = pick(random, book.knownDeals);
      if (id === undefined) continue;
      const which = random();
      const change =
        which < 0.4
          ? `stop_loss=${price(quote.bid - 10)}`
          : which < 0.8
            ? `take_profit=${price(quote.ask + 0.1 + Math.floor(random() * 90) / 100)}`
            : 'stop_loss=0&take_profit=0';
      await traffic.call(
        'modify deal',
        'PUT',
        `${acct}/deals/${id}`,
        token,
        ['deal_not_found', 'invalid_take_profit'],
        change,
      );
    } else if (roll < 0.86) {
      const which = random();
      if (which < 0.4) {
        const reply = await traffic.call('read deals', 'GET', `${acct}/deals`, token, []);
        if (reply.status === 200)
          book.knownDeals = (reply.body.data as { id: string }[]).map((deal) => deal.id);
      } else if (which < 0.7) {
        const reply = await traffic.call('read orders', 'GET', `${acct}/orders`, token, []);
        if (reply.status === 200)
          book.knownPending = (reply.body.data as { id: string }[]).map((order) => order.id);
      } else if (which < 0.9) {
        await traffic.call('read state', 'GET', acct, token, []);
      } else {
        await traffic.call('read quote', 'GET', `${acct}/instruments/${quote.ticker}/quote`, token, []);
      }
    } else if (roll < 0.93) {
      await quote.move();
    } else {
      const deposit = random() < 0.5;
      const amount = deposit ? 25 : -30;
      const reply = await traffic.call(
        deposit ? 'deposit' : 'withdraw',
        'POST',
        `/admin/v1/accounts/${book.account.accountId}/balance`,
        ADMIN_TOKEN,
        deposit ? [] : ['insufficient_funds'],
        `amount=${amount}`,
      );
      if (reply.status === 200) book.adjustments.push(cents(amount));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reconciliation.
// ---------------------------------------------------------------------------------------------

interface WireOrder {
  id: string;
  type: string;
  side: string;
  status: string;
  volume: number;
  comment?: string;
}
interface WireDeal {
  id: string;
  status: string;
  volume: number;
  profit: number;
}

/** A read for the reconciliation: 429s are waited out (a refused read proves nothing). */
async function read(t: TestServer, path: string, token: string): Promise<Reply> {
  for (let attempt = 0; ; attempt++) {
    const reply = await raw(t.url, 'GET', path, { token });
    if (reply.status !== 429 || attempt >= 50) {
      assert.equal(reply.status, 200, `${path}: ${reply.status} ${reply.text}`);
      return reply;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function allPages<T>(t: TestServer, path: string, token: string): Promise<T[]> {
  const items: T[] = [];
  for (let skip = 0; ; skip += 500) {
    const separator = path.includes('?') ? '&' : '?';
    const reply = await read(t, `${path}${separator}skip=${skip}&limit=500`, token);
    const page = reply.body.data as T[];
    items.push(...page);
    if (page.length < 500) return items;
  }
}

const sorted = <T>(items: Iterable<T>): T[] => [...items].sort();

/** Checks an account's stored history and money against what its clients were told. */
async function reconcile(
  t: TestServer,
  book: Book,
): Promise<{ fills: number; closes: number; rejected: number }> {
  const { accountId, token } = book.account;
  const label = `account ${accountId}`;
  const orders = await allPages<WireOrder>(t, `/api/v1/accounts/${accountId}/orders?history_from=0`, token);
  const deals = await allPages<WireDeal>(t, `/api/v1/accounts/${accountId}/deals?history_from=0`, token);
  const ledger = await allPages<{ amount: number }>(t, `/admin/v1/accounts/${accountId}/ledger`, ADMIN_TOKEN);
  const stateReply = await read(t, `/api/v1/accounts/${accountId}`, token);
  const state = (stateReply.body.data as { margin: Record<string, number> }).margin;

  const byId = new Map(orders.map((order) => [order.id, order]));
  const isClose = (order: WireOrder): boolean => /^close deal /.test(order.comment ?? '');

  // Market orders: exactly the acknowledged ones filled.
  const filledMarket = orders.filter((o) => o.type === 'market' && !isClose(o) && o.status === 'filled');
  assert.deepEqual(
    sorted(filledMarket.map((o) => o.id)),
    sorted(book.marketAcks),
    `${label}: filled market orders = acks`,
  );

  // Pending orders: every acknowledged one exists; the client-canceled ones are exactly the acks.
  for (const id of book.pendingAcks) {
    const order = byId.get(id);
    assert.ok(
      order && (order.type === 'stop' || order.type === 'limit'),
      `${label}: pending order ${id} stored`,
    );
  }
  const canceled = orders.filter((o) => o.status === 'canceled');
  assert.deepEqual(
    sorted(canceled.map((o) => o.id)),
    sorted(book.cancelAcks),
    `${label}: canceled orders = acked cancels`,
  );
  assert.ok(
    canceled.every((o) => o.comment === 'canceled by client'),
    `${label}: cancel comments`,
  );

  // Business rejections: one rejected order each, with the reply's message.
  const rejected = orders.filter((o) => o.status === 'rejected' && !book.pendingAcks.has(o.id));
  assert.deepEqual(
    sorted(rejected.map((o) => o.comment ?? '')),
    sorted(book.rejections),
    `${label}: rejected orders = rejections`,
  );

  // Closes: one filled close order per acknowledged DELETE, each deal closed once.
  const closeOrders = orders.filter((o) => isClose(o));
  assert.ok(
    closeOrders.every((o) => o.status === 'filled' && o.side === 'sell'),
    `${label}: close orders filled`,
  );
  const closedByClient = closeOrders.map((o) => (o.comment ?? '').replace(/^close deal /, ''));
  assert.deepEqual(sorted(closedByClient), sorted(book.closeAcks), `${label}: close orders = acked closes`);
  assert.equal(new Set(book.closeAcks).size, book.closeAcks.length, `${label}: no deal closed twice`);

  // Nothing else: system orders are only SL/TP, never a stop-out (prices only rose).
  const system = orders.filter(
    (o) => o.type === 'stop_loss' || o.type === 'take_profit' || o.type === 'stop_out',
  );
  assert.ok(
    system.every((o) => o.type !== 'stop_out'),
    `${label}: no stop-out`,
  );
  const accounted =
    filledMarket.length + book.pendingAcks.size + closeOrders.length + rejected.length + system.length;
  assert.equal(orders.length, accounted, `${label}: every stored order is accounted for`);

  // Deals: every close is a client DELETE or a fired SL/TP; volume is conserved.
  const closedDeals = deals.filter((d) => d.status === 'closed');
  const systemCloses = system.filter((o) => o.status === 'filled').length;
  assert.equal(closedDeals.length, book.closeAcks.length + systemCloses, `${label}: closed deals = closes`);
  const stopFills = orders.filter((o) => o.type === 'stop' && o.status === 'filled');
  const opened = [...filledMarket, ...stopFills].reduce((sum, o) => sum + o.volume, 0);
  const held = deals.reduce((sum, d) => sum + d.volume, 0);
  assert.equal(held, opened, `${label}: deal volume = filled opening volume`);
  assert.ok(
    deals.every((d) => d.status !== 'closing'),
    `${label}: no deal left closing`,
  );

  // Money: balance = ledger (initial + acknowledged adjustments) + realised profit, to the cent.
  const ledgerCents = ledger.map((entry) => cents(entry.amount));
  assert.deepEqual(
    sorted(ledgerCents),
    sorted([book.initialCents, ...book.adjustments]),
    `${label}: ledger = acks`,
  );
  const realised = closedDeals.reduce((sum, d) => sum + cents(d.profit), 0);
  const expected = ledgerCents.reduce((sum, amount) => sum + amount, 0) + realised;
  assert.equal(cents(state.balance ?? NaN), expected, `${label}: balance = deposits + realised profit`);
  assert.equal(
    cents(state.equity ?? NaN),
    cents(state.balance ?? NaN) + cents(state.unrealized_pl ?? NaN),
    `${label}: equity`,
  );
  assert.ok((state.free_margin ?? -1) >= 0, `${label}: free margin ${state.free_margin} never spent twice`);
  return {
    fills: filledMarket.length + stopFills.length,
    closes: closedDeals.length,
    rejected: rejected.length,
  };
}

async function withDeadline<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${DEADLINE_MS} ms: deadlock?`)),
      DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function stillAnswers(t: TestServer, account: TestAccount): Promise<void> {
  const health = await raw(t.url, 'GET', '/healthz');
  assert.equal(health.status, 200, 'the server still answers');
  const state = await raw(t.url, 'GET', `/api/v1/accounts/${account.accountId}`, { token: account.token });
  assert.ok([200, 429].includes(state.status), `a final request still answers: ${state.status}`);
}

/** Runs a set-up call, waiting out the rate limiter (for the server that has it on). */
async function patiently<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 100 || !/rate limit/.test(String((error as Error).message))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Fifty clients, each with its own token of one user, on one hedging account of $2,000. */
async function hammerOneAccount(
  t: TestServer,
  traffic: Traffic,
  quote: RisingQuote,
  requests: number,
): Promise<Book> {
  await patiently(() => quote.start(t));
  const balance = 2_000;
  const account = await patiently(() => t.newAccount({ system: 'hedging', balance }));
  const tokens = [account.token];
  while (tokens.length < CLIENTS)
    tokens.push((await patiently(() => t.admin.issueToken(account.userId))).token);
  const book = newBook(account, tokens, balance);
  await withDeadline(
    Promise.all(
      tokens.map((token, index) =>
        runClient(traffic, quote, book, token, seededRandom(SEED + index), requests),
      ),
    ),
    'the one-account burst',
  );
  await quote.settle();
  return book;
}

// ---------------------------------------------------------------------------------------------

describe('50 concurrent clients', { timeout: 4 * DEADLINE_MS }, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t?.close();
  });

  it('on ONE account (50 tokens of one user): no lost update, margin never spent twice', async (ctx: TestContext) => {
    const traffic = new Traffic(t.url);
    const quote = new RisingQuote(traffic, TICKER, 99.98, 0.02);
    const started = performance.now();
    const book = await hammerOneAccount(t, traffic, quote, REQUESTS_PER_CLIENT);
    const { account, tokens } = book;
    assert.deepEqual(
      traffic.violations.slice(0, 10),
      [],
      `${traffic.violations.length} replies broke the contract`,
    );
    const burstMs = performance.now() - started;
    const counts = await reconcile(t, book);

    // A final 50-way burst at a known free margin: exactly the affordable orders fill. Zero spread
    // at an even-cent price L makes each order need exactly 10 × L × 5% of margin and lose nothing.
    const level = Math.ceil(quote.ask * 50) / 50;
    await t.admin.setQuote(TICKER, { bid: level, ask: level });
    const perOrder = cents(VOLUME * level * 0.05);
    const affordable = 20;
    const stateBefore = await account.client.accountState(account.accountId);
    const leftover = Math.floor(perOrder / 2);
    const target = affordable * perOrder + leftover;
    const adjust = target - cents(stateBefore.margin.free_margin);
    if (adjust !== 0) {
      await t.admin.adjustBalance(account.accountId, adjust / 100, 'set up the final burst');
      book.adjustments.push(adjust);
    }
    const replies = await withDeadline(
      Promise.all(
        tokens.map((token) =>
          traffic.call(
            'final market buy',
            'POST',
            `/api/v1/accounts/${account.accountId}/orders`,
            token,
            ['insufficient_margin'],
            `ticker=${TICKER}&side=buy&type=market&volume=${VOLUME}`,
          ),
        ),
      ),
      'the final burst',
    );
    assert.deepEqual(traffic.violations.slice(0, 10), []);
    const executed = replies.filter((reply) => reply.status !== 429).length;
    const filled = replies.filter((reply) => reply.status === 200);
    assert.equal(filled.length, Math.min(affordable, executed), 'exactly the affordable orders fill');
    for (const reply of replies) {
      if (reply.status === 200) book.marketAcks.add((reply.body.data as { order_id: string }).order_id);
      if (reply.status === 400) book.rejections.push(String(reply.body.msg));
    }
    const stateAfter = await account.client.accountState(account.accountId);
    if (filled.length === affordable) {
      assert.equal(cents(stateAfter.margin.free_margin), leftover, 'free margin left: half an order');
    }
    await reconcile(t, book);
    await stillAnswers(t, account);

    ctx.diagnostic(
      `one account, ${tokens.length} tokens, seed ${SEED}: ${traffic.summary()}; burst ${(burstMs / 1000).toFixed(1)} s; ` +
        `${counts.fills} fills, ${counts.closes} closes, ${counts.rejected} business rejections; ` +
        `final burst ${filled.length}/${replies.length} filled (free margin for ${affordable})`,
    );
  });

  it('on 50 accounts (one client each, netting and hedging): every account reconciles', async (ctx: TestContext) => {
    const traffic = new Traffic(t.url);
    // MSFT.nq here, so the first test's account and quotes stay out of the way.
    const quote = new RisingQuote(traffic, 'MSFT.nq', 199.98, 0.02);
    await quote.start(t);
    const books: Book[] = [];
    for (let index = 0; index < CLIENTS; index++) {
      const balance = 500 + 50 * (index % 10);
      const account = await t.newAccount({ system: index % 2 === 0 ? 'netting' : 'hedging', balance });
      books.push(newBook(account, [account.token], balance));
    }
    const started = performance.now();
    await withDeadline(
      Promise.all(
        books.map((book, index) =>
          runClient(
            traffic,
            quote,
            book,
            book.account.token,
            seededRandom(SEED + 1000 + index),
            REQUESTS_PER_CLIENT,
          ),
        ),
      ),
      'the many-accounts burst',
    );
    await quote.settle();
    const burstMs = performance.now() - started;
    assert.deepEqual(
      traffic.violations.slice(0, 10),
      [],
      `${traffic.violations.length} replies broke the contract`,
    );
    let fills = 0;
    let closes = 0;
    let rejected = 0;
    for (const book of books) {
      const counts = await reconcile(t, book);
      fills += counts.fills;
      closes += counts.closes;
      rejected += counts.rejected;
    }
    const first = books[0];
    assert.ok(first);
    await stillAnswers(t, first.account);
    ctx.diagnostic(
      `${books.length} accounts, seed ${SEED}: ${traffic.summary()}; burst ${(burstMs / 1000).toFixed(1)} s; ` +
        `${fills} fills, ${closes} closes, ${rejected} business rejections`,
    );
  });
  it('with rate limiting on: a 429 changes nothing, the books still reconcile', async (ctx: TestContext) => {
    // A small bucket per token (and one shared by every admin call): most requests get 429.
    const limited = await startTestServer({ rateLimit: 20, rateBurst: 5 });
    try {
      const traffic = new Traffic(limited.url);
      const quote = new RisingQuote(traffic, TICKER, 99.98, 0.02);
      const book = await hammerOneAccount(limited, traffic, quote, Math.ceil(REQUESTS_PER_CLIENT / 2));
      assert.deepEqual(
        traffic.violations.slice(0, 10),
        [],
        `${traffic.violations.length} replies broke the contract`,
      );
      assert.ok((traffic.statuses.get(429) ?? 0) > 0, 'the limiter answered 429 at least once');
      const counts = await reconcile(limited, book);
      ctx.diagnostic(
        `rate limited, seed ${SEED}: ${traffic.summary()}; ${counts.fills} fills, ${counts.closes} closes`,
      );
    } finally {
      await limited.close();
    }
  });
});
