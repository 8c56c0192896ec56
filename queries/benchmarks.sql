-- name: CreateBenchmark :one
INSERT INTO benchmarks (id, name, config, alerts) VALUES ($1, $2, $3, $4) RETURNING *;

-- name: SetBenchmarkSuites :exec
INSERT INTO benchmark_suites (benchmark_id, position, suite_id)
SELECT sqlc.arg(benchmark_id)::uuid, (t.ord - 1)::int, t.sid
FROM unnest(sqlc.arg(suite_ids)::uuid[]) WITH ORDINALITY AS t(sid, ord);

-- name: SetBenchmarkModels :exec
INSERT INTO benchmark_models (benchmark_id, position, model_id)
SELECT sqlc.arg(benchmark_id)::uuid, (t.ord - 1)::int, t.mid
FROM unnest(sqlc.arg(model_ids)::uuid[]) WITH ORDINALITY AS t(mid, ord);

-- name: ClearBenchmarkSuites :exec
DELETE FROM benchmark_suites WHERE benchmark_id = $1;

-- name: ClearBenchmarkModels :exec
DELETE FROM benchmark_models WHERE benchmark_id = $1;

-- name: GetBenchmark :one
-- A benchmark with its members, the names of those that are archived and
-- its active questions: what says whether it can run now.
SELECT b.*,
    coalesce((SELECT array_agg(bs.suite_id ORDER BY bs.position) FROM benchmark_suites bs WHERE bs.benchmark_id = b.id), '{}')::uuid[] AS suite_ids,
    coalesce((SELECT array_agg(bm.model_id ORDER BY bm.position) FROM benchmark_models bm WHERE bm.benchmark_id = b.id), '{}')::uuid[] AS model_ids,
    coalesce((SELECT array_agg(m.name ORDER BY bm.position) FROM benchmark_models bm JOIN models m ON m.id = bm.model_id
        WHERE bm.benchmark_id = b.id AND m.archived_at IS NOT NULL), '{}')::text[] AS archived_models,
    coalesce((SELECT array_agg(s.name ORDER BY bs.position) FROM benchmark_suites bs JOIN suites s ON s.id = bs.suite_id
        WHERE bs.benchmark_id = b.id AND s.archived_at IS NOT NULL), '{}')::text[] AS archived_suites,
    (SELECT count(*) FROM benchmark_suites bs JOIN questions q ON q.suite_id = bs.suite_id AND q.archived_at IS NULL
        WHERE bs.benchmark_id = b.id)::int AS active_questions
FROM benchmarks b WHERE b.id = $1;

-- name: BenchmarkNames :many
-- Names to show beside benchmark ids, archived benchmarks included.
SELECT id, name FROM benchmarks WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: LockBenchmark :one
-- An update, not only a row lock: at repeatable read a concurrent run
-- creation for the same benchmark then fails to serialize and is retried
-- with a snapshot that holds this one's run, so the budgets and the
-- in-flight cap it checks cannot be overrun by a race.
UPDATE benchmarks SET run_serial = run_serial + 1 WHERE id = $1 AND archived_at IS NULL RETURNING id;

-- name: SetBenchmarkBudget :execrows
UPDATE benchmarks SET budget_max_cost_usd_month = sqlc.narg(max_cost_usd_month), updated_at = now()
WHERE id = sqlc.arg(id);

-- name: ListBenchmarks :many
SELECT b.*,
    coalesce((SELECT array_agg(bs.suite_id ORDER BY bs.position) FROM benchmark_suites bs WHERE bs.benchmark_id = b.id), '{}')::uuid[] AS suite_ids,
    coalesce((SELECT array_agg(bm.model_id ORDER BY bm.position) FROM benchmark_models bm WHERE bm.benchmark_id = b.id), '{}')::uuid[] AS model_ids,
    coalesce((SELECT array_agg(m.name ORDER BY bm.position) FROM benchmark_models bm JOIN models m ON m.id = bm.model_id
        WHERE bm.benchmark_id = b.id AND m.archived_at IS NOT NULL), '{}')::text[] AS archived_models,
    coalesce((SELECT array_agg(s.name ORDER BY bs.position) FROM benchmark_suites bs JOIN suites s ON s.id = bs.suite_id
        WHERE bs.benchmark_id = b.id AND s.archived_at IS NOT NULL), '{}')::text[] AS archived_suites,
    (SELECT count(*) FROM benchmark_suites bs JOIN questions q ON q.suite_id = bs.suite_id AND q.archived_at IS NULL
        WHERE bs.benchmark_id = b.id)::int AS active_questions
FROM benchmarks b
WHERE (sqlc.narg(after)::uuid IS NULL OR b.id > sqlc.narg(after)::uuid)
  AND (sqlc.arg(include_archived)::bool OR b.archived_at IS NULL)
ORDER BY b.id
LIMIT sqlc.arg(lim);

-- name: UpdateBenchmark :one
UPDATE benchmarks SET
    name       = coalesce(sqlc.narg(name), name),
    config     = coalesce(sqlc.narg(config), config),
    updated_at = now()
WHERE id = sqlc.arg(id) AND archived_at IS NULL
RETURNING *;

-- name: SetBenchmarkAlerts :exec
-- Replaces a benchmark's regression alert settings; NULL removes them.
UPDATE benchmarks SET alerts = sqlc.narg(alerts), updated_at = now() WHERE id = sqlc.arg(id);

-- name: BenchmarkHasRuns :one
SELECT EXISTS (SELECT 1 FROM runs WHERE benchmark_id = $1);

-- name: ArchiveBenchmark :execrows
-- An archived benchmark does not run: its schedule is disabled with it.
UPDATE benchmarks SET archived_at = now(), schedule_enabled = false, updated_at = now() WHERE id = $1 AND archived_at IS NULL;

-- name: DeleteBenchmark :execrows
DELETE FROM benchmarks WHERE id = $1;
