-- +goose Up

-- Every run is charged to a budget when it is created, whatever created
-- it. charged_token_id is the token whose daily budgets (units, money) a
-- run counts against: the caller of POST /v1/benchmarks/{id}/runs, or,
-- for a scheduled run, the token that last set the schedule. NULL for a
-- scheduled run charged to its benchmark's admin budget instead. No
-- foreign key: a run outlives a deleted token, and its spend still
-- counted on the day it was made.
ALTER TABLE runs ADD COLUMN charged_token_id uuid;
CREATE INDEX runs_charged_token_idx ON runs (charged_token_id, created_at) WHERE charged_token_id IS NOT NULL;
CREATE INDEX runs_benchmark_created_idx ON runs (benchmark_id, created_at);

-- schedule_token_id records which token last set the schedule (its id,
-- never the secret): the scheduler charges the schedule's runs to it.
-- budget_max_cost_usd_month is a spend budget in US dollars per UTC
-- calendar month for every run of the benchmark, set by an admin; when
-- set, scheduled runs are charged to it instead of to a token.
-- run_serial is bumped by every run creation: the update makes two
-- concurrent creations for one benchmark conflict (one is retried and
-- sees the other's run), so budgets and the in-flight cap cannot be
-- overrun by a race.
ALTER TABLE benchmarks
    ADD COLUMN schedule_token_id         uuid,
    ADD COLUMN budget_max_cost_usd_month double precision CHECK (budget_max_cost_usd_month >= 0),
    ADD COLUMN run_serial                bigint NOT NULL DEFAULT 0;

-- spend_serial plays run_serial's part for a token's daily budgets.
ALTER TABLE api_tokens ADD COLUMN spend_serial bigint NOT NULL DEFAULT 0;

-- What each run holds of the budgets it counts against, in US dollars:
-- a finished run what it cost; an unfinished one its spend cap, or what
-- it has recorded so far when it has none (the workers stop a run at its
-- cap, so the cap is the most it can still come to).
CREATE VIEW run_commitments AS
SELECT r.id, r.benchmark_id, r.charged_token_id, r.created_at, r.finished_at, r.total_units,
    CASE
        WHEN r.finished_at IS NOT NULL THEN r.cost_usd
        WHEN r.max_cost_usd IS NOT NULL THEN r.max_cost_usd
        ELSE (SELECT coalesce(sum(e.cost_usd), 0) FROM executions e WHERE e.run_created_at = r.created_at AND e.run_id = r.id)
    END::double precision AS committed_usd
FROM runs r;

-- +goose Down
DROP VIEW run_commitments;
ALTER TABLE api_tokens DROP COLUMN spend_serial;
ALTER TABLE benchmarks DROP COLUMN run_serial, DROP COLUMN budget_max_cost_usd_month, DROP COLUMN schedule_token_id;
DROP INDEX runs_benchmark_created_idx;
DROP INDEX runs_charged_token_idx;
ALTER TABLE runs DROP COLUMN charged_token_id;
