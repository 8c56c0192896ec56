-- name: CreateModel :one
INSERT INTO models (id, provider_id, name, provider_model_id, input_cost_per_mtok, output_cost_per_mtok, request_overrides)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: GetModel :one
SELECT * FROM models WHERE id = $1;

-- name: ListModels :many
SELECT * FROM models
WHERE (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid)
  AND (sqlc.arg(include_archived)::bool OR archived_at IS NULL)
ORDER BY id
LIMIT sqlc.arg(lim);

-- name: UpdateModel :one
UPDATE models SET
    name                 = coalesce(sqlc.narg(name), name),
    provider_model_id    = coalesce(sqlc.narg(provider_model_id), provider_model_id),
    input_cost_per_mtok  = coalesce(sqlc.narg(input_cost_per_mtok), input_cost_per_mtok),
    output_cost_per_mtok = coalesce(sqlc.narg(output_cost_per_mtok), output_cost_per_mtok),
    request_overrides    = coalesce(sqlc.narg(request_overrides), request_overrides),
    updated_at           = now()
WHERE id = sqlc.arg(id) AND archived_at IS NULL
RETURNING *;

-- name: ModelHasHistory :one
SELECT EXISTS (SELECT 1 FROM benchmark_models bm WHERE bm.model_id = sqlc.arg(id)::uuid)
    OR EXISTS (SELECT 1 FROM run_models rm WHERE rm.model_id = sqlc.arg(id)::uuid);

-- name: ArchiveModel :execrows
UPDATE models SET archived_at = now(), updated_at = now() WHERE id = $1 AND archived_at IS NULL;

-- name: DeleteModel :execrows
DELETE FROM models WHERE id = $1;

-- name: GetModelsByIDs :many
SELECT * FROM models WHERE id = ANY(sqlc.arg(ids)::uuid[]);
