/**
 * How an order fills: a client's market order or a fired limit/stop fills at one price, changes
 * the positions (portfolio/positions.ts), and records a `Fill` with the quote and the rule that
 * produced it. Closing a deal (client close, stop loss, take profit, stop out) goes through a
 * system or client order of its own, so every fill has an order.
 *
 * Invariants: a filled order leaves the book, the trigger index and expiry; its account becomes a
 * stop-out candidate. Only automatic closes (every type but `market`) may be cut short by the
 * balance limit, which their order's comment then says.
 */
import { closingPrice } from '../account-metrics.ts';
import type { Step } from '../change-set.ts';
import type { Price } from '../decimal.ts';
import { requireInstrument, type EngineState } from '../engine-state.ts';
import { limitedNote } from '../messages.ts';
import {
  oppositeSide,
  type AccountBook,
  type Deal,
  type Instrument,
  type Order,
  type OrderType,
  type Quote,
} from '../model.ts';
import { createOrder, transition } from '../order-transitions.ts';
import { applyFill } from '../portfolio/positions.ts';
import { syncOrderTrigger } from '../triggers/trigger-sync.ts';
import { closeDeal } from './settle-deal.ts';

/** Fills an order at `price`: netting adds, reduces, closes or reverses; hedging opens a deal. */
export function fillOrder(
  state: EngineState,
  step: Step,
  book: AccountBook,
  instrument: Instrument,
  order: Order,
  price: Price,
  quote: Quote,
  rule: string,
): void {
  if (order.status === 'active') transition(order, 'in_execution', step.now);
  // A resting order leaves the book, the trigger index and expiry; a new one was in none of them.
  if (book.orders.delete(order.id)) syncOrderTrigger(state, book, order);
  applyFill(state, step, book, instrument, order, price);
  order.filledPrice = price;
  transition(order, 'filled', step.now);
  state.expiring.delete(order.id);
  recordFill(step, book, order, price, quote, rule);
  state.stopOutCandidates.add(book.account.id);
}

/** Closes a deal through a system or client order of the given type, at the current quote. */
export function closeThroughOrder(
  state: EngineState,
  step: Step,
  book: AccountBook,
  deal: Deal,
  close: { type: OrderType; level: Price | null; quote: Quote; rule: string; comment: string },
): Order {
  const instrument = requireInstrument(state, deal.ticker);
  const { type, quote, rule, comment } = close;
  const order = createOrder(
    {
      id: state.options.ids.nextOrderId(),
      accountId: book.account.id,
      ticker: deal.ticker,
      side: oppositeSide(deal.side),
      type,
      volume: deal.volume,
      price: close.level,
      filledPrice: null,
      expiration: 0,
      stopLoss: null,
      takeProfit: null,
      comment,
      createTime: step.now,
      deals: [],
      targetDealId: deal.id,
    },
    'in_execution',
    step.now,
  );
  step.event(
    book,
    { type: 'order_placed', order },
    `${type} order ${order.id} placed to close deal ${deal.id}`,
  );
  const price = closingPrice(deal.side, quote.bid, quote.ask);
  const limited = closeDeal(state, step, book, instrument, deal, price, type !== 'market');
  if (limited !== undefined) order.comment = `${comment}; ${limitedNote(limited)}`;
  order.deals.push(deal.id);
  order.filledPrice = price;
  transition(order, 'filled', step.now);
  recordFill(step, book, order, price, quote, rule);
  return order;
}

function recordFill(
  step: Step,
  book: AccountBook,
  order: Order,
  price: Price,
  quote: Quote,
  rule: string,
): void {
  step.order(book, order);
  step.fills.push({
    orderId: order.id,
    accountId: book.account.id,
    ticker: order.ticker,
    side: order.side,
    orderType: order.type,
    volume: order.volume,
    price,
    time: step.now,
    quoteTime: quote.time,
    bid: quote.bid,
    ask: quote.ask,
    rule,
    dealIds: [...order.deals],
  });
  step.event(book, { type: 'order_filled', order }, `order ${order.id} filled: ${rule}`);
}
