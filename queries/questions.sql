-- name: InsertQuestions :copyfrom
INSERT INTO questions (id, suite_id, revision, key) VALUES ($1, $2, $3, $4);

-- name: InsertQuestionRevisions :copyfrom
INSERT INTO question_revisions (id, question_id, revision, prompt, category, expected_answer, scoring, messages, choices, few_shot, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: GetQuestion :one
SELECT q.id, q.suite_id, q.revision, q.key, q.archived_at, q.created_at, q.updated_at,
       r.id AS revision_id, r.prompt, r.category, r.expected_answer, r.scoring, r.messages, r.choices, r.few_shot, r.metadata
FROM questions q
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE q.id = $1;

-- name: ListQuestions :many
SELECT q.id, q.suite_id, q.revision, q.key, q.archived_at, q.created_at, q.updated_at,
       r.id AS revision_id, r.prompt, r.category, r.expected_answer, r.scoring, r.messages, r.choices, r.few_shot, r.metadata
FROM questions q
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE q.suite_id = sqlc.arg(suite_id)
  AND q.archived_at IS NULL
  AND (sqlc.narg(after)::uuid IS NULL OR q.id > sqlc.narg(after)::uuid)
ORDER BY q.id
LIMIT sqlc.arg(lim);

-- name: LockQuestionSuite :one
-- The suite of a question about to change, share-locked before the
-- question itself: every change under a suite takes the suite's row lock
-- first (a few-shot change takes it exclusively, then its questions), so
-- two changes never wait on each other in opposite orders. few_shot is what
-- the question's next revision carries.
SELECT s.archived_at, s.few_shot
FROM suites s
WHERE s.id = (SELECT q.suite_id FROM questions q WHERE q.id = $1)
FOR SHARE;

-- name: LockQuestion :one
-- A question about to change, with whether it or its suite is archived.
-- The suite row is locked too (FOR SHARE), so archiving the suite waits for
-- the change to commit, and a change waits for an archiving under way and
-- then sees it: nothing changes under an archived suite.
SELECT q.suite_id, q.revision, q.archived_at AS question_archived_at, s.archived_at AS suite_archived_at
FROM questions q
JOIN suites s ON s.id = q.suite_id
WHERE q.id = $1
FOR UPDATE OF q FOR SHARE OF s;

-- name: CreateQuestionRevision :exec
INSERT INTO question_revisions (id, question_id, revision, prompt, category, expected_answer, scoring, messages, choices, few_shot, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: SetQuestionRevision :exec
-- Moves a question to its new revision, with its key (kept across
-- revisions, so it lives on the question).
UPDATE questions SET revision = $2, key = $3, updated_at = now() WHERE id = $1;

-- name: ActiveQuestionKeys :many
-- Which of some keys active questions of a suite already have (other than
-- the question being changed, if any), for a 409 or a line error that
-- names the key before the unique index refuses it.
SELECT q.key::text AS key
FROM questions q
WHERE q.suite_id = sqlc.arg(suite_id)
  AND q.archived_at IS NULL
  AND q.key = ANY(sqlc.arg(keys)::text[])
  AND (sqlc.narg(except_id)::uuid IS NULL OR q.id <> sqlc.narg(except_id)::uuid)
ORDER BY q.key;

-- name: ArchiveQuestion :execrows
UPDATE questions SET archived_at = now(), updated_at = now() WHERE id = $1 AND archived_at IS NULL;

-- name: CountActiveQuestions :one
SELECT count(*)::int FROM questions WHERE suite_id = ANY(sqlc.arg(suite_ids)::uuid[]) AND archived_at IS NULL;

-- name: LockSuiteQuestions :many
-- The active questions of a suite, locked for a new revision each (a
-- few-shot change), in id order.
SELECT id FROM questions WHERE suite_id = $1 AND archived_at IS NULL ORDER BY id FOR UPDATE;

-- name: ReviseQuestionsFewShot :execrows
-- The next revision of each question (paired with the new revision's id),
-- a copy of its current one with the suite's new few-shot turns.
INSERT INTO question_revisions (id, question_id, revision, prompt, category, expected_answer, scoring, messages, choices, few_shot, metadata)
SELECT (sqlc.arg(revision_ids)::uuid[])[t.ord], r.question_id, r.revision + 1, r.prompt, r.category, r.expected_answer, r.scoring, r.messages, r.choices, sqlc.narg(few_shot)::jsonb, r.metadata
FROM unnest(sqlc.arg(question_ids)::uuid[]) WITH ORDINALITY AS t(qid, ord)
JOIN questions q ON q.id = t.qid
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision;

-- name: BumpQuestionRevisions :execrows
UPDATE questions SET revision = revision + 1, updated_at = now() WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: PromptTokenEstimate :one
-- The active questions of some suites and the input tokens asking each of
-- them once would take: ceil(characters / 4) of the system prompt and
-- what the question's current revision sends (its prompt or turns, its
-- few-shot turns and its options), the way most tokenizers average (and
-- the mock provider counts).
SELECT count(*)::int AS questions,
       coalesce(sum((char_length(r.prompt) + sqlc.arg(system_chars)::int
           + coalesce((SELECT sum(char_length(m->>'content')) FROM jsonb_array_elements(r.messages) m), 0)::int
           + coalesce((SELECT sum(char_length(m->>'content')) FROM jsonb_array_elements(r.few_shot) m), 0)::int
           + coalesce((SELECT sum(char_length(c #>> '{}') + 4) FROM jsonb_array_elements(r.choices) c), 0)::int
           + 3) / 4), 0)::bigint AS input_tokens
FROM questions q
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE q.suite_id = ANY(sqlc.arg(suite_ids)::uuid[]) AND q.archived_at IS NULL;

-- name: ListDefaultScoredQuestions :many
-- The active questions of some suites that have no scoring of their own
-- (no method and no assertions), which a benchmark's default scoring must
-- cover, with what the default is compiled against.
SELECT q.id, r.expected_answer, r.choices
FROM questions q
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE q.suite_id = ANY(sqlc.arg(suite_ids)::uuid[]) AND q.archived_at IS NULL
  AND coalesce(r.scoring->>'method', '') = ''
  AND coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(r.scoring->'assertions') = 'array' THEN r.scoring->'assertions' END), 0) = 0
ORDER BY q.id
LIMIT sqlc.arg(lim);

-- name: ListJudgedQuestions :many
-- The active questions of some suites whose scoring mentions llm_judge,
-- for the check that each judged rule has judges (its own or the
-- benchmark's).
SELECT q.id, r.scoring
FROM questions q
JOIN question_revisions r ON r.question_id = q.id AND r.revision = q.revision
WHERE q.suite_id = ANY(sqlc.arg(suite_ids)::uuid[]) AND q.archived_at IS NULL
  AND r.scoring::text LIKE '%llm_judge%'
ORDER BY q.id
LIMIT sqlc.arg(lim);
