-- +goose Up
-- Issue 16: suites kept in other tools' formats, and benchmarks kept as
-- code, need a question to have a name of its own, free-form data beside
-- it, and a provider's key to be recognisable without being readable.
--
-- A question's key names the question, not one of its revisions: it stays
-- when the question is revised, and `sabe apply` matches questions by it.
-- Two active questions of a suite never share one; an archived question
-- gives its key up, so a question can be replaced by a new one of the same
-- key. questions, question_revisions, suites and providers are plain
-- tables on PostgreSQL and TimescaleDB alike.
ALTER TABLE questions ADD COLUMN key text;
CREATE UNIQUE INDEX questions_suite_key_idx ON questions (suite_id, key)
    WHERE key IS NOT NULL AND archived_at IS NULL;

-- Metadata is part of what a revision is (an import's metadata, a
-- promptfoo test's description): never sent to models, but a run that
-- asked revision n can still say what it was.
ALTER TABLE question_revisions ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';

-- How an import of variables (promptfoo's vars, CSV columns) becomes
-- prompts: '{{name}}' is replaced by the row's variable. '' means none.
ALTER TABLE suites ADD COLUMN prompt_template text NOT NULL DEFAULT '';

-- The first 16 hex digits of SHA-256 over 'sabe-provider-key:' and the
-- key (secrets.KeyFingerprint), written with the key. A migration holds no
-- key, so keys stored before it have none (NULL) until they are set again.
ALTER TABLE providers
    ADD COLUMN api_key_fingerprint text,
    ADD CONSTRAINT providers_fingerprint_with_key CHECK (api_key_fingerprint IS NULL OR api_key_id IS NOT NULL);

-- +goose Down
-- Going down forgets question keys, metadata, prompt templates and key
-- fingerprints; the questions, their revisions and the keys stay.
ALTER TABLE providers
    DROP CONSTRAINT providers_fingerprint_with_key,
    DROP COLUMN api_key_fingerprint;
ALTER TABLE suites DROP COLUMN prompt_template;
ALTER TABLE question_revisions DROP COLUMN metadata;
DROP INDEX questions_suite_key_idx;
ALTER TABLE questions DROP COLUMN key;
