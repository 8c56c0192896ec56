-- +goose Up

-- A schedule never stops without saying so. The last occurrence a tick
-- could not turn into a run, and why, are kept on the benchmark the API
-- returns (not only in a log line).
ALTER TABLE benchmarks
    ADD COLUMN schedule_last_skipped_at  timestamptz,
    ADD COLUMN schedule_last_skip_reason text;

-- An archived benchmark does not run: its schedule is disabled when it is
-- archived. Benchmarks archived before this rule get the same.
UPDATE benchmarks SET schedule_enabled = false WHERE archived_at IS NOT NULL AND schedule_enabled;

-- The outbox: events written in the same transaction as what they
-- announce, for deliveries (webhooks) to pick up later. Any kind of event
-- goes here; benchmark_id is set when it is about one (no foreign key: an
-- event outlives a benchmark deleted before its delivery). dedup_key makes
-- writing an event idempotent: a tick that runs twice, or a transaction
-- retried after a serialization failure, writes one event per occurrence
-- (schedule.skipped is keyed by benchmark and scheduled_for).
CREATE TABLE events (
    id           uuid        PRIMARY KEY,
    type         text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    benchmark_id uuid,
    dedup_key    text        NOT NULL UNIQUE,
    payload      jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX events_occurred_idx ON events (occurred_at, id);
CREATE INDEX events_benchmark_idx ON events (benchmark_id, occurred_at) WHERE benchmark_id IS NOT NULL;

-- +goose Down
DROP TABLE events;
ALTER TABLE benchmarks DROP COLUMN schedule_last_skip_reason, DROP COLUMN schedule_last_skipped_at;
