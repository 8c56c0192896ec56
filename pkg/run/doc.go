// Package run is what happens when a benchmark runs: the run and its
// snapshot of what it asks, the units it fans out into (one per model,
// question and sample), their executions and evaluations, and the asynq
// tasks that carry the work (run:start, execution:run, run:finalize).
//
// Store (store.go) is the persistence the tasks need. run:finalize hands
// the store the ranking to apply (RankFunc, analytics.RankRun in SABE), so
// a run's rankings are computed by the same code as the leaderboards and
// written in the transaction that finishes the run.
package run
