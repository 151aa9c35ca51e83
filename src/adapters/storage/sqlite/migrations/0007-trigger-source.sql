-- What an instrument's limit, stop, SL and TP orders compare against (engine/triggers/
-- trigger-prices.ts): 'last' (the last trade price) or 'bid_ask'. Existing instruments get the
-- broker's default: stocks and ETFs (the us_equities calendar) trigger on the last.
ALTER TABLE instruments ADD COLUMN trigger_source TEXT NOT NULL DEFAULT 'bid_ask';
UPDATE instruments SET trigger_source = 'last' WHERE calendar = 'us_equities';
