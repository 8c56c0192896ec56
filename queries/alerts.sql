-- Regression alerts (pkg/alerting): the checks of finished runs and the
-- alerts they raised.

-- name: AlertCheckRun :one
-- A run to check, with its benchmark's alert settings (NULL: none).
SELECT r.id, r.benchmark_id, r.status, r.created_at, r.finished_at, b.name AS benchmark_name, b.alerts
FROM runs r JOIN benchmarks b ON b.id = r.benchmark_id
WHERE r.id = $1;

-- name: AlertCheckExists :one
SELECT EXISTS (SELECT 1 FROM alert_checks WHERE run_id = $1);

-- name: AlertBaselineRun :one
-- The baseline of a run: the benchmark's newest run created before
-- created_before that finished completed or partial.
SELECT id FROM runs
WHERE benchmark_id = sqlc.arg(benchmark_id) AND id <> sqlc.arg(run_id)
  AND created_at < sqlc.arg(created_before) AND finished_at IS NOT NULL
  AND status IN ('completed', 'partial')
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: InsertAlertCheck :execrows
-- Records a run's check, once: 0 rows when a check is there already.
INSERT INTO alert_checks (run_id, benchmark_id, baseline_run_id, comparisons, alerts, note, checked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (run_id) DO NOTHING;

-- name: InsertAlert :exec
INSERT INTO alerts (id, run_id, baseline_run_id, benchmark_id, model_id, metric, previous, current, diff,
    ci_low, ci_high, relative_change, p_value, p_adjusted, comparisons, min_effect, questions, regressed,
    improved, flipped, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21);

-- name: UncheckedAlertRuns :many
-- Finished runs of benchmarks with enabled alerts that finished since
-- finished_after and have no check: the sweep's work, oldest first.
SELECT r.id FROM runs r JOIN benchmarks b ON b.id = r.benchmark_id
WHERE r.finished_at >= sqlc.arg(finished_after)::timestamptz AND r.status IN ('completed', 'partial')
  AND b.alerts IS NOT NULL AND (b.alerts ->> 'enabled')::boolean
  AND NOT EXISTS (SELECT 1 FROM alert_checks c WHERE c.run_id = r.id)
ORDER BY r.finished_at, r.id
LIMIT sqlc.arg(lim);

-- name: GetAlertCheck :one
SELECT * FROM alert_checks WHERE run_id = $1;

-- name: GetAlert :one
SELECT a.*, b.name AS benchmark_name, m.name AS model_name
FROM alerts a
LEFT JOIN benchmarks b ON b.id = a.benchmark_id
LEFT JOIN models m ON m.id = a.model_id
WHERE a.id = $1;

-- name: ListAlerts :many
-- Newest first; the cursor is the (created_at, id) of the last row of the
-- previous page. from_time is inclusive, to_time exclusive.
SELECT a.*, b.name AS benchmark_name, m.name AS model_name
FROM alerts a
LEFT JOIN benchmarks b ON b.id = a.benchmark_id
LEFT JOIN models m ON m.id = a.model_id
WHERE (sqlc.narg(benchmark_id)::uuid IS NULL OR a.benchmark_id = sqlc.narg(benchmark_id)::uuid)
  AND (sqlc.narg(model_id)::uuid IS NULL OR a.model_id = sqlc.narg(model_id)::uuid)
  AND (sqlc.narg(run_id)::uuid IS NULL OR a.run_id = sqlc.narg(run_id)::uuid)
  AND (sqlc.narg(metric)::text IS NULL OR a.metric = sqlc.narg(metric)::text)
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR a.created_at >= sqlc.narg(from_time)::timestamptz)
  AND (sqlc.narg(to_time)::timestamptz IS NULL OR a.created_at < sqlc.narg(to_time)::timestamptz)
  AND (NOT sqlc.arg(has_cursor)::bool
       OR (a.created_at, a.id) < (sqlc.arg(before_time)::timestamptz, sqlc.arg(before_id)::uuid))
ORDER BY a.created_at DESC, a.id DESC
LIMIT sqlc.arg(lim);
