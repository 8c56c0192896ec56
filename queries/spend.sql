-- name: LockTokenSpend :execrows
-- Serializes the run creations charged to one token (see LockBenchmark);
-- no row when the token is revoked or expired: it may spend no more.
UPDATE api_tokens SET spend_serial = spend_serial + 1
WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now());

-- name: TokenSpend :one
-- The units and the committed cost of the runs charged to a token since
-- a moment (the start of the UTC day).
SELECT coalesce(sum(total_units), 0)::bigint AS units, coalesce(sum(committed_usd), 0)::double precision AS cost_usd
FROM run_commitments
WHERE charged_token_id = sqlc.arg(token_id) AND created_at >= sqlc.arg(since)::timestamptz;

-- name: BenchmarkSpend :one
-- The committed cost of a benchmark's runs since a moment (the start of
-- the UTC month), and how many of its runs are unfinished.
SELECT coalesce(sum(committed_usd) FILTER (WHERE created_at >= sqlc.arg(since)::timestamptz), 0)::double precision AS cost_usd,
    count(*) FILTER (WHERE finished_at IS NULL) AS in_flight
FROM run_commitments
WHERE benchmark_id = sqlc.arg(benchmark_id)
  AND (created_at >= sqlc.arg(since)::timestamptz OR finished_at IS NULL);
