/**
 * Small helpers shared by the scenario tests: wire lookups and rejection assertions.
 */
import assert from 'node:assert/strict';
import type { StocksTraderClient, StocksTraderError } from '../../src/client/stockstrader-client.ts';
import type { Deal, Order } from '../../src/contract/public-api.ts';

/** Asserts the call fails with HTTP 400 and a msg matching `msg` (exact string or pattern). */
export async function rejects400(call: Promise<unknown>, msg: string | RegExp): Promise<void> {
  await assert.rejects(call, (error: StocksTraderError) => {
    assert.equal(error.name, 'StocksTraderError');
    assert.equal(error.status, 400);
    if (typeof msg === 'string') assert.equal(error.message, msg);
    else assert.match(error.message, msg);
    return true;
  });
}

/** Every order of the account, any status, in id order. */
export function allOrders(client: StocksTraderClient, accountId: string): Promise<Order[]> {
  return client.orders(accountId, { history_from: 0, limit: 500 });
}

/** Every deal of the account, open or closed, in id order. */
export function allDeals(client: StocksTraderClient, accountId: string): Promise<Deal[]> {
  return client.deals(accountId, { history_from: 0, limit: 500 });
}

export async function orderById(client: StocksTraderClient, accountId: string, id: string): Promise<Order> {
  const order = (await allOrders(client, accountId)).find((candidate) => candidate.id === id);
  assert.ok(order, `order ${id} is listed`);
  return order;
}

export async function dealById(client: StocksTraderClient, accountId: string, id: string): Promise<Deal> {
  const deal = (await allDeals(client, accountId)).find((candidate) => candidate.id === id);
  assert.ok(deal, `deal ${id} is listed`);
  return deal;
}
