-- Initial schema, the PostgreSQL translation of the SQLite 0001 migration (same tables, columns
-- and indexes). Money is integer cents, prices integer 1e-8, volumes and ratios integer 1e-6, all
-- BIGINT. Users, tokens, ledger entries and fills get their ids from a sequence; orders, deals and
-- accounts get theirs from the application. Tickers use the "C" collation so that ORDER BY ticker
-- is byte order whatever the database's default collation (the same order as SQLite).
CREATE TABLE users (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
  id BIGSERIAL PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users (id),
  token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);

CREATE TABLE accounts (
  id BIGINT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users (id),
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  system TEXT NOT NULL,
  currency TEXT NOT NULL,
  status TEXT NOT NULL,
  balance BIGINT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX accounts_user ON accounts (user_id, id);

CREATE TABLE ledger (
  id BIGSERIAL PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts (id),
  amount BIGINT NOT NULL,
  balance_after BIGINT NOT NULL,
  comment TEXT NOT NULL,
  time BIGINT NOT NULL
);
CREATE INDEX ledger_account ON ledger (account_id, id);

CREATE TABLE instruments (
  ticker TEXT COLLATE "C" PRIMARY KEY,
  description TEXT NOT NULL,
  contract_size BIGINT NOT NULL,
  units TEXT NOT NULL,
  min_volume BIGINT NOT NULL,
  max_volume BIGINT NOT NULL,
  volume_step BIGINT NOT NULL,
  min_tick BIGINT NOT NULL,
  leverage BIGINT NOT NULL,
  trade_mode TEXT NOT NULL,
  quote_currency TEXT NOT NULL,
  calendar TEXT NOT NULL,
  volatility DOUBLE PRECISION NOT NULL,
  spread_ticks BIGINT NOT NULL,
  reference_price BIGINT NOT NULL
);

CREATE TABLE instrument_overrides (
  account_id BIGINT NOT NULL REFERENCES accounts (id),
  ticker TEXT COLLATE "C" NOT NULL,
  min_volume BIGINT,
  max_volume BIGINT,
  volume_step BIGINT,
  min_tick BIGINT,
  leverage BIGINT,
  trade_mode TEXT,
  PRIMARY KEY (account_id, ticker)
);

CREATE TABLE orders (
  id BIGINT PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts (id),
  ticker TEXT COLLATE "C" NOT NULL,
  side TEXT NOT NULL,
  type TEXT NOT NULL,
  volume BIGINT NOT NULL,
  price BIGINT,
  filled_price BIGINT,
  expiration BIGINT NOT NULL,
  stop_loss BIGINT,
  take_profit BIGINT,
  status TEXT NOT NULL,
  comment TEXT NOT NULL,
  create_time BIGINT NOT NULL,
  last_modified BIGINT NOT NULL,
  deals TEXT NOT NULL,
  target_deal_id BIGINT
);
CREATE INDEX orders_account ON orders (account_id, id);
CREATE INDEX orders_account_status ON orders (account_id, status, id);

CREATE TABLE deals (
  id BIGINT PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts (id),
  ticker TEXT COLLATE "C" NOT NULL,
  side TEXT NOT NULL,
  volume BIGINT NOT NULL,
  open_price BIGINT NOT NULL,
  open_time BIGINT NOT NULL,
  stop_loss BIGINT,
  take_profit BIGINT,
  status TEXT NOT NULL,
  close_price BIGINT,
  close_time BIGINT,
  profit BIGINT NOT NULL,
  last_modified BIGINT NOT NULL
);
CREATE INDEX deals_account ON deals (account_id, id);
CREATE INDEX deals_account_status ON deals (account_id, status, id);

CREATE TABLE fills (
  id BIGSERIAL PRIMARY KEY,
  order_id BIGINT NOT NULL,
  account_id BIGINT NOT NULL,
  ticker TEXT COLLATE "C" NOT NULL,
  side TEXT NOT NULL,
  order_type TEXT NOT NULL,
  volume BIGINT NOT NULL,
  price BIGINT NOT NULL,
  time BIGINT NOT NULL,
  quote_time BIGINT NOT NULL,
  bid BIGINT NOT NULL,
  ask BIGINT NOT NULL,
  rule TEXT NOT NULL,
  deal_ids TEXT NOT NULL
);
CREATE INDEX fills_account ON fills (account_id, id);

CREATE TABLE quotes (
  ticker TEXT COLLATE "C" PRIMARY KEY,
  bid BIGINT NOT NULL,
  ask BIGINT NOT NULL,
  time BIGINT NOT NULL,
  last BIGINT,
  last_time BIGINT
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- History pages: per kind ('order' or 'deal'), account, bucket of 4096 ids (id / 4096, integer
-- division) and status, the exact number of rows, so that deep history paging can skip whole
-- buckets instead of counting rows one by one. The time bounds cover the row's first time
-- (orders: create_time, deals: open_time) and second time (orders: last_modified, deals:
-- close_time, non-NULL values only) of every row ever counted under that key; they only ever
-- widen, so they are conservative: a bucket whose bounds miss a window has no row in it.
-- null_second becomes 1 once a row counted there had a NULL second time and is never reset.
-- Rows whose count fell to 0 may remain. The row triggers on orders and deals below keep the
-- counts exact in every transaction that inserts, updates or deletes orders or deals.
CREATE TABLE history_pages (
  kind TEXT NOT NULL,
  account_id BIGINT NOT NULL,
  bucket BIGINT NOT NULL,
  status TEXT NOT NULL,
  count BIGINT NOT NULL,
  min_first BIGINT NOT NULL,
  max_first BIGINT NOT NULL,
  min_second BIGINT,
  max_second BIGINT,
  null_second INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, account_id, bucket, status)
);

-- Counts `delta` more rows under a key, widening its bounds by one row's times.
CREATE FUNCTION history_pages_add(
  p_kind TEXT, p_account_id BIGINT, p_id BIGINT, p_status TEXT, p_delta BIGINT, p_first BIGINT, p_second BIGINT
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO history_pages AS page
    (kind, account_id, bucket, status, count, min_first, max_first, min_second, max_second, null_second)
  VALUES
    (p_kind, p_account_id, p_id / 4096, p_status, p_delta, p_first, p_first, p_second, p_second,
     CASE WHEN p_second IS NULL THEN 1 ELSE 0 END)
  ON CONFLICT (kind, account_id, bucket, status) DO UPDATE SET
    count = page.count + EXCLUDED.count,
    min_first = LEAST(page.min_first, EXCLUDED.min_first),
    max_first = GREATEST(page.max_first, EXCLUDED.max_first),
    -- LEAST and GREATEST ignore NULLs: a NULL second time leaves the bounds as they were.
    min_second = LEAST(page.min_second, EXCLUDED.min_second),
    max_second = GREATEST(page.max_second, EXCLUDED.max_second),
    null_second = GREATEST(page.null_second, EXCLUDED.null_second);
END;
$$;

-- Counts one row less under a key; the key must exist, or the counts were already wrong.
CREATE FUNCTION history_pages_remove(p_kind TEXT, p_account_id BIGINT, p_id BIGINT, p_status TEXT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE history_pages SET count = count - 1
  WHERE kind = p_kind AND account_id = p_account_id AND bucket = p_id / 4096 AND status = p_status
    AND count > 0;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'history_pages has no % row counted for account %, id %, status %',
      p_kind, p_account_id, p_id, p_status;
  END IF;
END;
$$;

-- On insert, count the new row; on delete, uncount the old one; on update, move the row to its new
-- key if its status (or, were they ever changed, its account or id) changed, and widen the bounds of
-- the key it is counted under by its new times.
CREATE FUNCTION history_pages_track(p_kind TEXT, p_old_account_id BIGINT, p_old_id BIGINT, p_old_status TEXT,
  p_account_id BIGINT, p_id BIGINT, p_status TEXT, p_first BIGINT, p_second BIGINT
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_old_id IS NOT NULL AND p_id IS NOT NULL
    AND p_old_account_id = p_account_id AND p_old_id / 4096 = p_id / 4096 AND p_old_status = p_status THEN
    PERFORM history_pages_add(p_kind, p_account_id, p_id, p_status, 0, p_first, p_second);
    RETURN;
  END IF;
  IF p_old_id IS NOT NULL THEN
    PERFORM history_pages_remove(p_kind, p_old_account_id, p_old_id, p_old_status);
  END IF;
  IF p_id IS NOT NULL THEN
    PERFORM history_pages_add(p_kind, p_account_id, p_id, p_status, 1, p_first, p_second);
  END IF;
END;
$$;

CREATE FUNCTION orders_history_pages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  CASE TG_OP
    WHEN 'INSERT' THEN
      PERFORM history_pages_track('order', NULL, NULL, NULL,
        NEW.account_id, NEW.id, NEW.status, NEW.create_time, NEW.last_modified);
    WHEN 'UPDATE' THEN
      PERFORM history_pages_track('order', OLD.account_id, OLD.id, OLD.status,
        NEW.account_id, NEW.id, NEW.status, NEW.create_time, NEW.last_modified);
    ELSE
      PERFORM history_pages_track('order', OLD.account_id, OLD.id, OLD.status, NULL, NULL, NULL, NULL, NULL);
  END CASE;
  RETURN NULL;
END;
$$;

CREATE FUNCTION deals_history_pages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  CASE TG_OP
    WHEN 'INSERT' THEN
      PERFORM history_pages_track('deal', NULL, NULL, NULL,
        NEW.account_id, NEW.id, NEW.status, NEW.open_time, NEW.close_time);
    WHEN 'UPDATE' THEN
      PERFORM history_pages_track('deal', OLD.account_id, OLD.id, OLD.status,
        NEW.account_id, NEW.id, NEW.status, NEW.open_time, NEW.close_time);
    ELSE
      PERFORM history_pages_track('deal', OLD.account_id, OLD.id, OLD.status, NULL, NULL, NULL, NULL, NULL);
  END CASE;
  RETURN NULL;
END;
$$;

CREATE TRIGGER orders_history_pages AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION orders_history_pages();
CREATE TRIGGER deals_history_pages AFTER INSERT OR UPDATE OR DELETE ON deals
  FOR EACH ROW EXECUTE FUNCTION deals_history_pages();
