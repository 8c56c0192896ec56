package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// flakyRuns plays the run routes of an API whose event stream misbehaves:
// events answers the n-th connection (from 1) as it says; the run
// itself is read from run.
type flakyRuns struct {
	id          uuid.UUID
	connections atomic.Int32
	reads       atomic.Int32
	events      func(w http.ResponseWriter, n int32)
	run         func(n int32) oapi.Run
}

func (f *flakyRuns) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/runs/" + f.id.String() + "/events":
		f.events(w, f.connections.Add(1))
	case "/v1/runs/" + f.id.String():
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(f.run(f.reads.Add(1)))
	default:
		http.NotFound(w, r)
	}
}

// sse writes one server-sent event with the run as its data.
func sse(w http.ResponseWriter, name string, r oapi.Run) {
	b, _ := json.Marshal(r)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
	w.(http.Flusher).Flush()
}

func TestClient_WatchRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id := uuid.New()
	at := func(st oapi.RunStatus, done int64) oapi.Run {
		return oapi.Run{Id: id, Status: st, Progress: oapi.RunProgress{Total: 10, Answered: done}}
	}

	t.Run("OKStreamDropped", func(t *testing.T) {
		t.Parallel()
		f := &flakyRuns{id: id, events: func(w http.ResponseWriter, n int32) {
			w.Header().Set("Content-Type", "text/event-stream")
			if n == 1 {
				sse(w, "progress", at(oapi.RunStatusRunning, 4))
				return // the stream drops before the run ends
			}
			sse(w, "progress", at(oapi.RunStatusRunning, 7))
			sse(w, "final", at(oapi.RunStatusCompleted, 10))
		}}
		srv := httptest.NewServer(f)
		defer srv.Close()
		var seen []int64
		got, err := client.New(srv.URL, "t").WatchRun(ctx, id, time.Hour, func(r oapi.Run) error {
			seen = append(seen, r.Progress.Answered)
			return nil
		})
		if err != nil || got.Status != oapi.RunStatusCompleted {
			t.Fatalf("WatchRun = %s, %v; want completed", got.Status, err)
		}
		if f.connections.Load() != 2 || fmt.Sprint(seen) != "[4 7]" {
			t.Errorf("%d connections, each saw %v; want 2 and [4 7]", f.connections.Load(), seen)
		}
	})

	t.Run("OKPollsWithoutEvents", func(t *testing.T) {
		t.Parallel()
		f := &flakyRuns{id: id,
			events: func(w http.ResponseWriter, _ int32) {
				http.Error(w, "streaming is not allowed here", http.StatusNotImplemented)
			},
			run: func(n int32) oapi.Run {
				if n < 3 {
					return at(oapi.RunStatusRunning, int64(n))
				}
				return at(oapi.RunStatusCancelled, 3)
			},
		}
		srv := httptest.NewServer(f)
		defer srv.Close()
		reads := 0
		got, err := client.New(srv.URL, "t").WatchRun(ctx, id, time.Millisecond, func(oapi.Run) error {
			reads++
			return nil
		})
		if err != nil || got.Status != oapi.RunStatusCancelled || reads != 2 || f.connections.Load() != 1 {
			t.Errorf("WatchRun = %s, %v after %d reads and %d streams; want cancelled after 2 reads and 1 stream", got.Status, err, reads, f.connections.Load())
		}
	})

	t.Run("ErrFromEach", func(t *testing.T) {
		t.Parallel()
		f := &flakyRuns{id: id, events: func(w http.ResponseWriter, _ int32) {
			w.Header().Set("Content-Type", "text/event-stream")
			sse(w, "progress", at(oapi.RunStatusRunning, 1))
			<-time.After(time.Second)
		}}
		srv := httptest.NewServer(f)
		defer srv.Close()
		stop := errors.New("stop")
		if _, err := client.New(srv.URL, "t").WatchRun(ctx, id, time.Hour, func(oapi.Run) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("WatchRun = %v, want %v", err, stop)
		}
	})

	t.Run("ErrContext", func(t *testing.T) {
		t.Parallel()
		f := &flakyRuns{id: id, events: func(w http.ResponseWriter, _ int32) {
			w.Header().Set("Content-Type", "text/event-stream")
			sse(w, "progress", at(oapi.RunStatusRunning, 1)) // and the stream drops, again and again
		}}
		srv := httptest.NewServer(f)
		defer srv.Close()
		cctx, cancel := context.WithCancel(ctx)
		_, err := client.New(srv.URL, "t").WatchRun(cctx, id, time.Hour, func(oapi.Run) error {
			if f.connections.Load() == 3 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), id.String()) {
			t.Errorf("WatchRun = %v, want context.Canceled naming the run", err)
		}
	})
}

func TestClient_PreviousFinishedRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	bench := b.benchmark(t)
	start := func(status string) oapi.Run {
		t.Helper()
		r, err := b.c.StartRun(ctx, bench.Id)
		if err != nil {
			t.Fatal(err)
		}
		if status != "" {
			if _, err := b.pool.Exec(ctx, `UPDATE runs SET status = $2, finished_at = now() WHERE id = $1`, r.Id, status); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	first := start("")
	if _, found, err := b.c.PreviousFinishedRun(ctx, first); err != nil || found {
		t.Fatalf("PreviousFinishedRun of the first run = %v, %v; want none", found, err)
	}
	completed := start("completed")
	partial := start("partial")
	start("failed")
	cur := start("completed")
	start("completed") // after cur: not before it
	got, found, err := b.c.PreviousFinishedRun(ctx, cur)
	if err != nil || !found || got.Id != partial.Id {
		t.Errorf("PreviousFinishedRun = %s (%v, %v); want the partial run %s, the newest finished before", got.Id, found, err, partial.Id)
	}
	if got, _, _ := b.c.PreviousFinishedRun(ctx, partial); got.Id != completed.Id {
		t.Errorf("PreviousFinishedRun(partial) = %s, want %s", got.Id, completed.Id)
	}
}
