-- name: CreateProvider :one
INSERT INTO providers (id, name, kind, base_url, headers, api_key_id, api_key_ciphertext,
                       requests_per_minute, tokens_per_minute, max_concurrency, quota_pause_seconds)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING *;

-- name: GetProvider :one
SELECT * FROM providers WHERE id = $1;

-- name: ListProviders :many
SELECT * FROM providers
WHERE sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(lim);

-- name: UpdateProvider :one
UPDATE providers SET
    name               = coalesce(sqlc.narg(name), name),
    base_url           = coalesce(sqlc.narg(base_url), base_url),
    headers            = coalesce(sqlc.narg(headers), headers),
    api_key_id         = CASE WHEN sqlc.arg(set_key)::bool THEN sqlc.narg(api_key_id) ELSE api_key_id END,
    api_key_ciphertext = CASE WHEN sqlc.arg(set_key)::bool THEN sqlc.narg(api_key_ciphertext) ELSE api_key_ciphertext END,
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
