/**
 * Handling the order commands (place, modify, cancel). Every check runs before the first change
 * (risk/order-validation.ts); a business rejection of a new order records that order as
 * `rejected`, a rejected modification or cancel changes nothing.
 */
import type { Step } from '../change-set.ts';
import type { CancelOrder, ModifyOrder, PlaceOrder } from '../commands.ts';
import { requireInstrument, type EngineState } from '../engine-state.ts';
import { fillOrder } from '../execution/fill-order.ts';
import { finishOrder, restOrder } from '../execution/resting-orders.ts';
import { formatPrice } from '../instrument.ts';
import type { AccountBook } from '../model.ts';
import { createOrder, transition } from '../order-transitions.ts';
import { reject, type Rejection } from '../rejection.ts';
import { modifiedOrder, newOrderRejection } from '../risk/order-validation.ts';
import { syncOrderTrigger } from '../triggers/trigger-sync.ts';

export function placeOrder(
  state: EngineState,
  step: Step,
  book: AccountBook,
  command: PlaceOrder,
): Rejection | { orderId: string } {
  const instrument = state.instruments.get(command.ticker);
  if (!instrument) return reject('unknown_ticker', `unknown ticker ${command.ticker}`);
  const order = createOrder(
    {
      id: state.options.ids.nextOrderId(),
      accountId: book.account.id,
      ticker: instrument.ticker,
      side: command.side,
      type: command.type,
      volume: command.volume,
      price: command.price,
      filledPrice: null,
      expiration: command.expiration,
      stopLoss: command.stopLoss,
      takeProfit: command.takeProfit,
      comment: '',
      createTime: step.now,
      deals: [],
      targetDealId: null,
    },
    'in_execution',
    step.now,
  );
  const rejection = newOrderRejection(state, step.now, book, instrument, order);
  if (rejection) {
    transition(order, 'rejected', step.now);
    order.comment = rejection.message;
    step.order(book, order);
    step.event(
      book,
      { type: 'order_rejected', order, code: rejection.code },
      `order ${order.id} rejected: ${rejection.message}`,
    );
    return rejection;
  }
  if (order.type !== 'market') {
    restOrder(state, step, book, order);
    return { orderId: order.id };
  }
  const quote = state.market.get(order.ticker);
  if (!quote) throw new Error('validated market order has no quote');
  const price = order.side === 'buy' ? quote.ask : quote.bid;
  step.event(book, { type: 'order_placed', order }, `${order.side} market order ${order.id} placed`);
  const rule = `${order.side} market filled at ${order.side === 'buy' ? 'ask' : 'bid'} ${formatPrice(price, instrument)}`;
  fillOrder(state, step, book, instrument, order, price, quote, rule);
  return { orderId: order.id };
}

export function modifyOrder(
  state: EngineState,
  step: Step,
  book: AccountBook,
  command: ModifyOrder,
): Rejection | undefined {
  const order = book.orders.get(command.orderId);
  if (!order) return reject('order_not_found', `order ${command.orderId} not found or not active`);
  if (order.status !== 'active')
    return reject(
      'order_not_modifiable',
      `order ${order.id} is ${order.status}: only active orders can be modified`,
    );
  const instrument = requireInstrument(state, order.ticker);
  const result = modifiedOrder(state, step.now, book, instrument, order, command);
  if ('code' in result) return result;
  Object.assign(order, result.next, { lastModified: step.now });
  syncOrderTrigger(state, book, order);
  step.order(book, order);
  step.event(book, { type: 'order_modified', order }, `order ${order.id} modified`);
  return undefined;
}

export function cancelOrder(
  state: EngineState,
  step: Step,
  book: AccountBook,
  command: CancelOrder,
): Rejection | undefined {
  const order = book.orders.get(command.orderId);
  if (!order) return reject('order_not_found', `order ${command.orderId} not found or not active`);
  finishOrder(state, step, book, order, 'canceled', 'canceled by client');
  step.event(book, { type: 'order_canceled', order }, `order ${order.id} canceled`);
  return undefined;
}
