package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// fakeStore is a Store whose answers the test chooses; it records the
// advances asked of it.
type fakeStore struct {
	entries func() ([]Entry, error)
	advance func(a Advance) (Advanced, error)

	mu       sync.Mutex
	advances []Advance
}

func (f *fakeStore) EnabledSchedules(context.Context) ([]Entry, error) { return f.entries() }

func (f *fakeStore) AdvanceSchedule(_ context.Context, a Advance) (Advanced, error) {
	f.mu.Lock()
	f.advances = append(f.advances, a)
	f.mu.Unlock()
	return f.advance(a)
}

var _ Store = (*fakeStore)(nil)

// fakeQueue is an Enqueuer that records task ids and fails as told.
type fakeQueue struct {
	fail func(task *asynq.Task) error
	ids  []string
}

func (q *fakeQueue) EnqueueContext(_ context.Context, task *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	var p struct {
		RunID string `json:"run_id"`
	}
	_ = json.Unmarshal(task.Payload(), &p)
	if q.fail != nil {
		if err := q.fail(task); err != nil {
			return nil, err
		}
	}
	q.ids = append(q.ids, p.RunID)
	return &asynq.TaskInfo{}, nil
}

var _ Enqueuer = (*fakeQueue)(nil)

func startTask(_ context.Context, id uuid.UUID) *asynq.Task {
	b, _ := json.Marshal(map[string]string{"run_id": id.String()})
	return asynq.NewTask("run:start", b)
}

func tickAt(t *testing.T, st *fakeStore, q *fakeQueue, now string) *Ticker {
	t.Helper()
	at, err := time.Parse(time.RFC3339, now)
	if err != nil {
		t.Fatal(err)
	}
	tk := NewTicker(st, q, startTask, slog.New(slog.DiscardHandler), 0)
	tk.now = func() time.Time { return at }
	return tk
}

func ts(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func TestTicker_Tick(t *testing.T) {
	t.Parallel()
	bench := uuid.New()
	created := []uuid.UUID{uuid.New(), uuid.New()}
	policy := Catchup{Mode: CatchupAll, Grace: time.Minute}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{
			entries: func() ([]Entry, error) {
				return []Entry{{BenchmarkID: bench, Cron: "@hourly", Timezone: "UTC", Overlap: OverlapAllow, Last: ts("2025-06-01T00:00:00Z")}}, nil
			},
			advance: func(Advance) (Advanced, error) { return Advanced{Won: true, Created: created}, nil },
		}
		q := &fakeQueue{}
		if err := tickAt(t, st, q, "2025-06-01T02:00:10Z").Tick(context.Background(), policy); err != nil {
			t.Fatal(err)
		}
		if len(st.advances) != 1 {
			t.Fatalf("%d advances, want 1", len(st.advances))
		}
		a := st.advances[0]
		want := []time.Time{ts("2025-06-01T01:00:00Z"), ts("2025-06-01T02:00:00Z")}
		if a.BenchmarkID != bench || !a.From.Equal(ts("2025-06-01T00:00:00Z")) || !a.To.Equal(want[1]) ||
			!slices.EqualFunc(a.Occurrences, want, time.Time.Equal) || a.SkipWhileRunning {
			t.Errorf("advance = %+v; want 00:00 → 02:00 with both occurrences, overlap allowed", a)
		}
		if !slices.Equal(q.ids, []string{created[0].String(), created[1].String()}) {
			t.Errorf("started %v, want the created runs %v", q.ids, created)
		}
	})

	t.Run("NothingDue", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{
			entries: func() ([]Entry, error) {
				return []Entry{{BenchmarkID: bench, Cron: "@hourly", Overlap: OverlapSkip, Last: ts("2025-06-01T02:00:00Z")}}, nil
			},
			advance: func(Advance) (Advanced, error) { return Advanced{}, errors.New("must not be called") },
		}
		if err := tickAt(t, st, &fakeQueue{}, "2025-06-01T02:59:59Z").Tick(context.Background(), policy); err != nil || len(st.advances) != 0 {
			t.Fatalf("err %v, %d advances; want none before the next occurrence", err, len(st.advances))
		}
	})

	t.Run("OverlapSkipOneOccurrence", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{
			entries: func() ([]Entry, error) {
				return []Entry{{BenchmarkID: bench, Cron: "@hourly", Overlap: OverlapSkip, Last: ts("2025-06-01T00:00:00Z")}}, nil
			},
			advance: func(Advance) (Advanced, error) { return Advanced{Won: true, Skipped: 1}, nil },
		}
		if err := tickAt(t, st, &fakeQueue{}, "2025-06-01T03:00:10Z").Tick(context.Background(), policy); err != nil {
			t.Fatal(err)
		}
		a := st.advances[0]
		if !a.SkipWhileRunning || len(a.Occurrences) != 1 || !a.Occurrences[0].Equal(ts("2025-06-01T03:00:00Z")) {
			t.Errorf("advance = %+v; want only the newest occurrence, skipped while a run is unfinished", a)
		}
		// The older ones are not dropped silently: the store records them.
		if len(a.Skips) != 2 || !a.Skips[0].At.Equal(ts("2025-06-01T01:00:00Z")) || !a.Skips[1].At.Equal(ts("2025-06-01T02:00:00Z")) ||
			!strings.Contains(a.Skips[0].Reason, "overlap skip") || !a.Now.Equal(ts("2025-06-01T03:00:10Z")) {
			t.Errorf("skips = %+v at %v; want 01:00 and 02:00 recorded as overlap skips at the tick's time", a.Skips, a.Now)
		}
	})

	t.Run("MissedDroppedStillAdvances", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{
			entries: func() ([]Entry, error) {
				return []Entry{{BenchmarkID: bench, Cron: "@hourly", Overlap: OverlapSkip, Last: ts("2025-06-01T00:00:00Z")}}, nil
			},
			advance: func(Advance) (Advanced, error) { return Advanced{Won: true}, nil },
		}
		err := tickAt(t, st, &fakeQueue{}, "2025-06-01T03:30:00Z").Tick(context.Background(), Catchup{Mode: CatchupNone, Grace: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		a := st.advances[0]
		if len(a.Occurrences) != 0 || !a.To.Equal(ts("2025-06-01T03:00:00Z")) {
			t.Errorf("advance = %+v; want the marker moved to 03:00 with no run", a)
		}
		// One record for the outage, at its newest occurrence, saying how
		// many were missed.
		if len(a.Skips) != 1 || !a.Skips[0].At.Equal(ts("2025-06-01T03:00:00Z")) ||
			a.Skips[0].Reason != "3 occurrences from 2025-06-01T01:00:00Z to 2025-06-01T03:00:00Z missed while no tick ran (scheduler or workers down) and not caught up (catch-up none)" {
			t.Errorf("skips = %+v; want the 3 missed occurrences recorded at 03:00", a.Skips)
		}
	})

	t.Run("MissedCaughtUpNotRecorded", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{
			entries: func() ([]Entry, error) {
				return []Entry{{BenchmarkID: bench, Cron: "@hourly", Overlap: OverlapAllow, Last: ts("2025-06-01T00:00:00Z")}}, nil
			},
			advance: func(Advance) (Advanced, error) { return Advanced{Won: true}, nil },
		}
		if err := tickAt(t, st, &fakeQueue{}, "2025-06-01T03:30:00Z").Tick(context.Background(), Catchup{Mode: CatchupAll, Grace: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if a := st.advances[0]; len(a.Occurrences) != 3 || len(a.Skips) != 0 {
			t.Errorf("advance = %+v; want all 3 run and none skipped", a)
		}
	})

	t.Run("LostRaceStartsNothing", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{
			entries: func() ([]Entry, error) {
				return []Entry{{BenchmarkID: bench, Cron: "@every 1s", Overlap: OverlapAllow, Last: ts("2025-06-01T00:00:00Z")}}, nil
			},
			advance: func(Advance) (Advanced, error) { return Advanced{Won: false}, nil },
		}
		q := &fakeQueue{}
		if err := tickAt(t, st, q, "2025-06-01T00:00:05Z").Tick(context.Background(), policy); err != nil || len(q.ids) != 0 {
			t.Fatalf("err %v, started %v; want nothing started by the loser", err, q.ids)
		}
	})

	t.Run("EnqueueFailureTolerated", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{
			entries: func() ([]Entry, error) {
				return []Entry{{BenchmarkID: bench, Cron: "@hourly", Overlap: OverlapAllow, Last: ts("2025-06-01T00:00:00Z")}}, nil
			},
			advance: func(Advance) (Advanced, error) { return Advanced{Won: true, Created: created}, nil },
		}
		calls := 0
		q := &fakeQueue{fail: func(*asynq.Task) error {
			calls++
			if calls == 1 {
				return errors.New("redis down")
			}
			return asynq.ErrTaskIDConflict
		}}
		// The runs are committed: a failed enqueue is the reconciler's to
		// repair, and an existing task is success.
		if err := tickAt(t, st, q, "2025-06-01T02:00:10Z").Tick(context.Background(), policy); err != nil || calls != 2 {
			t.Fatalf("err %v after %d enqueues; want nil after 2", err, calls)
		}
	})

	t.Run("ErrOneScheduleOthersGoOn", func(t *testing.T) {
		t.Parallel()
		broken, good := uuid.New(), uuid.New()
		st := &fakeStore{
			entries: func() ([]Entry, error) {
				return []Entry{
					{BenchmarkID: uuid.New(), Cron: "not a cron", Last: ts("2025-06-01T00:00:00Z")},
					{BenchmarkID: broken, Cron: "@hourly", Last: ts("2025-06-01T00:00:00Z")},
					{BenchmarkID: good, Cron: "@hourly", Last: ts("2025-06-01T00:00:00Z")},
				}, nil
			},
			advance: func(a Advance) (Advanced, error) {
				if a.BenchmarkID == broken {
					return Advanced{}, errors.New("database hiccup")
				}
				return Advanced{Won: true}, nil
			},
		}
		err := tickAt(t, st, &fakeQueue{}, "2025-06-01T01:00:10Z").Tick(context.Background(), policy)
		if err == nil || len(st.advances) != 2 || st.advances[1].BenchmarkID != good {
			t.Fatalf("err %v, advances %+v; want the error reported and the good schedule advanced", err, st.advances)
		}
	})

	t.Run("ErrList", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{entries: func() ([]Entry, error) { return nil, errors.New("down") }}
		if err := tickAt(t, st, &fakeQueue{}, "2025-06-01T01:00:10Z").Tick(context.Background(), policy); err == nil {
			t.Fatal("a failed listing was not reported")
		}
	})
}

func TestTicker_HandleTick(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		var got Catchup
		st := &fakeStore{entries: func() ([]Entry, error) { return nil, nil }}
		tk := tickAt(t, st, &fakeQueue{}, "2025-06-01T01:00:10Z")
		task := NewTickTask(TickConfig{Interval: 10 * time.Second, Catchup: CatchupAll, Queue: "control"})
		if task.Type() != TypeTick {
			t.Fatalf("type %q", task.Type())
		}
		var p tickPayload
		if err := json.Unmarshal(task.Payload(), &p); err != nil {
			t.Fatal(err)
		}
		got = Catchup{Mode: p.Catchup, Grace: time.Duration(p.GraceMs) * time.Millisecond}
		if got.Mode != CatchupAll || got.Grace != 80*time.Second {
			t.Errorf("payload policy %+v; want all with 2×10s + 1m grace", got)
		}
		if err := tk.HandleTick(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrPayload", func(t *testing.T) {
		t.Parallel()
		tk := tickAt(t, &fakeStore{}, &fakeQueue{}, "2025-06-01T01:00:10Z")
		for _, body := range []string{"{", `{"catchup":"sometimes","grace_ms":1000}`} {
			err := tk.HandleTick(context.Background(), asynq.NewTask(TypeTick, []byte(body)))
			if !errors.Is(err, asynq.SkipRetry) {
				t.Errorf("payload %s: err %v, want SkipRetry", body, err)
			}
		}
	})
}

func TestTicker_MinInterval(t *testing.T) {
	t.Parallel()
	bench := uuid.New()
	// A schedule stored before the minimum was raised: its occurrences
	// are skipped, each with the reason, and no run is asked for.
	st := &fakeStore{
		entries: func() ([]Entry, error) {
			return []Entry{{BenchmarkID: bench, Cron: "@every 1s", Overlap: OverlapAllow, Last: ts("2025-06-01T00:00:00Z")}}, nil
		},
		advance: func(a Advance) (Advanced, error) { return Advanced{Won: true, Skipped: len(a.Skips)}, nil },
	}
	tk := tickAt(t, st, &fakeQueue{}, "2025-06-01T00:00:03Z")
	tk.minInterval = time.Minute
	if err := tk.Tick(context.Background(), Catchup{Mode: CatchupAll, Grace: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if len(st.advances) != 1 {
		t.Fatalf("%d advances, want 1", len(st.advances))
	}
	a := st.advances[0]
	if len(a.Occurrences) != 0 || len(a.Skips) != 3 || !a.To.Equal(ts("2025-06-01T00:00:03Z")) {
		t.Fatalf("advance = %+v; want the 3 occurrences skipped and the marker moved", a)
	}
	for _, sk := range a.Skips {
		if !strings.Contains(sk.Reason, "SABE_MIN_SCHEDULE_INTERVAL") || !strings.Contains(sk.Reason, "1m0s") {
			t.Errorf("skip reason %q does not name the minimum", sk.Reason)
		}
	}
}
