-- Candles for charts (application/market-data/candles.ts): one row per ticker, interval and bucket
-- start, each interval stored (1m, 5m, 15m, 1h, 1d), so a chart reads only the rows it shows.
-- Prices are fixed-point bids (1e-8), volume a fixed-point quantity (1e-6); open_time and
-- close_time are the data times of the first and last price, so a merge keeps the earlier open
-- and the later close.
CREATE TABLE candles (
  ticker TEXT COLLATE "C" NOT NULL,
  interval_seconds INTEGER NOT NULL,
  time BIGINT NOT NULL,
  open BIGINT NOT NULL,
  high BIGINT NOT NULL,
  low BIGINT NOT NULL,
  close BIGINT NOT NULL,
  volume BIGINT NOT NULL,
  open_time BIGINT NOT NULL,
  close_time BIGINT NOT NULL,
  PRIMARY KEY (ticker, interval_seconds, time)
);
