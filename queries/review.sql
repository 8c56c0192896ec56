-- name: GetExecutionStatus :one
SELECT status FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id) AND model_id = sqlc.arg(model_id)
  AND question_id = sqlc.arg(question_id) AND sample = sqlc.arg(sample);

-- name: InsertReview :one
-- A person's verdict, under the next human version of the unit: earlier
-- reviews and every judge's evaluation stay.
INSERT INTO evaluations (run_created_at, run_id, model_id, question_id, sample, scorer, scorer_version,
                         status, passed, score, detail, reviewer, note, created_at)
SELECT sqlc.arg(run_created_at), sqlc.arg(run_id), sqlc.arg(model_id), sqlc.arg(question_id), sqlc.arg(sample), 'human',
       coalesce(max(ev.scorer_version), 0) + 1, 'scored', sqlc.arg(passed)::bool, sqlc.arg(score)::double precision, '',
       sqlc.arg(reviewer)::text, sqlc.arg(note)::text, sqlc.arg(created_at)::timestamptz
FROM evaluations ev
WHERE ev.run_created_at = sqlc.arg(run_created_at) AND ev.run_id = sqlc.arg(run_id) AND ev.model_id = sqlc.arg(model_id)
  AND ev.question_id = sqlc.arg(question_id) AND ev.sample = sqlc.arg(sample) AND ev.scorer = 'human'
RETURNING *;

-- name: SetReviewedVerdict :exec
-- A person's verdict is the unit's effective one, whatever the version.
UPDATE executions SET score = sqlc.arg(score), passed = sqlc.arg(passed), unscored_reason = NULL
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id) AND model_id = sqlc.arg(model_id)
  AND question_id = sqlc.arg(question_id) AND sample = sqlc.arg(sample);
