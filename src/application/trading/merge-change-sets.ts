/**
 * Several engine steps as one commit, for a database of the process's own. Each order, deal and
 * account appears once, in its last state; ledger entries, fills and events keep step order.
 */
import type { ChangeSet } from '../../engine/engine.ts';
import type { Account, Deal, Order } from '../../engine/model.ts';

export function mergeChangeSets(sets: readonly ChangeSet[]): ChangeSet {
  if (sets.length === 1 && sets[0]) return sets[0];
  const merged: ChangeSet = { orders: [], deals: [], accounts: [], ledger: [], fills: [], events: [] };
  const orders = new Map<string, Order>();
  const deals = new Map<string, Deal>();
  const accounts = new Map<string, Account>();
  for (const set of sets) {
    for (const order of set.orders) orders.set(order.id, order);
    for (const deal of set.deals) deals.set(deal.id, deal);
    for (const account of set.accounts) accounts.set(account.id, account);
    merged.ledger.push(...set.ledger);
    merged.fills.push(...set.fills);
    merged.events.push(...set.events);
  }
  merged.orders = [...orders.values()];
  merged.deals = [...deals.values()];
  merged.accounts = [...accounts.values()];
  return merged;
}
