// Package schedule turns a benchmark's cron schedule into runs.
//
// The occurrence math is pure: Parse reads a cron spec in a time zone,
// Next and Prev step between occurrences, and Due picks the occurrences
// since the last one considered that should get a run, under a catch-up
// policy.
//
// The scheduler process enqueues one schedule:tick task every few seconds
// through asynq's periodic scheduler. asynq fixes a periodic task's payload
// at registration, so the tick carries no time: its handler, on a worker,
// reads each enabled schedule's last considered occurrence from the
// database, computes what is due since then, and advances that marker with
// a compare-and-set in the same transaction that inserts the runs. Two
// ticks at once (two scheduler replicas, a late tick, a retry) therefore
// never create two runs for one occurrence; the unique
// (benchmark_id, scheduled_for) key on runs is the last guard.
//
// No occurrence is dropped silently. One that makes no run (overlap skip,
// a benchmark that cannot run, an outage not caught up) goes to the store
// as a Skip, which records it in the same transaction on the benchmark
// (its last skip and reason, shown by the API) and as an EventSkipped
// event in the outbox.
package schedule
