-- Account reset. Each account keeps the balance it opens with: what it was created with, or the
-- balance of its last reset (accounts created before this migration get the amount of their
-- opening ledger entry). Order and deal ids come from sequences, which a reset leaves alone, so
-- they go on increasing after it.
ALTER TABLE accounts ADD COLUMN opening_balance BIGINT NOT NULL DEFAULT 0;
UPDATE accounts SET opening_balance = COALESCE((
  SELECT ledger.amount FROM ledger
   WHERE ledger.account_id = accounts.id AND ledger.comment = 'initial deposit'
     AND ledger.time = accounts.created_at
     AND ledger.id = (SELECT MIN(first.id) FROM ledger AS first WHERE first.account_id = accounts.id)
), 0);

-- A reset deletes an account's orders and deals, then its history page counts all at once
-- (account-reset.ts). Counting each deleted row down first would update the same few count rows
-- once per deleted row (a 100,000-order account took 30 s), so within a reset's transaction the
-- setting stockstrader.dropping_history is 'on' and the row triggers skip deletes.
CREATE OR REPLACE FUNCTION orders_history_pages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  CASE TG_OP
    WHEN 'INSERT' THEN
      PERFORM history_pages_track('order', NULL, NULL, NULL,
        NEW.account_id, NEW.id, NEW.status, NEW.create_time, NEW.last_modified);
    WHEN 'UPDATE' THEN
      PERFORM history_pages_track('order', OLD.account_id, OLD.id, OLD.status,
        NEW.account_id, NEW.id, NEW.status, NEW.create_time, NEW.last_modified);
    ELSE
      IF current_setting('stockstrader.dropping_history', true) IS DISTINCT FROM 'on' THEN
        PERFORM history_pages_track('order', OLD.account_id, OLD.id, OLD.status, NULL, NULL, NULL, NULL, NULL);
      END IF;
  END CASE;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION deals_history_pages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  CASE TG_OP
    WHEN 'INSERT' THEN
      PERFORM history_pages_track('deal', NULL, NULL, NULL,
        NEW.account_id, NEW.id, NEW.status, NEW.open_time, NEW.close_time);
    WHEN 'UPDATE' THEN
      PERFORM history_pages_track('deal', OLD.account_id, OLD.id, OLD.status,
        NEW.account_id, NEW.id, NEW.status, NEW.open_time, NEW.close_time);
    ELSE
      IF current_setting('stockstrader.dropping_history', true) IS DISTINCT FROM 'on' THEN
        PERFORM history_pages_track('deal', OLD.account_id, OLD.id, OLD.status, NULL, NULL, NULL, NULL, NULL);
      END IF;
  END CASE;
  RETURN NULL;
END;
$$;
