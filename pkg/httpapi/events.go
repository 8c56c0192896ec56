package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
)

// Defaults of the run event streams (Config.EventsInterval,
// Config.EventsKeepAlive).
const (
	// DefaultEventsInterval is how often an open event stream reads its
	// run (SABE_EVENTS_INTERVAL).
	DefaultEventsInterval = 500 * time.Millisecond
	// DefaultEventsKeepAlive is how often an idle event stream sends a
	// comment, so that proxies in between keep it open.
	DefaultEventsKeepAlive = 15 * time.Second
)

// eventWriteTimeout bounds each write of an event stream. The stream
// outlives the http.Server's WriteTimeout, so every write moves the
// connection's deadline instead; a client that stops reading for this
// long is dropped.
const eventWriteTimeout = 30 * time.Second

// streamStop ends the open event streams when the server shuts down:
// http.Server.Shutdown waits for active requests and would otherwise wait
// its whole timeout for streams that never end by themselves. The zero
// value is ready to use.
type streamStop struct {
	mu   sync.Mutex
	ch   chan struct{}
	done bool
}

func (s *streamStop) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *streamStop) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	if !s.done {
		close(s.ch)
		s.done = true
	}
}

// EndStreams closes every open run event stream (GET /v1/runs/{id}/events)
// and makes new ones close at once. Register it with
// http.Server.RegisterOnShutdown so that shutting down does not wait for
// streams; clients reconnect to another replica. It is safe to call twice.
func (s *Server) EndStreams() { s.streams.stop() }

// StreamRunEvents follows a run as Server-Sent Events: the run as GetRun
// renders it at once and whenever its status or progress changes, then a
// final event once it has finished. An unknown run is a 404 before the
// stream starts. The stream reads the run (one primary-key read, plus the
// live counters in Redis while it runs) every Config.EventsInterval and
// renders it fully only when it changed.
func (a *api) StreamRunEvents(ctx context.Context, req oapi.StreamRunEventsRequestObject) (oapi.StreamRunEventsResponseObject, error) {
	r, err := a.s.store.GetRun(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	first, err := a.renderRun(ctx, r, true)
	if err != nil {
		return nil, err
	}
	p, err := a.progress(ctx, r, false)
	if err != nil {
		return nil, err
	}
	return &runEvents{a: a, ctx: ctx, run: r, seen: runStateOf(r, p), first: first}, nil
}

// runState is what a stream compares between reads to decide whether the
// run changed.
type runState struct {
	status   run.Status
	progress run.Progress
	spent    float64
	cancel   bool
	retry    int
}

// runStateOf compares the live spend by value: Progress holds it as a
// pointer, which would differ on every read.
func runStateOf(r *run.Run, p run.Progress) runState {
	st := runState{status: r.Status, cancel: r.CancelRequestedAt != nil, retry: r.RetryRound}
	if p.SpentUSD != nil {
		st.spent = *p.SpentUSD
	}
	p.SpentUSD = nil
	st.progress = p
	return st
}

// runEvents is the response of StreamRunEvents: writing it is the stream.
type runEvents struct {
	a     *api
	ctx   context.Context
	run   *run.Run
	seen  runState
	first oapi.Run
}

// VisitStreamRunEventsResponse writes the stream until the run finishes,
// the client goes away or the server shuts down. Errors after the first
// event are logged by the error handler (the response has started).
func (e *runEvents) VisitStreamRunEventsResponse(w http.ResponseWriter) error {
	cfg := e.a.s.cfg
	rc := http.NewResponseController(w)
	// The connection's read deadline (http.Server.ReadTimeout) would end
	// the request's context while the stream is idle; a client that goes
	// away is noticed when a write fails instead.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("clear the read deadline: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	write := func(text string) error {
		if err := rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return fmt.Errorf("extend the write deadline: %w", err)
		}
		if _, err := io.WriteString(w, text); err != nil {
			return err
		}
		return rc.Flush()
	}
	send := func(out oapi.Run) (bool, error) {
		data, err := json.Marshal(out)
		if err != nil {
			return false, fmt.Errorf("encode run %s: %w", out.Id, err)
		}
		final := run.Status(out.Status).Final()
		name := "progress"
		if final {
			name = "final"
		}
		return final, write("event: " + name + "\ndata: " + string(data) + "\n\n")
	}

	if final, err := send(e.first); final || err != nil {
		return e.quiet(err)
	}
	tick := time.NewTicker(cfg.EventsInterval)
	defer tick.Stop()
	keep := time.NewTicker(cfg.EventsKeepAlive)
	defer keep.Stop()
	stop := e.a.s.streams.wait()
	for {
		select {
		case <-e.ctx.Done():
			return nil
		case <-stop:
			return nil
		case <-keep.C:
			if err := write(": keep-alive\n\n"); err != nil {
				return e.quiet(err)
			}
		case <-tick.C:
			out, changed, err := e.next()
			if err != nil || !changed {
				if fault.KindOf(err) == fault.KindNotFound {
					// Deleted while followed: nothing more will come.
					return nil
				}
				if err != nil {
					return e.quiet(err)
				}
				continue
			}
			if final, err := send(out); final || err != nil {
				return e.quiet(err)
			}
		}
	}
}

// next reads the run again and renders it when it changed since the last
// event.
func (e *runEvents) next() (oapi.Run, bool, error) {
	r, err := e.a.s.store.GetRun(e.ctx, e.run.ID)
	if err != nil {
		return oapi.Run{}, false, err
	}
	p, err := e.a.progress(e.ctx, r, false)
	if err != nil {
		return oapi.Run{}, false, err
	}
	st := runStateOf(r, p)
	if st == e.seen {
		return oapi.Run{}, false, nil
	}
	out, err := e.a.renderRun(e.ctx, r, true)
	if err != nil {
		return oapi.Run{}, false, err
	}
	e.seen = st
	return out, true, nil
}

// quiet drops the errors of a client that went away: they end the stream
// but are nothing to log.
func (e *runEvents) quiet(err error) error {
	if err == nil || e.ctx.Err() != nil {
		return nil
	}
	return err
}
