-- name: SetBenchmarkSchedule :exec
UPDATE benchmarks SET
    schedule_cron     = sqlc.narg(cron),
    schedule_timezone = sqlc.arg(timezone),
    schedule_enabled  = sqlc.arg(enabled),
    schedule_overlap  = sqlc.arg(overlap),
    schedule_last_at  = sqlc.narg(last_at),
    schedule_token_id = sqlc.narg(token_id),
    updated_at        = now()
WHERE id = sqlc.arg(id);

-- name: ListEnabledSchedules :many
SELECT id, schedule_cron::text AS cron, schedule_timezone, schedule_overlap, schedule_last_at::timestamptz AS last_at
FROM benchmarks
WHERE schedule_enabled AND archived_at IS NULL
ORDER BY id;

-- name: AdvanceScheduleMarker :execrows
UPDATE benchmarks SET schedule_last_at = sqlc.arg(to_at)::timestamptz
WHERE id = sqlc.arg(id)
  AND schedule_enabled
  AND archived_at IS NULL
  AND schedule_last_at = sqlc.arg(from_at)::timestamptz
  AND sqlc.arg(to_at)::timestamptz > sqlc.arg(from_at)::timestamptz;

-- name: HasUnfinishedScheduledRun :one
SELECT EXISTS (
    SELECT 1 FROM runs WHERE benchmark_id = $1 AND trigger = 'schedule' AND finished_at IS NULL
);

-- name: CreateScheduledRun :one
INSERT INTO runs (id, benchmark_id, status, trigger, scheduled_for, config, model_count, question_count, samples, total_units, created_at,
                  max_cost_usd, deadline_at, charged_token_id)
VALUES ($1, $2, 'queued', 'schedule', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (benchmark_id, scheduled_for) DO NOTHING
RETURNING *;

-- name: GetScheduledRun :one
SELECT * FROM runs WHERE benchmark_id = $1 AND scheduled_for = $2;

-- name: RecordScheduleSkip :exec
-- The latest occurrence a tick could not run, and why, shown on the
-- benchmark. Only a later occurrence replaces it: one recorded again, or
-- an older one recorded late, keeps what is there.
UPDATE benchmarks SET
    schedule_last_skipped_at  = sqlc.arg(at)::timestamptz,
    schedule_last_skip_reason = sqlc.arg(reason)::text
WHERE id = sqlc.arg(id)
  AND (schedule_last_skipped_at IS NULL OR schedule_last_skipped_at < sqlc.arg(at)::timestamptz);

-- name: ScheduledBenchmarksUsingModel :many
-- The benchmarks whose enabled schedule archiving this model would block.
SELECT b.id, b.name FROM benchmarks b JOIN benchmark_models bm ON bm.benchmark_id = b.id
WHERE bm.model_id = $1 AND b.archived_at IS NULL AND b.schedule_enabled
ORDER BY lower(b.name), b.id;

-- name: ScheduledBenchmarksUsingSuite :many
-- The benchmarks whose enabled schedule archiving this suite would block.
SELECT b.id, b.name FROM benchmarks b JOIN benchmark_suites bs ON bs.benchmark_id = b.id
WHERE bs.suite_id = $1 AND b.archived_at IS NULL AND b.schedule_enabled
ORDER BY lower(b.name), b.id;
