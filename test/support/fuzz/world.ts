/** The world the fuzz plays in: its accounts, the ids they own, and the ids that change as it runs. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { raw, type TestAccount, type TestServer } from '../test-server.ts';

export interface World {
  url: string;
  /** The server's time once the starting quotes are set: the base of valid-looking timestamps. */
  now: number;
  /** The fuzz account: most valid-auth traffic of the general phase lands here. */
  fuzz: TestAccount;
  /** The victim of the state-unchanged burst. */
  victim: TestAccount;
  /** Another user, for foreign ids and tokens. */
  other: TestAccount;
  revokedToken: string;
  throwawayUserId: string;
  throwawayTokens: string[];
  victimIds: {
    activeOrder: string;
    filledOrder: string;
    rejectedOrder: string;
    openDeal: string;
    closedDeal: string;
  };
  otherIds: { order: string; deal: string };
  fuzzIds: { orders: string[]; deals: string[] };
  /** The fuzz account's live pending orders and open deals, refreshed while the fuzz runs. */
  live: { orders: string[]; deals: string[] };
}

/** The quotes the fuzz starts from, and sensible volumes and price steps per instrument. */
export const MARKET: Record<string, { bid: number; ask: number; step: number; volumes: number[] }> = {
  'AAPL.nq': { bid: 99.98, ask: 100, step: 0.5, volumes: [1, 2, 5, 10] },
  'MSFT.nq': { bid: 199.98, ask: 200, step: 0.5, volumes: [1, 2, 3] },
  EURUSD: { bid: 1.1, ask: 1.1001, step: 0.001, volumes: [0.01, 0.1, 1] },
  USDJPY: { bid: 150, ask: 150.01, step: 0.5, volumes: [0.01, 0.1] },
};

export const TICKERS = ['AAPL.nq', 'MSFT.nq', 'EURUSD', 'USDJPY'];

/** One of a pool that changes while the fuzz runs (read when a value is generated). */
export function livePick(pool: readonly string[]): fc.Arbitrary<string> {
  return fc.nat().map((index) => pool[index % Math.max(1, pool.length)] ?? '1');
}

/** Refreshes the fuzz account's live ids from the server. */
export async function refreshLive(t: TestServer, world: World): Promise<void> {
  const acct = `/api/v1/accounts/${world.fuzz.accountId}`;
  const orders = await raw(t.url, 'GET', `${acct}/orders`, { token: world.fuzz.token });
  const deals = await raw(t.url, 'GET', `${acct}/deals`, { token: world.fuzz.token });
  if (orders.status === 200 && deals.status === 200) {
    world.live.orders.splice(0, Infinity, ...(orders.body.data as { id: string }[]).map((order) => order.id));
    world.live.deals.splice(0, Infinity, ...(deals.body.data as { id: string }[]).map((deal) => deal.id));
  }
}

/**
 * Sets up the world on a fresh server: the starting quotes, a victim with a filled, an active and a
 * rejected order and an open and a closed deal, a stranger with an order and a deal, the fuzz
 * account with pending orders and open deals, a revoked token and a throwaway user with 40 tokens.
 */
export async function createWorld(t: TestServer): Promise<World> {
  for (const [ticker, { bid, ask }] of Object.entries(MARKET)) await t.admin.setQuote(ticker, { bid, ask });
  const now = (await t.admin.clock()).now;

  const victim = await t.newAccount({ system: 'netting', balance: 100_000 });
  const other = await t.newAccount({ system: 'hedging', balance: 50_000 });
  const fuzz = await t.newAccount({ system: 'hedging', balance: 1_000_000 });
  const v = victim.client;
  const openOrder = await v.placeOrder(victim.accountId, {
    ticker: 'AAPL.nq',
    side: 'buy',
    type: 'market',
    volume: 10,
    stop_loss: 90,
    take_profit: 110,
  });
  const activeOrder = await v.placeOrder(victim.accountId, {
    ticker: 'MSFT.nq',
    side: 'buy',
    type: 'limit',
    volume: 1,
    price: 190,
    stop_loss: 180,
    take_profit: 210,
  });
  await v.placeOrder(victim.accountId, { ticker: 'EURUSD', side: 'buy', type: 'market', volume: 0.1 });
  await v.placeOrder(victim.accountId, { ticker: 'EURUSD', side: 'sell', type: 'market', volume: 0.1 });
  const rejected = await raw(t.url, 'POST', `/api/v1/accounts/${victim.accountId}/orders`, {
    token: victim.token,
    contentType: 'application/x-www-form-urlencoded',
    body: 'ticker=AAPL.nq&side=buy&type=market&volume=0.5',
  });
  assert.equal(rejected.status, 400);
  await t.admin.adjustBalance(victim.accountId, 500, 'fuzz deposit');
  const deals = await v.deals(victim.accountId, { history_from: 0 });
  const openDeal = deals.find((deal) => deal.status === 'open');
  const closedDeal = deals.find((deal) => deal.status === 'closed');
  const history = await v.orders(victim.accountId, { history_from: 0 });
  const rejectedOrder = history.find((order) => order.status === 'rejected');
  assert.ok(openDeal && closedDeal && rejectedOrder);

  const otherOrder = await other.client.placeOrder(other.accountId, {
    ticker: 'AAPL.nq',
    side: 'buy',
    type: 'limit',
    volume: 1,
    price: 95,
  });
  await other.client.placeOrder(other.accountId, {
    ticker: 'AAPL.nq',
    side: 'buy',
    type: 'market',
    volume: 1,
  });
  const [otherDeal] = await other.client.deals(other.accountId);
  assert.ok(otherDeal);

  // Some state on the fuzz account for the ids to hit.
  const fuzzOrders: string[] = [];
  for (const [ticker, price] of [
    ['AAPL.nq', 95],
    ['MSFT.nq', 190],
    ['EURUSD', 1.09],
  ] as const) {
    fuzzOrders.push(
      await fuzz.client.placeOrder(fuzz.accountId, {
        ticker,
        side: 'buy',
        type: 'limit',
        volume: ticker === 'EURUSD' ? 0.1 : 1,
        price,
      }),
    );
    fuzzOrders.push(
      await fuzz.client.placeOrder(fuzz.accountId, {
        ticker,
        side: 'buy',
        type: 'market',
        volume: ticker === 'EURUSD' ? 0.1 : 1,
      }),
    );
  }
  const fuzzDeals = (await fuzz.client.deals(fuzz.accountId)).map((deal) => deal.id);

  const revoked = await t.admin.issueToken(fuzz.userId);
  await t.admin.revokeToken(revoked.token);
  const throwawayUserId = await t.admin.createUser('throwaway');
  const throwawayTokens: string[] = [];
  for (let index = 0; index < 40; index++)
    throwawayTokens.push((await t.admin.issueToken(throwawayUserId)).token);

  return {
    url: t.url,
    now,
    fuzz,
    victim,
    other,
    revokedToken: revoked.token,
    throwawayUserId,
    throwawayTokens,
    victimIds: {
      activeOrder,
      filledOrder: openOrder,
      rejectedOrder: rejectedOrder.id,
      openDeal: openDeal.id,
      closedDeal: closedDeal.id,
    },
    otherIds: { order: otherOrder, deal: otherDeal.id },
    fuzzIds: { orders: fuzzOrders, deals: fuzzDeals },
    live: { orders: [...fuzzOrders], deals: [...fuzzDeals] },
  };
}
