-- +goose Up

-- One compact row per (run, model, question), written when the run is
-- finalized, in the same transaction as its rankings. Retention deletes
-- the raw executions and evaluations of old runs; these rows and the
-- rankings stay, so comparisons and drift over old periods still work.
-- run_created_at is the executions' time column, kept for time-bucketed
-- queries (and a later hypertable).
CREATE TABLE outcomes (
    run_id               uuid             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model_id             uuid             NOT NULL,
    question_id          uuid             NOT NULL,
    run_created_at       timestamptz      NOT NULL,
    benchmark_id         uuid             NOT NULL,
    question_revision_id uuid             NOT NULL,
    category             text             NOT NULL,
    -- samples counts every recorded unit; failed, cancelled and skipped
    -- say how many of them produced no answer.
    samples              int              NOT NULL,
    succeeded            int              NOT NULL,
    correct              int              NOT NULL,
    failed               int              NOT NULL,
    skipped              int              NOT NULL,
    cancelled            int              NOT NULL,
    mean_latency_ms      double precision,
    cost_usd             double precision NOT NULL,
    PRIMARY KEY (run_id, model_id, question_id)
);
CREATE INDEX outcomes_model_time_idx ON outcomes (model_id, run_created_at);
CREATE INDEX outcomes_question_time_idx ON outcomes (question_id, run_created_at);

-- Runs finished before this migration get their outcomes now, so that
-- retention never removes the only record of them.
INSERT INTO outcomes (run_id, model_id, question_id, run_created_at, benchmark_id, question_revision_id, category,
                      samples, succeeded, correct, failed, skipped, cancelled, mean_latency_ms, cost_usd)
SELECT e.run_id, e.model_id, e.question_id, e.run_created_at, e.benchmark_id, e.question_revision_id, e.category,
       count(*), count(*) FILTER (WHERE e.status = 'succeeded'), count(*) FILTER (WHERE ev.passed),
       count(*) FILTER (WHERE e.status = 'failed'), count(*) FILTER (WHERE e.status = 'skipped'),
       count(*) FILTER (WHERE e.status = 'cancelled'),
       avg(e.latency_ms) FILTER (WHERE e.status = 'succeeded'), coalesce(sum(e.cost_usd), 0)
FROM executions e
JOIN runs r ON r.id = e.run_id AND r.finished_at IS NOT NULL
LEFT JOIN evaluations ev
    ON ev.run_created_at = e.run_created_at AND ev.run_id = e.run_id AND ev.model_id = e.model_id
   AND ev.question_id = e.question_id AND ev.sample = e.sample
GROUP BY e.run_id, e.model_id, e.question_id, e.run_created_at, e.benchmark_id, e.question_revision_id, e.category
ON CONFLICT DO NOTHING;

-- +goose Down
DROP TABLE outcomes;
