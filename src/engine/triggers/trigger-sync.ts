/**
 * Keeps the trigger index and the expiry list equal to the books: after any change to an order or
 * a deal, syncing it puts in or takes out exactly the triggers its state calls for (see the
 * invariants in engine-state.ts). Keys and trigger shapes come from trigger-index.ts.
 */
import type { EngineState } from '../engine-state.ts';
import type { AccountBook, Deal, Order } from '../model.ts';
import {
  DEAL_TRIGGER_KINDS,
  isCrossed,
  triggerForDeal,
  triggerForOrder,
  triggerKey,
  type Trigger,
} from '../trigger-index.ts';
import { lastTriggerPrice } from './trigger-prices.ts';

export function syncOrderTrigger(state: EngineState, book: AccountBook, order: Order): void {
  const trigger = order.status === 'active' ? triggerForOrder(order) : undefined;
  if (!trigger) {
    state.triggers.remove(triggerKey('order', order.id));
    state.expiring.delete(order.id);
    return;
  }
  state.triggers.upsert(trigger);
  if (order.expiration !== 0)
    state.expiring.set(order.id, { accountId: book.account.id, expiration: order.expiration });
  else state.expiring.delete(order.id);
}

export function syncDealTriggers(state: EngineState, deal: Deal): void {
  for (const kind of DEAL_TRIGGER_KINDS) {
    const trigger = deal.status === 'open' ? triggerForDeal(deal, kind) : undefined;
    if (trigger) state.triggers.upsert(trigger);
    else state.triggers.remove(triggerKey(kind, deal.id));
  }
}

/** Takes a book's triggers and expirations out of the index (the book is being replaced). */
export function removeBookTriggers(state: EngineState, book: AccountBook): void {
  for (const order of book.orders.values()) {
    state.triggers.remove(triggerKey('order', order.id));
    state.expiring.delete(order.id);
  }
  for (const deal of book.deals.values())
    for (const kind of DEAL_TRIGGER_KINDS) state.triggers.remove(triggerKey(kind, deal.id));
}

/** The book's triggers that current quotes already cross, in key order. */
export function crossedTriggers(state: EngineState, book: AccountBook): Trigger[] {
  const keys = [
    ...[...book.orders.keys()].map((id) => triggerKey('order', id)),
    ...[...book.deals.keys()].flatMap((id) => DEAL_TRIGGER_KINDS.map((kind) => triggerKey(kind, id))),
  ];
  const crossed: Trigger[] = [];
  for (const key of keys.sort()) {
    const trigger = state.triggers.get(key);
    const quote = trigger && state.market.get(trigger.ticker);
    if (!trigger || !quote) continue;
    const last = lastTriggerPrice(state, quote);
    if (isCrossed(trigger, last ?? quote.bid, last ?? quote.ask)) crossed.push(trigger);
  }
  return crossed;
}
