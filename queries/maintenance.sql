-- name: InsertOutcomes :execrows
-- One row per (model, question) of a run, from its executions and their
-- evaluations; written by Finalize in the transaction that finishes the run.
-- correct counts passed units, as the rankings do; unscored the succeeded
-- units without a verdict, which count in no score. The executions carry
-- their evaluation's verdict, so this reads one table: a join with
-- evaluations on a run the planner has no statistics for yet could pick a
-- nested loop over the whole run.
INSERT INTO outcomes (run_id, model_id, question_id, run_created_at, benchmark_id, question_revision_id, category,
                      samples, succeeded, correct, failed, skipped, cancelled, mean_latency_ms, cost_usd, unscored)
SELECT e.run_id, e.model_id, e.question_id, e.run_created_at, e.benchmark_id, e.question_revision_id, e.category,
       count(*)::int,
       count(*) FILTER (WHERE e.status = 'succeeded')::int,
       count(*) FILTER (WHERE e.passed)::int,
       count(*) FILTER (WHERE e.status = 'failed')::int,
       count(*) FILTER (WHERE e.status = 'skipped')::int,
       count(*) FILTER (WHERE e.status = 'cancelled')::int,
       avg(e.latency_ms) FILTER (WHERE e.status = 'succeeded'),
       coalesce(sum(e.cost_usd), 0)::double precision,
       count(*) FILTER (WHERE e.status = 'succeeded' AND e.score IS NULL)::int
FROM executions e
WHERE e.run_created_at = sqlc.arg(run_created_at) AND e.run_id = sqlc.arg(run_id)
GROUP BY e.run_id, e.model_id, e.question_id, e.run_created_at, e.benchmark_id, e.question_revision_id, e.category
ON CONFLICT DO NOTHING;

-- name: ListOutcomes :many
SELECT * FROM outcomes WHERE run_id = $1 ORDER BY model_id, question_id;

-- name: ListUnfinishedRunsAfter :many
-- A page of unfinished runs in id order, for the reconciler.
SELECT * FROM runs
WHERE finished_at IS NULL AND (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid)
ORDER BY id
LIMIT sqlc.arg(lim);

-- name: RecordedCost :one
-- What a run's recorded executions cost: the floor of its spend counter.
SELECT coalesce(sum(cost_usd), 0)::double precision AS cost_usd
FROM executions
WHERE run_created_at = sqlc.arg(run_created_at) AND run_id = sqlc.arg(run_id);

-- name: SkipMissingUnits :execrows
-- Records every unit of an unfinished run that has no execution as skipped,
-- in one statement: the run's models × questions × samples, less what is
-- recorded. A unit recorded meanwhile by a worker wins (DO NOTHING).
INSERT INTO executions (run_created_at, run_id, model_id, question_id, sample, benchmark_id, question_revision_id, category,
                        status, error, finished_at)
SELECT r.created_at, r.id, rm.model_id, rq.question_id, s.sample, r.benchmark_id, rq.revision_id, qr.category,
       'skipped', sqlc.arg(reason)::text, now()
FROM runs r
JOIN run_models rm ON rm.run_id = r.id
JOIN run_questions rq ON rq.run_id = r.id
JOIN question_revisions qr ON qr.id = rq.revision_id
CROSS JOIN LATERAL generate_series(0, r.samples - 1) AS s(sample)
LEFT JOIN executions e
    ON e.run_created_at = r.created_at AND e.run_id = r.id AND e.model_id = rm.model_id
   AND e.question_id = rq.question_id AND e.sample = s.sample
WHERE r.id = sqlc.arg(run_id) AND r.finished_at IS NULL AND e.run_id IS NULL
ON CONFLICT DO NOTHING;

-- name: DeleteExpiredEvaluations :execrows
-- Deletes at most lim evaluations of finished runs created before cutoff,
-- by key (a hypertable's rows have no stable physical address).
DELETE FROM evaluations ev
USING (
    SELECT x.run_created_at, x.run_id, x.model_id, x.question_id, x.sample, x.scorer
    FROM evaluations x
    JOIN runs r ON r.id = x.run_id AND r.finished_at IS NOT NULL
    WHERE x.run_created_at < sqlc.arg(cutoff)
    LIMIT sqlc.arg(lim)
) d
WHERE ev.run_created_at = d.run_created_at AND ev.run_id = d.run_id AND ev.model_id = d.model_id
  AND ev.question_id = d.question_id AND ev.sample = d.sample AND ev.scorer = d.scorer;

-- name: DeleteExpiredExecutions :execrows
-- Deletes at most lim executions of finished runs created before cutoff.
DELETE FROM executions ex
USING (
    SELECT x.run_created_at, x.run_id, x.model_id, x.question_id, x.sample
    FROM executions x
    JOIN runs r ON r.id = x.run_id AND r.finished_at IS NOT NULL
    WHERE x.run_created_at < sqlc.arg(cutoff)
    LIMIT sqlc.arg(lim)
) d
WHERE ex.run_created_at = d.run_created_at AND ex.run_id = d.run_id AND ex.model_id = d.model_id
  AND ex.question_id = d.question_id AND ex.sample = d.sample;
