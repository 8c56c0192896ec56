-- name: CreateSuite :one
INSERT INTO suites (id, name, description, few_shot, prompt_template) VALUES ($1, $2, $3, $4, $5) RETURNING *;

-- name: LockSuite :one
-- Whether a suite is archived, and its few-shot turns, its row locked (FOR
-- SHARE) so that it can be neither archived nor given other few-shot turns
-- before the transaction adding to it commits.
SELECT archived_at, few_shot FROM suites WHERE id = $1 FOR SHARE;

-- name: GetSuite :one
SELECT s.*, (SELECT count(*) FROM questions q WHERE q.suite_id = s.id AND q.archived_at IS NULL)::int AS question_count
FROM suites s WHERE s.id = $1;

-- name: ListSuites :many
SELECT s.*, (SELECT count(*) FROM questions q WHERE q.suite_id = s.id AND q.archived_at IS NULL)::int AS question_count
FROM suites s
WHERE (sqlc.narg(after)::uuid IS NULL OR s.id > sqlc.narg(after)::uuid)
  AND (sqlc.arg(include_archived)::bool OR s.archived_at IS NULL)
ORDER BY s.id
LIMIT sqlc.arg(lim);

-- name: UpdateSuite :one
UPDATE suites SET
    name        = coalesce(sqlc.narg(name), name),
    description = coalesce(sqlc.narg(description), description),
    few_shot    = coalesce(sqlc.narg(few_shot), few_shot),
    prompt_template = coalesce(sqlc.narg(prompt_template), prompt_template),
    updated_at  = now()
WHERE id = sqlc.arg(id) AND archived_at IS NULL
RETURNING *;

-- name: SuiteHasHistory :one
SELECT EXISTS (SELECT 1 FROM benchmark_suites bs WHERE bs.suite_id = sqlc.arg(id)::uuid)
    OR EXISTS (SELECT 1 FROM run_questions rq JOIN questions q ON q.id = rq.question_id WHERE q.suite_id = sqlc.arg(id)::uuid);

-- name: ArchiveSuite :execrows
UPDATE suites SET archived_at = now(), updated_at = now() WHERE id = $1 AND archived_at IS NULL;

-- name: DeleteSuiteQuestionRevisions :exec
DELETE FROM question_revisions qr USING questions q WHERE qr.question_id = q.id AND q.suite_id = $1;

-- name: DeleteSuiteQuestions :exec
DELETE FROM questions WHERE suite_id = $1;

-- name: DeleteSuite :execrows
DELETE FROM suites WHERE id = $1;

-- name: GetSuitesByIDs :many
SELECT * FROM suites WHERE id = ANY(sqlc.arg(ids)::uuid[]);
