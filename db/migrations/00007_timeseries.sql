-- +goose Up

-- A unit's evaluation, denormalized onto its execution: continuous
-- aggregates read one hypertable, and hypertables cannot join each other.
-- NULL when the unit was not scored (it failed, or was cancelled or
-- skipped). Evaluations keep the detail.
ALTER TABLE executions ADD COLUMN score double precision, ADD COLUMN passed boolean;
UPDATE executions e SET score = ev.score, passed = ev.passed
FROM evaluations ev
WHERE ev.run_created_at = e.run_created_at AND ev.run_id = e.run_id AND ev.model_id = e.model_id
  AND ev.question_id = e.question_id AND ev.sample = e.sample;

-- Rollups: per (bucket, benchmark, model[, category]) figures for the time
-- series. Buckets are UTC; days and weeks are cut from 2000-01-03, a
-- Monday, which is TimescaleDB's default origin for time_bucket, so weeks
-- start on Monday on both paths. n counts units answered or failed for
-- good (a failed unit scores 0); latency, TTFT and throughput are over
-- succeeded units. On plain PostgreSQL these are tables refreshed by the
-- maintenance task (sabe_refresh_rollup); with TimescaleDB the block
-- below replaces them with continuous aggregates of the same name and
-- columns, so the read queries are the same on both paths.
CREATE TABLE rollup_category_daily (
    bucket         timestamptz      NOT NULL,
    benchmark_id   uuid             NOT NULL,
    model_id       uuid             NOT NULL,
    category       text             NOT NULL,
    n              bigint           NOT NULL,
    failed         bigint           NOT NULL,
    mean_score     double precision,
    latency_p50_ms double precision,
    latency_p95_ms double precision,
    ttft_p50_ms    double precision,
    tokens_per_s   double precision,
    input_tokens   bigint           NOT NULL,
    output_tokens  bigint           NOT NULL,
    cost_usd       double precision NOT NULL,
    PRIMARY KEY (benchmark_id, model_id, category, bucket)
);
CREATE TABLE rollup_category_weekly (
    bucket         timestamptz      NOT NULL,
    benchmark_id   uuid             NOT NULL,
    model_id       uuid             NOT NULL,
    category       text             NOT NULL,
    n              bigint           NOT NULL,
    failed         bigint           NOT NULL,
    mean_score     double precision,
    latency_p50_ms double precision,
    latency_p95_ms double precision,
    ttft_p50_ms    double precision,
    tokens_per_s   double precision,
    input_tokens   bigint           NOT NULL,
    output_tokens  bigint           NOT NULL,
    cost_usd       double precision NOT NULL,
    PRIMARY KEY (benchmark_id, model_id, category, bucket)
);
CREATE TABLE rollup_category_monthly (
    bucket         timestamptz      NOT NULL,
    benchmark_id   uuid             NOT NULL,
    model_id       uuid             NOT NULL,
    category       text             NOT NULL,
    n              bigint           NOT NULL,
    failed         bigint           NOT NULL,
    mean_score     double precision,
    latency_p50_ms double precision,
    latency_p95_ms double precision,
    ttft_p50_ms    double precision,
    tokens_per_s   double precision,
    input_tokens   bigint           NOT NULL,
    output_tokens  bigint           NOT NULL,
    cost_usd       double precision NOT NULL,
    PRIMARY KEY (benchmark_id, model_id, category, bucket)
);
CREATE TABLE rollup_model_daily (
    bucket         timestamptz      NOT NULL,
    benchmark_id   uuid             NOT NULL,
    model_id       uuid             NOT NULL,
    n              bigint           NOT NULL,
    failed         bigint           NOT NULL,
    mean_score     double precision,
    latency_p50_ms double precision,
    latency_p95_ms double precision,
    ttft_p50_ms    double precision,
    tokens_per_s   double precision,
    input_tokens   bigint           NOT NULL,
    output_tokens  bigint           NOT NULL,
    cost_usd       double precision NOT NULL,
    PRIMARY KEY (benchmark_id, model_id, bucket)
);
CREATE TABLE rollup_model_weekly (
    bucket         timestamptz      NOT NULL,
    benchmark_id   uuid             NOT NULL,
    model_id       uuid             NOT NULL,
    n              bigint           NOT NULL,
    failed         bigint           NOT NULL,
    mean_score     double precision,
    latency_p50_ms double precision,
    latency_p95_ms double precision,
    ttft_p50_ms    double precision,
    tokens_per_s   double precision,
    input_tokens   bigint           NOT NULL,
    output_tokens  bigint           NOT NULL,
    cost_usd       double precision NOT NULL,
    PRIMARY KEY (benchmark_id, model_id, bucket)
);
CREATE TABLE rollup_model_monthly (
    bucket         timestamptz      NOT NULL,
    benchmark_id   uuid             NOT NULL,
    model_id       uuid             NOT NULL,
    n              bigint           NOT NULL,
    failed         bigint           NOT NULL,
    mean_score     double precision,
    latency_p50_ms double precision,
    latency_p95_ms double precision,
    ttft_p50_ms    double precision,
    tokens_per_s   double precision,
    input_tokens   bigint           NOT NULL,
    output_tokens  bigint           NOT NULL,
    cost_usd       double precision NOT NULL,
    PRIMARY KEY (benchmark_id, model_id, bucket)
);

-- The figures of every rollup, in one place for both paths. Column order
-- matches the tables above after their key columns.
-- +goose StatementBegin
CREATE FUNCTION sabe_rollup_figures() RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
SELECT $sql$
    count(*) FILTER (WHERE status IN ('succeeded', 'failed'))::bigint AS n,
    count(*) FILTER (WHERE status = 'failed')::bigint AS failed,
    avg(coalesce(score, 0)) FILTER (WHERE status IN ('succeeded', 'failed')) AS mean_score,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'succeeded') AS latency_p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status = 'succeeded') AS latency_p95_ms,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms) FILTER (WHERE status = 'succeeded') AS ttft_p50_ms,
    avg(output_tokens_per_s) FILTER (WHERE status = 'succeeded') AS tokens_per_s,
    coalesce(sum(input_tokens), 0)::bigint AS input_tokens,
    coalesce(sum(output_tokens), 0)::bigint AS output_tokens,
    coalesce(sum(cost_usd), 0)::double precision AS cost_usd
$sql$
$fn$;
-- +goose StatementEnd

-- The rollups: name, bucket width, whether they are per category.
-- +goose StatementBegin
CREATE FUNCTION sabe_rollups() RETURNS TABLE (name text, width interval, per_category boolean)
LANGUAGE sql IMMUTABLE AS $fn$
VALUES ('rollup_category_daily', INTERVAL '1 day', true),
       ('rollup_category_weekly', INTERVAL '7 days', true),
       ('rollup_category_monthly', INTERVAL '1 month', true),
       ('rollup_model_daily', INTERVAL '1 day', false),
       ('rollup_model_weekly', INTERVAL '7 days', false),
       ('rollup_model_monthly', INTERVAL '1 month', false)
$fn$;
-- +goose StatementEnd

-- The start of the bucket of width w that holds t, as time_bucket cuts it:
-- months from the first of the month, days and weeks from 2000-01-03 UTC.
-- +goose StatementBegin
CREATE FUNCTION sabe_bucket(w interval, t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE WHEN extract(month FROM w) <> 0 OR extract(year FROM w) <> 0
            THEN date_trunc('month', t, 'UTC')
            ELSE date_bin(w, t, TIMESTAMPTZ '2000-01-03 00:00:00+00') END
$fn$;
-- +goose StatementEnd

-- Runs whose buckets need refreshing: written by Finalize in the run's
-- own transaction, consumed by the maintenance task.
CREATE TABLE rollup_invalidations (
    run_id         uuid        PRIMARY KEY,
    benchmark_id   uuid        NOT NULL,
    run_created_at timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Whether the rollups are TimescaleDB continuous aggregates.
-- +goose StatementBegin
CREATE FUNCTION sabe_timescaledb() RETURNS boolean LANGUAGE sql STABLE AS $fn$
SELECT EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = 'rollup_model_daily' AND c.relkind = 'v'
               AND c.relnamespace = current_schema()::regnamespace)
$fn$;
-- +goose StatementEnd

-- Recomputes, on plain PostgreSQL, one bucket of one rollup for one
-- benchmark: delete it and insert it again from the executions. With
-- TimescaleDB it does nothing: the store refreshes the continuous
-- aggregates, which cannot be refreshed from inside a function.
-- +goose StatementBegin
CREATE FUNCTION sabe_refresh_rollup(p_name text, p_benchmark uuid, p_bucket timestamptz) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    r record;
BEGIN
    IF sabe_timescaledb() THEN
        RETURN;
    END IF;
    SELECT * INTO STRICT r FROM sabe_rollups() x WHERE x.name = p_name;
    EXECUTE format('DELETE FROM %I WHERE benchmark_id = $1 AND bucket = $2', r.name) USING p_benchmark, p_bucket;
    EXECUTE format(
        'INSERT INTO %I SELECT sabe_bucket(%L::interval, run_created_at) AS bucket, benchmark_id, model_id%s, %s '
        'FROM executions WHERE benchmark_id = $1 AND run_created_at >= $2 AND run_created_at < $3 '
        'GROUP BY 1, benchmark_id, model_id%s',
        r.name, r.width, CASE WHEN r.per_category THEN ', category' ELSE '' END, sabe_rollup_figures(),
        CASE WHEN r.per_category THEN ', category' ELSE '' END)
    USING p_benchmark, p_bucket, p_bucket + r.width;
END
$fn$;
-- +goose StatementEnd

-- Per (benchmark, week or month, model, question revision) tallies of the
-- finished runs created in the bucket, added by Finalize from the run's
-- outcomes in its own transaction (so once per run). Compare and
-- leaderboard read these instead of scanning outcomes. Kept by retention,
-- like the outcomes.
CREATE TABLE question_stats (
    benchmark_id         uuid             NOT NULL,
    period               text             NOT NULL CHECK (period IN ('week', 'month')),
    bucket               timestamptz      NOT NULL,
    model_id             uuid             NOT NULL,
    question_revision_id uuid             NOT NULL,
    question_id          uuid             NOT NULL,
    revision             int              NOT NULL,
    category             text             NOT NULL,
    runs                 int              NOT NULL,
    n                    int              NOT NULL,
    correct              int              NOT NULL,
    failed               int              NOT NULL,
    latency_sum_ms       double precision NOT NULL,
    latency_n            int              NOT NULL,
    cost_usd             double precision NOT NULL,
    PRIMARY KEY (benchmark_id, period, bucket, model_id, question_revision_id)
);

-- Comparisons and leaderboards read every row of a bucket: a covering
-- index lets them read it in index order without visiting the heap,
-- whose rows of one bucket are scattered among the weeks' updates.
CREATE INDEX question_stats_read_idx ON question_stats (benchmark_id, period, bucket, model_id, question_revision_id)
    INCLUDE (question_id, revision, category, runs, n, correct, failed, latency_sum_ms, latency_n, cost_usd);

INSERT INTO question_stats (benchmark_id, period, bucket, model_id, question_revision_id, question_id, revision, category,
                            runs, n, correct, failed, latency_sum_ms, latency_n, cost_usd)
SELECT o.benchmark_id, p.period, sabe_bucket(p.width, o.run_created_at), o.model_id, o.question_revision_id,
       o.question_id, qr.revision, o.category, count(*), sum(o.succeeded + o.failed), sum(o.correct), sum(o.failed),
       coalesce(sum(o.mean_latency_ms * o.succeeded) FILTER (WHERE o.mean_latency_ms IS NOT NULL), 0),
       coalesce(sum(o.succeeded) FILTER (WHERE o.mean_latency_ms IS NOT NULL), 0), sum(o.cost_usd)
FROM outcomes o
JOIN runs r ON r.id = o.run_id AND r.status IN ('completed', 'partial')
JOIN question_revisions qr ON qr.id = o.question_revision_id
CROSS JOIN (VALUES ('week', INTERVAL '7 days'), ('month', INTERVAL '1 month')) AS p(period, width)
WHERE o.succeeded + o.failed > 0
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

-- The newest finished runs of a benchmark, for leaderboards and drift.
CREATE INDEX runs_benchmark_finished_idx ON runs (benchmark_id, created_at DESC)
    WHERE status IN ('completed', 'partial');

-- Rankings carry their statistics: the score's interval is a percentile
-- bootstrap over questions, std_error the standard error of the mean over
-- questions, the rank band the positions the intervals allow, pass_at_k
-- the unbiased pass@k estimates when the run sampled more than once.
ALTER TABLE rankings
    ADD COLUMN questions int NOT NULL DEFAULT 0,
    ADD COLUMN std_error double precision NOT NULL DEFAULT 0,
    ADD COLUMN rank_low int NOT NULL DEFAULT 0,
    ADD COLUMN rank_high int NOT NULL DEFAULT 0,
    ADD COLUMN pass_at_k jsonb NOT NULL DEFAULT '[]';
UPDATE rankings SET rank_low = position, rank_high = position;

-- Plain PostgreSQL: fill the rollups from what is already recorded.
-- +goose StatementBegin
DO $do$
DECLARE
    b record;
BEGIN
    FOR b IN SELECT DISTINCT r.name, e.benchmark_id, sabe_bucket(r.width, e.run_created_at) AS bucket
             FROM executions e CROSS JOIN sabe_rollups() r LOOP
        PERFORM sabe_refresh_rollup(b.name, b.benchmark_id, b.bucket);
    END LOOP;
END
$do$;
-- +goose StatementEnd

-- TimescaleDB, where the extension is installed AND preloaded (and the
-- migrating session did not set sabe.timescaledb to off): a failed
-- CREATE EXTENSION of a library that is not in shared_preload_libraries
-- ends the connection, so both are checked before trying. Executions and
-- evaluations become hypertables on run_created_at (their keys include it,
-- as hypertables' unique indexes must), the rollup tables become
-- continuous aggregates with the same names and columns, and chunks older
-- than 30 days are compressed. Retention is the maintenance task's
-- (SABE_RETENTION), by drop_chunks; refreshes are the maintenance task's
-- too, for the buckets of finished runs (see rollup_invalidations). There
-- is deliberately no refresh policy: a policy refreshing a window whose raw
-- chunks retention dropped would empty those buckets, while refreshing only
-- the buckets of newly finished runs keeps old buckets as they were.
-- +goose StatementBegin
DO $do$
DECLARE
    r record;
    cols text;
BEGIN
    IF coalesce(current_setting('sabe.timescaledb', true), '') = 'off' THEN
        RAISE NOTICE 'sabe.timescaledb is off: rollups stay plain tables';
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       OR current_setting('shared_preload_libraries', true) IS NULL
       OR current_setting('shared_preload_libraries', true) !~ '(^|[ ,])timescaledb([ ,]|$)' THEN
        RAISE NOTICE 'timescaledb is not installed and preloaded: rollups stay plain tables';
        RETURN;
    END IF;
    CREATE EXTENSION IF NOT EXISTS timescaledb;
    PERFORM create_hypertable('executions', 'run_created_at', chunk_time_interval => INTERVAL '7 days', migrate_data => true);
    PERFORM create_hypertable('evaluations', 'run_created_at', chunk_time_interval => INTERVAL '7 days', migrate_data => true);
    FOR r IN SELECT * FROM sabe_rollups() LOOP
        cols := CASE WHEN r.per_category THEN ', category' ELSE '' END;
        EXECUTE format('DROP TABLE %I', r.name);
        EXECUTE format(
            'CREATE MATERIALIZED VIEW %I WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS '
            'SELECT time_bucket(%L::interval, run_created_at) AS bucket, benchmark_id, model_id%s, %s '
            'FROM executions GROUP BY 1, benchmark_id, model_id%s WITH NO DATA',
            r.name, r.width, cols, sabe_rollup_figures(), cols);
        EXECUTE format('CREATE INDEX ON %I (benchmark_id, model_id%s, bucket)', r.name, cols);
    END LOOP;
    ALTER TABLE executions SET (timescaledb.compress, timescaledb.compress_segmentby = 'benchmark_id, model_id',
                                timescaledb.compress_orderby = 'run_created_at DESC, run_id, question_id, sample');
    ALTER TABLE evaluations SET (timescaledb.compress, timescaledb.compress_segmentby = 'model_id',
                                 timescaledb.compress_orderby = 'run_created_at DESC, run_id, question_id, sample, scorer');
    PERFORM add_compression_policy('executions', INTERVAL '30 days');
    PERFORM add_compression_policy('evaluations', INTERVAL '30 days');
END
$do$;
-- +goose StatementEnd

-- Drops, with TimescaleDB, the chunks of executions and evaluations wholly
-- older than cutoff and returns how many; on plain PostgreSQL returns 0
-- (retention deletes rows in batches there).
-- +goose StatementBegin
CREATE FUNCTION sabe_drop_chunks(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    n bigint := 0;
    m bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN 0;
    END IF;
    EXECUTE 'SELECT count(*) FROM drop_chunks(''evaluations'', older_than => $1)' INTO m USING cutoff;
    n := n + m;
    EXECUTE 'SELECT count(*) FROM drop_chunks(''executions'', older_than => $1)' INTO m USING cutoff;
    RETURN n + m;
END
$fn$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $do$
DECLARE
    r record;
    -- Asked once: sabe_timescaledb() looks at rollup_model_daily, which
    -- the loop drops before the weekly and monthly ones.
    timescale boolean := sabe_timescaledb();
BEGIN
    FOR r IN SELECT * FROM sabe_rollups() LOOP
        IF timescale THEN
            EXECUTE format('DROP MATERIALIZED VIEW %I', r.name);
        ELSE
            EXECUTE format('DROP TABLE %I', r.name);
        END IF;
    END LOOP;
END
$do$;
-- +goose StatementEnd
DROP FUNCTION sabe_drop_chunks(timestamptz);
ALTER TABLE rankings DROP COLUMN questions, DROP COLUMN std_error, DROP COLUMN rank_low, DROP COLUMN rank_high,
    DROP COLUMN pass_at_k;
DROP INDEX runs_benchmark_finished_idx;
DROP TABLE question_stats;
DROP FUNCTION sabe_refresh_rollup(text, uuid, timestamptz);
DROP FUNCTION sabe_timescaledb();
DROP TABLE rollup_invalidations;
DROP FUNCTION sabe_bucket(interval, timestamptz);
DROP FUNCTION sabe_rollups();
DROP FUNCTION sabe_rollup_figures();
ALTER TABLE executions DROP COLUMN score, DROP COLUMN passed;
