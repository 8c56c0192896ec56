-- name: InsertEvent :execrows
-- Writes an event into the outbox, once per dedup_key: 0 rows when it is
-- there already.
INSERT INTO events (id, type, occurred_at, benchmark_id, dedup_key, payload)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (dedup_key) DO NOTHING;

-- name: EventBenchmarkName :one
-- The benchmark's name, for an event about it.
SELECT name FROM benchmarks WHERE id = $1;

-- name: EventLeaderboard :many
-- The top of a finished run's overall ranking, for its run.* event.
SELECT position, model_id, model_name, score, ci_low, ci_high
FROM rankings WHERE run_id = $1 AND category = '' ORDER BY position LIMIT $2;

-- name: EventProviderName :one
-- A provider's name, for a provider.circuit_* event.
SELECT name FROM providers WHERE id = $1;
