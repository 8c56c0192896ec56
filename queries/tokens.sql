-- name: CreateToken :one
INSERT INTO api_tokens (id, name, prefix, token_hash, scopes, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: GetTokenByHash :one
SELECT * FROM api_tokens WHERE token_hash = $1;

-- name: GetToken :one
SELECT * FROM api_tokens WHERE id = $1;

-- name: TouchToken :exec
-- Written at most once a minute per token, so authentication does not turn
-- every request into a write.
UPDATE api_tokens SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: ListTokens :many
SELECT * FROM api_tokens
WHERE sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(lim);

-- name: RevokeToken :execrows
UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL;
