-- name: KeyUsage :many
SELECT api_key_id::text AS key_id, count(*)::int AS providers
FROM providers
WHERE api_key_id IS NOT NULL
GROUP BY api_key_id
ORDER BY api_key_id;

-- name: ProvidersToRotate :many
-- Keys sealed with anything but the primary, in id order (so two rotations
-- lock rows in the same order). FOR UPDATE waits for a concurrent change of
-- the row, then sees its result.
SELECT id, api_key_id::text AS api_key_id, api_key_ciphertext
FROM providers
WHERE api_key_id IS NOT NULL AND api_key_id <> sqlc.arg(primary_id)::text
ORDER BY id
LIMIT sqlc.arg(lim)
FOR UPDATE;

-- name: ReencryptProviderKey :execrows
-- Compare-and-set: a concurrent change of the key (a PATCH) wins.
UPDATE providers SET
    api_key_id         = sqlc.arg(new_key_id)::text,
    api_key_ciphertext = sqlc.arg(new_ciphertext)::bytea
WHERE id = sqlc.arg(id)
  AND api_key_id = sqlc.arg(old_key_id)::text
  AND api_key_ciphertext = sqlc.arg(old_ciphertext)::bytea;
