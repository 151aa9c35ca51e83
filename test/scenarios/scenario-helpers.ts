/**
 * Small helpers shared by the scenario tests: wire lookups and rejection assertions.
 */
import assert from 'node:assert/strict';
import type { StocksTraderClient, StocksTraderError } from '../../src/client/stockstrader-client.ts';
import type { Deal, Order } from '../../src/contract/public-api.ts';
import type { TestServer } from '../support/test-server.ts';

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

/** What a market order of the scenarios' usual opening names. */
export interface MarketOpening {
  accountId: string;
  client: StocksTraderClient;
  orderId: string;
}

/**
 * The usual opening of a scenario: a new account of `system` with 10,000, `ticker` quoted at
 * 100 / 100.02, and a market order of `volume` on `side`, with the SL/TP given.
 */
export async function openAtMarket(
  t: TestServer,
  system: 'netting' | 'hedging',
  order: { ticker: string; side: 'buy' | 'sell'; volume: number; stop_loss?: number; take_profit?: number },
): Promise<MarketOpening> {
  const { accountId, client } = await t.newAccount({ system, balance: 10_000 });
  await t.admin.setQuote(order.ticker, { bid: 100, ask: 100.02 });
  const orderId = await client.placeOrder(accountId, { ...order, type: 'market' });
  return { accountId, client, orderId };
}
