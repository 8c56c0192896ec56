package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/notify"
)

// TypeCheck compares a finished run with its baseline and raises its
// alerts.
const TypeCheck = "alerts:check"

// checkQueue is run.QueueControl, the queue of a run's own bookkeeping
// (pkg/run imports this package, so the name cannot come from there).
const checkQueue = "control"

// MaxFlipped bounds the flipped questions an alert lists.
const MaxFlipped = 20

// NewCheckTask is the check of one run; its id is derived from the run's,
// so the finalizer and the sweep enqueue it once.
func NewCheckTask(runID uuid.UUID) *asynq.Task {
	return asynq.NewTask(TypeCheck, []byte(runID.String()),
		asynq.TaskID(TypeCheck+":"+runID.String()), asynq.Queue(checkQueue),
		asynq.MaxRetry(10), asynq.Timeout(5*time.Minute))
}

// Enqueue enqueues the check of a run; a check already there is success.
func Enqueue(ctx context.Context, q notify.Enqueuer, runID uuid.UUID) error {
	_, err := q.EnqueueContext(ctx, NewCheckTask(runID))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
		return fmt.Errorf("enqueue %s: %w", TypeCheck, err)
	}
	return nil
}

// Checker runs the checks.
type Checker struct {
	store  Store
	pairer Pairer
	queue  notify.Enqueuer
	log    *slog.Logger
	// Now is the clock the checks and alerts are stamped with.
	Now func() time.Time
	// Resamples is the bootstrap's (default Resamples).
	Resamples int
}

// NewChecker returns a Checker; queue is where the dispatch of the
// events it writes is kicked.
func NewChecker(st Store, p Pairer, queue notify.Enqueuer, log *slog.Logger) *Checker {
	return &Checker{store: st, pairer: p, queue: queue, log: log, Now: time.Now, Resamples: Resamples}
}

// Register registers the check's handler on mux.
func (c *Checker) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeCheck, c.HandleCheck)
}

// HandleCheck handles an alerts:check task: its payload is the run id.
func (c *Checker) HandleCheck(ctx context.Context, t *asynq.Task) error {
	runID, err := uuid.ParseBytes(t.Payload())
	if err != nil {
		return fmt.Errorf("%s: bad payload: %w", TypeCheck, asynq.SkipRetry)
	}
	_, err = c.Check(ctx, runID)
	if fault.KindOf(err) == fault.KindNotFound {
		return fmt.Errorf("%s %s: %w: %w", TypeCheck, runID, err, asynq.SkipRetry)
	}
	return err
}

// Check compares a finished run with its baseline and writes its check,
// alerts and events, once: a run already checked, not finished completed
// or partial, or of a benchmark without enabled alerts is left alone (nil
// record). It returns what it wrote.
func (c *Checker) Check(ctx context.Context, runID uuid.UUID) (*CheckRecord, error) {
	r, err := c.store.AlertCheckRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	if r.Settings == nil || !r.Settings.Enabled || r.FinishedAt == nil || (r.Status != "completed" && r.Status != "partial") {
		return nil, nil
	}
	if done, err := c.store.AlertChecked(ctx, runID); err != nil || done {
		return nil, err
	}
	rec, err := c.compute(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("check run %s: %w", runID, err)
	}
	written, err := c.store.RecordAlertCheck(ctx, *rec)
	if err != nil || !written {
		return nil, err
	}
	if len(rec.Alerts) > 0 {
		c.log.Info("regression alerts raised", "run_id", runID, "alerts", len(rec.Alerts), "comparisons", rec.Comparisons)
		if err := notify.Kick(ctx, c.queue); err != nil {
			// The events are committed: the dispatch sweep sends them.
			c.log.Warn("kick the event dispatch", "err", err)
		}
	}
	return rec, nil
}

// compute finds the run's baseline, tests every model and metric and
// builds the alerts.
func (c *Checker) compute(ctx context.Context, r CheckRun) (*CheckRecord, error) {
	s := *r.Settings
	now := c.Now().UTC()
	rec := &CheckRecord{RunID: r.ID, BenchmarkID: r.BenchmarkID, CheckedAt: now}
	before := r.CreatedAt
	if s.CompareTo == catalog.ComparePreviousWeek {
		// At least 7 days before: PostgreSQL keeps microseconds, so one
		// more makes the store's "created before" include exactly 7 days.
		before = r.CreatedAt.Add(-7*24*time.Hour + time.Microsecond)
	}
	baseline, err := c.store.AlertBaseline(ctx, r.BenchmarkID, r.ID, before)
	if err != nil {
		return nil, err
	}
	if baseline == nil {
		rec.Note = "no baseline: no earlier run of the benchmark finished completed or partial"
		if s.CompareTo == catalog.ComparePreviousWeek {
			rec.Note = "no baseline: no run of the benchmark created at least 7 days earlier finished completed or partial"
		}
		return rec, nil
	}
	rec.BaselineRunID = baseline
	pairing, err := c.pairer.PairRuns(ctx, r.BenchmarkID, r.ID, *baseline, MaxFlipped)
	if err != nil {
		return nil, err
	}
	data := make([]ModelData, len(pairing.Models))
	byModel := make(map[uuid.UUID]*analytics.ModelPairing, len(pairing.Models))
	for i := range pairing.Models {
		m := &pairing.Models[i]
		data[i] = ModelData{ModelID: m.ModelID, Questions: m.Questions}
		byModel[m.ModelID] = m
	}
	tests := Detect(r.ID, data, s, c.Resamples)
	rec.Comparisons = len(tests)
	if len(tests) == 0 {
		rec.Note = fmt.Sprintf("nothing to compare: no model shares at least %d questions with the baseline run %s", MinQuestions, *baseline)
		return rec, nil
	}
	for _, t := range tests {
		if !t.Alert {
			continue
		}
		m := byModel[t.ModelID]
		rec.Alerts = append(rec.Alerts, notify.Regression{
			ID: uuid.Must(uuid.NewV7()), RunID: r.ID, BaselineRunID: *baseline, BenchmarkID: r.BenchmarkID,
			BenchmarkName: r.BenchmarkName, ModelID: t.ModelID, ModelName: m.ModelName, Metric: t.Metric,
			Previous: t.Previous, Current: t.Current, Diff: t.Diff, CILow: t.CI.Low, CIHigh: t.CI.High,
			RelativeChange: t.Relative, PValue: t.PValue, PAdjusted: t.PAdjusted, Correction: Correction,
			Comparisons: len(tests), MinEffect: t.MinEffect, Questions: t.Questions,
			Regressed: m.Changed.Regressed, Improved: m.Changed.Improved, Flipped: flipped(m.Changed.Questions),
			CreatedAt: now,
		})
	}
	return rec, nil
}

// flipped converts the comparison's flipped questions for an alert.
func flipped(qs []analytics.DriftQuestion) []notify.FlippedQuestion {
	out := make([]notify.FlippedQuestion, 0, min(len(qs), MaxFlipped))
	for _, q := range qs[:min(len(qs), MaxFlipped)] {
		change := "improved"
		if q.Regressed {
			change = "regressed"
		}
		out = append(out, notify.FlippedQuestion{
			QuestionID: q.QuestionID, Category: q.Category, PromptExcerpt: q.Prompt,
			PreviousRevision: q.PreviousRevision, CurrentRevision: q.CurrentRevision,
			PreviousPassRate: q.PreviousPassRate, CurrentPassRate: q.CurrentPassRate, Change: change,
		})
	}
	return out
}
