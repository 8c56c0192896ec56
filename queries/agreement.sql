-- name: JudgedEvaluations :many
-- The judged verdicts of a run at a scoring version, with each judge's
-- result, for inter-judge agreement.
SELECT model_id, question_id, sample, scorer, status, passed, judges
FROM evaluations
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id)
  AND scorer_version = sqlc.arg(version)::int AND scorer <> 'human' AND judges IS NOT NULL
ORDER BY model_id, question_id, sample, scorer;

-- name: LatestReviews :many
-- Each reviewed unit's newest human verdict.
SELECT DISTINCT ON (model_id, question_id, sample) model_id, question_id, sample, passed
FROM evaluations
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id) AND scorer = 'human'
ORDER BY model_id, question_id, sample, scorer_version DESC;
