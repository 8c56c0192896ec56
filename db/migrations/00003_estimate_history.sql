-- +goose NO TRANSACTION
-- +goose Up

-- The spend estimate reads each model's recent output token counts: the
-- newest succeeded executions of one model, newest first. Without this index
-- that is a scan of the whole executions table per model. output_tokens is
-- included so the read never visits the table; executions without usage
-- (output_tokens 0) are left out, as they say nothing about answer length.
-- Built concurrently so that workers keep recording executions meanwhile;
-- the DROP clears an invalid index left by an interrupted earlier attempt.
DROP INDEX CONCURRENTLY IF EXISTS executions_model_recent_idx;
CREATE INDEX CONCURRENTLY executions_model_recent_idx
    ON executions (model_id, run_created_at DESC) INCLUDE (output_tokens)
    WHERE status = 'succeeded' AND output_tokens > 0;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS executions_model_recent_idx;
