/**
 * How a limit or stop order enters and leaves the book: resting makes it `active` with its
 * trigger (and expiry) indexed; finishing cancels or rejects it and takes both out again.
 */
import type { Step } from '../change-set.ts';
import type { EngineState } from '../engine-state.ts';
import type { AccountBook, Order } from '../model.ts';
import { transition } from '../order-transitions.ts';
import { syncOrderTrigger } from '../triggers/trigger-sync.ts';

/** Puts a new, checked order in the book to wait for its price. */
export function restOrder(state: EngineState, step: Step, book: AccountBook, order: Order): void {
  transition(order, 'active', step.now);
  book.orders.set(order.id, order);
  syncOrderTrigger(state, book, order);
  step.order(book, order);
  step.event(book, { type: 'order_placed', order }, `${order.side} ${order.type} order ${order.id} placed`);
}

/** Takes a resting order out of the book as canceled or rejected, with `comment` saying why. */
export function finishOrder(
  state: EngineState,
  step: Step,
  book: AccountBook,
  order: Order,
  status: 'canceled' | 'rejected',
  comment: string,
): void {
  transition(order, status, step.now);
  order.comment = comment;
  book.orders.delete(order.id);
  syncOrderTrigger(state, book, order);
  step.order(book, order);
}

/** Cancels a resting order whose expiration has passed. */
export function expireOrder(state: EngineState, step: Step, book: AccountBook, order: Order): void {
  finishOrder(state, step, book, order, 'canceled', 'expired');
  step.event(book, { type: 'order_expired', order }, `order ${order.id} expired`);
}
