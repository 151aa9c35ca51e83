/** The money invariant, read over the wire: balance = every ledger amount + every closed deal's profit. */
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, raw, type TestAccount, type TestServer } from '../test-server.ts';

/** Every page of a listing (limit 500). */
async function allPages<T>(t: TestServer, path: string, token: string): Promise<T[]> {
  const items: T[] = [];
  for (let skip = 0; ; skip += 500) {
    const separator = path.includes('?') ? '&' : '?';
    const reply = await raw(t.url, 'GET', `${path}${separator}skip=${skip}&limit=500`, { token });
    assert.equal(reply.status, 200, `${path}: ${reply.status} ${reply.text}`);
    const page = reply.body.data as T[];
    items.push(...page);
    if (page.length < 500) return items;
  }
}

const cents = (amount: number): number => Math.round(amount * 100);

/** Balance = every ledger amount (initial deposit included) + every closed deal's profit, exactly. */
export async function assertBooksBalance(t: TestServer, account: TestAccount): Promise<void> {
  const ledger = await allPages<{ amount: number }>(
    t,
    `/admin/v1/accounts/${account.accountId}/ledger`,
    ADMIN_TOKEN,
  );
  const deals = await allPages<{ status: string; profit: number }>(
    t,
    `/api/v1/accounts/${account.accountId}/deals?history_from=0`,
    account.token,
  );
  const admin = await raw(t.url, 'GET', `/admin/v1/accounts/${account.accountId}`, { token: ADMIN_TOKEN });
  const balance = (admin.body.data as { account: { balance: number } }).account.balance;
  const deposits = ledger.reduce((sum, entry) => sum + cents(entry.amount), 0);
  const realised = deals
    .filter((deal) => deal.status === 'closed')
    .reduce((sum, deal) => sum + cents(deal.profit), 0);
  assert.equal(
    cents(balance),
    deposits + realised,
    `account ${account.accountId}: balance = deposits + realised P/L`,
  );
}
