package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// fakeCircuitStore records the events it is given; written says what it
// answers.
type fakeCircuitStore struct {
	written bool
	err     error
	got     []CircuitChanged
}

var _ CircuitStore = (*fakeCircuitStore)(nil)

func (f *fakeCircuitStore) RecordCircuitEvent(_ context.Context, c CircuitChanged) (bool, error) {
	f.got = append(f.got, c)
	return f.written, f.err
}

// kickRecorder records the tasks enqueued.
type kickRecorder struct {
	mu    sync.Mutex
	tasks []string
}

var _ Enqueuer = (*kickRecorder)(nil)

func (q *kickRecorder) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t.Type())
	return &asynq.TaskInfo{}, nil
}

func TestCircuitEvents(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0190c3b2-0000-7000-8000-000000000003")
	since := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		st, q := &fakeCircuitStore{written: true}, &kickRecorder{}
		c := &CircuitEvents{Store: st, Queue: q, Log: slog.New(slog.DiscardHandler)}
		c.CircuitOpened(id.String(), since, "provider: HTTP 503")
		c.CircuitClosed(id.String(), since, since.Add(time.Minute), "provider: HTTP 503")
		if len(st.got) != 2 || st.got[0].State != "open" || st.got[0].ProviderID != id || st.got[0].ClosedAt != nil ||
			st.got[1].State != "closed" || st.got[1].ClosedAt == nil || !st.got[1].Since.Equal(since) || st.got[1].LastError != "provider: HTTP 503" {
			t.Errorf("events = %+v", st.got)
		}
		if len(q.tasks) != 2 || q.tasks[0] != TypeDispatch {
			t.Errorf("tasks = %v, want a dispatch per event", q.tasks)
		}
	})

	t.Run("AlreadyWritten", func(t *testing.T) {
		t.Parallel()
		st, q := &fakeCircuitStore{written: false}, &kickRecorder{}
		c := &CircuitEvents{Store: st, Queue: q, Log: slog.New(slog.DiscardHandler)}
		c.CircuitOpened(id.String(), since, "")
		if len(st.got) != 1 || len(q.tasks) != 0 {
			t.Errorf("events %d, tasks %v; want the event tried and no kick", len(st.got), q.tasks)
		}
	})

	t.Run("ErrLogged", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		st, q := &fakeCircuitStore{err: errors.New("database down")}, &kickRecorder{}
		c := &CircuitEvents{Store: st, Queue: q, Log: slog.New(slog.NewTextHandler(&logs, nil))}
		c.CircuitOpened(id.String(), since, "")
		c.CircuitOpened("not-an-id", since, "")
		if len(q.tasks) != 0 || !strings.Contains(logs.String(), "database down") || !strings.Contains(logs.String(), "not-an-id") || len(st.got) != 1 {
			t.Errorf("tasks %v, logs %q", q.tasks, logs.String())
		}
	})
}
