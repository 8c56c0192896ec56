-- +goose Up
-- Richer questions (issue 14): a question revision may ask a list of chat
-- turns instead of one prompt, may list choices (multiple choice), and
-- carries the few-shot examples its suite had when the revision was made,
-- so a run that asked revision n keeps asking exactly that. A suite keeps
-- its current few-shot examples; changing them makes a new revision of
-- each of its active questions.
--
-- question_revisions and suites are plain tables on PostgreSQL and on
-- TimescaleDB alike, so nothing here depends on the extension.
ALTER TABLE question_revisions
    -- [{"role": "system|user|assistant", "content": "..."}]; NULL when the
    -- question is a plain prompt. prompt is '' exactly when messages is set.
    ADD COLUMN messages jsonb,
    -- ["choice A", "choice B", ...]; NULL unless multiple choice.
    ADD COLUMN choices  jsonb,
    -- The suite's few-shot turns as of this revision; NULL when none.
    ADD COLUMN few_shot jsonb,
    ADD CONSTRAINT question_revisions_prompt_or_messages CHECK ((messages IS NULL) = (prompt <> ''));

ALTER TABLE suites
    ADD COLUMN few_shot jsonb NOT NULL DEFAULT '[]';

-- +goose Down
-- Going down loses the chat turns, choices and few-shot examples: a
-- message question keeps an empty prompt and so cannot be asked any more
-- by the older code. Delete or re-create such questions afterwards.
ALTER TABLE suites DROP COLUMN few_shot;
ALTER TABLE question_revisions
    DROP CONSTRAINT question_revisions_prompt_or_messages,
    DROP COLUMN few_shot,
    DROP COLUMN choices,
    DROP COLUMN messages;
