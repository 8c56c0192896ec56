-- name: BackdateRun :one
-- Moves a freshly created run to the time it is seeded at. Only a run that
-- never started may move: executions are recorded after a run starts, and
-- their keys hold the run's creation time.
UPDATE runs SET created_at = sqlc.arg(created_at)
WHERE id = sqlc.arg(id) AND status = 'queued' AND started_at IS NULL
RETURNING *;

-- name: SetSeededRunTimes :execrows
-- Dates a seeded run's start and finish from its executions, so that the
-- history reads as if the run had happened at its creation time.
UPDATE runs SET started_at = sqlc.arg(started_at), finished_at = sqlc.arg(finished_at)
WHERE id = sqlc.arg(id) AND finished_at IS NOT NULL;

-- name: SeedExecutions :copyfrom
INSERT INTO executions (
    run_created_at, run_id, model_id, question_id, sample, benchmark_id, question_revision_id, category,
    status, response, error, http_status, attempts, latency_ms, ttft_ms, output_tokens_per_s,
    input_tokens, output_tokens, cost_usd, started_at, finished_at, score, passed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23);

-- name: SeedEvaluations :copyfrom
INSERT INTO evaluations (run_created_at, run_id, model_id, question_id, sample, scorer, passed, score, detail, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: VacuumSeeded :exec
-- Vacuums and analyzes the tables a seed bulk-loads, as autovacuum would
-- some time later (or never, where it is off). A new run's creation time
-- is a value stale statistics have never seen, which the planner takes
-- for one row: it then joins a run's executions and evaluations by nested
-- loops over the whole run. Vacuum also summarizes the new BRIN ranges,
-- which the rollups' time-range scans need, and sets the visibility map.
VACUUM (ANALYZE) executions, evaluations;
