-- name: InsertAudit :exec
INSERT INTO audit_log (id, time, token_id, token_name, action, resource_type, resource_id, outcome, reason,
                       source_ip, user_agent, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: InsertAuditRows :copyfrom
INSERT INTO audit_log (id, time, token_id, token_name, action, resource_type, resource_id, outcome, reason,
                       source_ip, user_agent, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: ListAudit :many
-- Newest first; the cursor is the (time, id) of the last row of the
-- previous page. from_time is inclusive, to_time exclusive.
SELECT * FROM audit_log
WHERE (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action)::text)
  AND (sqlc.narg(resource_type)::text IS NULL OR resource_type = sqlc.narg(resource_type)::text)
  AND (sqlc.narg(resource_id)::text IS NULL OR resource_id = sqlc.narg(resource_id)::text)
  AND (sqlc.narg(token_id)::uuid IS NULL OR token_id = sqlc.narg(token_id)::uuid)
  AND (sqlc.narg(outcome)::text IS NULL OR outcome = sqlc.narg(outcome)::text)
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR time >= sqlc.narg(from_time)::timestamptz)
  AND (sqlc.narg(to_time)::timestamptz IS NULL OR time < sqlc.narg(to_time)::timestamptz)
  AND (NOT sqlc.arg(has_cursor)::bool
       OR (time, id) < (sqlc.arg(before_time)::timestamptz, sqlc.arg(before_id)::uuid))
ORDER BY time DESC, id DESC
LIMIT sqlc.arg(lim);

-- name: AllowAuditRetention :exec
-- Transaction-local: the append-only trigger lets this transaction delete
-- rows older than the cutoff, and nothing else.
SELECT set_config('sabe.audit_retention_before', sqlc.arg(cutoff)::text, true);

-- name: DeleteAuditBefore :execrows
DELETE FROM audit_log
WHERE id IN (SELECT id FROM audit_log WHERE time < sqlc.arg(cutoff)::timestamptz ORDER BY time LIMIT sqlc.arg(lim));
