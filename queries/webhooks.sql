-- The webhooks management API (issue 17): webhooks, their deliveries as
-- the API lists them, and the deliveries the API itself makes (a test
-- event, a redelivery). The delivery engine's queries are in deliveries.sql.

-- name: CreateWebhook :one
INSERT INTO webhooks (id, name, url, events, benchmark_ids, format, enabled,
                      secret_prefix, secret_key_id, secret_ciphertext,
                      created_by_token_id, created_at, updated_at)
VALUES (sqlc.arg(id), sqlc.arg(name), sqlc.arg(url), sqlc.arg(events)::text[], sqlc.arg(benchmark_ids)::uuid[],
        sqlc.arg(format), sqlc.arg(enabled), sqlc.arg(secret_prefix), sqlc.arg(secret_key_id),
        sqlc.arg(secret_ciphertext), sqlc.narg(created_by_token_id), sqlc.arg(now), sqlc.arg(now))
RETURNING *;

-- name: GetWebhook :one
SELECT * FROM webhooks WHERE id = $1;

-- name: GetWebhookForUpdate :one
-- A test or a redelivery reads the webhook under its lock, so a PATCH
-- that disables it at the same moment is either before (409) or after.
SELECT * FROM webhooks WHERE id = $1 FOR UPDATE;

-- name: ListWebhooks :many
-- Ids are UUIDv7: id order is creation order.
SELECT * FROM webhooks
WHERE sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(lim);

-- name: UpdateWebhook :one
-- Enabling a webhook that was disabled clears why and since when it was,
-- and its failure count; disabling it by hand records when, with no
-- reason (a reason is SABE's own disable).
UPDATE webhooks SET
    name                 = coalesce(sqlc.narg(name), name),
    url                  = coalesce(sqlc.narg(url), url),
    events               = CASE WHEN sqlc.arg(set_events)::bool THEN sqlc.arg(events)::text[] ELSE events END,
    benchmark_ids        = CASE WHEN sqlc.arg(set_benchmark_ids)::bool THEN sqlc.arg(benchmark_ids)::uuid[] ELSE benchmark_ids END,
    format               = coalesce(sqlc.narg(format), format),
    enabled              = coalesce(sqlc.narg(enabled)::bool, enabled),
    disabled_reason      = CASE WHEN sqlc.narg(enabled)::bool AND NOT enabled THEN NULL ELSE disabled_reason END,
    disabled_at          = CASE WHEN sqlc.narg(enabled)::bool AND NOT enabled THEN NULL
                                WHEN NOT sqlc.narg(enabled)::bool AND enabled THEN sqlc.arg(now)::timestamptz
                                ELSE disabled_at END,
    consecutive_failures = CASE WHEN sqlc.narg(enabled)::bool AND NOT enabled THEN 0 ELSE consecutive_failures END,
    updated_at           = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: DeleteWebhook :execrows
DELETE FROM webhooks WHERE id = $1;

-- name: RotateWebhookSecret :one
-- The current secret becomes the previous one, which keeps signing beside
-- the new one until previous_expires_at; a previous secret from an earlier
-- rotation is dropped.
UPDATE webhooks SET
    previous_secret_key_id     = secret_key_id,
    previous_secret_ciphertext = secret_ciphertext,
    previous_secret_expires_at = sqlc.arg(previous_expires_at)::timestamptz,
    secret_prefix              = sqlc.arg(secret_prefix),
    secret_key_id              = sqlc.arg(secret_key_id),
    secret_ciphertext          = sqlc.arg(secret_ciphertext),
    updated_at                 = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: ExistingBenchmarkIDs :many
-- Which of ids are benchmarks (archived ones included).
SELECT id FROM benchmarks WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: ListWebhookDeliveries :many
-- Newest first, keyed by (created_at, id) after the cursor.
SELECT * FROM webhook_deliveries
WHERE webhook_id = sqlc.arg(webhook_id)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(event_type)::text IS NULL OR event_type = sqlc.narg(event_type)::text)
  AND (NOT sqlc.arg(has_cursor)::bool
       OR (created_at, id) < (sqlc.arg(before_time)::timestamptz, sqlc.arg(before_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(lim);

-- name: GetWebhookDelivery :one
-- A delivery of another webhook is not found.
SELECT * FROM webhook_deliveries WHERE id = sqlc.arg(id) AND webhook_id = sqlc.arg(webhook_id);

-- name: ListWebhookAttempts :many
SELECT * FROM webhook_attempts
WHERE delivery_id = ANY(sqlc.arg(delivery_ids)::uuid[])
ORDER BY delivery_id, attempt;

-- name: InsertWebhookTestEvent :exec
-- The event of POST /v1/webhooks/{id}/test: dispatched already, since the
-- API writes its one delivery itself.
INSERT INTO events (id, type, occurred_at, benchmark_id, dedup_key, payload, dispatched_at)
VALUES (sqlc.arg(id), sqlc.arg(type), sqlc.arg(now)::timestamptz, NULL, sqlc.arg(dedup_key), sqlc.arg(payload),
        sqlc.arg(now)::timestamptz);

-- name: InsertWebhookDelivery :one
-- A pending delivery the API makes (a test, a redelivery), due at once.
INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, redelivery_of, status, next_attempt_at, created_at)
VALUES (sqlc.arg(id), sqlc.arg(webhook_id), sqlc.arg(event_id), sqlc.arg(event_type), sqlc.narg(redelivery_of),
        'pending', sqlc.arg(now)::timestamptz, sqlc.arg(now)::timestamptz)
RETURNING *;
