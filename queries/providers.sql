-- name: CreateProvider :one
INSERT INTO providers (id, name, kind, base_url, header_names, headers_key_id, headers_ciphertext,
                       api_key_id, api_key_ciphertext, api_key_fingerprint,
                       requests_per_minute, tokens_per_minute, max_concurrency, quota_pause_seconds)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING *;

-- name: GetProvider :one
SELECT * FROM providers WHERE id = $1;

-- name: GetProviderForUpdate :one
-- A change of some headers reads the others under the row's lock, so two
-- concurrent PATCHes of different headers both take effect.
SELECT * FROM providers WHERE id = $1 FOR UPDATE;

-- name: ListProviders :many
SELECT * FROM providers
WHERE sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(lim);

-- name: UpdateProvider :one
UPDATE providers SET
    name               = coalesce(sqlc.narg(name), name),
    base_url           = coalesce(sqlc.narg(base_url), base_url),
    header_names       = CASE WHEN sqlc.arg(set_headers)::bool THEN sqlc.arg(header_names)::text[] ELSE header_names END,
    headers_key_id     = CASE WHEN sqlc.arg(set_headers)::bool THEN sqlc.narg(headers_key_id) ELSE headers_key_id END,
    headers_ciphertext = CASE WHEN sqlc.arg(set_headers)::bool THEN sqlc.narg(headers_ciphertext) ELSE headers_ciphertext END,
    plain_headers      = CASE WHEN sqlc.arg(set_headers)::bool THEN '{}' ELSE plain_headers END,
    api_key_id         = CASE WHEN sqlc.arg(set_key)::bool THEN sqlc.narg(api_key_id) ELSE api_key_id END,
    api_key_ciphertext = CASE WHEN sqlc.arg(set_key)::bool THEN sqlc.narg(api_key_ciphertext) ELSE api_key_ciphertext END,
    api_key_fingerprint = CASE WHEN sqlc.arg(set_key)::bool THEN sqlc.narg(api_key_fingerprint) ELSE api_key_fingerprint END,
    requests_per_minute = CASE WHEN sqlc.arg(set_limits)::bool THEN sqlc.narg(requests_per_minute) ELSE requests_per_minute END,
    tokens_per_minute   = CASE WHEN sqlc.arg(set_limits)::bool THEN sqlc.narg(tokens_per_minute) ELSE tokens_per_minute END,
    max_concurrency     = CASE WHEN sqlc.arg(set_limits)::bool THEN sqlc.narg(max_concurrency) ELSE max_concurrency END,
    quota_pause_seconds = CASE WHEN sqlc.arg(set_limits)::bool THEN sqlc.narg(quota_pause_seconds) ELSE quota_pause_seconds END,
    updated_at         = now()
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: DeleteProvider :execrows
DELETE FROM providers WHERE id = $1;

-- name: ProviderInUse :one
SELECT EXISTS (SELECT 1 FROM models WHERE provider_id = $1);

-- name: ProvidersWithPlainHeaders :many
-- Headers written before they were sealed (migration 00011), in id order
-- so two sealing processes lock rows in the same order; FOR UPDATE makes
-- the second wait and then skip what the first sealed.
SELECT * FROM providers
WHERE plain_headers <> '{}'
ORDER BY id
LIMIT sqlc.arg(lim)
FOR UPDATE;

-- name: SealProviderHeaders :exec
UPDATE providers SET
    header_names       = sqlc.arg(header_names)::text[],
    headers_key_id     = sqlc.narg(headers_key_id),
    headers_ciphertext = sqlc.narg(headers_ciphertext),
    plain_headers      = '{}'
WHERE id = sqlc.arg(id);
