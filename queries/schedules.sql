-- name: SetBenchmarkSchedule :exec
UPDATE benchmarks SET
    schedule_cron     = sqlc.narg(cron),
    schedule_timezone = sqlc.arg(timezone),
    schedule_enabled  = sqlc.arg(enabled),
    schedule_overlap  = sqlc.arg(overlap),
    schedule_last_at  = sqlc.narg(last_at),
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
                  max_cost_usd, deadline_at)
VALUES ($1, $2, 'queued', 'schedule', $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (benchmark_id, scheduled_for) DO NOTHING
RETURNING *;

-- name: GetScheduledRun :one
SELECT * FROM runs WHERE benchmark_id = $1 AND scheduled_for = $2;
