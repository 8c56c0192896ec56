package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	runs "github.com/sabe-dev/sabe/pkg/run"
)

// RunTiming is one run from its trigger to its final status, split where
// the time goes: before the first unit, the units, and finalization.
type RunTiming struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
	Units  int    `json:"units"`
	// Scored counts the executions stored with their evaluation.
	Scored int `json:"scored_executions"`
	Failed int `json:"failed_units"`
	// WallSeconds runs from just before POST /v1/benchmarks/{id}/runs to
	// the run's finished_at (both on this machine's clock).
	WallSeconds float64 `json:"wall_seconds"`
	// ToFirstUnitSeconds runs from the POST to the first execution's
	// start: the api, run:start being picked up, the first enqueues.
	ToFirstUnitSeconds float64 `json:"post_to_first_unit_seconds"`
	// UnitsSeconds runs from the first execution's start to the last
	// execution's end.
	UnitsSeconds float64 `json:"units_seconds"`
	// FinalizeSeconds runs from the last execution's end to finished_at:
	// run:finalize being enqueued and picked up, rankings and totals.
	FinalizeSeconds float64 `json:"last_unit_to_final_seconds"`
	// MeanCallMs is the executions' mean started_at → finished_at: a
	// provider call as the worker timed it, which is the slot's time less
	// the handler's work around the call and the queue's between tasks.
	MeanCallMs float64 `json:"mean_call_ms"`
	// TaskAttempts counts every task the workers ran (units, run:start,
	// run:finalize, retries included) and FailedAttempts those whose
	// handler failed and were retried, from asynq's own counters; a unit
	// waiting on its provider is not a failure. FirstFailure is the first
	// "task failed" line of the workers' logs.
	TaskAttempts   int    `json:"task_attempts"`
	FailedAttempts int    `json:"failed_attempts"`
	FirstFailure   string `json:"first_failure,omitempty"`
	// CPU is where CPU time went from the trigger to the final status.
	CPU CPUUse `json:"cpu"`
}

// runAndWait starts a run of the benchmark through the API and polls it
// until its status is final, then reads from the database what was stored.
func (s *stack) runAndWait(ctx context.Context, benchID uuid.UUID, during func(runID string)) (RunTiming, error) {
	cpu0 := takeCPU()
	t0 := time.Now()
	r, err := s.api.StartRun(ctx, benchID)
	if err != nil {
		return RunTiming{}, err
	}
	if during != nil {
		during(r.Id.String())
	}
	lastReport := time.Now()
	r, err = s.api.WaitRun(ctx, r.Id, 100*time.Millisecond, func(r oapi.Run) error {
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			done := r.Progress.Succeeded + r.Progress.Failed + r.Progress.Cancelled + r.Progress.Skipped
			fmt.Fprintf(s.h.stdout, "  %s %d/%d units after %.0fs\n", r.Status, done, r.Progress.Total, time.Since(t0).Seconds())
		}
		return s.procsAlive()
	})
	if err != nil {
		return RunTiming{}, err
	}
	cpu := cpuUse(cpu0, takeCPU(), time.Since(t0).Seconds(), s.pids())
	if r.FinishedAt == nil {
		return RunTiming{}, fmt.Errorf("run %s is %s without finished_at", r.Id, r.Status)
	}
	t := RunTiming{RunID: r.Id.String(), Status: string(r.Status), Units: int(r.Progress.Total), Failed: int(r.Progress.Failed),
		WallSeconds: round(r.FinishedAt.Sub(t0).Seconds(), 3), CPU: cpu}
	var first, last *time.Time
	var meanCall *float64
	if err := s.pool.QueryRow(ctx, `SELECT min(started_at), max(finished_at), avg(extract(epoch FROM finished_at - started_at))::float8 FROM executions WHERE run_id = $1`,
		r.Id).Scan(&first, &last, &meanCall); err != nil {
		return t, fmt.Errorf("read executions: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM evaluations WHERE run_id = $1`, r.Id).Scan(&t.Scored); err != nil {
		return t, fmt.Errorf("read evaluations: %w", err)
	}
	if t.TaskAttempts, t.FailedAttempts, err = s.asynqCounts(ctx); err != nil {
		return t, err
	}
	if t.FailedAttempts > 0 {
		t.FirstFailure = s.firstLogLine(`msg="task failed"`)
	}
	if t.FailedAttempts > 0 {
		fmt.Fprintf(s.h.stdout, "  %d task attempts failed and were retried; the first: %s\n", t.FailedAttempts, t.FirstFailure)
	}
	if first != nil && last != nil {
		t.ToFirstUnitSeconds = round(first.Sub(t0).Seconds(), 3)
		t.UnitsSeconds = round(last.Sub(*first).Seconds(), 3)
		t.FinalizeSeconds = round(r.FinishedAt.Sub(*last).Seconds(), 3)
	}
	if meanCall != nil {
		t.MeanCallMs = round(*meanCall*1000, 2)
	}
	if r.Status != "completed" {
		msg := ""
		if r.Error != nil {
			msg = ": " + *r.Error
		}
		return t, fmt.Errorf("run %s ended %s%s", r.Id, r.Status, msg)
	}
	return t, nil
}

// asynqCounts sums asynq's cumulative processed and failed counters over
// SABE's queues.
func (s *stack) asynqCounts(ctx context.Context) (processed, failed int, err error) {
	for q := range runs.Queues() {
		for key, n := range map[string]*int{"asynq:{" + q + "}:processed": &processed, "asynq:{" + q + "}:failed": &failed} {
			v, err := s.rdb.Get(ctx, key).Int()
			if err != nil && !errors.Is(err, redis.Nil) {
				return 0, 0, err
			}
			*n += v
		}
	}
	return processed, failed, nil
}

// firstLogLine is the first line of a worker's log that contains marker,
// cut to 500 bytes.
func (s *stack) firstLogLine(marker string) string {
	for _, p := range s.procs {
		if !strings.HasPrefix(p.name, "worker") {
			continue
		}
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			continue
		}
		for _, ln := range strings.Split(string(b), "\n") {
			if strings.Contains(ln, marker) {
				if len(ln) > 500 {
					ln = ln[:500]
				}
				return p.name + ": " + ln
			}
		}
	}
	return ""
}
