-- name: InsertQuestions :copyfrom
INSERT INTO questions (id, suite_id, revision) VALUES ($1, $2, $3);

-- name: InsertQuestionRevisions :copyfrom
INSERT INTO question_revisions (id, question_id, revision, prompt, category, expected_answer, scoring, messages, choices, few_shot)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: GetQuestion :one
SELECT q.id, q.suite_id, q.revision, q.archived_at, q.created_at, q.updated_at,
       r.id AS revision_id, r.prompt, r.category, r.expected_answer, r.scoring, r.messages, r.choices, r.few_shot
FROM questions q
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE q.id = $1;

-- name: ListQuestions :many
SELECT q.id, q.suite_id, q.revision, q.archived_at, q.created_at, q.updated_at,
       r.id AS revision_id, r.prompt, r.category, r.expected_answer, r.scoring, r.messages, r.choices, r.few_shot
FROM questions q
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE q.suite_id = sqlc.arg(suite_id)
  AND q.archived_at IS NULL
  AND (sqlc.narg(after)::uuid IS NULL OR q.id > sqlc.narg(after)::uuid)
ORDER BY q.id
LIMIT sqlc.arg(lim);

-- name: LockQuestion :one
-- A question about to change, with whether it or its suite is archived.
-- The suite row is locked too (FOR SHARE), so archiving the suite waits for
-- the change to commit, and a change waits for an archiving under way and
-- then sees it: nothing changes under an archived suite.
SELECT q.revision, q.archived_at AS question_archived_at, s.archived_at AS suite_archived_at
FROM questions q
JOIN suites s ON s.id = q.suite_id
WHERE q.id = $1
FOR UPDATE OF q FOR SHARE OF s;

-- name: CreateQuestionRevision :exec
INSERT INTO question_revisions (id, question_id, revision, prompt, category, expected_answer, scoring, messages, choices, few_shot)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: SetQuestionRevision :exec
UPDATE questions SET revision = $2, updated_at = now() WHERE id = $1;

-- name: ArchiveQuestion :execrows
UPDATE questions SET archived_at = now(), updated_at = now() WHERE id = $1 AND archived_at IS NULL;

-- name: CountActiveQuestions :one
SELECT count(*)::int FROM questions WHERE suite_id = ANY(sqlc.arg(suite_ids)::uuid[]) AND archived_at IS NULL;

-- name: PromptTokenEstimate :one
-- The active questions of some suites and the input tokens asking each of
-- them once would take: ceil(characters / 4) of the system prompt and the
-- question's current prompt together, the way most tokenizers average (and
-- the mock provider counts).
SELECT count(*)::int AS questions,
       coalesce(sum((char_length(r.prompt) + sqlc.arg(system_chars)::int + 3) / 4), 0)::bigint AS input_tokens
FROM questions q
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE q.suite_id = ANY(sqlc.arg(suite_ids)::uuid[]) AND q.archived_at IS NULL;
