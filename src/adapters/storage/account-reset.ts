/**
 * Account reset and the trading-history question, as SQL both adapters run (only placeholders
 * differ, and the caller supplies them, as in history-pages.ts).
 *
 * An account's opening state is its opening balance (`accounts.opening_balance`: what it was
 * created with, or the balance of its last reset) and, unless that is 0, one ledger entry for it,
 * the account's first, with the comment OPENING_ENTRY_COMMENT. A reset returns an account to
 * exactly that: it deletes the account's rows from RESET_TABLES and its history page counts, and
 * writes the opening entry again.
 */

/** The comment of an account's opening ledger entry. */
export const OPENING_ENTRY_COMMENT = 'initial deposit';

/**
 * The tables whose rows of an account a reset deletes (history_pages aside, see below). The event
 * log goes too, but not the account's last event id: ids go on from it, so a client resuming from
 * an id before the reset is told to resynchronise (`reset`), never handed a reused id.
 */
export const RESET_TABLES = ['fills', 'ledger', 'orders', 'deals', 'account_events'] as const;

/**
 * Deletes an account's history page counts. The key starts with `kind`, so naming both kinds lets
 * the primary key find the rows.
 */
export const deleteHistoryPagesSql = (account: string): string =>
  `DELETE FROM history_pages WHERE kind IN ('order', 'deal') AND account_id = ${account}`;

/**
 * One row, one column: 1 when the database holds any order, deal or fill, or a ledger entry that
 * is not an account's opening one; else 0.
 */
/** Unix seconds of the latest order, deal or fill change; NULL when there is none. */
export const LATEST_TRADE_TIME_SQL = `SELECT MAX(time) AS latest FROM (
    SELECT MAX(last_modified) AS time FROM orders
    UNION ALL SELECT MAX(last_modified) FROM deals
    UNION ALL SELECT MAX(time) FROM fills) AS times`;

export const TRADING_HISTORY_SQL = `SELECT CASE
    WHEN EXISTS (SELECT 1 FROM orders) OR EXISTS (SELECT 1 FROM deals) OR EXISTS (SELECT 1 FROM fills)
      OR EXISTS (
        SELECT 1 FROM ledger JOIN accounts ON accounts.id = ledger.account_id
         WHERE NOT (ledger.comment = '${OPENING_ENTRY_COMMENT}'
           AND ledger.amount = accounts.opening_balance AND ledger.balance_after = accounts.opening_balance
           AND ledger.id = (SELECT MIN(first.id) FROM ledger AS first WHERE first.account_id = ledger.account_id)))
    THEN 1 ELSE 0 END AS history`;
