/**
 * Story: a balance never leaves ±10,000,000,000,000, the limit deposits have always had, so every
 * cent of it stays exact. Extreme quotes (set through the admin API) on a large position would
 * otherwise realise a profit or loss past it, where a double no longer carries cents.
 * - A client's close, or an order that would reduce a position with such a profit, is refused
 *   (`balance_limit`) before any change; a refused order is recorded `rejected`.
 * - A pending order that would settle past the limit when it fires is rejected at the trigger.
 * - An automatic close (take profit, stop loss, stop out) cannot be refused: it books only what
 *   keeps the balance inside the limit, and its order says so.
 * Throughout, balance = Σ ledger + Σ realised profit, exactly.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StocksTraderError } from '../../src/client/stockstrader-client.ts';
import { startTestServer, type TestAccount, type TestServer } from '../support/test-server.ts';
import { allDeals, allOrders, rejects400 } from './scenario-helpers.ts';

/** 100,000 shares is AAPL.nq's max_volume; ten of them make a position of a million. */
const MAX_ORDER = 100_000;
const LOW = { bid: 1, ask: 1.01 };
const EXTREME = { bid: 89_999_999, ask: 89_999_999.01 };
/** The last cent inside the limit. */
const EDGE = 9_999_999_999_999.99;
/** A deposit that leaves room for less than one max-size order's extreme profit. */
const RICH = 5_000_000_000_000;
const LIMIT_MSG =
  /^closing \d+ of deal \d+ at [\d.]+ would take the balance past the balance limit: to 10,000,000,000,000 USD or more$/;

const cents = (amount: number): number => Math.round(amount * 100);

async function buildPosition(account: TestAccount, side: 'buy' | 'sell', orders: number): Promise<void> {
  for (let i = 0; i < orders; i++) {
    await account.client.placeOrder(account.accountId, {
      ticker: 'AAPL.nq',
      side,
      type: 'market',
      volume: MAX_ORDER,
    });
  }
}

describe('the balance limit keeps money exact', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
    await t.admin.setQuote('AAPL.nq', LOW);
  });
  afterEach(() => t.close());

  async function balance(account: TestAccount): Promise<number> {
    return (await account.client.accountState(account.accountId)).margin.balance;
  }

  /** balance = Σ ledger + Σ realised profit, in cents, exactly. */
  async function assertBooksBalance(account: TestAccount): Promise<number> {
    const ledger = await t.admin.ledger(account.accountId, { limit: 500 });
    const closed = (await allDeals(account.client, account.accountId)).filter(
      (deal) => deal.status === 'closed',
    );
    const booked =
      ledger.reduce((sum, entry) => sum + cents(entry.amount), 0) +
      closed.reduce((sum, deal) => sum + cents(deal.profit), 0);
    const current = await balance(account);
    assert.equal(cents(current), booked, 'balance = Σ ledger + Σ realised profit');
    assert.ok(Math.abs(cents(current)) < 1e15, `balance ${current} is inside the limit`);
    return current;
  }

  it('refuses a close or a reducing order that would realise a profit past the limit', async () => {
    const netting = await t.newAccount({ system: 'netting', balance: 100_000 });
    await buildPosition(netting, 'buy', 10);
    const [position] = await netting.client.deals(netting.accountId);
    assert.ok(position);
    assert.equal(position.volume, 1_000_000);
    await t.admin.setQuote('AAPL.nq', EXTREME);
    // 100,000 × (89,999,999 − 1.01) would fit beside 100,000, but not beside 5 × 10^12 more.
    await t.admin.adjustBalance(netting.accountId, RICH);

    await assert.rejects(
      netting.client.placeOrder(netting.accountId, {
        ticker: 'AAPL.nq',
        side: 'sell',
        type: 'market',
        volume: MAX_ORDER,
      }),
      (error: StocksTraderError) => {
        assert.equal(error.status, 400);
        assert.equal(error.code, 'balance_limit');
        assert.match(error.message, LIMIT_MSG);
        return true;
      },
    );
    const rejected = (await allOrders(netting.client, netting.accountId)).at(-1);
    assert.equal(rejected?.status, 'rejected');
    assert.match(rejected?.comment ?? '', LIMIT_MSG);
    await rejects400(netting.client.closeDeal(netting.accountId, position.id), LIMIT_MSG);
    // Nothing changed: the position is whole and the balance untouched.
    assert.deepEqual(
      (await netting.client.deals(netting.accountId)).map((deal) => deal.volume),
      [1_000_000],
    );
    assert.equal(await balance(netting), 100_000 + RICH);

    // A part small enough to fit settles, to the cent: 100 × (89,999,999 − 1.01).
    await netting.client.placeOrder(netting.accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'market',
      volume: 100,
    });
    assert.equal(await assertBooksBalance(netting), 100_000 + RICH + 8_999_999_799);

    // Hedging closes a deal only by DELETE: the same limit applies.
    const hedging = await t.newAccount({ system: 'hedging', balance: 100_000 });
    await t.admin.setQuote('AAPL.nq', LOW);
    await buildPosition(hedging, 'buy', 2);
    await t.admin.setQuote('AAPL.nq', EXTREME);
    const [first, second] = await hedging.client.deals(hedging.accountId);
    assert.ok(first && second);
    // One deal's 100,000 × 89,999,997.99 fits; the second would take the balance past the limit.
    await hedging.client.closeDeal(hedging.accountId, first.id);
    await rejects400(hedging.client.closeDeal(hedging.accountId, second.id), LIMIT_MSG);
    assert.equal(await assertBooksBalance(hedging), 100_000 + 8_999_999_799_000);
  });

  it('rejects a pending order that would settle past the limit, at placement and at its trigger', async () => {
    const netting = await t.newAccount({ system: 'netting', balance: 100_000 });
    await buildPosition(netting, 'buy', 10);
    await t.admin.adjustBalance(netting.accountId, RICH);
    // Judged at its price: 100,000 × (60,000,000 − 1.01) on top of 5 × 10^12 is past the limit.
    await rejects400(
      netting.client.placeOrder(netting.accountId, {
        ticker: 'AAPL.nq',
        side: 'sell',
        type: 'limit',
        volume: MAX_ORDER,
        price: 60_000_000,
      }),
      LIMIT_MSG,
    );
    const limit = await netting.client.placeOrder(netting.accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'limit',
      volume: MAX_ORDER,
      price: 2,
    });
    // The quote gaps far past the limit price, where the fill would realise about 9 × 10^12.
    await t.admin.setQuote('AAPL.nq', EXTREME);
    const fired = (await allOrders(netting.client, netting.accountId)).find((order) => order.id === limit);
    assert.equal(fired?.status, 'rejected');
    assert.match(fired?.comment ?? '', LIMIT_MSG);
    assert.deepEqual(
      (await netting.client.deals(netting.accountId)).map((deal) => deal.volume),
      [1_000_000],
    );
    assert.equal(await assertBooksBalance(netting), 100_000 + RICH);
  });

  it('books a take profit past the limit only up to the last cent inside it', async () => {
    const netting = await t.newAccount({ system: 'netting', balance: 100_000 });
    await buildPosition(netting, 'buy', 10);
    const [position] = await netting.client.deals(netting.accountId);
    assert.ok(position);
    await netting.client.modifyDeal(netting.accountId, position.id, { take_profit: 80_000_000 });
    await t.admin.setQuote('AAPL.nq', EXTREME);

    assert.deepEqual(await netting.client.deals(netting.accountId), []);
    const closed = (await allDeals(netting.client, netting.accountId)).find(
      (deal) => deal.id === position.id,
    );
    assert.equal(closed?.status, 'closed');
    assert.equal(closed?.profit, EDGE - 100_000);
    const takeProfit = (await allOrders(netting.client, netting.accountId)).find(
      (order) => order.type === 'take_profit',
    );
    assert.equal(takeProfit?.status, 'filled');
    assert.match(takeProfit?.comment ?? '', /profit limited to keep the balance within ±10,000,000,000,000/);
    assert.equal(await assertBooksBalance(netting), EDGE);

    // At the edge, any further profit is refused to the client…
    await t.admin.setQuote('AAPL.nq', LOW);
    await netting.client.placeOrder(netting.accountId, {
      ticker: 'AAPL.nq',
      side: 'buy',
      type: 'market',
      volume: 1,
    });
    await t.admin.setQuote('AAPL.nq', { bid: 2, ask: 2.01 });
    await rejects400(
      netting.client.placeOrder(netting.accountId, {
        ticker: 'AAPL.nq',
        side: 'sell',
        type: 'market',
        volume: 1,
      }),
      LIMIT_MSG,
    );
    // …while a loss still settles.
    await t.admin.setQuote('AAPL.nq', { bid: 0.5, ask: 0.51 });
    await netting.client.placeOrder(netting.accountId, {
      ticker: 'AAPL.nq',
      side: 'sell',
      type: 'market',
      volume: 1,
    });
    assert.equal(await assertBooksBalance(netting), EDGE - 0.51);
  });

  it('books a stop-out loss past the limit only down to the last cent inside it', async () => {
    const netting = await t.newAccount({ system: 'netting', balance: 100_000 });
    await buildPosition(netting, 'sell', 10);
    const [position] = await netting.client.deals(netting.accountId);
    assert.ok(position);
    await t.admin.setQuote('AAPL.nq', EXTREME);

    assert.deepEqual(await netting.client.deals(netting.accountId), []);
    const stopOut = (await allOrders(netting.client, netting.accountId)).find(
      (order) => order.type === 'stop_out',
    );
    assert.equal(stopOut?.status, 'filled');
    assert.match(
      stopOut?.comment ?? '',
      /^stop out of deal \d+; loss limited to keep the balance within ±10,000,000,000,000$/,
    );
    const closed = (await allDeals(netting.client, netting.accountId)).find(
      (deal) => deal.id === position.id,
    );
    assert.equal(closed?.profit, -EDGE - 100_000);
    assert.equal(await assertBooksBalance(netting), -EDGE);
  });
});
