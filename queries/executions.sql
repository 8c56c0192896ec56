-- name: RecordExecutions :batchone
-- Records a unit's execution and, when it was scored inline (a
-- deterministic scorer, scoring version 1), its evaluation, in one
-- statement; sent as a pgx batch, many units share one round trip and one
-- commit. The execution carries its evaluation's score and verdict too,
-- for the rollups (a continuous aggregate reads one table). ON CONFLICT DO NOTHING makes a retried or duplicated task a
-- no-op: exactly one row per (run, model, question, sample), and the
-- evaluation is written only together with the execution it belongs to.
WITH ins AS (
    INSERT INTO executions (
        run_created_at, run_id, model_id, question_id, sample, benchmark_id, question_revision_id, category,
        status, response, error, http_status, attempts, latency_ms, ttft_ms, output_tokens_per_s,
        input_tokens, output_tokens, cost_usd, started_at, finished_at, score, passed)
    VALUES (
        sqlc.arg(run_created_at), sqlc.arg(run_id), sqlc.arg(model_id), sqlc.arg(question_id), sqlc.arg(sample),
        sqlc.arg(benchmark_id), sqlc.arg(question_revision_id), sqlc.arg(category),
        sqlc.arg(status), sqlc.arg(response), sqlc.narg(error), sqlc.narg(http_status), sqlc.arg(attempts),
        sqlc.narg(latency_ms), sqlc.narg(ttft_ms), sqlc.narg(output_tokens_per_s),
        sqlc.arg(input_tokens), sqlc.arg(output_tokens), sqlc.arg(cost_usd), sqlc.narg(started_at), sqlc.arg(finished_at),
        CASE WHEN sqlc.narg(scorer)::text IS NOT NULL THEN sqlc.arg(score)::double precision END,
        CASE WHEN sqlc.narg(scorer)::text IS NOT NULL THEN sqlc.arg(passed)::bool END)
    ON CONFLICT DO NOTHING
    RETURNING run_created_at, run_id, model_id, question_id, sample
), ev AS (
    INSERT INTO evaluations (run_created_at, run_id, model_id, question_id, sample, scorer, scorer_version, status,
                             passed, score, detail, assertions)
    SELECT ins.run_created_at, ins.run_id, ins.model_id, ins.question_id, ins.sample,
           sqlc.narg(scorer)::text, 1, 'scored', sqlc.arg(passed)::bool, sqlc.arg(score)::double precision, sqlc.arg(detail)::text,
           sqlc.narg(assertions)::jsonb
    FROM ins
    WHERE sqlc.narg(scorer)::text IS NOT NULL
    ON CONFLICT DO NOTHING
)
SELECT count(*)::int AS inserted FROM ins;

-- name: ListRecordedUnits :many
SELECT model_id, question_id, sample FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id);

-- name: ListRunResultSizes :many
-- The keys of a page of ListRunResults and the bytes of text each result
-- carries, so the store can cut the page by bytes before reading any text:
-- octet_length reads a TOASTed value's stored length without fetching it.
-- The keyset condition is always there (the first page passes a key
-- before every unit): as an optional one ("NOT has_cursor OR ...") it
-- was a filter in PostgreSQL's generic plan instead of a bound of the
-- primary key's index scan, so that each page of a large run read every
-- unit before it, and an export of 1,000,000 units read 250 million.
SELECT e.model_id, e.question_id, e.sample,
       (octet_length(e.response) + coalesce(octet_length(e.error), 0))::bigint AS text_bytes
FROM executions e
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id)
  AND (sqlc.narg(model_id)::uuid IS NULL OR e.model_id = sqlc.narg(model_id)::uuid)
  AND (sqlc.narg(question_id)::uuid IS NULL OR e.question_id = sqlc.narg(question_id)::uuid)
  AND (sqlc.narg(status)::text IS NULL OR e.status = sqlc.narg(status)::text)
  AND (e.model_id, e.question_id, e.sample) > (sqlc.arg(after_model)::uuid, sqlc.arg(after_question)::uuid, sqlc.arg(after_sample)::int)
ORDER BY e.model_id, e.question_id, e.sample
LIMIT sqlc.arg(lim);

-- name: ListRunResults :many
-- model_name is the name the run recorded; prompt_start is enough of the
-- prompt for catalog.PromptExcerpt without carrying whole prompts.
SELECT e.model_id, e.question_id, r.revision AS question_revision, e.sample, e.category, e.status, e.response, e.error,
       coalesce((SELECT rm.name FROM run_models rm WHERE rm.run_id = e.run_id AND rm.model_id = e.model_id LIMIT 1), '')::text AS model_name,
       left(r.prompt, 400)::text AS prompt_start, q.key AS question_key,
       e.http_status, e.attempts, e.latency_ms, e.ttft_ms, e.output_tokens_per_s, e.input_tokens, e.output_tokens,
       e.cost_usd, e.started_at, e.finished_at, e.unscored_reason,
       coalesce((
           SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                      'scorer', ev.scorer, 'scorer_version', ev.scorer_version, 'status', ev.status,
                      'detail', ev.detail, 'reason', ev.reason, 'reasoning', ev.reasoning, 'judges', ev.judges,
                      'assertions', ev.assertions, 'judge_input_tokens', ev.judge_input_tokens,
                      'judge_output_tokens', ev.judge_output_tokens, 'judge_cost_usd', ev.judge_cost_usd,
                      'judge_latency_ms', ev.judge_latency_ms, 'reviewer', ev.reviewer, 'note', ev.note,
                      'created_at', ev.created_at)) || jsonb_build_object('passed', ev.passed, 'score', ev.score)
                    ORDER BY ev.scorer, ev.scorer_version)
           FROM evaluations ev
           WHERE ev.run_created_at = e.run_created_at AND ev.run_id = e.run_id AND ev.model_id = e.model_id
             AND ev.question_id = e.question_id AND ev.sample = e.sample
       ), '[]')::jsonb AS evaluations
FROM executions e
JOIN question_revisions r ON r.id = e.question_revision_id
JOIN questions q ON q.id = e.question_id
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id)
  AND (sqlc.narg(model_id)::uuid IS NULL OR e.model_id = sqlc.narg(model_id)::uuid)
  AND (sqlc.narg(question_id)::uuid IS NULL OR e.question_id = sqlc.narg(question_id)::uuid)
  AND (sqlc.narg(status)::text IS NULL OR e.status = sqlc.narg(status)::text)
  AND (e.model_id, e.question_id, e.sample) > (sqlc.arg(after_model)::uuid, sqlc.arg(after_question)::uuid, sqlc.arg(after_sample)::int)
ORDER BY e.model_id, e.question_id, e.sample
LIMIT sqlc.arg(lim);

-- name: ModelOutputHistory :many
-- The mean output tokens of each model's newest succeeded executions (at
-- most per_model of them per model), for spend estimates. Reads only the
-- executions_model_recent_idx index; executions without usage are left out.
SELECT m.id::uuid AS model_id, h.n::int AS executions, coalesce(h.mean, 0)::double precision AS mean_output_tokens
FROM unnest(sqlc.arg(model_ids)::uuid[]) AS m(id)
CROSS JOIN LATERAL (
    SELECT count(*) AS n, avg(recent.output_tokens) AS mean
    FROM (
        SELECT e.output_tokens FROM executions e
        WHERE e.model_id = m.id AND e.status = 'succeeded' AND e.output_tokens > 0
        ORDER BY e.run_created_at DESC
        LIMIT sqlc.arg(per_model)::int
    ) recent
) h;

-- name: RunFailureCauses :many
-- The most common causes of a run's failed units, by provider and error
-- message, for the run's final error: a run that failed because a
-- provider is down or its key cannot be used says so where the user looks.
SELECT rm.provider_id, coalesce(p.name, '')::text AS provider_name, coalesce(e.error, '')::text AS error,
       count(*)::int AS units
FROM executions e
JOIN run_models rm ON rm.run_id = e.run_id AND rm.model_id = e.model_id
LEFT JOIN providers p ON p.id = rm.provider_id
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id) AND e.status = 'failed'
GROUP BY rm.provider_id, p.name, e.error
ORDER BY units DESC, provider_name, error
LIMIT sqlc.arg(lim);
