package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
)

// sseEvent is one event (or comment) read from a stream.
type sseEvent struct {
	name    string
	data    string
	comment string
}

// sseStream reads the events of an open GET /v1/runs/{id}/events.
type sseStream struct {
	resp *http.Response
	r    *bufio.Reader
}

// openEvents opens a run's event stream, which the test closes when it
// ends; the stream must answer 200.
func (b *bundle) openEvents(t *testing.T, base, runID string, opts ...reqOpt) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/runs/"+runID+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+b.token)
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("events: status %d: %s", resp.StatusCode, body)
	}
	for name, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	return &sseStream{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads the next event or comment; io.EOF once the server closed
// the stream.
func (s *sseStream) next() (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && ev == (sseEvent{}) {
				return ev, io.EOF
			}
			return ev, errors.Join(errors.New("stream ended inside an event: "+line), err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			ev.comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// event reads the next event, which must be a name event, and decodes its
// run.
func (s *sseStream) event(t *testing.T, name string) oapi.Run {
	t.Helper()
	ev, err := s.next()
	if err != nil {
		t.Fatalf("waiting for %s: %v", name, err)
	}
	if ev.name != name {
		t.Fatalf("event %q (%+v), want %q", ev.name, ev, name)
	}
	var r oapi.Run
	if err := json.Unmarshal([]byte(ev.data), &r); err != nil {
		t.Fatalf("%s data %q: %v", name, ev.data, err)
	}
	return r
}

// wantEOF checks that the server closed the stream.
func (s *sseStream) wantEOF(t *testing.T) {
	t.Helper()
	if ev, err := s.next(); err != io.EOF {
		t.Fatalf("after the last event: %+v, %v; want the stream closed", ev, err)
	}
}

// liveRun is a running run whose units the test records as a worker
// would: the execution in PostgreSQL, then the live counter.
type liveRun struct {
	b     *bundle
	world world
	run   *run.Run
	snap  *run.Snapshot
	next  int
}

// liveRun starts a run of one model over two questions.
func (b *bundle) liveRun(t *testing.T) *liveRun { return b.liveRunOf(t, 1, 2) }

func (b *bundle) liveRunOf(t *testing.T, models, questions int) *liveRun {
	t.Helper()
	ctx := context.Background()
	w := b.world(t, models, questions, 1)
	r, err := b.store.CreateRunAt(ctx, w.benchmark.Id, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if r, err = b.store.MarkRunning(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	snap, err := b.store.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &liveRun{b: b, world: w, run: r, snap: snap}
}

// record records the next unit of the first model as succeeded.
func (lr *liveRun) record(t *testing.T) {
	t.Helper()
	lr.recordUnit(t, 0, lr.next, run.ExecSucceeded)
}

// recordUnit records the unit of model m and question q in status st.
func (lr *liveRun) recordUnit(t *testing.T, m, q int, st run.ExecutionStatus) {
	t.Helper()
	ctx := context.Background()
	question := lr.snap.Questions[q]
	lat := 120.0
	e := &run.Execution{
		RunID: lr.run.ID, RunCreatedAt: lr.run.CreatedAt, BenchmarkID: lr.run.BenchmarkID, ModelID: lr.snap.Models[m].ModelID,
		QuestionID: question.QuestionID, QuestionRevisionID: question.RevisionID, Category: question.Category,
		Status: st, FinishedAt: time.Now().UTC(),
	}
	if st == run.ExecSucceeded {
		e.Response, e.LatencyMs, e.Evaluation = "4", &lat, run.Scored("numeric", true, 1, "")
	} else {
		e.Error = "HTTP 500: upstream failed"
	}
	if ok, err := lr.b.store.RecordExecution(ctx, e); err != nil || !ok {
		t.Fatalf("RecordExecution: %v, %v", ok, err)
	}
	idx := m*len(lr.snap.Questions) + q
	if _, first, err := run.NewTracker(lr.b.rdb).Record(ctx, lr.run.ID, idx, st); err != nil || !first {
		t.Fatalf("Record: %v, %v", first, err)
	}
	lr.next++
}

// finish finalizes the run as completed.
func (lr *liveRun) finish(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	r, err := lr.b.store.GetRun(ctx, lr.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, first, err := lr.b.store.Finalize(ctx, r, run.StatusCompleted, "", analytics.RankRun); err != nil || !first {
		t.Fatalf("Finalize: %v, %v", first, err)
	}
}

// fastEvents makes streams read their run every few milliseconds and
// never send keep-alives, so tests wait on events, not on the clock.
func fastEvents(d *httpapi.Deps) {
	d.Config.EventsInterval = 5 * time.Millisecond
	d.Config.EventsKeepAlive = time.Hour
}

func TestServer_RunEvents(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		lr := b.liveRun(t)
		id := lr.run.ID.String()
		s := b.openEvents(t, b.ts.URL, id)

		// The first event is the run exactly as GET /v1/runs/{id} shows it.
		ev, err := s.next()
		if err != nil || ev.name != "progress" {
			t.Fatalf("first event %+v, %v; want progress", ev, err)
		}
		got := b.do(t, "GET", "/v1/runs/"+id, "")
		if !bytes.Equal(bytes.TrimSpace(got.body), []byte(ev.data)) {
			t.Errorf("first event data\n%s\nGET /v1/runs/{id}\n%s", ev.data, got.body)
		}

		for want := int64(1); want <= 2; want++ {
			lr.record(t)
			r := s.event(t, "progress")
			if r.Status != oapi.RunStatusRunning || r.Progress.Succeeded != want || r.Progress.Total != 2 {
				t.Fatalf("progress event %d: status %s, progress %+v; want running with %d of 2 succeeded", want, r.Status, r.Progress, want)
			}
		}
		lr.finish(t)
		fin := s.event(t, "final")
		if fin.Status != oapi.RunStatusCompleted || fin.Progress.Succeeded != 2 || fin.FinishedAt == nil || fin.Id != lr.run.ID {
			t.Errorf("final event: %+v", fin)
		}
		s.wantEOF(t)
	})

	t.Run("OKSpend", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		lr := b.liveRun(t)
		id := lr.run.ID.String()
		if r := call[oapi.Run](t, b, "GET", "/v1/runs/"+id, "", http.StatusOK); r.Progress.SpentUsd != nil {
			t.Fatalf("spent_usd before any call = %v, want absent", *r.Progress.SpentUsd)
		}
		s := b.openEvents(t, b.ts.URL, id)
		s.event(t, "progress")
		// A spend that changes while the counts do not is an event too:
		// a follower shows the money as it goes.
		if err := run.NewTracker(b.rdb).AddSpend(context.Background(), lr.run.ID, 0.25); err != nil {
			t.Fatal(err)
		}
		if r := s.event(t, "progress"); r.Progress.SpentUsd == nil || *r.Progress.SpentUsd != 0.25 {
			t.Fatalf("progress after a spend: %+v, want spent_usd 0.25", r.Progress)
		}
		if r := call[oapi.Run](t, b, "GET", "/v1/runs/"+id, "", http.StatusOK); r.Progress.SpentUsd == nil || *r.Progress.SpentUsd != 0.25 {
			t.Fatalf("GET: progress %+v, want spent_usd 0.25", r.Progress)
		}
		lr.finish(t)
		if fin := s.event(t, "final"); fin.Progress.SpentUsd != nil {
			t.Errorf("a finished run's spent_usd = %v, want absent", *fin.Progress.SpentUsd)
		}
	})

	t.Run("OKFinished", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		lr := b.liveRun(t)
		lr.record(t)
		lr.record(t)
		lr.finish(t)
		id := lr.run.ID.String()
		want := call[oapi.Run](t, b, "GET", "/v1/runs/"+id, "", http.StatusOK)
		s := b.openEvents(t, b.ts.URL, id)
		fin := s.event(t, "final")
		if fin.Status != want.Status || fin.Progress != want.Progress || fin.FinishedAt == nil || !fin.FinishedAt.Equal(*want.FinishedAt) {
			t.Errorf("final = %+v, want %+v", fin, want)
		}
		s.wantEOF(t)
	})

	t.Run("OKSessionAndReadScope", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		lr := b.liveRun(t)
		lr.finish(t)
		id := lr.run.ID.String()
		reader := b.newToken(t, apitoken.ScopeRead)
		b.openEvents(t, b.ts.URL, id, as(reader)).event(t, "final")
		// A browser's EventSource sends the session cookie and no header.
		ck := sessionCookie(t, b.login(t, b.token))
		b.openEvents(t, b.ts.URL, id, as(""), withCookie(ck)).event(t, "final")
	})

	t.Run("OKKeepAlive", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) {
			d.Config.EventsInterval = time.Hour
			d.Config.EventsKeepAlive = 5 * time.Millisecond
		})
		lr := b.liveRun(t)
		s := b.openEvents(t, b.ts.URL, lr.run.ID.String())
		s.event(t, "progress")
		ev, err := s.next()
		if err != nil || ev.comment != "keep-alive" || ev.name != "" {
			t.Fatalf("after the first event: %+v, %v; want a keep-alive comment", ev, err)
		}
	})

	t.Run("OKServerShutdown", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		lr := b.liveRun(t)
		s := b.openEvents(t, b.ts.URL, lr.run.ID.String())
		s.event(t, "progress")
		b.srv.EndStreams()
		s.wantEOF(t)
		// A stream opened after shutdown began gets its first event and ends.
		s = b.openEvents(t, b.ts.URL, lr.run.ID.String())
		s.event(t, "progress")
		s.wantEOF(t)
	})

	t.Run("OKOutlivesServerTimeouts", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		lr := b.liveRun(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		const timeout = 100 * time.Millisecond
		hs := &http.Server{Handler: b.srv.Handler(), ReadTimeout: timeout, WriteTimeout: timeout}
		go func() { _ = hs.Serve(ln) }()
		t.Cleanup(func() { _ = hs.Close() })

		s := b.openEvents(t, "http://"+ln.Addr().String(), lr.run.ID.String())
		s.event(t, "progress")
		// Past both of the server's timeouts the stream still delivers.
		time.Sleep(3 * timeout)
		lr.record(t)
		if r := s.event(t, "progress"); r.Progress.Succeeded != 1 {
			t.Errorf("progress after the server's timeouts: %+v", r.Progress)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		resp := b.do(t, "GET", "/v1/runs/"+uuid.NewString()+"/events", "", header("Accept", "text/event-stream"))
		wantError(t, resp, http.StatusNotFound, "")
		if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("404 Content-Type = %q, want JSON", ct)
		}
	})

	t.Run("ErrNoCredential", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		lr := b.liveRun(t)
		wantError(t, b.do(t, "GET", "/v1/runs/"+lr.run.ID.String()+"/events", "", as(""), header("Accept", "text/event-stream")), http.StatusUnauthorized, "")
	})

	t.Run("ErrBadID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, fastEvents)
		wantError(t, b.do(t, "GET", "/v1/runs/nope/events", ""), http.StatusBadRequest, "id")
	})
}
