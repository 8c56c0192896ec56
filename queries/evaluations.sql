-- name: RecordEvaluations :batchone
-- One evaluation per (unit, scorer, scorer version), whatever crashes or
-- duplicated tasks happen: a second one is ignored (also within one batch:
-- the second insert of a key sees the first). Sent as a pgx batch, the
-- verdicts of many units share one round trip and one commit. The unit's
-- effective verdict (executions.score) is set later, for the whole run in
-- one statement (ApplyVerdicts): updating an execution row per
-- verdict cost more than the rest of judging in PostgreSQL. Returns
-- whether the evaluation was inserted.
WITH ins AS (
    INSERT INTO evaluations (run_created_at, run_id, model_id, question_id, sample, scorer, scorer_version, status,
                             passed, score, detail, reason, reasoning, judges, assertions,
                             judge_input_tokens, judge_output_tokens, judge_cost_usd, judge_latency_ms, reviewer, note)
    VALUES (sqlc.arg(run_created_at), sqlc.arg(run_id), sqlc.arg(model_id), sqlc.arg(question_id), sqlc.arg(sample),
            sqlc.arg(scorer), sqlc.arg(scorer_version), sqlc.arg(status), sqlc.narg(passed), sqlc.narg(score), sqlc.arg(detail),
            sqlc.narg(reason), sqlc.narg(reasoning), sqlc.narg(judges), sqlc.narg(assertions),
            sqlc.arg(judge_input_tokens), sqlc.arg(judge_output_tokens), sqlc.arg(judge_cost_usd), sqlc.narg(judge_latency_ms),
            sqlc.narg(reviewer), sqlc.narg(note))
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*)::int AS inserted FROM ins;

-- name: ApplyVerdicts :execrows
-- Makes the machine verdicts of a scoring version the effective verdicts
-- of a run's succeeded units, except where a person reviewed the unit: a
-- human review always wins. With only_pending, only units that have no
-- effective verdict yet (the judged ones at finalization: deterministic
-- verdicts are set as the unit is recorded); without it, every unit (a
-- rescore's completion). Idempotent.
UPDATE executions e SET
    score = ev.score, passed = ev.passed,
    unscored_reason = CASE WHEN ev.status = 'unscored' THEN ev.reason END
FROM evaluations ev
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id) AND e.status = 'succeeded'
  AND (NOT sqlc.arg(only_pending)::bool OR (e.score IS NULL AND e.unscored_reason IS NULL))
  AND ev.run_created_at = e.run_created_at AND ev.run_id = e.run_id AND ev.model_id = e.model_id
  AND ev.question_id = e.question_id AND ev.sample = e.sample
  AND ev.scorer <> 'human' AND ev.scorer_version = sqlc.arg(version)::int
  AND NOT EXISTS (
      SELECT 1 FROM evaluations h
      WHERE h.run_created_at = e.run_created_at AND h.run_id = e.run_id AND h.model_id = e.model_id
        AND h.question_id = e.question_id AND h.sample = e.sample AND h.scorer = 'human');

-- name: GetExecutionAnswer :one
SELECT status, response FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id) AND model_id = sqlc.arg(model_id)
  AND question_id = sqlc.arg(question_id) AND sample = sqlc.arg(sample);

-- name: UnjudgedUnits :many
-- The succeeded units of the given (judged) questions of a run that have
-- no machine evaluation at the scoring version: what still waits for a
-- verdict.
SELECT e.model_id, e.question_id, e.sample FROM executions e
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id) AND e.status = 'succeeded'
  AND e.question_id = ANY(sqlc.arg(question_ids)::uuid[])
  AND NOT EXISTS (
      SELECT 1 FROM evaluations ev
      WHERE ev.run_created_at = e.run_created_at AND ev.run_id = e.run_id AND ev.model_id = e.model_id
        AND ev.question_id = e.question_id AND ev.sample = e.sample
        AND ev.scorer_version = sqlc.arg(scorer_version)::int AND ev.scorer <> 'human')
ORDER BY e.model_id, e.question_id, e.sample
LIMIT sqlc.arg(lim);

-- name: RunJudgeTotals :one
-- The judge calls of a run's scoring version.
SELECT coalesce(sum(judge_cost_usd), 0)::double precision AS judge_cost_usd,
       coalesce(sum(judge_input_tokens), 0)::bigint AS judge_input_tokens,
       coalesce(sum(judge_output_tokens), 0)::bigint AS judge_output_tokens
FROM evaluations
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id)
  AND scorer_version = sqlc.arg(scorer_version)::int AND scorer <> 'human';

-- name: RunUnscoredReasons :many
-- How many of a run's succeeded units have no effective verdict, by why.
SELECT coalesce(unscored_reason, 'awaiting_judgment')::text AS reason, count(*)::int AS units
FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id) AND status = 'succeeded' AND score IS NULL
GROUP BY 1
ORDER BY units DESC, reason;

-- name: JudgedCounts :one
-- The succeeded units of the given (judged) questions, and how many of
-- them have their machine verdict at the scoring version, for progress.
SELECT count(*)::int AS needs_judgment,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM evaluations ev
           WHERE ev.run_created_at = e.run_created_at AND ev.run_id = e.run_id AND ev.model_id = e.model_id
             AND ev.question_id = e.question_id AND ev.sample = e.sample
             AND ev.scorer_version = sqlc.arg(scorer_version)::int AND ev.scorer <> 'human'))::int AS judged,
       count(*) FILTER (WHERE e.unscored_reason IS NOT NULL)::int AS unscored
FROM executions e
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id) AND e.status = 'succeeded'
  AND e.question_id = ANY(sqlc.arg(question_ids)::uuid[]);

-- name: SnapshotRunJudges :execrows
-- The judge models a run's questions (or its benchmark's defaults) name,
-- as they are when the run is created.
INSERT INTO run_judges (run_id, model_id, provider_id, name, provider_model_id, input_cost_per_mtok, output_cost_per_mtok, request_overrides)
SELECT sqlc.arg(run_id)::uuid, m.id, m.provider_id, m.name, m.provider_model_id, m.input_cost_per_mtok, m.output_cost_per_mtok, m.request_overrides
FROM models m
WHERE m.id IN (
    SELECT (jsonb_path_query(qr.scoring, 'lax $.**.judge_model_ids[*]') #>> '{}')::uuid
    FROM run_questions rq JOIN question_revisions qr ON qr.id = rq.revision_id
    WHERE rq.run_id = sqlc.arg(run_id)::uuid
    UNION
    SELECT (jsonb_path_query(r.config, 'lax $.**.judge_model_ids[*]') #>> '{}')::uuid
    FROM runs r WHERE r.id = sqlc.arg(run_id)::uuid)
ON CONFLICT DO NOTHING;

-- name: ListRunJudges :many
SELECT * FROM run_judges WHERE run_id = $1 ORDER BY model_id;

-- name: PreferRunWideJoins :exec
-- For the rest of the transaction, join a run's executions to its
-- evaluations by hashing rather than by a nested loop. Run-wide
-- statements (ApplyVerdicts, UnjudgedUnits) run right after
-- thousands of rows were added to fresh tables whose statistics still say
-- they hold none: the planner then picks a nested loop that scans every
-- evaluation of the run once per execution (about 2 s for 2,000 units).
-- A hash join reads each side once, whatever the statistics say.
SET LOCAL enable_nestloop = off;
