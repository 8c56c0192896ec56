-- name: CreateRun :one
INSERT INTO runs (id, benchmark_id, status, trigger, scheduled_for, config, model_count, question_count, samples, total_units, created_at,
                  max_cost_usd, deadline_at, charged_token_id)
VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING *;

-- name: SnapshotRunModels :execrows
INSERT INTO run_models (run_id, position, model_id, provider_id, name, provider_model_id, input_cost_per_mtok, output_cost_per_mtok, request_overrides)
SELECT sqlc.arg(run_id)::uuid, bm.position, m.id, m.provider_id, m.name, m.provider_model_id, m.input_cost_per_mtok, m.output_cost_per_mtok, m.request_overrides
FROM benchmark_models bm
JOIN models m ON m.id = bm.model_id
WHERE bm.benchmark_id = sqlc.arg(benchmark_id)::uuid;

-- name: SnapshotRunQuestions :execrows
INSERT INTO run_questions (run_id, position, question_id, revision_id)
SELECT sqlc.arg(run_id)::uuid, (row_number() OVER (ORDER BY bs.position, q.id) - 1)::int, q.id, r.id
FROM benchmark_suites bs
JOIN questions q ON q.suite_id = bs.suite_id AND q.archived_at IS NULL
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE bs.benchmark_id = sqlc.arg(benchmark_id)::uuid;

-- name: GetRun :one
SELECT * FROM runs WHERE id = $1;

-- name: ListRuns :many
SELECT * FROM runs
WHERE (sqlc.narg(benchmark_id)::uuid IS NULL OR benchmark_id = sqlc.narg(benchmark_id)::uuid)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(trigger)::text IS NULL OR trigger = sqlc.narg(trigger)::text)
  AND (sqlc.narg(before)::uuid IS NULL OR id < sqlc.narg(before)::uuid)
ORDER BY id DESC
LIMIT sqlc.arg(lim);

-- name: MarkRunRunning :one
UPDATE runs SET status = 'running', started_at = coalesce(started_at, now())
WHERE id = $1 AND status IN ('queued', 'running')
RETURNING *;

-- name: RequestRunCancel :one
UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, now())
WHERE id = $1 AND finished_at IS NULL
RETURNING *;

-- name: FinishRun :one
UPDATE runs SET
    status         = sqlc.arg(status),
    succeeded      = sqlc.arg(succeeded),
    failed         = sqlc.arg(failed),
    cancelled      = sqlc.arg(cancelled),
    skipped        = sqlc.arg(skipped),
    cost_usd       = sqlc.arg(cost_usd),
    input_tokens   = sqlc.arg(input_tokens),
    output_tokens  = sqlc.arg(output_tokens),
    judge_cost_usd      = sqlc.arg(judge_cost_usd),
    judge_input_tokens  = sqlc.arg(judge_input_tokens),
    judge_output_tokens = sqlc.arg(judge_output_tokens),
    unscored       = sqlc.arg(unscored),
    judged         = sqlc.arg(judged),
    latency_p50_ms = sqlc.narg(latency_p50_ms),
    latency_p95_ms = sqlc.narg(latency_p95_ms),
    error          = sqlc.narg(error),
    started_at     = coalesce(started_at, now()),
    finished_at    = now()
WHERE id = sqlc.arg(id) AND finished_at IS NULL
RETURNING *;

-- name: ListRunModels :many
SELECT * FROM run_models WHERE run_id = $1 ORDER BY position;

-- name: ListRunQuestions :many
SELECT rq.position, rq.question_id, rq.revision_id, r.revision, r.prompt, r.category, r.expected_answer, r.scoring,
       r.messages, r.choices, r.few_shot
FROM run_questions rq
JOIN question_revisions r ON r.id = rq.revision_id
WHERE rq.run_id = $1
ORDER BY rq.position;

-- name: RunTotals :one
SELECT
    count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
    count(*) FILTER (WHERE status = 'failed')::int AS failed,
    count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
    count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
    count(*) FILTER (WHERE status = 'succeeded' AND score IS NULL)::int AS unscored,
    coalesce(sum(cost_usd), 0)::double precision AS cost_usd,
    coalesce(sum(input_tokens), 0)::bigint AS input_tokens,
    coalesce(sum(output_tokens), 0)::bigint AS output_tokens,
    coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'succeeded'), 0)::double precision AS latency_p50_ms,
    coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'succeeded'), 0)::double precision AS latency_p95_ms
FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id);

-- name: RunCounts :one
SELECT
    count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
    count(*) FILTER (WHERE status = 'failed')::int AS failed,
    count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
    count(*) FILTER (WHERE status = 'skipped')::int AS skipped
FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id);

-- name: InsertRankings :copyfrom
INSERT INTO rankings (run_id, category, model_id, position, model_name, score, n, correct, failed, error_rate, mean_latency_ms, cost_usd, ci_low, ci_high,
                      questions, std_error, rank_low, rank_high, pass_at_k, unscored, ttft_p50_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21);

-- name: ListRankings :many
SELECT * FROM rankings WHERE run_id = $1 ORDER BY category, position;

-- name: RunModelTTFT :many
-- Each model's median time to first token over a run's succeeded units
-- that reported one, stored with its ranking; the primary key's prefix
-- (run_created_at, run_id) finds the run's units.
SELECT model_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms)::double precision AS ttft_p50_ms
FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id)
  AND status = 'succeeded' AND ttft_ms IS NOT NULL
GROUP BY model_id;

-- name: ListUnfinishedRuns :many
SELECT * FROM runs WHERE finished_at IS NULL ORDER BY id LIMIT sqlc.arg(lim);

-- name: RunProviders :many
-- The providers of a run's models, for what the API says the run waits on.
SELECT DISTINCT rm.provider_id, coalesce(p.name, '')::text AS provider_name
FROM run_models rm
LEFT JOIN providers p ON p.id = rm.provider_id
WHERE rm.run_id = sqlc.arg(run_id)
ORDER BY provider_name, rm.provider_id;

-- name: LastScheduledRuns :many
-- The latest run each of a page of benchmarks' schedules made: one probe
-- of runs_benchmark_created_idx per benchmark, newest first, rather than
-- every scheduled run of the page.
SELECT * FROM runs
WHERE id IN (
    SELECT (SELECT r.id FROM runs r
            WHERE r.benchmark_id = b.id AND r.trigger = 'schedule'
            ORDER BY r.created_at DESC LIMIT 1)
    FROM unnest(sqlc.arg(benchmark_ids)::uuid[]) AS b(id)
);
