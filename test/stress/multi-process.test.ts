/**
 * Several server processes on one PostgreSQL database, as a cluster, against real processes.
 *
 * 1. Three processes start together on a fresh database (they must migrate and boot safely at
 *    once). Accounts and quotes are set up through one of them and are usable through the others at
 *    once; an admin quote sent to one reaches the others. Then a steady load of orders, limits,
 *    modifications, cancels, SL/TP changes, closes, crossing quotes and balance changes goes to a
 *    process picked at random per request, while one process at a time is killed with SIGKILL, the
 *    load goes on against the survivors, and the killed one is restarted on the same database.
 *    After every kill (on the survivors) and at the end (on all three):
 *    - the crash-safety invariants: every acknowledged order exists in its acknowledged or a later
 *      legal state, no trade is half-applied, balance = Σ ledger + Σ realised profit exactly in
 *      cents through the API and in PostgreSQL, ids are unique and keep naming what they named;
 *    - every resting order, SL and TP fired exactly once: a filled order has exactly one fill, no
 *      two filled orders close the same deal, a closed deal has exactly one closing fill;
 *    - the processes converge: once the load stops they all answer the same quotes and, for every
 *      account, the same state, open orders and open deals, which are the ones PostgreSQL holds;
 *    - order ids that one process acknowledges one after another increase;
 *    - no process answers `order_not_found` for an order that was acknowledged and is still active.
 *    Last, 60 market orders go out at once, round-robin through the three processes, on an account
 *    whose free margin fits exactly N of them: exactly N fill, the rest are refused with
 *    `insufficient_margin`, and no process ever shows a negative free margin.
 * 2. With the simulator feed on all three, exactly one runs it and the others stand by; when the
 *    owner is killed one survivor takes over and quote times keep advancing on every survivor; the
 *    restarted process stands by.
 *
 * MULTI_KILLS sets the number of kills (default 4); MULTI_SEED replays the random choices of a run
 * (the seed is printed).
 */
import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { StocksTraderError } from '../../src/client/stockstrader-client.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres-cluster.ts';
import { ServerProcesses, type ServerProcess } from '../support/server-processes.ts';
import {
  INSTRUMENTS,
  TradingLoad,
  adminClient,
  cents,
  countBy,
  errorCode,
  idList,
  pageAll,
  positiveInteger,
  publicClient,
  sleep,
  type LoadNode,
  type Round,
  type StoreSnapshot,
  type StoreView,
  type TestAccountInfo,
} from '../support/trading-load.ts';
import { createUserAccount } from '../support/user-accounts.ts';
import { waitFor } from '../support/wait-for.ts';

const ADMIN_TOKEN = 'multi-process-admin-token';
const KILLS = positiveInteger(process.env.MULTI_KILLS, 4);
const SEED = positiveInteger(process.env.MULTI_SEED, Date.now() % 2 ** 31);
const PROCESSES = 3;
/** How long the processes may take to agree once the load stops ("~1 s for propagation"). */
const CONVERGENCE_MS = 1_500;
/** How long another process may take to show an admin quote ("~100 ms"; slack for a busy machine). */
const QUOTE_PROPAGATION_MS = 1_000;
const TAKEOVER_MS = 10_000;
const BURST = 60;

// ---- Processes, pools and databases: all cleaned up in `after`, even on failure ----

const processes = new ServerProcesses();
const pools: Pool[] = [];
const databases: TestDatabase[] = [];

after(async () => {
  await processes.killAll();
  await Promise.allSettled(pools.map((pool) => pool.end()));
  const dropped = await Promise.allSettled(databases.map((database) => database.drop()));
  for (const result of dropped) {
    if (result.status === 'rejected')
      console.error(`multi-process: dropping a database failed: ${result.reason}`);
  }
});

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  databases.push(database);
  return database;
}

/** One slot of the cluster; a restart puts a new process (and node) in the same slot. */
interface Member {
  slot: number;
  server: ServerProcess;
  node: LoadNode;
}

async function startMember(databaseUrl: string, feed: 'manual' | 'sim', slot: number, life: number) {
  const server = await processes.startOnPostgres(databaseUrl, ADMIN_TOKEN, feed);
  const name = `P${slot + 1}#${life} (${server.url})`;
  const node: LoadNode = {
    name,
    url: server.url,
    dead: false,
    stderr: () => server.output(),
    lastOrderId: 0,
  };
  return { slot, server, node } satisfies Member;
}

function assertAlive(members: readonly Member[], where: string): void {
  for (const member of members) {
    assert.ok(
      member.server.alive(),
      `${where}: ${member.node.name} died on its own (exit ${member.server.child.exitCode ?? member.server.child.signalCode}): ${member.server.output()}`,
    );
  }
}

// ---- PostgreSQL, read directly ----

function postgresStore(url: string): StoreView {
  const pool = new Pool({ connectionString: url, max: 2 });
  pools.push(pool);
  const id = (value: unknown): number => Number(value);
  return {
    async integrity() {
      // The history page counts (kept by row triggers) match the rows, if the schema has them.
      const { rows: tables } = await pool.query<{ present: boolean }>(
        "SELECT to_regclass('history_pages') IS NOT NULL AS present",
      );
      if (!tables[0]?.present) return;
      const { rows } = await pool.query<{ kind: string; account_id: string; bucket: string; status: string }>(
        `WITH actual AS (
           SELECT 'order' AS kind, account_id, id / 4096 AS bucket, status, COUNT(*) AS n
             FROM orders GROUP BY account_id, id / 4096, status
           UNION ALL
           SELECT 'deal', account_id, id / 4096, status, COUNT(*) FROM deals GROUP BY account_id, id / 4096, status)
         SELECT COALESCE(a.kind, p.kind) AS kind, COALESCE(a.account_id, p.account_id) AS account_id,
                COALESCE(a.bucket, p.bucket) AS bucket, COALESCE(a.status, p.status) AS status
           FROM actual a FULL JOIN history_pages p
             ON p.kind = a.kind AND p.account_id = a.account_id AND p.bucket = a.bucket AND p.status = a.status
          WHERE COALESCE(a.n, 0) <> COALESCE(p.count, 0)`,
      );
      assert.deepEqual(rows, [], 'history_pages counts match the orders and deals rows');
    },
    async snapshot(): Promise<StoreSnapshot> {
      const client = await pool.connect();
      try {
        // One consistent snapshot of every table.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const accounts = await client.query<{ id: string; balance: string }>(
          'SELECT id, balance FROM accounts',
        );
        const orders = await client.query<{
          id: string;
          account_id: string;
          type: string;
          status: string;
          deals: string;
          target_deal_id: string | null;
        }>('SELECT id, account_id, type, status, deals, target_deal_id FROM orders');
        const deals = await client.query<{
          id: string;
          account_id: string;
          side: string;
          status: string;
          profit: string;
        }>('SELECT id, account_id, side, status, profit FROM deals');
        const fills = await client.query<{
          order_id: string;
          account_id: string;
          side: string;
          deal_ids: string;
        }>('SELECT order_id, account_id, side, deal_ids FROM fills');
        const ledger = await client.query<{ account_id: string; amount: string; comment: string }>(
          'SELECT account_id, amount, comment FROM ledger',
        );
        await client.query('COMMIT');
        return {
          balances: new Map(accounts.rows.map((row) => [id(row.id), id(row.balance)])),
          orders: orders.rows.map((row) => ({
            id: id(row.id),
            account: id(row.account_id),
            type: row.type,
            status: row.status,
            deals: idList(row.deals),
            targetDeal: row.target_deal_id === null ? null : id(row.target_deal_id),
          })),
          deals: deals.rows.map((row) => ({
            id: id(row.id),
            account: id(row.account_id),
            side: row.side,
            status: row.status,
            profit: id(row.profit),
          })),
          fills: fills.rows.map((row) => ({
            order: id(row.order_id),
            account: id(row.account_id),
            side: row.side,
            deals: idList(row.deal_ids),
          })),
          ledger: ledger.rows.map((row) => ({
            account: id(row.account_id),
            amount: id(row.amount),
            comment: row.comment,
          })),
        };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

// ---- The processes agree ----

type View = Map<string, string>;

/** What one process answers: quotes, and each account's state, open orders and open deals. */
async function viewOf(node: LoadNode, accounts: readonly TestAccountInfo[]): Promise<View> {
  const view: View = new Map();
  const admin = adminClient(node.url, ADMIN_TOKEN);
  for (const instrument of INSTRUMENTS) {
    const quote = await admin.getQuote(instrument.ticker);
    view.set(`quote ${instrument.ticker}`, JSON.stringify(quote));
  }
  const byId = <T extends { id: string }>(items: T[]): T[] => items.sort((a, b) => a.id.localeCompare(b.id));
  for (const account of accounts) {
    const client = publicClient(node.url, account.token);
    // Live listings (from memory), every page: with a status and no time window they are live.
    const [state, orders, deals] = await Promise.all([
      client.accountState(account.id),
      pageAll((skip) => client.orders(account.id, { status: 'active', skip, limit: 500 })),
      pageAll((skip) => client.deals(account.id, { status: 'open', skip, limit: 500 })),
    ]);
    view.set(`account ${account.id} state`, JSON.stringify(state));
    view.set(`account ${account.id} orders`, JSON.stringify(byId(orders)));
    view.set(`account ${account.id} deals`, JSON.stringify(byId(deals)));
  }
  return view;
}

function firstDifference(a: View, b: View): string | undefined {
  for (const [key, value] of a) {
    if (b.get(key) !== value) return key;
  }
  return undefined;
}

/**
 * Waits until every node answers the same view, then checks that view against PostgreSQL: the
 * open orders and deals in memory are the stored ones, the balance the stored balance.
 * Returns the milliseconds it took to agree.
 */
async function converge(
  nodes: readonly LoadNode[],
  accounts: readonly TestAccountInfo[],
  store: StoreView,
  where: string,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const views = await Promise.all(nodes.map((node) => viewOf(node, accounts)));
    const [first] = views;
    assert.ok(first);
    let disagreement: string | undefined;
    views.forEach((view, index) => {
      const key = firstDifference(first, view);
      if (disagreement === undefined && key !== undefined) {
        disagreement =
          `${where}: ${nodes[0]?.name} and ${nodes[index]?.name} still disagree on ${key} ` +
          `${CONVERGENCE_MS} ms after the load stopped:\n  ${first.get(key)}\n  ${view.get(key)}`;
      }
    });
    const elapsed = Date.now() - started;
    if (disagreement === undefined) {
      const snapshot = await store.snapshot();
      for (const account of accounts) {
        const numericId = Number(account.id);
        const ids = (json: string | undefined): number[] =>
          (JSON.parse(json ?? '[]') as { id: string }[]).map((item) => Number(item.id)).sort((a, b) => a - b);
        const storedOrders = snapshot.orders
          .filter((order) => order.account === numericId && order.status === 'active')
          .map((order) => order.id)
          .sort((a, b) => a - b);
        const storedDeals = snapshot.deals
          .filter((deal) => deal.account === numericId && deal.status === 'open')
          .map((deal) => deal.id)
          .sort((a, b) => a - b);
        assert.deepEqual(
          ids(first.get(`account ${account.id} orders`)),
          storedOrders,
          `${where}: the processes' live orders of ${account.id} are the stored active ones`,
        );
        assert.deepEqual(
          ids(first.get(`account ${account.id} deals`)),
          storedDeals,
          `${where}: the processes' open deals of ${account.id} are the stored open ones`,
        );
        const state = JSON.parse(first.get(`account ${account.id} state`) ?? '{}') as {
          margin: { balance: number };
        };
        assert.equal(
          cents(state.margin.balance),
          snapshot.balances.get(numericId),
          `${where}: the processes' balance of ${account.id} is the stored one`,
        );
      }
      return elapsed;
    }
    if (elapsed > CONVERGENCE_MS) assert.fail(disagreement);
    await sleep(100);
  }
}

/**
 * Sends one admin quote per ticker through each process in turn and measures how long the other
 * processes take to show it. Keeps the load's model of the market up to date.
 */
async function quotePropagation(nodes: readonly LoadNode[], harness: TradingLoad): Promise<number> {
  let worst = 0;
  for (const [index, node] of nodes.entries()) {
    for (const instrument of INSTRUMENTS) {
      const current = harness.market.get(instrument.ticker);
      assert.ok(current);
      const quote = {
        bid: current.bid + (index % 2 === 0 ? 1 : -1),
        ask: current.ask + (index % 2 === 0 ? 1 : -1),
      };
      await adminClient(node.url, ADMIN_TOKEN).setQuote(instrument.ticker, {
        bid: quote.bid / instrument.scale,
        ask: quote.ask / instrument.scale,
      });
      harness.market.set(instrument.ticker, quote);
      harness.quotes.set(instrument.ticker, [quote]);
      const sent = Date.now();
      await Promise.all(
        nodes
          .filter((other) => other !== node)
          .map(async (other) => {
            const admin = adminClient(other.url, ADMIN_TOKEN);
            let seen: { bid: number; ask: number } | undefined;
            let elapsed = 0;
            await waitFor(
              () =>
                `a quote of ${instrument.ticker} sent through ${node.name} to reach ${other.name} ` +
                `(after ${elapsed} ms it shows ${seen?.bid}/${seen?.ask})`,
              async () => {
                seen = await admin.getQuote(instrument.ticker);
                elapsed = Date.now() - sent;
                return (
                  Math.round(seen.bid * instrument.scale) === quote.bid &&
                  Math.round(seen.ask * instrument.scale) === quote.ask
                );
              },
              { timeoutMs: QUOTE_PROPAGATION_MS, intervalMs: 5 },
            );
            worst = Math.max(worst, elapsed);
          }),
      );
    }
  }
  return worst;
}

async function newAccount(
  url: string,
  name: string,
  balance: number,
): Promise<{ id: string; token: string; system: 'hedging' }> {
  const { accountId, token } = await createUserAccount(adminClient(url, ADMIN_TOKEN), name, {
    system: 'hedging',
    balance,
  });
  return { id: accountId, token, system: 'hedging' };
}

/**
 * 60 market buys at once, round-robin through the processes, on an account whose free margin fits
 * exactly `fit` of them. Returns a one-line summary.
 */
async function marginBurst(
  members: readonly Member[],
  harness: TradingLoad,
  store: StoreView,
): Promise<{ summary: string; outcomes: Record<string, number>; expected: Record<string, number> }> {
  const [first] = members;
  assert.ok(first);
  const order = { ticker: 'AAPL.nq', side: 'buy', type: 'market', volume: 1 } as const;
  // What one order costs in free margin at the current quote: its margin plus the spread it loses.
  const probe = await newAccount(first.node.url, 'burst-probe', 1_000_000);
  await publicClient(first.node.url, probe.token).placeOrder(probe.id, order);
  const probed = await publicClient(first.node.url, probe.token).accountState(probe.id);
  const margin = cents(probed.margin.margin);
  const perOrder = cents(1_000_000) - cents(probed.margin.free_margin);
  assert.ok(
    margin > 0 && perOrder >= margin,
    `probe: margin ${margin} cents, free margin used ${perOrder} cents`,
  );
  // Between `fit` and `fit + 1` orders whether or not the check counts the new deal's spread loss.
  const fit = harness.int(10, 40);
  const balance = fit * perOrder + Math.floor(margin / 2);
  const account = await newAccount(first.node.url, 'burst', balance / 100);

  let bursting = true;
  let lowestFreeMargin = Number.POSITIVE_INFINITY;
  const watchers = members.map(async (member) => {
    const client = publicClient(member.node.url, account.token);
    while (bursting) {
      const state = await client.accountState(account.id);
      lowestFreeMargin = Math.min(lowestFreeMargin, state.margin.free_margin);
      assert.ok(
        state.margin.free_margin >= 0,
        `burst: ${member.node.name} shows free margin ${state.margin.free_margin} on ${account.id}`,
      );
    }
  });
  const results = await Promise.all(
    Array.from({ length: BURST }, (_, index) => {
      const member = members[index % members.length];
      assert.ok(member);
      return publicClient(member.node.url, account.token)
        .placeOrder(account.id, order)
        .then(
          (orderId) => ({ ok: true as const, orderId }),
          (error: unknown) => ({ ok: false as const, error }),
        );
    }),
  );
  bursting = false;
  await Promise.all(watchers);

  const filled = results.filter((result) => result.ok).length;
  const outcomes = countBy(
    results.map((result) => {
      if (result.ok) return 'filled';
      if (result.error instanceof StocksTraderError)
        return `HTTP ${result.error.status} ${result.error.code}`;
      return `no answer (${errorCode(result.error)})`;
    }),
  );
  const refusedCleanly = outcomes['HTTP 400 insufficient_margin'] ?? 0;
  const summary = `${JSON.stringify(outcomes)} with room for ${fit}`;

  // Safety first: margin is never spent twice, whatever else went wrong.
  assert.ok(filled <= fit, `burst: ${summary}: more orders filled than the free margin allows`);

  // Every process, and PostgreSQL, agree on the outcome; free margin is not negative anywhere.
  await converge(
    members.map((member) => member.node),
    [account],
    store,
    'after the burst',
  );
  for (const member of members) {
    const client = publicClient(member.node.url, account.token);
    const state = await client.accountState(account.id);
    assert.ok(state.margin.free_margin >= 0, `after the burst: ${member.node.name} free margin`);
    assert.equal(
      (await client.deals(account.id)).length,
      filled,
      `after the burst: open deals on ${member.node.name}`,
    );
  }
  const snapshot = await store.snapshot();
  const stored = snapshot.orders.filter((row) => row.account === Number(account.id));
  assert.equal(stored.filter((row) => row.status === 'filled').length, filled, 'burst: stored filled orders');
  assert.equal(
    stored.filter((row) => row.status === 'rejected').length,
    refusedCleanly,
    'burst: stored rejected orders = orders refused with insufficient_margin',
  );
  assert.equal(
    stored.length,
    filled + refusedCleanly,
    `burst: ${summary}: stored orders = orders answered 200/400`,
  );

  return {
    summary:
      `burst: ${summary} (${perOrder / 100} of free margin each, balance ${balance / 100}); ` +
      `lowest free margin seen ${lowestFreeMargin}`,
    outcomes,
    // Exactly `fit` fill and every other order is a clean 400.
    expected: { filled: fit, 'HTTP 400 insufficient_margin': BURST - fit },
  };
}

describe('several processes on one PostgreSQL', { timeout: 600_000 }, () => {
  it(`keeps every invariant under load through ${PROCESSES} processes while ${KILLS} of them are SIGKILLed`, async (t: TestContext) => {
    // This test's processes go when it ends, pass or fail, so they do not slow the next one down.
    t.after(() => processes.killAll());
    const started = Date.now();
    t.diagnostic(`seed ${SEED} (replay with MULTI_SEED=${SEED}), kills ${KILLS}`);
    console.log(`multi-process: seed ${SEED} (replay with MULTI_SEED=${SEED}), kills ${KILLS}`);
    const database = await freshDatabase();
    const store = postgresStore(database.url);
    const harness = new TradingLoad({
      seed: SEED,
      adminToken: ADMIN_TOKEN,
      tag: 'multi',
      idsIncrease: false,
      tolerateBusy: true,
    });
    const lives = Array.from({ length: PROCESSES }, () => 1);
    const members: Member[] = await Promise.all(
      lives.map((life, slot) => startMember(database.url, 'manual', slot, life)),
    );
    const bootSeconds = ((Date.now() - started) / 1000).toFixed(1);
    const nodes = (): LoadNode[] => members.map((member) => member.node);

    const [first, second] = members;
    assert.ok(first && second);
    await harness.setUp(first.node.url, [
      { system: 'netting', currency: 'USD' },
      { system: 'hedging', currency: 'USD' },
      { system: 'hedging', currency: 'EUR' },
      { system: 'hedging', currency: 'USD' },
    ]);
    // Usable through every process at once.
    for (const member of members) {
      for (const account of harness.accounts) {
        await publicClient(member.node.url, account.token).accountState(account.id);
      }
    }
    const propagation = await quotePropagation(nodes(), harness);
    await converge(nodes(), harness.accounts, store, 'after the set-up');
    await harness.verify(second.node.url, store);

    const [netting, hedging, hedgingEur, hedging2] = harness.accounts;
    assert.ok(netting && hedging && hedgingEur && hedging2);
    // Three traders share the netting account, so its mutations race for real, across processes.
    // A hedging account has one trader: its deals' SL/TP are then known exactly.
    const traders = [netting, netting, netting, hedging, hedgingEur, hedging2];
    const ownedLimits = new Map<number, string[]>();
    const convergence: number[] = [];
    const killed: string[] = [];
    for (let round = 1; round <= KILLS + 1; round++) {
      const last = round === KILLS + 1;
      const load: Round = { index: round, stopped: false, nodes: nodes(), minOrderId: 0, minDealId: 0 };
      const running = harness.run(load, traders, ownedLimits);
      await sleep(harness.int(800, 2_000));
      assertAlive(members, `round ${round}`);
      let survivors = members;
      let victim: Member | undefined;
      if (!last) {
        victim = harness.pick(members);
        assert.ok(victim);
        killed.push(victim.node.name);
        victim.node.dead = true;
        await processes.killHard(victim.server);
        const gone = victim;
        survivors = members.filter((member) => member !== gone);
        // The load goes on against the survivors.
        await sleep(harness.int(800, 2_000));
        assertAlive(survivors, `round ${round}, after killing ${victim.node.name}`);
      }
      load.stopped = true;
      await running;
      assert.deepEqual(harness.problems, [], `seed ${SEED}, round ${round}`);
      const where = last ? 'at the end' : `after kill ${round} (${victim?.node.name})`;
      convergence.push(
        await converge(
          survivors.map((member) => member.node),
          harness.accounts,
          store,
          where,
        ),
      );
      const checker = harness.pick(survivors);
      assert.ok(checker);
      await harness.verify(checker.node.url, store);
      assert.deepEqual(harness.problems, [], `seed ${SEED}, ${where}`);

      if (victim) {
        const slot = victim.slot;
        lives[slot] = (lives[slot] ?? 1) + 1;
        members[slot] = await startMember(database.url, 'manual', slot, lives[slot] ?? 0);
      }
    }
    const { stats } = harness;
    t.diagnostic(
      `multi-process: seed ${SEED}: ${KILLS} kills (${killed.join(', ')}) survived in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s (3 processes booted together in ${bootSeconds} s); ` +
        `${stats.requests} requests, ${stats.acknowledged} acknowledged, ${stats.rejected} refused ` +
        `${JSON.stringify(stats.refusals)}, ${stats.unknown} unknown outcome (${harness.busy.length} of them ` +
        `503 account_busy); ${stats.ordersAcknowledged} ` +
        `orders acknowledged (${stats.marketFills} market, ${stats.limitsPlaced} limit), ` +
        `${stats.orderModifications} order modifications, ${stats.cancels} cancels, ${stats.dealCloses} deal ` +
        `closes, ${stats.dealModifications} SL/TP changes, ${stats.quotes} quotes, ${stats.balanceChanges} ` +
        `balance changes; ${harness.orderStatus.size} orders and ${harness.dealStatus.size} deals stored; ` +
        `admin quotes reached the other processes within ${propagation} ms; the processes agreed ` +
        `${convergence.join('/')} ms after the load stopped`,
    );

    assertAlive(members, 'before the burst');
    const burst = await marginBurst(members, harness, store);
    t.diagnostic(burst.summary);
    // The rows of the burst accounts too: one fill per filled order, nothing closed twice.
    const finalChecker = harness.pick(members);
    assert.ok(finalChecker);
    await harness.verify(finalChecker.node.url, store);
    assertAlive(members, 'at the end');
    t.diagnostic(`multi-process: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
    // Last, so that every check above still ran: no request may be turned away.
    assert.deepEqual(burst.outcomes, burst.expected, burst.summary);
    assert.deepEqual(
      harness.busy,
      [],
      'requests answered 503 account_busy (the process kept losing the race for the account) under the load',
    );
  });

  it('runs the simulator feed in exactly one process and hands it over when that one dies', async (t: TestContext) => {
    t.after(() => processes.killAll());
    const database = await freshDatabase();
    const lives = Array.from({ length: PROCESSES }, () => 1);
    const members: Member[] = await Promise.all(
      lives.map((life, slot) => startMember(database.url, 'sim', slot, life)),
    );
    const [first] = members;
    assert.ok(first);
    const account = await newAccount(first.node.url, 'feed-watcher', 100_000);

    const owner = await singleOwner(members, 'at start');
    const started = Date.now();
    await quotesAdvance(members, account, 'at start');
    // Still exactly the same owner after a while.
    assert.equal(await singleOwner(members, 'a moment later'), owner, 'the feed owner stays the same');
    t.diagnostic(
      `feed: ${owner.node.name} runs the feed; quotes advanced on all three in ${Date.now() - started} ms`,
    );

    owner.node.dead = true;
    await processes.killHard(owner.server);
    const killedAt = Date.now();
    const survivors = members.filter((member) => member !== owner);
    const next = await singleOwner(survivors, 'after the owner was killed');
    const takeover = Date.now() - killedAt;
    await quotesAdvance(survivors, account, 'after the takeover');
    assertAlive(survivors, 'after the takeover');

    const back = await startMember(database.url, 'sim', owner.slot, 2);
    members[owner.slot] = back;
    await sleep(1_500);
    assert.equal(await singleOwner(members, 'after the restart'), next, 'the restarted process stands by');
    await quotesAdvance(members, account, 'after the restart');
    t.diagnostic(
      `feed: after SIGKILL of ${owner.node.name}, ${next.node.name} took over in ${takeover} ms; ` +
        `${back.node.name} restarted and stands by`,
    );
  });
});

/** Polls GET /admin/v1/feed until exactly one member runs the feed and the others stand by. */
async function singleOwner(members: readonly Member[], where: string): Promise<Member> {
  const started = Date.now();
  let states: string[] = [];
  for (;;) {
    states = await Promise.all(
      members.map(async (member) => {
        const state: string = (await adminClient(member.node.url, ADMIN_TOKEN).feed()).state;
        return state;
      }),
    );
    const running = members.filter((_, index) => states[index] === 'running');
    assert.ok(
      running.length <= 1,
      `${where}: ${running.map((member) => member.node.name).join(' and ')} run the feed at once`,
    );
    const [owner] = running;
    if (owner && states.every((state, index) => (members[index] === owner ? true : state === 'standby'))) {
      return owner;
    }
    assert.ok(
      Date.now() - started <= TAKEOVER_MS,
      `${where}: no single feed owner with the others on standby after ${TAKEOVER_MS} ms: ` +
        members.map((member, index) => `${member.node.name} ${states[index]}`).join(', '),
    );
    await sleep(100);
  }
}

/** The EURUSD quote time a member shows; undefined while it has no quote yet. */
async function quoteTime(
  member: Member,
  account: { id: string; token: string },
): Promise<number | undefined> {
  try {
    return (await publicClient(member.node.url, account.token).quote(account.id, 'EURUSD'))
      .ask_bid_price_time;
  } catch (error) {
    if (error instanceof StocksTraderError && error.code === 'no_quote') return undefined;
    throw error;
  }
}

/** Every member's EURUSD quote time moves past what it showed first (or appears), within 5 s. */
async function quotesAdvance(
  members: readonly Member[],
  account: { id: string; token: string },
  where: string,
): Promise<void> {
  await Promise.all(
    members.map(async (member) => {
      const before = (await quoteTime(member, account)) ?? 0;
      await waitFor(
        `${where}: the EURUSD quote time on ${member.node.name} to move past ${before || 'no quote'}`,
        async () => ((await quoteTime(member, account)) ?? 0) > before,
        { timeoutMs: 5_000, intervalMs: 250 },
      );
    }),
  );
}
