-- name: LockRunForRedo :one
-- Locks a run's row for a rescore, a retry round or a review, so that
-- they and finalization of the run take turns.
SELECT * FROM runs WHERE id = $1 FOR UPDATE;

-- name: RunningRescore :one
SELECT * FROM run_rescores WHERE run_id = $1 AND status = 'running';

-- name: CountFailedUnits :one
SELECT count(*)::int AS failed FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id) AND status = 'failed';

-- name: DeleteFailedExecutions :execrows
-- A retry round replaces the executions of the units that failed for
-- good; no evaluation belongs to a failed unit.
DELETE FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id) AND status = 'failed';

-- name: ReopenRunForRetry :one
-- Moves a finished run back to running for a new retry round.
UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, retry_round = retry_round + 1
WHERE id = $1 AND finished_at IS NOT NULL
RETURNING *;

-- name: SubtractQuestionStats :exec
-- Takes a finished run's outcomes back out of its week's and month's
-- question tallies (AddQuestionStats in reverse), before its outcomes are
-- recomputed or the run reopened. Same key order as AddQuestionStats.
UPDATE question_stats qs SET
    runs = qs.runs - 1,
    n = qs.n - (o.succeeded + o.failed - o.unscored),
    correct = qs.correct - o.correct,
    failed = qs.failed - o.failed,
    latency_sum_ms = qs.latency_sum_ms - coalesce(o.mean_latency_ms * o.succeeded, 0),
    latency_n = qs.latency_n - CASE WHEN o.mean_latency_ms IS NULL THEN 0 ELSE o.succeeded END,
    cost_usd = qs.cost_usd - o.cost_usd,
    unscored = qs.unscored - o.unscored
FROM outcomes o
CROSS JOIN (VALUES ('week', INTERVAL '7 days'), ('month', INTERVAL '1 month')) AS p(period, width)
WHERE o.run_id = sqlc.arg(run_id) AND o.succeeded + o.failed > 0
  AND qs.benchmark_id = o.benchmark_id AND qs.period = p.period AND qs.bucket = sabe_bucket(p.width, o.run_created_at)
  AND qs.model_id = o.model_id AND qs.question_revision_id = o.question_revision_id;

-- name: DeleteEmptyQuestionStats :exec
-- Drops the tallies no run counts in any more.
DELETE FROM question_stats WHERE benchmark_id = sqlc.arg(benchmark_id) AND runs <= 0;

-- name: DeleteRunOutcomes :exec
DELETE FROM outcomes WHERE run_id = $1;

-- name: DeleteRunRankings :exec
DELETE FROM rankings WHERE run_id = $1;

-- name: RunRescoreQuestions :many
-- The run's questions in order, with the revision the run asked and the
-- question's current revision.
SELECT rq.position, rq.question_id, rq.revision_id,
       r.expected_answer, r.scoring, r.choices,
       cur.id AS current_revision_id, cur.expected_answer AS current_expected_answer,
       cur.scoring AS current_scoring, cur.choices AS current_choices
FROM run_questions rq
JOIN question_revisions r ON r.id = rq.revision_id
JOIN questions q ON q.id = rq.question_id
JOIN question_revisions cur ON cur.question_id = q.id AND cur.revision = q.revision
WHERE rq.run_id = $1
ORDER BY rq.position;

-- name: AddRunJudges :exec
-- Adds judge models a rescore names to the run's judge snapshot, as they
-- are now; judges the run recorded stay as it recorded them.
INSERT INTO run_judges (run_id, model_id, provider_id, name, provider_model_id, input_cost_per_mtok, output_cost_per_mtok, request_overrides)
SELECT sqlc.arg(run_id), m.id, m.provider_id, m.name, m.provider_model_id, m.input_cost_per_mtok, m.output_cost_per_mtok, m.request_overrides
FROM models m
WHERE m.id = ANY(sqlc.arg(model_ids)::uuid[])
ON CONFLICT DO NOTHING;

-- name: GetRescore :one
SELECT * FROM run_rescores WHERE run_id = $1 AND version = $2;

-- name: ListRescores :many
-- A run's scoring versions after its first, oldest first.
SELECT * FROM run_rescores WHERE run_id = sqlc.arg(run_id) ORDER BY version LIMIT sqlc.arg(lim);

-- name: LatestRescoreVersion :one
SELECT coalesce(max(version), 0)::int AS version FROM run_rescores WHERE run_id = $1;

-- name: CreateRescore :one
INSERT INTO run_rescores (run_id, version, fingerprint, scoring, total, created_at)
VALUES (sqlc.arg(run_id), sqlc.arg(version), sqlc.arg(fingerprint), sqlc.arg(scoring), sqlc.arg(total), sqlc.arg(created_at))
RETURNING *;

-- name: CountSucceededUnits :one
SELECT count(*)::int AS succeeded FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id) AND status = 'succeeded';

-- name: RescoreUnits :many
-- A page of a run's succeeded units without an evaluation at the version,
-- in key order, for the rescore's batches.
SELECT e.model_id, e.question_id, e.sample, e.response
FROM executions e
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id) AND e.status = 'succeeded'
  AND (e.model_id, e.question_id, e.sample) > (sqlc.arg(after_model)::uuid, sqlc.arg(after_question)::uuid, sqlc.arg(after_sample)::int)
  AND NOT EXISTS (
      SELECT 1 FROM evaluations ev
      WHERE ev.run_created_at = e.run_created_at AND ev.run_id = e.run_id AND ev.model_id = e.model_id
        AND ev.question_id = e.question_id AND ev.sample = e.sample
        AND ev.scorer <> 'human' AND ev.scorer_version = sqlc.arg(version)::int)
ORDER BY e.model_id, e.question_id, e.sample
LIMIT sqlc.arg(lim);

-- name: RescoreDone :one
-- How many succeeded units have an evaluation at the version.
SELECT count(DISTINCT (ev.model_id, ev.question_id, ev.sample))::int AS done
FROM evaluations ev
WHERE ev.run_created_at = sqlc.arg(run_created_at) AND ev.run_id = sqlc.arg(run_id)
  AND ev.scorer <> 'human' AND ev.scorer_version = sqlc.arg(version)::int;

-- name: SetRescoreDone :exec
UPDATE run_rescores SET done = sqlc.arg(done) WHERE run_id = sqlc.arg(run_id) AND version = sqlc.arg(version);

-- name: FinishRescore :exec
UPDATE run_rescores SET status = sqlc.arg(status), done = sqlc.arg(done), error = sqlc.narg(error), finished_at = sqlc.arg(finished_at)
WHERE run_id = sqlc.arg(run_id) AND version = sqlc.arg(version) AND status = 'running';

-- name: SetScoringVersion :exec
UPDATE runs SET scoring_version = sqlc.arg(version) WHERE id = sqlc.arg(id);

-- name: SetRunScoringTotals :exec
-- What a completed rescore changes on the run: how many succeeded units
-- are left without a verdict, and the judging cost of the run's (new)
-- scoring version, as finalization computes both.
UPDATE runs SET unscored = sqlc.arg(unscored), judge_cost_usd = sqlc.arg(judge_cost_usd),
    judge_input_tokens = sqlc.arg(judge_input_tokens), judge_output_tokens = sqlc.arg(judge_output_tokens)
WHERE id = sqlc.arg(id);

-- name: JudgingUnits :many
-- The succeeded units of a run's judged questions, each with whether it
-- has its machine verdict at the scoring version and whether that verdict
-- is unscored: what a retry round tells the tracker before it re-executes
-- the failed units.
SELECT e.model_id, e.question_id, e.sample,
       (ev.status IS NOT NULL)::bool AS judged, coalesce(ev.status = 'unscored', false)::bool AS unscored
FROM executions e
LEFT JOIN evaluations ev
  ON ev.run_created_at = e.run_created_at AND ev.run_id = e.run_id AND ev.model_id = e.model_id
 AND ev.question_id = e.question_id AND ev.sample = e.sample
 AND ev.scorer_version = sqlc.arg(scorer_version)::int AND ev.scorer <> 'human'
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id) AND e.status = 'succeeded'
  AND e.question_id = ANY(sqlc.arg(question_ids)::uuid[]);
