-- +goose Up

-- One rule for which units the analytics count, the rule comparisons,
-- leaderboards and drift already followed (question_stats and the latest
-- runs hold completed and partial runs only): the units of runs that
-- finished completed or partial, answered or failed for good. The rollups
-- behind the time series counted every execution whatever its run, so a
-- cancelled run (or a run still going when its bucket was refreshed)
-- showed up in the time series and nowhere else. They now join the run
-- and keep only those two statuses.

-- The figures name their columns through the alias e, since runs has
-- columns of the same names (status, cost_usd, input_tokens, ...).
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

-- The rows every rollup is computed from, in one place for both paths:
-- the executions of runs that finished completed or partial. TimescaleDB
-- (2.10 and later) allows this join in a continuous aggregate; a change of
-- a run's status does not invalidate it, which is why the store refreshes
-- the buckets of each finished run with force.
-- +goose StatementBegin
CREATE FUNCTION sabe_rollup_source() RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
SELECT $sql$executions e JOIN runs r ON r.id = e.run_id WHERE r.status IN ('completed', 'partial')$sql$
$fn$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sabe_refresh_rollup(p_name text, p_benchmark uuid, p_bucket timestamptz) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    r record;
    cols text;
BEGIN
    IF sabe_timescaledb() THEN
        RETURN;
    END IF;
    SELECT * INTO STRICT r FROM sabe_rollups() x WHERE x.name = p_name;
    cols := CASE WHEN r.per_category THEN ', e.category' ELSE '' END;
    EXECUTE format('DELETE FROM %I WHERE benchmark_id = $1 AND bucket = $2', r.name) USING p_benchmark, p_bucket;
    EXECUTE format(
        'INSERT INTO %I SELECT sabe_bucket(%L::interval, e.run_created_at) AS bucket, e.benchmark_id, e.model_id%s, %s '
        'FROM %s AND e.benchmark_id = $1 AND e.run_created_at >= $2 AND e.run_created_at < $3 '
        'GROUP BY 1, e.benchmark_id, e.model_id%s',
        r.name, r.width, cols, sabe_rollup_figures(), sabe_rollup_source(), cols)
    USING p_benchmark, p_bucket, p_bucket + r.width;
END
$fn$;
-- +goose StatementEnd

-- Rebuilds the rollups after their definition changed. With TimescaleDB
-- a continuous aggregate's query cannot be altered: each is dropped and
-- created again from sabe_rollup_figures() and sabe_rollup_source(), empty,
-- and every finished run whose executions are still kept is queued for the
-- maintenance task's refresh (a refresh cannot run in a migration's
-- transaction). Buckets whose executions retention already dropped cannot
-- be rebuilt and stay empty. On plain PostgreSQL the tables stay: only the
-- runs the rule leaves out (neither completed nor partial) are queued, so
-- the buckets they counted in are recomputed.
-- +goose StatementBegin
CREATE FUNCTION sabe_rebuild_rollups() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    r record;
    cols text;
    timescale boolean := sabe_timescaledb();
BEGIN
    IF timescale THEN
        FOR r IN SELECT * FROM sabe_rollups() LOOP
            cols := CASE WHEN r.per_category THEN ', e.category' ELSE '' END;
            EXECUTE format('DROP MATERIALIZED VIEW %I', r.name);
            EXECUTE format(
                'CREATE MATERIALIZED VIEW %I WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS '
                'SELECT time_bucket(%L::interval, e.run_created_at) AS bucket, e.benchmark_id, e.model_id%s, %s '
                'FROM %s GROUP BY 1, e.benchmark_id, e.model_id%s WITH NO DATA',
                r.name, r.width, cols, sabe_rollup_figures(), sabe_rollup_source(), cols);
            EXECUTE format('CREATE INDEX ON %I (benchmark_id, model_id%s, bucket)', r.name,
                           CASE WHEN r.per_category THEN ', category' ELSE '' END);
        END LOOP;
    END IF;
    INSERT INTO rollup_invalidations (run_id, benchmark_id, run_created_at)
    SELECT u.id, u.benchmark_id, u.created_at FROM runs u
    WHERE u.finished_at IS NOT NULL AND (timescale OR u.status NOT IN ('completed', 'partial'))
      AND EXISTS (SELECT 1 FROM executions x WHERE x.run_created_at = u.created_at AND x.run_id = u.id)
    ON CONFLICT DO NOTHING;
END
$fn$;
-- +goose StatementEnd

SELECT sabe_rebuild_rollups();

-- +goose Down

-- The definitions of 00007_timeseries.sql: every execution counts.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sabe_rollup_figures() RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
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

-- The rebuild reads the source through the alias e; the old figures need
-- no alias, so every execution, under e, is the old source.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sabe_rollup_source() RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
SELECT $sql$executions e WHERE true$sql$
$fn$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sabe_refresh_rollup(p_name text, p_benchmark uuid, p_bucket timestamptz) RETURNS void
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

SELECT sabe_rebuild_rollups();
DROP FUNCTION sabe_rebuild_rollups();
DROP FUNCTION sabe_rollup_source();
