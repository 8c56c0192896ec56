-- +goose Up

-- Each model's median time to first token in a run, kept with the run's
-- overall ranking (category '') when the run is finalized or recomputed,
-- like its mean latency: a ranking must read the same after retention
-- has deleted the run's units. NULL when none of the model's answers
-- streamed, and in the per-category rankings.
ALTER TABLE rankings ADD COLUMN ttft_p50_ms double precision;

-- Rankings written before this column: their runs' units, where retention
-- has not deleted them yet.
UPDATE rankings rk
SET ttft_p50_ms = t.p50
FROM (
    SELECT e.run_id, e.model_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY e.ttft_ms) AS p50
    FROM executions e
    WHERE e.status = 'succeeded' AND e.ttft_ms IS NOT NULL
    GROUP BY e.run_id, e.model_id
) t
WHERE rk.category = '' AND rk.run_id = t.run_id AND rk.model_id = t.model_id;

-- +goose Down
ALTER TABLE rankings DROP COLUMN ttft_p50_ms;
