-- name: TakeUndispatchedEvents :many
-- The oldest undispatched events, locked for this dispatch: a dispatch
-- running at the same time takes the next ones (SKIP LOCKED).
SELECT id, type, occurred_at, benchmark_id
FROM events
WHERE dispatched_at IS NULL
ORDER BY occurred_at, id
LIMIT sqlc.arg(lim)
FOR UPDATE SKIP LOCKED;

-- name: MatchEventWebhooks :many
-- The webhooks each of the given events goes to: enabled, subscribed to
-- its type, there when it occurred (a webhook is not sent what happened
-- before it existed), and either filtering no benchmark, or holding the
-- event's (an event about no benchmark goes to every filter). webhook.test
-- events are the API's own: it writes their one delivery itself.
SELECT e.id AS event_id, e.type AS event_type, w.id AS webhook_id
FROM events e
JOIN webhooks w
  ON w.enabled
 AND e.type = ANY (w.events)
 AND w.created_at <= e.occurred_at
 AND (cardinality(w.benchmark_ids) = 0 OR e.benchmark_id IS NULL OR e.benchmark_id = ANY (w.benchmark_ids))
WHERE e.id = ANY (sqlc.arg(event_ids)::uuid[])
  AND e.type <> 'webhook.test'
ORDER BY e.occurred_at, e.id, w.id;

-- name: InsertFirstDeliveries :many
-- One pending delivery per (webhook, event); a second dispatch of the
-- same pair writes nothing. Returns the deliveries it wrote.
INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
SELECT unnest(sqlc.arg(ids)::uuid[]), unnest(sqlc.arg(webhook_ids)::uuid[]), unnest(sqlc.arg(event_ids)::uuid[]),
       unnest(sqlc.arg(event_types)::text[]), 'pending', 0, sqlc.arg(now)::timestamptz, sqlc.arg(now)::timestamptz
ON CONFLICT (webhook_id, event_id) WHERE redelivery_of IS NULL DO NOTHING
RETURNING id;

-- name: MarkEventsDispatched :exec
UPDATE events SET dispatched_at = sqlc.arg(now)::timestamptz
WHERE id = ANY (sqlc.arg(ids)::uuid[]) AND dispatched_at IS NULL;

-- name: DeliveryToSend :one
-- A delivery with its event and its webhook, sealed secrets included: all
-- the deliver task needs for one attempt.
SELECT d.id, d.status, d.attempts, d.created_at, d.next_attempt_at,
       e.id AS event_id, e.type AS event_type, e.occurred_at, e.benchmark_id, e.payload,
       w.id AS webhook_id, w.url, w.format, w.enabled, w.disabled_reason,
       w.secret_key_id, w.secret_ciphertext,
       w.previous_secret_key_id, w.previous_secret_ciphertext, w.previous_secret_expires_at
FROM webhook_deliveries d
JOIN events e ON e.id = d.event_id
JOIN webhooks w ON w.id = d.webhook_id
WHERE d.id = sqlc.arg(id);

-- name: CancelDelivery :execrows
-- Ends a pending delivery without an attempt (its webhook is disabled).
UPDATE webhook_deliveries
SET status = 'cancelled', next_attempt_at = NULL, finished_at = sqlc.arg(now)::timestamptz, last_error = sqlc.arg(reason)::text
WHERE id = sqlc.arg(id) AND status = 'pending';

-- name: FinishAttempt :execrows
-- Counts attempt on a delivery that is still pending and has recorded
-- every attempt before it, and nothing after: a task re-run after a
-- crash, or a second task for the same attempt, changes nothing (0 rows).
UPDATE webhook_deliveries
SET attempts = sqlc.arg(attempt)::int,
    status = sqlc.arg(status)::text,
    next_attempt_at = sqlc.narg(next_attempt_at)::timestamptz,
    finished_at = sqlc.narg(finished_at)::timestamptz,
    last_error = sqlc.narg(last_error)::text
WHERE id = sqlc.arg(id) AND status = 'pending' AND attempts = sqlc.arg(attempt)::int - 1;

-- name: InsertAttempt :exec
INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error, response_excerpt)
VALUES (sqlc.arg(delivery_id), sqlc.arg(attempt), sqlc.arg(started_at), sqlc.narg(status_code), sqlc.arg(latency_ms),
        sqlc.narg(error), sqlc.arg(response_excerpt));

-- name: WebhookSucceeded :exec
UPDATE webhooks
SET consecutive_failures = 0, last_delivery_at = sqlc.arg(now)::timestamptz, last_success_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id);

-- name: WebhookFailed :one
-- Counts a failed attempt against the webhook, and returns the count and
-- whether it is still enabled (it may be disabled already).
UPDATE webhooks
SET consecutive_failures = consecutive_failures + 1, last_delivery_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id)
RETURNING consecutive_failures, enabled;

-- name: DisableWebhookForFailures :execrows
UPDATE webhooks
SET enabled = false, disabled_reason = sqlc.arg(reason)::text, disabled_at = sqlc.arg(now)::timestamptz,
    updated_at = sqlc.arg(now)::timestamptz
WHERE id = sqlc.arg(id) AND enabled;

-- name: CancelWebhookDeliveries :execrows
-- Cancels every pending delivery of a webhook (it was disabled).
UPDATE webhook_deliveries
SET status = 'cancelled', next_attempt_at = NULL, finished_at = sqlc.arg(now)::timestamptz, last_error = sqlc.arg(reason)::text
WHERE webhook_id = sqlc.arg(webhook_id) AND status = 'pending';

-- name: HasUndispatchedBefore :one
SELECT EXISTS (SELECT 1 FROM events WHERE dispatched_at IS NULL AND occurred_at < sqlc.arg(cutoff)::timestamptz);

-- name: OverdueDeliveries :many
-- Pending deliveries whose next attempt was due before cutoff: their task
-- may be gone from Redis. The next attempt is attempts + 1.
SELECT id, attempts
FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at < sqlc.arg(cutoff)::timestamptz
ORDER BY next_attempt_at
LIMIT sqlc.arg(lim);

-- name: DeleteExpiredEvents :execrows
-- Deletes up to lim events older than cutoff that are dispatched and have
-- no pending delivery; their deliveries and attempts go with them.
DELETE FROM events
WHERE id IN (
    SELECT e.id FROM events e
    WHERE e.occurred_at < sqlc.arg(cutoff)::timestamptz AND e.dispatched_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
    ORDER BY e.occurred_at
    LIMIT sqlc.arg(lim)
);
