/**
 * The one table of legal order status changes. Every status change goes through `transition`.
 *
 * `new` is the state of an order before it is first recorded. Market orders pass through
 * `in_execution` inside one engine step, so a stored market order is already final.
 */
import type { Order, OrderStatus } from './model.ts';

type From = OrderStatus | 'new';

const LEGAL: Readonly<Record<From, readonly OrderStatus[]>> = {
  new: ['active', 'in_execution', 'rejected'],
  active: ['in_execution', 'canceled', 'rejected'],
  in_execution: ['filled', 'rejected'],
  filled: [],
  rejected: [],
  canceled: [],
};

export function canTransition(from: From, to: OrderStatus): boolean {
  return LEGAL[from].includes(to);
}

export function transition(order: Order, to: OrderStatus, now: number): void {
  if (!canTransition(order.status, to)) {
    throw new Error(`illegal order transition ${order.status} → ${to} for order ${order.id}`);
  }
  order.status = to;
  order.lastModified = now;
}
