import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AccountStreamItem } from '../../client/stockstrader-client.ts';
import { accountLine, isoSeconds, quoteLine } from './watch-format.ts';

const TIME = Date.UTC(2026, 0, 5, 14, 30, 0) / 1000;
const head = { id: 7, account_id: '10000001', time: TIME };
const order = {
  id: '123',
  ticker: 'AAPL.nq',
  volume: 10,
  side: 'buy',
  type: 'market',
  deals: [] as string[],
  status: 'filled',
} as const;
const deal = {
  id: '000001',
  ticker: 'AAPL.nq',
  volume: 10,
  side: 'buy',
  open_price: 187.42,
  open_time: TIME,
  profit: 0,
  status: 'open',
} as const;

describe('watch lines', () => {
  it('shows times in UTC to the second', () => {
    assert.equal(isoSeconds(TIME), '2026-01-05T14:30:00Z');
  });

  it('gives each account message one line: time, type, the essentials', () => {
    const lines = (
      [
        { ...head, type: 'order_filled', order: { ...order, filled_price: 187.42 } },
        { ...head, type: 'order_placed', order: { ...order, type: 'limit', price: 180, status: 'active' } },
        {
          ...head,
          type: 'order_rejected',
          order: { ...order, status: 'rejected', comment: 'not enough money' },
          reason: 'insufficient_margin',
        },
        { ...head, type: 'deal_opened', deal: { ...deal, stop_loss: 180 } },
        { ...head, type: 'deal_closed', deal: { ...deal, status: 'closed', close_price: 190, profit: 25.8 } },
        { ...head, type: 'deal_reduced', deal, closed_deal_id: '000002' },
        {
          ...head,
          type: 'balance_changed',
          reason: 'deposit',
          amount: 250.5,
          balance: 1250.5,
          comment: 'top up',
          order_id: null,
          deal_id: null,
        },
        { ...head, type: 'margin_called', margin_level: 45.5 },
        { ...head, type: 'stopped_out', deal_id: '000001', margin_level: 19.9 },
        { type: 'reset', account_id: '10000001', oldest_id: 5, last_id: 9, msg: 'resynchronise' },
      ] satisfies AccountStreamItem[]
    ).map((item) => accountLine(item, TIME + 60));
    assert.deepEqual(lines, [
      '2026-01-05T14:30:00Z  order_filled     #123 buy 10 AAPL.nq @ 187.42 (market)',
      '2026-01-05T14:30:00Z  order_placed     #123 buy 10 AAPL.nq @ 180 (limit)',
      '2026-01-05T14:30:00Z  order_rejected   #123 buy 10 AAPL.nq (market): insufficient_margin (not enough money)',
      '2026-01-05T14:30:00Z  deal_opened      deal #000001 buy 10 AAPL.nq @ 187.42  sl 180',
      '2026-01-05T14:30:00Z  deal_closed      deal #000001 buy 10 AAPL.nq @ 187.42 closed @ 190  profit 25.8',
      '2026-01-05T14:30:00Z  deal_reduced     deal #000001 buy 10 AAPL.nq @ 187.42  closed part #000002',
      '2026-01-05T14:30:00Z  balance_changed  deposit 250.5  balance 1250.5  "top up"',
      '2026-01-05T14:30:00Z  margin_called    margin level 45.5%',
      '2026-01-05T14:30:00Z  stopped_out      deal #000001  margin level 19.9%',
      '2026-01-05T14:31:00Z  reset            after #9: resynchronise',
    ]);
  });

  it('aligns quote lines on the widest ticker', () => {
    const quote = { type: 'quote', ask_bid_price_time: TIME + 1 } as const;
    assert.deepEqual(
      [
        quoteLine({ ...quote, ticker: 'AAPL.nq', bid_price: 187.41, ask_price: 187.42 }, 7),
        quoteLine({ ...quote, ticker: 'EURUSD', bid_price: 1.1, ask_price: 1.10008 }, 7),
      ],
      ['AAPL.nq  bid 187.41  ask 187.42  14:30:01', 'EURUSD   bid 1.1  ask 1.10008  14:30:01'],
    );
  });
});
