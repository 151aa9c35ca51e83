-- Ledger entries say what they are (engine/change-set.ts LEDGER_ENTRY_TYPES: deposit, withdrawal,
-- commission, swap, dividend, dividend_tax, split_cash) and which order or deal a charge belongs
-- to. Entries written before this migration were cash in and out: a negative one a withdrawal.
ALTER TABLE ledger ADD COLUMN type TEXT NOT NULL DEFAULT 'deposit';
UPDATE ledger SET type = 'withdrawal' WHERE amount < 0;
ALTER TABLE ledger ADD COLUMN order_id INTEGER;
ALTER TABLE ledger ADD COLUMN deal_id INTEGER;
