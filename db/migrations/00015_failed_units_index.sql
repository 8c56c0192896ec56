-- +goose Up

-- The run page lists a run's failed units (GET /v1/runs/{id}/results?status=failed).
-- Without this index that reads every execution of the run (20,000 rows,
-- 800 heap pages for a run of 4 models x 2,500 questions x 2 samples) to
-- find a few dozen: 345 ms with a cold cache against the 1,000,000-execution
-- history, 0.3 ms with it. Only failed executions are indexed, so recording
-- the others costs nothing more. In the key order of the results pages, so
-- the page is read from the index in order.
--
-- Built in the migration's transaction, not CONCURRENTLY: executions is a
-- hypertable on TimescaleDB, which refuses concurrent index builds. A build
-- reads the whole table once (under a second for a million executions here)
-- and holds off writes to executions meanwhile.
CREATE INDEX IF NOT EXISTS executions_failed_idx
    ON executions (run_created_at, run_id, model_id, question_id, sample)
    WHERE status = 'failed';

-- +goose Down
DROP INDEX IF EXISTS executions_failed_idx;
