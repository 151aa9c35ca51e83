/**
 * Replacing a book with a fresher copy (another process sharing the database changed the account)
 * and re-examining its triggers: the old book's triggers must leave the index, the new book's
 * must come in, and a trigger the current quote already crosses fires once, at that quote.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findDefaultInstrument } from '../adapters/catalogue/default-instruments.ts';
import { Engine } from './engine.ts';
import { SequentialIds } from './ids.ts';
import type { AccountBook, Order } from './model.ts';

const NOW = 1_760_000_000;
const PRICE = 100_000_000;
const ACCOUNT = '10000001';

function engineWithQuote(bid: number, ask: number): Engine {
  const engine = new Engine({
    ids: new SequentialIds(0, 0),
    marketHours: 'ignore',
    stopOutLevel: 50,
    marginCallLevel: 100,
    maxQuoteAgeSeconds: null,
  });
  const instrument = findDefaultInstrument('AAPL.nq');
  if (!instrument) throw new Error('no AAPL.nq');
  engine.putInstrument(instrument);
  engine.restoreQuote({ ticker: 'AAPL.nq', bid, ask, time: NOW });
  return engine;
}

function book(orders: Order[], version: number): AccountBook {
  return {
    account: {
      id: ACCOUNT,
      userId: '1',
      name: 'shared',
      type: 'demo',
      system: 'hedging',
      currency: 'USD',
      status: 'enabled',
      balance: 10_000_000,
    },
    orders: new Map(orders.map((order) => [order.id, order])),
    deals: new Map(),
    overrides: new Map(),
    version,
    lastEventId: 0,
  };
}

function limitBuy(id: string, price: number): Order {
  return {
    id,
    accountId: ACCOUNT,
    ticker: 'AAPL.nq',
    side: 'buy',
    type: 'limit',
    volume: 1_000_000,
    price,
    filledPrice: null,
    expiration: 0,
    stopLoss: null,
    takeProfit: null,
    status: 'active',
    comment: '',
    createTime: NOW - 10,
    lastModified: NOW - 10,
    deals: [],
    targetDealId: null,
  };
}

describe('replacing a book from shared storage', () => {
  it('swaps the indexed triggers: the old book’s leave, the new book’s come in', () => {
    const engine = engineWithQuote(100 * PRICE, 100 * PRICE + 2_000_000);
    engine.loadBook(book([limitBuy('000000001', 90 * PRICE)], 3));
    assert.equal(engine.triggerCount(), 1);
    // Another process canceled order 1 and placed order 7 at 95.
    engine.replaceBook(book([limitBuy('000000007', 95 * PRICE)], 5));
    assert.equal(engine.triggerCount(), 1);
    assert.equal(engine.hasTrigger('order:000000001'), false);
    assert.equal(engine.hasTrigger('order:000000007'), true);
    assert.equal(engine.book(ACCOUNT)?.version, 5);
    // A quote at 94.99 fires the new order only.
    const step = engine.onQuote(
      { ticker: 'AAPL.nq', bid: 94 * PRICE, ask: 94 * PRICE + 99_000_000, time: NOW },
      NOW,
    );
    assert.deepEqual(
      step.fills.map((fill) => fill.orderId),
      ['000000007'],
    );
  });

  it('fires, once, a trigger of the fresh book that the current quote already crosses', () => {
    const engine = engineWithQuote(97 * PRICE, 97 * PRICE + 2_000_000);
    engine.loadBook(book([], 1));
    // The order arrives with the reload, after the quote that crosses it was applied.
    engine.replaceBook(book([limitBuy('000000003', 98 * PRICE)], 2));
    const step = engine.recheckAccount(ACCOUNT, NOW);
    assert.equal(step.fills.length, 1);
    assert.equal(step.fills[0]?.price, 97 * PRICE + 2_000_000, 'filled at the current ask');
    assert.equal(engine.book(ACCOUNT)?.version, 3, 'the step moved the account one version on');
    assert.equal(engine.recheckAccount(ACCOUNT, NOW).fills.length, 0, 'nothing fires twice');
    assert.equal(engine.triggerCount(), 0);
  });

  it('re-examines a fresh book on a stock by the last, as a quote would', () => {
    const engine = engineWithQuote(99 * PRICE, 99 * PRICE + 2_000_000);
    // AAPL.nq triggers on the last: 97.50 crosses a buy limit at 98 that the ask (99.02) does not.
    engine.restoreQuote({
      ticker: 'AAPL.nq',
      bid: 99 * PRICE,
      ask: 99 * PRICE + 2_000_000,
      time: NOW,
      last: 97 * PRICE + 50_000_000,
      lastTime: NOW,
    });
    engine.loadBook(book([], 1));
    engine.replaceBook(book([limitBuy('000000004', 98 * PRICE)], 2));
    const step = engine.recheckAccount(ACCOUNT, NOW);
    assert.equal(step.fills.length, 1);
    assert.equal(step.fills[0]?.price, 99 * PRICE + 2_000_000, 'filled at the current ask');
    assert.equal(step.fills[0]?.rule, 'buy limit 98.00 fired: last 97.50 ≤ 98.00');
  });

  it('forgets a margin call when the fresh book has no deals, so the next one is announced', () => {
    const engine = engineWithQuote(100 * PRICE, 100 * PRICE);
    // A 50% margin ratio: 2,000 shares at 100 take the whole $100,000 balance as margin.
    const fresh = (version: number): AccountBook => ({
      ...book([], version),
      overrides: new Map([['AAPL.nq', { leverage: 500_000 }]]),
    });
    const quote = (price: number) =>
      engine.onQuote({ ticker: 'AAPL.nq', bid: price, ask: price, time: NOW }, NOW);
    const buy = () =>
      engine.handle(
        {
          kind: 'place_order',
          accountId: ACCOUNT,
          ticker: 'AAPL.nq',
          side: 'buy',
          type: 'market',
          volume: 2_000 * 1_000_000,
          price: null,
          expiration: 0,
          stopLoss: null,
          takeProfit: null,
        },
        NOW,
      );
    const marginCalls = () =>
      engine.sweepStopOuts(NOW).events.filter((event) => event.type === 'margin_called').length;
    engine.loadBook(fresh(1));
    assert.equal(buy().ok, true);
    quote(90 * PRICE);
    assert.equal(marginCalls(), 1, 'equity 80,000 on margin 90,000');
    // The account is reset (or another process closed its deals): a book without deals comes in.
    engine.replaceBook(fresh(5));
    assert.equal(buy().ok, true);
    quote(75 * PRICE);
    assert.equal(marginCalls(), 1, 'equity 70,000 on margin 75,000: a new margin call');
  });

  it('leaves triggers the quote does not cross resting', () => {
    const engine = engineWithQuote(100 * PRICE, 100 * PRICE + 2_000_000);
    engine.loadBook(book([], 1));
    engine.replaceBook(book([limitBuy('000000004', 99 * PRICE)], 2));
    const step = engine.recheckAccount(ACCOUNT, NOW);
    assert.equal(step.fills.length, 0);
    assert.equal(engine.hasTrigger('order:000000004'), true);
  });
});
