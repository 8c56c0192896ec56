// Package maintenance keeps the fleet's work consistent with PostgreSQL,
// which is the source of truth, and keeps the database's raw rows within
// their retention.
//
// A Reconciler runs in every worker; every interval one of them (whoever
// takes a Redis lease first) makes a pass:
//
//  1. queued runs older than a short grace with no run:<id> task in Redis
//     are started (the api died between its commit and its enqueue);
//  2. running runs whose Redis progress is gone (Redis lost or flushed) or
//     has not moved for the stall time get run:start again, which rebuilds
//     the progress from the recorded executions and re-enqueues every unit
//     without one; their spend counter is raised back to at least what the
//     recorded executions cost;
//  3. archived execution tasks of unfinished runs (retries used up) are
//     recorded as failed with the task's last error, and deleted;
//  4. runs with every unit recorded but not finalized get run:finalize;
//  5. runs past their deadline get every missing unit recorded skipped,
//     and run:finalize (they end partial, saying why).
//
// Every step only enqueues tasks with deterministic ids or writes rows
// whose keys make a second write a no-op, so a pass cut short, a pass
// repeated by another worker after the lease moved, or a pass racing the
// workers' own progress does no harm.
//
// After the reconciliation steps, the pass refreshes the time-series
// rollups for the runs finished since the last pass (plain tables on
// PostgreSQL, continuous aggregates with TimescaleDB; see
// store.RefreshRollups), and enqueues the regression check of every run
// of a benchmark with alerts that finished recently without one
// (alerting.Sweep; alerts.go).
//
// Retention runs in the same loop at its own interval: the executions and
// evaluations of finished runs older than the retention are deleted in
// batches, each its own short transaction (with TimescaleDB, whole chunks
// are dropped first). Rankings and the per-(run,
// model, question) outcomes written at finalization are kept.
//
// One file per part: reconciler.go holds the loop and its pass, lease.go
// the Redis lease, reconcile.go the per-run steps (1, 4, 5) and the
// enqueueing of missing tasks, stall.go the stall tracking of step 2,
// spend.go its spend restore, archived.go step 3, rollups.go the rollup
// refresh and retention.go the retention; config.go and store.go hold
// what a Reconciler is given.
package maintenance
