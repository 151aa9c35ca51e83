import type { Pool } from 'pg';
import type { AccountBook } from '../../../engine/model.ts';
import { ACCOUNT_ID_WIDTH, formatId } from '../../../engine/ids.ts';
import { accountFromRow, dealFromRow, orderFromRow, overridesFromRow, type Row } from '../rows.ts';
import { inTransaction } from './postgres-pool.ts';
import { requireId } from './postgres-sql.ts';

/**
 * Books of every account, or of one: the account, its current orders, open deals and overrides.
 * One snapshot for all four reads, so a commit can't split a book.
 */
export async function readBooks(pool: Pool, accountId: string | undefined): Promise<AccountBook[]> {
  const only = accountId === undefined ? [] : [requireId(accountId, 'account')];
  const where = (column: string): string => (only.length > 0 ? `${column} = $1` : 'TRUE');
  return inTransaction(
    await pool.connect(),
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    async (client) => {
      const books = new Map<string, AccountBook>();
      const accounts = await client.query<Row>(
        `SELECT * FROM accounts WHERE ${where('id')} ORDER BY id`,
        only,
      );
      for (const row of accounts.rows) {
        const account = accountFromRow(row);
        books.set(account.id, {
          account,
          orders: new Map(),
          deals: new Map(),
          overrides: new Map(),
          version: Number(row.version),
          lastEventId: Number(row.last_event_id),
        });
      }
      const active = await client.query<Row>(
        `SELECT * FROM orders WHERE ${where('account_id')} AND status IN ('active', 'in_execution') ORDER BY id`,
        only,
      );
      for (const row of active.rows) {
        const order = orderFromRow(row);
        books.get(order.accountId)?.orders.set(order.id, order);
      }
      const open = await client.query<Row>(
        `SELECT * FROM deals WHERE ${where('account_id')} AND status <> 'closed' ORDER BY id`,
        only,
      );
      for (const row of open.rows) {
        const deal = dealFromRow(row);
        books.get(deal.accountId)?.deals.set(deal.id, deal);
      }
      const overrides = await client.query<Row>(
        `SELECT * FROM instrument_overrides WHERE ${where('account_id')} ORDER BY account_id, ticker`,
        only,
      );
      for (const row of overrides.rows) {
        books
          .get(formatId(Number(row.account_id), ACCOUNT_ID_WIDTH))
          ?.overrides.set(String(row.ticker), overridesFromRow(row));
      }
      return [...books.values()];
    },
  );
}
