-- Initial schema. Money is integer cents, prices integer 1e-8, volumes and ratios integer 1e-6.
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  system TEXT NOT NULL,
  currency TEXT NOT NULL,
  status TEXT NOT NULL,
  balance INTEGER NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX accounts_user ON accounts (user_id, id);

CREATE TABLE ledger (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  amount INTEGER NOT NULL,
  balance_after INTEGER NOT NULL,
  comment TEXT NOT NULL,
  time INTEGER NOT NULL
);
CREATE INDEX ledger_account ON ledger (account_id, id);

CREATE TABLE instruments (
  ticker TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  contract_size INTEGER NOT NULL,
  units TEXT NOT NULL,
  min_volume INTEGER NOT NULL,
  max_volume INTEGER NOT NULL,
  volume_step INTEGER NOT NULL,
  min_tick INTEGER NOT NULL,
  leverage INTEGER NOT NULL,
  trade_mode TEXT NOT NULL,
  quote_currency TEXT NOT NULL,
  calendar TEXT NOT NULL,
  volatility REAL NOT NULL,
  spread_ticks INTEGER NOT NULL,
  reference_price INTEGER NOT NULL
);

CREATE TABLE instrument_overrides (
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  ticker TEXT NOT NULL,
  min_volume INTEGER,
  max_volume INTEGER,
  volume_step INTEGER,
  min_tick INTEGER,
  leverage INTEGER,
  trade_mode TEXT,
  PRIMARY KEY (account_id, ticker)
);

CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  ticker TEXT NOT NULL,
  side TEXT NOT NULL,
  type TEXT NOT NULL,
  volume INTEGER NOT NULL,
  price INTEGER,
  filled_price INTEGER,
  expiration INTEGER NOT NULL,
  stop_loss INTEGER,
  take_profit INTEGER,
  status TEXT NOT NULL,
  comment TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  last_modified INTEGER NOT NULL,
  deals TEXT NOT NULL,
  target_deal_id INTEGER
);
CREATE INDEX orders_account ON orders (account_id, id);
CREATE INDEX orders_account_status ON orders (account_id, status, id);

CREATE TABLE deals (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  ticker TEXT NOT NULL,
  side TEXT NOT NULL,
  volume INTEGER NOT NULL,
  open_price INTEGER NOT NULL,
  open_time INTEGER NOT NULL,
  stop_loss INTEGER,
  take_profit INTEGER,
  status TEXT NOT NULL,
  close_price INTEGER,
  close_time INTEGER,
  profit INTEGER NOT NULL,
  last_modified INTEGER NOT NULL
);
CREATE INDEX deals_account ON deals (account_id, id);
CREATE INDEX deals_account_status ON deals (account_id, status, id);

CREATE TABLE fills (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL,
  account_id INTEGER NOT NULL,
  ticker TEXT NOT NULL,
  side TEXT NOT NULL,
  order_type TEXT NOT NULL,
  volume INTEGER NOT NULL,
  price INTEGER NOT NULL,
  time INTEGER NOT NULL,
  quote_time INTEGER NOT NULL,
  bid INTEGER NOT NULL,
  ask INTEGER NOT NULL,
  rule TEXT NOT NULL,
  deal_ids TEXT NOT NULL
);
CREATE INDEX fills_account ON fills (account_id, id);

CREATE TABLE quotes (
  ticker TEXT PRIMARY KEY,
  bid INTEGER NOT NULL,
  ask INTEGER NOT NULL,
  time INTEGER NOT NULL,
  last INTEGER,
  last_time INTEGER
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
