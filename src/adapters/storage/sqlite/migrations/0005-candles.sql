-- Candles for charts (application/market-data/candles.ts): one row per ticker, interval and bucket
-- start, each interval stored (1m, 5m, 15m, 1h, 1d), so a chart reads only the rows it shows.
-- Prices are fixed-point bids (1e-8), volume a fixed-point quantity (1e-6); open_time and
-- close_time are the data times of the first and last price, so a merge keeps the earlier open
-- and the later close.
CREATE TABLE candles (
  ticker TEXT NOT NULL,
  interval_seconds INTEGER NOT NULL,
  time INTEGER NOT NULL,
  open INTEGER NOT NULL,
  high INTEGER NOT NULL,
  low INTEGER NOT NULL,
  close INTEGER NOT NULL,
  volume INTEGER NOT NULL,
  open_time INTEGER NOT NULL,
  close_time INTEGER NOT NULL,
  PRIMARY KEY (ticker, interval_seconds, time)
) WITHOUT ROWID;
