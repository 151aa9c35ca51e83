-- The durable account event log (application/streaming/). Each account numbers its events 1, 2,
-- 3… (`id`, unique per account); the engine assigns them and `accounts.last_event_id` keeps the
-- latest, written in the same transaction as the change the events describe (the account's
-- version serialises its writers, so ids follow commit order across processes). `seq` orders the
-- database's events roughly as written, for retention by count only. `payload` is the event's
-- type and facts as a JSON array, with the order or deal it is about as it was then
-- (adapters/storage/event-rows.ts), so a stream renders it without reading state that has moved on.
ALTER TABLE accounts ADD COLUMN last_event_id BIGINT NOT NULL DEFAULT 0;

CREATE TABLE account_events (
  seq BIGSERIAL PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts (id),
  id BIGINT NOT NULL,
  time BIGINT NOT NULL,
  payload TEXT NOT NULL,
  UNIQUE (account_id, id)
);
