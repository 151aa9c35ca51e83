-- Account reset. Each account keeps the balance it opens with: what it was created with, or the
-- balance of its last reset (accounts created before this migration get the amount of their
-- opening ledger entry). A reset deletes the account's orders and deals, and order and deal ids
-- are counted on from the highest stored id at start, so the highest ids ever stored are kept
-- here too: ids go on increasing after a reset and a restart.
ALTER TABLE accounts ADD COLUMN opening_balance INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET opening_balance = COALESCE((
  SELECT ledger.amount FROM ledger
   WHERE ledger.account_id = accounts.id AND ledger.comment = 'initial deposit'
     AND ledger.time = accounts.created_at
     AND ledger.id = (SELECT MIN(first.id) FROM ledger AS first WHERE first.account_id = accounts.id)
), 0);

CREATE TABLE id_watermarks (
  kind TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL
) WITHOUT ROWID;
