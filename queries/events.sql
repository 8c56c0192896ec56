-- name: InsertEvent :execrows
-- Writes an event into the outbox, once per dedup_key: 0 rows when it is
-- there already.
INSERT INTO events (id, type, occurred_at, benchmark_id, dedup_key, payload)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (dedup_key) DO NOTHING;
