-- Time series, comparisons, leaderboards and drift. The rollup relations
-- are plain tables on PostgreSQL and continuous aggregates with the same
-- names and columns on TimescaleDB, so these queries serve both.

-- name: RollupCategoryDaily :many
SELECT * FROM rollup_category_daily
WHERE benchmark_id = sqlc.arg(benchmark_id) AND category = sqlc.arg(category)
  AND (sqlc.narg(model_id)::uuid IS NULL OR model_id = sqlc.narg(model_id)::uuid)
  AND bucket >= sqlc.arg(from_bucket) AND bucket < sqlc.arg(to_bucket)
ORDER BY model_id, bucket;

-- name: RollupCategoryWeekly :many
SELECT * FROM rollup_category_weekly
WHERE benchmark_id = sqlc.arg(benchmark_id) AND category = sqlc.arg(category)
  AND (sqlc.narg(model_id)::uuid IS NULL OR model_id = sqlc.narg(model_id)::uuid)
  AND bucket >= sqlc.arg(from_bucket) AND bucket < sqlc.arg(to_bucket)
ORDER BY model_id, bucket;

-- name: RollupCategoryMonthly :many
SELECT * FROM rollup_category_monthly
WHERE benchmark_id = sqlc.arg(benchmark_id) AND category = sqlc.arg(category)
  AND (sqlc.narg(model_id)::uuid IS NULL OR model_id = sqlc.narg(model_id)::uuid)
  AND bucket >= sqlc.arg(from_bucket) AND bucket < sqlc.arg(to_bucket)
ORDER BY model_id, bucket;

-- name: RollupModelDaily :many
SELECT * FROM rollup_model_daily
WHERE benchmark_id = sqlc.arg(benchmark_id)
  AND (sqlc.narg(model_id)::uuid IS NULL OR model_id = sqlc.narg(model_id)::uuid)
  AND bucket >= sqlc.arg(from_bucket) AND bucket < sqlc.arg(to_bucket)
ORDER BY model_id, bucket;

-- name: RollupModelWeekly :many
SELECT * FROM rollup_model_weekly
WHERE benchmark_id = sqlc.arg(benchmark_id)
  AND (sqlc.narg(model_id)::uuid IS NULL OR model_id = sqlc.narg(model_id)::uuid)
  AND bucket >= sqlc.arg(from_bucket) AND bucket < sqlc.arg(to_bucket)
ORDER BY model_id, bucket;

-- name: RollupModelMonthly :many
SELECT * FROM rollup_model_monthly
WHERE benchmark_id = sqlc.arg(benchmark_id)
  AND (sqlc.narg(model_id)::uuid IS NULL OR model_id = sqlc.narg(model_id)::uuid)
  AND bucket >= sqlc.arg(from_bucket) AND bucket < sqlc.arg(to_bucket)
ORDER BY model_id, bucket;

-- name: InvalidateRollups :exec
-- Marks a finished run's buckets for the next refresh.
INSERT INTO rollup_invalidations (run_id, benchmark_id, run_created_at)
VALUES (sqlc.arg(run_id), sqlc.arg(benchmark_id), sqlc.arg(run_created_at))
ON CONFLICT DO NOTHING;

-- name: ListRollupInvalidations :many
SELECT * FROM rollup_invalidations ORDER BY created_at, run_id LIMIT sqlc.arg(lim);

-- name: RollupBucketsOf :many
-- The rollup buckets the given invalidated runs fall in, once each.
SELECT DISTINCT r.name::text AS name, i.benchmark_id,
       sabe_bucket(r.width, i.run_created_at)::timestamptz AS bucket,
       (sabe_bucket(r.width, i.run_created_at) + r.width)::timestamptz AS bucket_end
FROM rollup_invalidations i
CROSS JOIN sabe_rollups() r
WHERE i.run_id = ANY(sqlc.arg(run_ids)::uuid[])
ORDER BY 1, 2, 3;

-- name: DeleteRollupInvalidations :exec
DELETE FROM rollup_invalidations WHERE run_id = ANY(sqlc.arg(run_ids)::uuid[]);

-- name: RefreshRollupBucket :exec
-- Plain PostgreSQL: recompute one bucket of one rollup for one benchmark.
SELECT sabe_refresh_rollup(sqlc.arg(name)::text, sqlc.arg(benchmark_id)::uuid, sqlc.arg(bucket)::timestamptz);

-- name: RollupsAreContinuousAggregates :one
SELECT sabe_timescaledb()::bool AS timescaledb;

-- name: DropOldChunks :one
-- TimescaleDB: drop the execution and evaluation chunks wholly older than
-- cutoff; 0 on plain PostgreSQL.
SELECT sabe_drop_chunks(sqlc.arg(cutoff)::timestamptz)::bigint AS dropped;

-- name: OldestUnfinishedRun :one
SELECT created_at FROM runs WHERE finished_at IS NULL ORDER BY created_at LIMIT 1;

-- name: AddQuestionStats :exec
-- Adds a finished run's outcomes to its week's and month's question
-- tallies. Called once per run, in the transaction that finalizes it.
INSERT INTO question_stats (benchmark_id, period, bucket, model_id, question_revision_id, question_id, revision, category,
                            runs, n, correct, failed, latency_sum_ms, latency_n, cost_usd, unscored)
SELECT o.benchmark_id, p.period, sabe_bucket(p.width, o.run_created_at), o.model_id, o.question_revision_id,
       o.question_id, qr.revision, o.category, 1, o.succeeded + o.failed - o.unscored, o.correct, o.failed,
       coalesce(o.mean_latency_ms * o.succeeded, 0),
       CASE WHEN o.mean_latency_ms IS NULL THEN 0 ELSE o.succeeded END, o.cost_usd, o.unscored
FROM outcomes o
JOIN question_revisions qr ON qr.id = o.question_revision_id
CROSS JOIN (VALUES ('week', INTERVAL '7 days'), ('month', INTERVAL '1 month')) AS p(period, width)
WHERE o.run_id = sqlc.arg(run_id) AND o.succeeded + o.failed > 0
-- Key order: two runs of one benchmark finalized at once update the same
-- rows in the same order, so they queue instead of deadlocking.
ORDER BY p.period, 3, o.model_id, o.question_revision_id
ON CONFLICT (benchmark_id, period, bucket, model_id, question_revision_id) DO UPDATE SET
    runs = question_stats.runs + excluded.runs,
    n = question_stats.n + excluded.n,
    correct = question_stats.correct + excluded.correct,
    failed = question_stats.failed + excluded.failed,
    latency_sum_ms = question_stats.latency_sum_ms + excluded.latency_sum_ms,
    latency_n = question_stats.latency_n + excluded.latency_n,
    cost_usd = question_stats.cost_usd + excluded.cost_usd,
    unscored = question_stats.unscored + excluded.unscored;

-- name: BucketQuestionStats :many
SELECT model_id, question_id, question_revision_id, revision, category, runs, n, correct, failed,
       latency_sum_ms, latency_n, cost_usd, unscored
FROM question_stats
WHERE benchmark_id = sqlc.arg(benchmark_id) AND period = sqlc.arg(period) AND bucket = sqlc.arg(bucket)
  AND (sqlc.narg(category)::text IS NULL OR category = sqlc.narg(category)::text)
ORDER BY model_id, question_revision_id;

-- name: RunQuestionStats :many
-- With model_id, one model's rows only (drift): the outcomes key starts
-- (run_id, model_id), so that reads a quarter of a four-model run.
SELECT o.model_id, o.question_id, o.question_revision_id, qr.revision, o.category, 1::int AS runs,
       (o.succeeded + o.failed - o.unscored)::int AS n, o.correct, o.failed,
       coalesce(o.mean_latency_ms * o.succeeded, 0)::double precision AS latency_sum_ms,
       (CASE WHEN o.mean_latency_ms IS NULL THEN 0 ELSE o.succeeded END)::int AS latency_n, o.cost_usd, o.unscored
FROM outcomes o
JOIN question_revisions qr ON qr.id = o.question_revision_id
WHERE o.run_id = sqlc.arg(run_id) AND o.succeeded + o.failed > 0
  AND (sqlc.narg(model_id)::uuid IS NULL OR o.model_id = sqlc.narg(model_id)::uuid)
  AND (sqlc.narg(category)::text IS NULL OR o.category = sqlc.narg(category)::text)
ORDER BY o.model_id, o.question_revision_id;

-- name: LatestQuestionStatsBucket :one
SELECT bucket FROM question_stats
WHERE benchmark_id = sqlc.arg(benchmark_id) AND period = sqlc.arg(period)
ORDER BY bucket DESC
LIMIT 1;

-- name: LatestFinishedRuns :many
-- The newest runs of a benchmark that finished with results (completed or
-- partial); with model_id, only the runs that included that model.
SELECT r.id, r.benchmark_id, r.created_at, r.finished_at, r.status FROM runs r
WHERE r.benchmark_id = sqlc.arg(benchmark_id) AND r.status IN ('completed', 'partial')
  AND (sqlc.narg(model_id)::uuid IS NULL
       OR EXISTS (SELECT 1 FROM run_models rm WHERE rm.run_id = r.id AND rm.model_id = sqlc.narg(model_id)::uuid))
ORDER BY r.created_at DESC
LIMIT sqlc.arg(lim);

-- name: AnalyticsModelNames :many
SELECT id, name FROM models WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: PromptStarts :many
-- The start of each revision's prompt, enough for catalog.PromptExcerpt.
SELECT id, left(prompt, 400)::text AS prompt_start FROM question_revisions WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: RefreshContinuousAggregate :exec
-- TimescaleDB: refresh one continuous aggregate over [window_start,
-- window_end). It cannot run inside a transaction block. force: the
-- aggregates join runs, whose status changes invalidate nothing, so a
-- window refreshed while a run was still going would otherwise be left as
-- it was when the run finishes.
CALL refresh_continuous_aggregate(sqlc.arg(name)::text::regclass, sqlc.arg(window_start)::timestamptz, sqlc.arg(window_end)::timestamptz, force => true);

-- name: BenchmarkDataVersion :one
-- Changes whenever a run of the benchmark finishes: how many have, and the
-- latest finish.
SELECT (count(*)::text || '@' || coalesce(max(finished_at)::text, ''))::text AS version
FROM runs WHERE benchmark_id = sqlc.arg(benchmark_id) AND finished_at IS NOT NULL;
