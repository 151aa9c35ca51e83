/** Everything observable about an account, through both APIs, for before/after comparisons. */
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, raw, type TestAccount, type TestServer } from '../test-server.ts';

export interface WireOrder {
  id: string;
  status: string;
  comment?: string;
}

export async function snapshot(t: TestServer, victim: TestAccount): Promise<Record<string, unknown>> {
  const get = async (path: string, token: string): Promise<unknown> => {
    const reply = await raw(t.url, 'GET', path, { token });
    assert.equal(reply.status, 200, `snapshot ${path}: ${reply.status} ${reply.text}`);
    return reply.body.data;
  };
  const acct = `/api/v1/accounts/${victim.accountId}`;
  const admin = `/admin/v1/accounts/${victim.accountId}`;
  return {
    accounts: await get('/api/v1/accounts', victim.token),
    state: await get(acct, victim.token),
    instruments: await get('/api/v1/instruments', victim.token),
    accountInstruments: await get(`${acct}/instruments`, victim.token),
    quotes: await Promise.all(
      ['AAPL.nq', 'MSFT.nq', 'EURUSD'].map((t) => get(`${acct}/instruments/${t}/quote`, victim.token)),
    ),
    currentOrders: await get(`${acct}/orders`, victim.token),
    orderHistory: await get(`${acct}/orders?history_from=0&limit=500`, victim.token),
    openDeals: await get(`${acct}/deals`, victim.token),
    dealHistory: await get(`${acct}/deals?history_from=0&limit=500`, victim.token),
    adminAccount: await get(admin, ADMIN_TOKEN),
    ledger: await get(`${admin}/ledger?limit=500`, ADMIN_TOKEN),
    fills: await get(`${admin}/fills?limit=500`, ADMIN_TOKEN),
    ticks: await Promise.all(
      ['AAPL.nq', 'MSFT.nq'].map((t) => get(`/admin/v1/quotes/${t}/ticks?limit=1000`, ADMIN_TOKEN)),
    ),
  };
}
