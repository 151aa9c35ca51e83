-- Several processes on one database: ids come from sequences (each process reserves blocks of
-- them ahead), instead of each process counting on from the largest stored id.
CREATE SEQUENCE order_ids;
CREATE SEQUENCE deal_ids;
SELECT setval('order_ids', COALESCE((SELECT MAX(id) FROM orders), 0) + 1, false);
SELECT setval('deal_ids', COALESCE((SELECT MAX(id) FROM deals), 0) + 1, false);
