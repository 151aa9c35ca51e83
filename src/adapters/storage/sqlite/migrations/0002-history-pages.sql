-- History pages: per account, kind and status, how many orders or deals fall in each bucket of
-- 4096 ids, and the (only ever widened) bounds of their two history times. A history page at any
-- skip is then found by summing bucket counts instead of stepping over skipped rows.
-- Counts are exact at every commit; bounds are conservative. Orders use create_time and
-- last_modified, deals open_time and close_time.
CREATE TABLE history_pages (
  kind TEXT NOT NULL,
  account_id INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  status TEXT NOT NULL,
  count INTEGER NOT NULL,
  min_first INTEGER NOT NULL,
  max_first INTEGER NOT NULL,
  min_second INTEGER,
  max_second INTEGER,
  null_second INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, account_id, bucket, status)
) WITHOUT ROWID;

CREATE TRIGGER orders_page_insert AFTER INSERT ON orders
BEGIN
  INSERT INTO history_pages (kind, account_id, bucket, status, count, min_first, max_first, min_second, max_second, null_second)
  VALUES ('order', NEW.account_id, NEW.id / 4096, NEW.status, 1, NEW.create_time, NEW.create_time,
          NEW.last_modified, NEW.last_modified, 0)
  ON CONFLICT (kind, account_id, bucket, status) DO UPDATE SET
    count = count + 1,
    min_first = MIN(min_first, excluded.min_first), max_first = MAX(max_first, excluded.max_first),
    min_second = MIN(min_second, excluded.min_second), max_second = MAX(max_second, excluded.max_second);
END;

CREATE TRIGGER orders_page_update AFTER UPDATE OF status, create_time, last_modified ON orders
BEGIN
  UPDATE history_pages SET count = count - 1
   WHERE OLD.status <> NEW.status
     AND kind = 'order' AND account_id = OLD.account_id AND bucket = OLD.id / 4096 AND status = OLD.status;
  INSERT INTO history_pages (kind, account_id, bucket, status, count, min_first, max_first, min_second, max_second, null_second)
  VALUES ('order', NEW.account_id, NEW.id / 4096, NEW.status, CASE WHEN OLD.status <> NEW.status THEN 1 ELSE 0 END,
          NEW.create_time, NEW.create_time, NEW.last_modified, NEW.last_modified, 0)
  ON CONFLICT (kind, account_id, bucket, status) DO UPDATE SET
    count = count + excluded.count,
    min_first = MIN(min_first, excluded.min_first), max_first = MAX(max_first, excluded.max_first),
    min_second = MIN(min_second, excluded.min_second), max_second = MAX(max_second, excluded.max_second);
END;

CREATE TRIGGER deals_page_insert AFTER INSERT ON deals
BEGIN
  INSERT INTO history_pages (kind, account_id, bucket, status, count, min_first, max_first, min_second, max_second, null_second)
  VALUES ('deal', NEW.account_id, NEW.id / 4096, NEW.status, 1, NEW.open_time, NEW.open_time,
          NEW.close_time, NEW.close_time, NEW.close_time IS NULL)
  ON CONFLICT (kind, account_id, bucket, status) DO UPDATE SET
    count = count + 1,
    min_first = MIN(min_first, excluded.min_first), max_first = MAX(max_first, excluded.max_first),
    min_second = COALESCE(MIN(min_second, excluded.min_second), min_second, excluded.min_second),
    max_second = COALESCE(MAX(max_second, excluded.max_second), max_second, excluded.max_second),
    null_second = MAX(null_second, excluded.null_second);
END;

CREATE TRIGGER deals_page_update AFTER UPDATE OF status, open_time, close_time ON deals
BEGIN
  UPDATE history_pages SET count = count - 1
   WHERE OLD.status <> NEW.status
     AND kind = 'deal' AND account_id = OLD.account_id AND bucket = OLD.id / 4096 AND status = OLD.status;
  INSERT INTO history_pages (kind, account_id, bucket, status, count, min_first, max_first, min_second, max_second, null_second)
  VALUES ('deal', NEW.account_id, NEW.id / 4096, NEW.status, CASE WHEN OLD.status <> NEW.status THEN 1 ELSE 0 END,
          NEW.open_time, NEW.open_time, NEW.close_time, NEW.close_time, NEW.close_time IS NULL)
  ON CONFLICT (kind, account_id, bucket, status) DO UPDATE SET
    count = count + excluded.count,
    min_first = MIN(min_first, excluded.min_first), max_first = MAX(max_first, excluded.max_first),
    min_second = COALESCE(MIN(min_second, excluded.min_second), min_second, excluded.min_second),
    max_second = COALESCE(MAX(max_second, excluded.max_second), max_second, excluded.max_second),
    null_second = MAX(null_second, excluded.null_second);
END;

-- Existing history.
INSERT INTO history_pages (kind, account_id, bucket, status, count, min_first, max_first, min_second, max_second, null_second)
SELECT 'order', account_id, id / 4096, status, COUNT(*), MIN(create_time), MAX(create_time),
       MIN(last_modified), MAX(last_modified), 0
  FROM orders GROUP BY account_id, id / 4096, status;
INSERT INTO history_pages (kind, account_id, bucket, status, count, min_first, max_first, min_second, max_second, null_second)
SELECT 'deal', account_id, id / 4096, status, COUNT(*), MIN(open_time), MAX(open_time),
       MIN(close_time), MAX(close_time), MAX(close_time IS NULL)
  FROM deals GROUP BY account_id, id / 4096, status;
