-- +goose Up

-- A benchmark's recurring schedule. schedule_cron is NULL when it has none.
-- schedule_last_at is the last occurrence a tick considered (ran or
-- skipped), or the moment the schedule was enabled or its spec changed:
-- ticks create runs only for later occurrences, and advance it with a
-- compare-and-set, so two ticks never both act on one occurrence.
ALTER TABLE benchmarks
    ADD COLUMN schedule_cron     text,
    ADD COLUMN schedule_timezone text        NOT NULL DEFAULT 'UTC',
    ADD COLUMN schedule_enabled  boolean     NOT NULL DEFAULT false,
    ADD COLUMN schedule_overlap  text        NOT NULL DEFAULT 'skip' CHECK (schedule_overlap IN ('skip', 'allow')),
    ADD COLUMN schedule_last_at  timestamptz,
    ADD CONSTRAINT benchmarks_schedule_check
        CHECK (NOT schedule_enabled OR (schedule_cron IS NOT NULL AND schedule_last_at IS NOT NULL));

-- Each tick lists the enabled schedules.
CREATE INDEX benchmarks_schedule_enabled_idx ON benchmarks (id) WHERE schedule_enabled AND archived_at IS NULL;

-- overlap skip asks whether a scheduled run of the benchmark is unfinished.
CREATE INDEX runs_scheduled_unfinished_idx ON runs (benchmark_id) WHERE trigger = 'schedule' AND finished_at IS NULL;

-- +goose Down
DROP INDEX runs_scheduled_unfinished_idx;
DROP INDEX benchmarks_schedule_enabled_idx;
ALTER TABLE benchmarks DROP CONSTRAINT benchmarks_schedule_check,
    DROP COLUMN schedule_last_at, DROP COLUMN schedule_overlap, DROP COLUMN schedule_enabled,
    DROP COLUMN schedule_timezone, DROP COLUMN schedule_cron;
