-- +goose Up

-- Judging (issue 14). An evaluation is one scorer's verdict on one unit
-- under one scoring version: a rescore adds evaluations under a new
-- version and keeps the old ones, and a human review is an evaluation of
-- the scorer 'human'. A verdict may be missing: a judge that could not be
-- parsed or failed for good leaves the evaluation unscored, with a reason,
-- never a pass, a fail or a zero.
--
-- With TimescaleDB, evaluations is a compressed hypertable, whose key and
-- NOT NULL constraints cannot change while compression is enabled: these
-- two functions turn compression off (decompressing every chunk) and on
-- again around the changes, here and in Down.
-- +goose StatementBegin
CREATE FUNCTION sabe_uncompress(p_table text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    c regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                   WHERE hypertable_name = p_table AND hypertable_schema = current_schema() AND compression_enabled) THEN
        RETURN;
    END IF;
    PERFORM remove_compression_policy(p_table::regclass, if_exists => true);
    FOR c IN SELECT show_chunks(p_table::regclass) LOOP
        PERFORM decompress_chunk(c, if_compressed => true);
    END LOOP;
    EXECUTE format('ALTER TABLE %I SET (timescaledb.compress = false)', p_table);
END
$fn$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION sabe_compress(p_table text, p_segmentby text, p_orderby text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                   WHERE hypertable_name = p_table AND hypertable_schema = current_schema()) THEN
        RETURN;
    END IF;
    EXECUTE format('ALTER TABLE %I SET (timescaledb.compress, timescaledb.compress_segmentby = %L, timescaledb.compress_orderby = %L)',
                   p_table, p_segmentby, p_orderby);
    PERFORM add_compression_policy(p_table::regclass, INTERVAL '30 days', if_not_exists => true);
END
$fn$;
-- +goose StatementEnd

SELECT sabe_uncompress('evaluations');

-- status: scored (passed and score set) or unscored (both NULL, reason
-- says why: judge_parse_failure, judge_error, judge_refused,
-- judge_skipped_max_cost, ...). judges holds each judge's result (model,
-- verdict or reason, tokens, cost, latency); assertions each weighted
-- assertion's result. The judge's own tokens, cost and latency are kept
-- here, apart from the tested model's figures on the execution.
-- reviewer and note belong to human reviews.
ALTER TABLE evaluations
    ADD COLUMN scorer_version      int              NOT NULL DEFAULT 1,
    ADD COLUMN status              text             NOT NULL DEFAULT 'scored' CHECK (status IN ('scored', 'unscored')),
    ADD COLUMN reason              text,
    ADD COLUMN reasoning           text,
    ADD COLUMN judges              jsonb,
    ADD COLUMN assertions          jsonb,
    ADD COLUMN judge_input_tokens  int              NOT NULL DEFAULT 0,
    ADD COLUMN judge_output_tokens int              NOT NULL DEFAULT 0,
    ADD COLUMN judge_cost_usd      double precision NOT NULL DEFAULT 0,
    ADD COLUMN judge_latency_ms    double precision,
    ADD COLUMN reviewer            text,
    ADD COLUMN note                text,
    ALTER COLUMN passed DROP NOT NULL,
    ALTER COLUMN score DROP NOT NULL,
    ADD CONSTRAINT evaluations_verdict_check CHECK (
        (status = 'scored' AND passed IS NOT NULL AND score IS NOT NULL)
        OR (status = 'unscored' AND passed IS NULL AND score IS NULL AND reason IS NOT NULL));
ALTER TABLE evaluations DROP CONSTRAINT evaluations_pkey;
ALTER TABLE evaluations ADD PRIMARY KEY (run_created_at, run_id, model_id, question_id, sample, scorer, scorer_version);

SELECT sabe_compress('evaluations', 'model_id', 'run_created_at DESC, run_id, question_id, sample, scorer, scorer_version');

-- The unit's effective verdict stays on the execution (score, passed):
-- a human review when there is one, else the run's current scoring
-- version; NULL while the unit awaits its verdict or when it is unscored,
-- and then unscored_reason says why.
ALTER TABLE executions ADD COLUMN unscored_reason text;

-- scoring_version is the run's current scoring version (a rescore moves
-- it); the judge_* columns sum the judge calls of that version, kept
-- apart from cost_usd and the tokens, which are the tested models'.
-- unscored counts the succeeded units without a verdict; judged, set when
-- the run finishes, the succeeded units of judged questions with their
-- verdict (scored or unscored) at that version, so that a finished run's
-- progress still says how many were judged.
ALTER TABLE runs
    ADD COLUMN scoring_version     int              NOT NULL DEFAULT 1,
    ADD COLUMN judge_cost_usd      double precision NOT NULL DEFAULT 0,
    ADD COLUMN judge_input_tokens  bigint           NOT NULL DEFAULT 0,
    ADD COLUMN judge_output_tokens bigint           NOT NULL DEFAULT 0,
    ADD COLUMN unscored            int              NOT NULL DEFAULT 0,
    ADD COLUMN judged              int              NOT NULL DEFAULT 0;

-- The judge models of a run as it started: a run judges with the names,
-- prices and overrides it began with, as it calls its tested models.
CREATE TABLE run_judges (
    run_id               uuid             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model_id             uuid             NOT NULL,
    provider_id          uuid             NOT NULL,
    name                 text             NOT NULL,
    provider_model_id    text             NOT NULL,
    input_cost_per_mtok  double precision NOT NULL,
    output_cost_per_mtok double precision NOT NULL,
    request_overrides    jsonb            NOT NULL,
    PRIMARY KEY (run_id, model_id)
);

-- Unscored units are left out of every score and counted: a succeeded
-- unit without an effective score (its judges could not give a verdict)
-- is neither a pass nor a zero.
ALTER TABLE outcomes ADD COLUMN unscored int NOT NULL DEFAULT 0;
ALTER TABLE question_stats ADD COLUMN unscored int NOT NULL DEFAULT 0;
ALTER TABLE rankings ADD COLUMN unscored int NOT NULL DEFAULT 0;

-- The rollups: n and mean_score leave unscored units out, unscored counts
-- them (the last column, after the figures of 00009).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sabe_rollup_figures() RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
SELECT $sql$
    count(*) FILTER (WHERE e.status = 'failed' OR (e.status = 'succeeded' AND e.score IS NOT NULL))::bigint AS n,
    count(*) FILTER (WHERE e.status = 'failed')::bigint AS failed,
    avg(coalesce(e.score, 0)) FILTER (WHERE e.status = 'failed' OR (e.status = 'succeeded' AND e.score IS NOT NULL)) AS mean_score,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY e.latency_ms) FILTER (WHERE e.status = 'succeeded') AS latency_p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency_ms) FILTER (WHERE e.status = 'succeeded') AS latency_p95_ms,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY e.ttft_ms) FILTER (WHERE e.status = 'succeeded') AS ttft_p50_ms,
    avg(e.output_tokens_per_s) FILTER (WHERE e.status = 'succeeded') AS tokens_per_s,
    coalesce(sum(e.input_tokens), 0)::bigint AS input_tokens,
    coalesce(sum(e.output_tokens), 0)::bigint AS output_tokens,
    coalesce(sum(e.cost_usd), 0)::double precision AS cost_usd,
    count(*) FILTER (WHERE e.status = 'succeeded' AND e.score IS NULL)::bigint AS unscored
$sql$
$fn$;
-- +goose StatementEnd

-- Plain PostgreSQL: the rollup tables gain the column (no unit recorded
-- before this migration is unscored, so 0 is right for every row); with
-- TimescaleDB sabe_rebuild_rollups creates the aggregates anew.
-- +goose StatementBegin
DO $do$
DECLARE
    r record;
BEGIN
    IF sabe_timescaledb() THEN
        RETURN;
    END IF;
    FOR r IN SELECT * FROM sabe_rollups() LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN unscored bigint NOT NULL DEFAULT 0', r.name);
    END LOOP;
END
$do$;
-- +goose StatementEnd

SELECT sabe_rebuild_rollups();

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sabe_rollup_figures() RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
SELECT $sql$
    count(*) FILTER (WHERE e.status IN ('succeeded', 'failed'))::bigint AS n,
    count(*) FILTER (WHERE e.status = 'failed')::bigint AS failed,
    avg(coalesce(e.score, 0)) FILTER (WHERE e.status IN ('succeeded', 'failed')) AS mean_score,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY e.latency_ms) FILTER (WHERE e.status = 'succeeded') AS latency_p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency_ms) FILTER (WHERE e.status = 'succeeded') AS latency_p95_ms,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY e.ttft_ms) FILTER (WHERE e.status = 'succeeded') AS ttft_p50_ms,
    avg(e.output_tokens_per_s) FILTER (WHERE e.status = 'succeeded') AS tokens_per_s,
    coalesce(sum(e.input_tokens), 0)::bigint AS input_tokens,
    coalesce(sum(e.output_tokens), 0)::bigint AS output_tokens,
    coalesce(sum(e.cost_usd), 0)::double precision AS cost_usd
$sql$
$fn$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $do$
DECLARE
    r record;
BEGIN
    IF sabe_timescaledb() THEN
        RETURN;
    END IF;
    FOR r IN SELECT * FROM sabe_rollups() LOOP
        EXECUTE format('ALTER TABLE %I DROP COLUMN unscored', r.name);
    END LOOP;
END
$do$;
-- +goose StatementEnd

SELECT sabe_rebuild_rollups();

ALTER TABLE rankings DROP COLUMN unscored;
ALTER TABLE question_stats DROP COLUMN unscored;
ALTER TABLE outcomes DROP COLUMN unscored;
DROP TABLE run_judges;
ALTER TABLE runs
    DROP COLUMN scoring_version,
    DROP COLUMN judge_cost_usd,
    DROP COLUMN judge_input_tokens,
    DROP COLUMN judge_output_tokens,
    DROP COLUMN unscored,
    DROP COLUMN judged;
ALTER TABLE executions DROP COLUMN unscored_reason;

-- The old key holds one evaluation per (unit, scorer): only the first
-- scoring version's verdicts fit it, and unscored ones have no verdict to
-- keep.
SELECT sabe_uncompress('evaluations');
DELETE FROM evaluations WHERE scorer_version <> 1 OR status = 'unscored';
ALTER TABLE evaluations DROP CONSTRAINT evaluations_pkey;
ALTER TABLE evaluations ADD PRIMARY KEY (run_created_at, run_id, model_id, question_id, sample, scorer);
ALTER TABLE evaluations
    DROP CONSTRAINT evaluations_verdict_check,
    ALTER COLUMN passed SET NOT NULL,
    ALTER COLUMN score SET NOT NULL,
    DROP COLUMN scorer_version,
    DROP COLUMN status,
    DROP COLUMN reason,
    DROP COLUMN reasoning,
    DROP COLUMN judges,
    DROP COLUMN assertions,
    DROP COLUMN judge_input_tokens,
    DROP COLUMN judge_output_tokens,
    DROP COLUMN judge_cost_usd,
    DROP COLUMN judge_latency_ms,
    DROP COLUMN reviewer,
    DROP COLUMN note;
SELECT sabe_compress('evaluations', 'model_id', 'run_created_at DESC, run_id, question_id, sample, scorer');
DROP FUNCTION sabe_compress(text, text, text);
DROP FUNCTION sabe_uncompress(text);
