-- +goose Up

-- Per-provider limits, enforced across the whole worker fleet. NULL means
-- no limit; quota_pause_seconds is how long a provider's tasks wait after a
-- quota answer that does not say when the quota resets.
ALTER TABLE providers
    ADD COLUMN requests_per_minute int CHECK (requests_per_minute > 0),
    ADD COLUMN tokens_per_minute   int CHECK (tokens_per_minute > 0),
    ADD COLUMN max_concurrency     int CHECK (max_concurrency > 0),
    ADD COLUMN quota_pause_seconds int CHECK (quota_pause_seconds > 0);

-- A run's spend cap and deadline. Units not started when either is reached
-- are recorded as skipped, and the run ends partial with the reason.
ALTER TABLE runs
    ADD COLUMN max_cost_usd double precision CHECK (max_cost_usd > 0),
    ADD COLUMN deadline_at  timestamptz,
    ADD COLUMN skipped      int NOT NULL DEFAULT 0;

ALTER TABLE executions DROP CONSTRAINT executions_status_check;
ALTER TABLE executions ADD CONSTRAINT executions_status_check
    CHECK (status IN ('succeeded', 'failed', 'cancelled', 'skipped'));

-- +goose Down
ALTER TABLE executions DROP CONSTRAINT executions_status_check;
ALTER TABLE executions ADD CONSTRAINT executions_status_check
    CHECK (status IN ('succeeded', 'failed', 'cancelled'));
ALTER TABLE runs DROP COLUMN skipped, DROP COLUMN deadline_at, DROP COLUMN max_cost_usd;
ALTER TABLE providers DROP COLUMN quota_pause_seconds, DROP COLUMN max_concurrency,
    DROP COLUMN tokens_per_minute, DROP COLUMN requests_per_minute;
