/**
 * The one table of legal order status changes. Every status change goes through `transition`, and
 * every order comes into being through `createOrder`, which checks the table's `new` row.
 *
 * `new` is the state of an order before it is first recorded. A client's new order starts
 * `in_execution` while it is checked, then fills, is rejected, or rests as `active`. Market orders
 * pass through `in_execution` inside one engine step, so a stored market order is already final.
 */
import type { Order, OrderStatus } from './model.ts';

type From = OrderStatus | 'new';

const LEGAL: Readonly<Record<From, readonly OrderStatus[]>> = {
  new: ['active', 'in_execution', 'rejected'],
  active: ['in_execution', 'canceled', 'rejected'],
  in_execution: ['active', 'filled', 'rejected'],
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

/** A new order in its first status, as the table allows (`new → status`). */
export function createOrder(
  fields: Omit<Order, 'status' | 'lastModified'>,
  status: OrderStatus,
  now: number,
): Order {
  if (!canTransition('new', status)) {
    throw new Error(`illegal order transition new → ${status} for order ${fields.id}`);
  }
  return { ...fields, status, lastModified: now };
}
