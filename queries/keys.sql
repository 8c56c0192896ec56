-- name: KeyUsage :many
-- A provider counts once per key id, whether the id seals its API key, its
-- headers or both.
SELECT k.key_id::text AS key_id, count(DISTINCT k.id)::int AS providers
FROM (
    SELECT id, api_key_id AS key_id FROM providers WHERE api_key_id IS NOT NULL
    UNION ALL
    SELECT id, headers_key_id FROM providers WHERE headers_key_id IS NOT NULL
) k
GROUP BY k.key_id
ORDER BY k.key_id;

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

-- name: ProviderHeadersToRotate :many
-- Headers sealed with anything but the primary; see ProvidersToRotate.
SELECT id, headers_key_id::text AS headers_key_id, headers_ciphertext
FROM providers
WHERE headers_key_id IS NOT NULL AND headers_key_id <> sqlc.arg(primary_id)::text
ORDER BY id
LIMIT sqlc.arg(lim)
FOR UPDATE;

-- name: ReencryptProviderHeaders :execrows
-- Compare-and-set: a concurrent change of the headers (a PATCH) wins.
UPDATE providers SET
    headers_key_id     = sqlc.arg(new_key_id)::text,
    headers_ciphertext = sqlc.arg(new_ciphertext)::bytea
WHERE id = sqlc.arg(id)
  AND headers_key_id = sqlc.arg(old_key_id)::text
  AND headers_ciphertext = sqlc.arg(old_ciphertext)::bytea;

-- name: WebhookKeyUsage :many
-- A webhook counts once per key id, whether the id seals its current
-- secret, its previous one or both.
SELECT k.key_id::text AS key_id, count(DISTINCT k.id)::int AS webhooks
FROM (
    SELECT id, secret_key_id AS key_id FROM webhooks
    UNION ALL
    SELECT id, previous_secret_key_id FROM webhooks WHERE previous_secret_key_id IS NOT NULL
) k
GROUP BY k.key_id
ORDER BY k.key_id;

-- name: WebhookSecretsToRotate :many
-- Webhook secrets sealed with anything but the primary; see
-- ProvidersToRotate.
SELECT id, secret_key_id, secret_ciphertext
FROM webhooks
WHERE secret_key_id <> sqlc.arg(primary_id)::text
ORDER BY id
LIMIT sqlc.arg(lim)
FOR UPDATE;

-- name: ReencryptWebhookSecret :execrows
-- Compare-and-set: a concurrent rotation of the secret wins.
UPDATE webhooks SET
    secret_key_id     = sqlc.arg(new_key_id)::text,
    secret_ciphertext = sqlc.arg(new_ciphertext)::bytea
WHERE id = sqlc.arg(id)
  AND secret_key_id = sqlc.arg(old_key_id)::text
  AND secret_ciphertext = sqlc.arg(old_ciphertext)::bytea;

-- name: WebhookPreviousSecretsToRotate :many
-- The secrets a rotation kept signing beside the new ones, sealed with
-- anything but the primary; see ProvidersToRotate.
SELECT id, previous_secret_key_id::text AS previous_secret_key_id, previous_secret_ciphertext
FROM webhooks
WHERE previous_secret_key_id IS NOT NULL AND previous_secret_key_id <> sqlc.arg(primary_id)::text
ORDER BY id
LIMIT sqlc.arg(lim)
FOR UPDATE;

-- name: ReencryptWebhookPreviousSecret :execrows
-- Compare-and-set: a concurrent rotation of the secret wins.
UPDATE webhooks SET
    previous_secret_key_id     = sqlc.arg(new_key_id)::text,
    previous_secret_ciphertext = sqlc.arg(new_ciphertext)::bytea
WHERE id = sqlc.arg(id)
  AND previous_secret_key_id = sqlc.arg(old_key_id)::text
  AND previous_secret_ciphertext = sqlc.arg(old_ciphertext)::bytea;
