/**
 * The event log's hand-written payload (event-rows.ts) round-trips every event type exactly and
 * is always valid JSON, whatever text a comment holds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LEDGER_ENTRY_TYPES } from '../../contract/enums.ts';
import type { EngineEvent } from '../../engine/engine.ts';
import type { Deal, Order } from '../../engine/model.ts';
import { eventFromRow, eventPayload, eventRow } from './event-rows.ts';

const ACCOUNT = '10000001';
const price = fc.option(fc.integer({ min: 1, max: 2 ** 52 }), { nil: null });
const text = fc.string({ unit: 'binary', maxLength: 40 });

const order: fc.Arbitrary<Order> = fc.record({
  id: fc.integer({ min: 1, max: 10 ** 12 }).map((n) => String(n).padStart(9, '0')),
  accountId: fc.constant(ACCOUNT),
  ticker: fc.constantFrom('AAPL.nq', 'EURUSD', 'BRK.B"x'),
  side: fc.constantFrom('buy', 'sell'),
  type: fc.constantFrom('market', 'limit', 'stop', 'stop_loss', 'take_profit', 'stop_out'),
  volume: fc.integer({ min: 1, max: 2 ** 50 }),
  price,
  filledPrice: price,
  expiration: fc.nat(),
  stopLoss: price,
  takeProfit: price,
  status: fc.constantFrom('active', 'in_execution', 'filled', 'rejected', 'canceled'),
  comment: text,
  createTime: fc.nat(),
  lastModified: fc.nat(),
  deals: fc.array(
    fc.integer({ min: 1, max: 10 ** 9 }).map((n) => String(n).padStart(6, '0')),
    { maxLength: 3 },
  ),
  targetDealId: fc.option(
    fc.integer({ min: 1, max: 10 ** 9 }).map((n) => String(n).padStart(6, '0')),
    {
      nil: null,
    },
  ),
});

const deal: fc.Arbitrary<Deal> = fc.record({
  id: fc.integer({ min: 1, max: 10 ** 12 }).map((n) => String(n).padStart(6, '0')),
  accountId: fc.constant(ACCOUNT),
  ticker: fc.constantFrom('AAPL.nq', 'EURUSD'),
  side: fc.constantFrom('buy', 'sell'),
  volume: fc.integer({ min: 1, max: 2 ** 50 }),
  openPrice: fc.integer({ min: 1, max: 2 ** 52 }),
  openTime: fc.nat(),
  stopLoss: price,
  takeProfit: price,
  status: fc.constantFrom('open', 'closing', 'closed'),
  closePrice: price,
  closeTime: fc.option(fc.nat(), { nil: null }),
  profit: fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
  lastModified: fc.nat(),
});

const head = { accountId: ACCOUNT, message: '' };
const event: fc.Arbitrary<EngineEvent> = fc
  .oneof(
    fc.record({
      ...{
        type: fc.constantFrom(
          'order_placed',
          'order_modified',
          'order_filled',
          'order_canceled',
          'order_expired',
        ),
      },
      order,
    }),
    fc.record({
      type: fc.constant('order_rejected' as const),
      order,
      code: fc.constantFrom('invalid_volume', 'market_closed'),
    }),
    fc.record({
      type: fc.constantFrom('deal_opened', 'deal_modified', 'deal_increased', 'deal_closed'),
      deal,
    }),
    fc.record({
      type: fc.constant('deal_reduced' as const),
      deal,
      closedDealId: fc.integer({ min: 1, max: 10 ** 9 }).map((n) => String(n).padStart(6, '0')),
    }),
    fc.record({
      type: fc.constant('balance_changed' as const),
      reason: fc.constantFrom(...LEDGER_ENTRY_TYPES),
      amount: fc.integer(),
      balance: fc.integer(),
      comment: text,
      orderId: fc.option(fc.integer({ min: 1, max: 10 ** 12 }).map((n) => String(n).padStart(9, '0'))),
      dealId: fc.option(fc.integer({ min: 1, max: 10 ** 9 }).map((n) => String(n).padStart(6, '0'))),
    }),
    fc.record({
      type: fc.constant('margin_called' as const),
      marginLevel: fc.constantFrom('45.12', '99.99'),
    }),
    fc.record({
      type: fc.constant('stopped_out' as const),
      dealId: fc.integer({ min: 1, max: 10 ** 9 }).map((n) => String(n).padStart(6, '0')),
      marginLevel: fc.constant('12.50'),
    }),
  )
  .chain((payload) =>
    fc
      .record({ id: fc.integer({ min: 1, max: 2 ** 40 }), time: fc.nat() })
      .map((fields) => ({ ...payload, ...head, ...fields }) as EngineEvent),
  );

describe('event rows', () => {
  it('round-trip every event type exactly, as valid JSON (property)', () => {
    fc.assert(
      fc.property(event, (original) => {
        assert.doesNotThrow(() => JSON.parse(eventPayload(original)));
        // Records from fast-check have no prototype: compare against a plain copy.
        assert.deepEqual(eventFromRow(eventRow(original)), structuredClone(original));
      }),
      { numRuns: 2_000 },
    );
  });
});
