package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/notify"
)

// Overlap says what an occurrence does while an earlier scheduled run of
// the same benchmark is unfinished.
type Overlap string

// The overlap policies.
const (
	// OverlapSkip skips the occurrence: no run, and it is not retried.
	OverlapSkip Overlap = "skip"
	// OverlapAllow runs it alongside.
	OverlapAllow Overlap = "allow"
)

// ParseOverlap checks an overlap policy; "" is OverlapSkip.
func ParseOverlap(s string) (Overlap, error) {
	switch o := Overlap(strings.TrimSpace(s)); o {
	case "":
		return OverlapSkip, nil
	case OverlapSkip, OverlapAllow:
		return o, nil
	}
	return "", fmt.Errorf("must be skip or allow, got %q", s)
}

// Entry is an enabled schedule as a tick reads it.
type Entry struct {
	BenchmarkID uuid.UUID
	Cron        string
	Timezone    string
	Overlap     Overlap
	// Last is the last occurrence already considered (run or skipped), or
	// the moment the schedule was enabled or its spec changed: only later
	// occurrences are due.
	Last time.Time
}

// Advance asks the store to move a schedule's last considered occurrence
// from From to To and, in the same transaction, create a run for each of
// Occurrences and record each of Skips.
type Advance struct {
	BenchmarkID uuid.UUID
	From, To    time.Time
	Occurrences []time.Time
	// SkipWhileRunning creates no run while a scheduled run of the
	// benchmark is unfinished (overlap skip); the marker still moves.
	SkipWhileRunning bool
	// Skips are occurrences in (From, To] the tick decided not to run;
	// the store records them like the ones it skips itself.
	Skips []Skip
	// Now is when the tick acted: the time of the events it writes.
	Now time.Time
}

// Skip is an occurrence that made no run, and why.
type Skip struct {
	At     time.Time
	Reason string
}

// EventSkipped is the type of the event written, in the transaction that
// moves the schedule past it, for each occurrence that made no run. It is
// written once per (benchmark, occurrence).
const EventSkipped = "schedule.skipped"

// SkippedEvent is the payload of an EventSkipped event
// (the API's ScheduleSkippedEventData without its links).
type SkippedEvent struct {
	BenchmarkID   uuid.UUID `json:"benchmark_id"`
	BenchmarkName string    `json:"benchmark_name"`
	ScheduledFor  time.Time `json:"scheduled_for"`
	Reason        string    `json:"reason"`
}

// Advanced is what an Advance did.
type Advanced struct {
	// Won is false when the marker was no longer From (another tick, or an
	// edit of the schedule, moved it first): nothing was changed.
	Won bool
	// Created lists the runs this call inserted, queued and not yet
	// started.
	Created []uuid.UUID
	// Existing counts occurrences that already had a run.
	Existing int
	// Skipped counts occurrences given no run: the Advance's Skips,
	// overlap skip, or a benchmark that cannot run now. Reason says why
	// the latest was skipped. Each was recorded on the benchmark and as an
	// EventSkipped event.
	Skipped int
	Reason  string
}

// Store is the persistence a tick needs.
type Store interface {
	// EnabledSchedules lists the enabled schedules of benchmarks that are
	// not archived.
	EnabledSchedules(ctx context.Context) ([]Entry, error)
	// AdvanceSchedule applies a; it is a compare-and-set on the schedule's
	// marker, so two ticks never both create runs for one occurrence, and
	// each run's (benchmark, scheduled_for) is unique besides. Every
	// occurrence that makes no run is recorded in the same transaction.
	AdvanceSchedule(ctx context.Context, a Advance) (Advanced, error)
}

// TypeTick is the periodic task that turns due occurrences of every
// enabled schedule into runs.
const TypeTick = "schedule:tick"

// TickConfig configures the tick task the scheduler registers.
type TickConfig struct {
	// Interval is how often the scheduler enqueues the tick.
	Interval time.Duration
	// Catchup is what a tick does with missed occurrences.
	Catchup CatchupMode
	// Queue is the asynq queue the tick goes to.
	Queue string
}

// Grace is how late an occurrence found by a tick counts as on time: two
// tick intervals plus a minute for the tick to wait behind other tasks.
func (o TickConfig) Grace() time.Duration { return 2*o.Interval + time.Minute }

type tickPayload struct {
	Catchup CatchupMode `json:"catchup"`
	GraceMs int64       `json:"grace_ms"`
}

// NewTickTask builds the tick task. asynq's scheduler fixes a periodic
// task's payload at registration, so the payload carries only the policy;
// the handler computes which occurrences are due from the database.
// It is unique for half an interval (at least asynq's minimum of a second):
// replicas that fire at the same aligned moment enqueue one tick between
// them, and the next moment's tick is not swallowed. Correctness never
// depends on it; the marker's compare-and-set does.
func NewTickTask(o TickConfig) *asynq.Task {
	payload, _ := json.Marshal(tickPayload{Catchup: o.Catchup, GraceMs: o.Grace().Milliseconds()})
	return asynq.NewTask(TypeTick, payload,
		asynq.Queue(o.Queue),
		asynq.Unique(max(o.Interval/2, time.Second)),
		// A tick that fails is not retried: the next one does its work.
		asynq.MaxRetry(0),
		asynq.Timeout(5*time.Minute))
}

// Enqueuer is the part of *asynq.Client a tick uses.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Ticker handles the tick task.
type Ticker struct {
	store     Store
	queue     Enqueuer
	startTask func(ctx context.Context, runID uuid.UUID) *asynq.Task
	log       *slog.Logger
	now       func() time.Time
	// minInterval is the shortest gap allowed between occurrences.
	minInterval time.Duration
}

// NewTicker returns the tick handler. startTask builds a created run's
// run:start task (run.NewStartTask), enqueued on queue; when that fails the
// run stays queued with no task, and the reconciler starts it later. A
// schedule whose occurrences come less than minInterval apart (stored
// before the minimum was set or raised) has them skipped, and recorded,
// until it is changed; 0 sets no minimum.
func NewTicker(store Store, queue Enqueuer, startTask func(ctx context.Context, runID uuid.UUID) *asynq.Task, log *slog.Logger, minInterval time.Duration) *Ticker {
	return &Ticker{store: store, queue: queue, startTask: startTask, log: log, now: time.Now, minInterval: minInterval}
}

// start enqueues a run's start task; a task with its id already there is
// the same work, so that is success.
func (t *Ticker) start(ctx context.Context, runID uuid.UUID) error {
	_, err := t.queue.EnqueueContext(ctx, t.startTask(ctx, runID))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
		return err
	}
	return nil
}

// Register adds the tick handler to mux.
func (t *Ticker) Register(mux *asynq.ServeMux) { mux.HandleFunc(TypeTick, t.HandleTick) }

// HandleTick creates the runs of every enabled schedule's due occurrences.
// A failing schedule does not stop the others; the tick fails (and is
// logged) when any did.
func (t *Ticker) HandleTick(ctx context.Context, task *asynq.Task) error {
	var p tickPayload
	if err := json.Unmarshal(task.Payload(), &p); err != nil {
		return fmt.Errorf("%s payload: %v: %w", TypeTick, err, asynq.SkipRetry)
	}
	mode, err := ParseCatchupMode(string(p.Catchup))
	if err != nil {
		return fmt.Errorf("%s payload: catchup %w: %w", TypeTick, err, asynq.SkipRetry)
	}
	return t.Tick(ctx, Catchup{Mode: mode, Grace: time.Duration(p.GraceMs) * time.Millisecond})
}

// Tick does one tick's work at the current time.
func (t *Ticker) Tick(ctx context.Context, c Catchup) error {
	entries, err := t.store.EnabledSchedules(ctx)
	if err != nil {
		return fmt.Errorf("list schedules: %w", err)
	}
	now := t.now()
	var errs []error
	for _, e := range entries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := t.tickOne(ctx, e, now, c); err != nil {
			errs = append(errs, fmt.Errorf("schedule of benchmark %s: %w", e.BenchmarkID, err))
		}
	}
	return errors.Join(errs...)
}

func (t *Ticker) tickOne(ctx context.Context, e Entry, now time.Time, c Catchup) error {
	s, err := Parse(e.Cron, e.Timezone)
	if err != nil {
		// The api validated it; a spec the parser now refuses is skipped
		// until someone fixes it, not retried.
		t.log.Warn("schedule not parsable; skipped", "benchmark_id", e.BenchmarkID, "cron", e.Cron, "err", err)
		return nil
	}
	latest := s.Prev(now)
	if latest.IsZero() || !latest.After(e.Last) {
		return nil
	}
	due := s.Due(e.Last, now, c)
	var skips []Skip
	if n, newest, oldest := s.notDue(e.Last, latest, due); n > 0 {
		skips = append(skips, Skip{At: newest, Reason: missedReason(n, oldest, newest, c.Mode)})
	}
	if err := s.CheckInterval(t.minInterval); err != nil {
		for _, at := range due {
			skips = append(skips, Skip{At: at, Reason: "the schedule " + fault.As(err).Message})
		}
		due = nil
	}
	skip := e.Overlap != OverlapAllow
	if skip && len(due) > 1 {
		// Each would overlap the one before it.
		for _, at := range due[:len(due)-1] {
			skips = append(skips, Skip{At: at, Reason: "a later occurrence was due at the same tick (overlap skip)"})
		}
		due = due[len(due)-1:]
	}
	res, err := t.store.AdvanceSchedule(ctx, Advance{
		BenchmarkID: e.BenchmarkID, From: e.Last, To: latest, Occurrences: due, SkipWhileRunning: skip, Skips: skips, Now: now,
	})
	if err != nil {
		return err
	}
	if !res.Won {
		return nil
	}
	if res.Skipped > 0 {
		// Recorded on the benchmark and as events too; the log is for
		// operators following the scheduler.
		t.log.Warn("scheduled occurrences skipped", "benchmark_id", e.BenchmarkID, "skipped", res.Skipped, "reason", res.Reason)
		// The events are committed: dispatch them now rather than at the
		// next sweep (which delivers them if this fails).
		if err := notify.Kick(ctx, t.queue); err != nil {
			t.log.Warn("kick the dispatch of schedule.skipped events", "benchmark_id", e.BenchmarkID, "err", err)
		}
	}
	for _, id := range res.Created {
		if err := t.start(ctx, id); err != nil {
			t.log.Warn("scheduled run created but not queued; the reconciler will start it", "run_id", id, "err", err)
			continue
		}
		t.log.Info("scheduled run created", "benchmark_id", e.BenchmarkID, "run_id", id)
	}
	return nil
}

// maxMissedCount bounds how far back a tick counts missed occurrences: a
// long outage of an @every 1s schedule has millions.
const maxMissedCount = 1000

// notDue counts the occurrences in (last, latest] that are not in due
// (missed while no tick ran, and not caught up), at most maxMissedCount,
// with the newest and the oldest of those counted.
func (s *Schedule) notDue(last, latest time.Time, due []time.Time) (n int, newest, oldest time.Time) {
	in := make(map[time.Time]bool, len(due))
	for _, d := range due {
		in[d.UTC()] = true
	}
	for o := latest; !o.IsZero() && o.After(last) && n < maxMissedCount; o = s.Prev(o.Add(-time.Nanosecond)) {
		if in[o.UTC()] {
			continue
		}
		if n == 0 {
			newest = o
		}
		oldest = o
		n++
	}
	return n, newest, oldest
}

// missedReason says why n occurrences from oldest to newest made no run.
func missedReason(n int, oldest, newest time.Time, mode CatchupMode) string {
	what := "the occurrence at " + newest.UTC().Format(time.RFC3339)
	if n > 1 {
		count := fmt.Sprintf("%d", n)
		if n >= maxMissedCount {
			count = fmt.Sprintf("at least %d", n)
		}
		what = fmt.Sprintf("%s occurrences from %s to %s", count, oldest.UTC().Format(time.RFC3339), newest.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s missed while no tick ran (scheduler or workers down) and not caught up (catch-up %s)", what, mode)
}
