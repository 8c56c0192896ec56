package run_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

// closedURL is a base URL where nothing listens: every connection is
// refused.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/v1"
}

// wantError fails the test unless the run's error holds every part.
func wantError(t *testing.T, r *run.Run, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Error, p) {
			t.Errorf("run error %q does not say %q", r.Error, p)
		}
	}
}

// TestRun_UndecryptableKeyFailsFast: a provider key sealed with a key id
// the workers' SABE_ENCRYPTION_KEY does not hold fails every unit at once,
// without a call or a retry; the run ends failed with an error naming the
// provider and the missing key id, and the log says it once.
func TestRun_UndecryptableKeyFailsFast(t *testing.T) {
	t.Parallel()
	entry, err := secrets.GenerateEntry("rotated")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secrets.ParseKeyring(entry)
	if err != nil {
		t.Fatal(err)
	}
	const units = 40
	b := setupWith(t, mockllm.Config{}, settings{keys: ring})
	f := b.seed(t, b.mock.URL+"/v1", "sk-sealed-with-test", []string{"mock-perfect"}, units, 1)
	w := b.startWorker(t, 4)
	fin := b.waitFinal(t, b.startRun(t, f).ID)

	if fin.Status != run.StatusFailed || fin.Progress.Failed != units {
		t.Fatalf("run %s (%q), progress %+v: want failed, every unit failed", fin.Status, fin.Error, fin.Progress)
	}
	wantError(t, fin, "all 40 units failed", `provider "mock"`, f.providerID.String(), `key id "test"`, "SABE_ENCRYPTION_KEY does not hold")
	if n := b.mock.Server.Requests(); n != 0 {
		t.Errorf("provider calls = %d, want none", n)
	}
	for _, e := range b.executions(t, fin.ID) {
		if e.attempts != 1 || !strings.Contains(e.err, `key id "test"`) {
			t.Errorf("unit: %d attempts, error %q; want one attempt naming the key id", e.attempts, e.err)
		}
	}
	if n := strings.Count(w.log.String(), "provider unusable"); n != 1 {
		t.Errorf("logged %d times, want once per provider:\n%s", n, w.log.String())
	}
}

// TestRun_UnusableProviderFailsFast: answers and setups that no retry can
// mend fail the units at once, and the run's error says which provider and
// why.
func TestRun_UnusableProviderFailsFast(t *testing.T) {
	t.Parallel()
	const units = 30
	cases := []struct {
		name     string
		settings settings
		path     string // under the mock's URL
		https    bool   // call the mock, which speaks plain HTTP, over TLS
		key      string
		model    string
		want     []string
	}{
		{name: "Unauthorized", path: "/faults/require_key=true/v1", key: "bad-key-0123456789", model: "mock-perfect",
			want: []string{"rejected the credentials", "HTTP 401"}},
		{name: "UnknownModel", path: "/v1", model: "no-such-model",
			want: []string{`does not know model "no-such-model"`, "HTTP 404"}},
		{name: "TLSToPlainHTTP", https: true, path: "/v1", model: "mock-perfect",
			want: []string{"cannot be reached (tls)", "HTTP response to HTTPS client"}},
		{name: "UnsupportedKind", path: "/v1", model: "mock-perfect",
			settings: settings{unspoken: []catalog.ProviderKind{catalog.KindOpenAI}},
			want:     []string{`provider kind "openai" is not supported`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, mockllm.Config{}, tc.settings)
			base := b.mock.URL
			if tc.https {
				base = strings.Replace(base, "http://", "https://", 1)
			}
			f := b.seed(t, base+tc.path, tc.key, []string{tc.model}, units, 1)
			w := b.startWorker(t, 4)
			fin := b.waitFinal(t, b.startRun(t, f).ID)
			if fin.Status != run.StatusFailed || fin.Progress.Failed != units {
				t.Fatalf("run %s (%q), progress %+v: want failed", fin.Status, fin.Error, fin.Progress)
			}
			wantError(t, fin, append([]string{`provider "mock"`, f.providerID.String()}, tc.want...)...)
			// Calls already going out when the first answer came may
			// finish; none start after.
			if n := b.mock.Server.Requests(); n > 4 {
				t.Errorf("provider calls = %d; want at most the 4 in flight when the first answer came", n)
			}
			for _, e := range b.executions(t, fin.ID) {
				if e.attempts != 1 {
					t.Errorf("unit retried: %d attempts", e.attempts)
				}
			}
			if n := strings.Count(w.log.String(), "provider unusable"); n != 1 {
				t.Errorf("logged %d times, want once", n)
			}
		})
	}
}

// TestRun_DeadProviderEndsRun: a provider that refuses every connection
// trips its circuit; once the circuit has been open for longer than
// BreakerMaxWait the waiting units fail with its last error, instead of
// waiting for the run's deadline, and the run ends failed saying why.
// Retries are many and the open period long, so without the bound the run
// would not end for minutes.
func TestRun_DeadProviderEndsRun(t *testing.T) {
	t.Parallel()
	const units = 10
	b := setupWith(t, mockllm.Config{}, settings{
		run:   run.Config{MaxRetry: 20, RetryMaxDelay: 50 * time.Millisecond, BreakerMaxWait: 300 * time.Millisecond},
		fleet: resilience.Config{Failures: 2, OpenTimeout: 500 * time.Millisecond},
	})
	f := b.seed(t, closedURL(t), "", []string{"mock-perfect"}, units, 1)
	w := b.startWorker(t, 4)
	fin := b.waitFinal(t, b.startRun(t, f).ID)
	if fin.Status != run.StatusFailed || fin.Progress.Failed != units {
		t.Fatalf("run %s (%q), progress %+v: want failed", fin.Status, fin.Error, fin.Progress)
	}
	wantError(t, fin, `provider "mock"`, f.providerID.String(), "circuit breaker has been open since", "last error", "refused")
	t.Logf("dead provider: %s", fin.Error)
	if n := strings.Count(w.log.String(), "provider down for longer than the breaker max wait"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
	// What the API shows while units wait: the fleet's record of the
	// outage, with the provider's last error.
	holds, err := resilience.Holds(context.Background(), b.rdb, time.Now(), f.providerID.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(holds) != 1 || holds[0].Since.IsZero() || !strings.Contains(holds[0].LastError, "connection refused") {
		t.Errorf("holds %+v: want the open circuit with its start and last error", holds)
	}
}

// TestRun_UnscorableQuestionFailsItsUnits: a question whose stored scoring
// rule no longer compiles fails its own units without a call, once logged,
// and the run's other questions go on. It used to fail the whole snapshot,
// so run:start and every unit retried it until asynq gave up.
func TestRun_UnscorableQuestionFailsItsUnits(t *testing.T) {
	t.Parallel()
	const questions, samples = 3, 2
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-perfect"}, questions, samples)
	// A rule stored before validation tightened, as no API accepts now.
	if _, err := b.pool.Exec(context.Background(), `UPDATE question_revisions SET scoring = '{"method":"regex","pattern":"("}' WHERE question_id = $1`,
		f.questions[0].ID); err != nil {
		t.Fatal(err)
	}
	w := b.startWorker(t, 4)
	fin := b.waitFinal(t, b.startRun(t, f).ID)
	if fin.Status != run.StatusPartial || fin.Progress.Failed != samples || fin.Progress.Succeeded != (questions-1)*samples {
		t.Fatalf("run %s (%q), progress %+v: want partial, the bad question's units failed", fin.Status, fin.Error, fin.Progress)
	}
	wantError(t, fin, "scoring rule does not compile", f.questions[0].ID.String())
	if n := b.mock.Server.Requests(); n != (questions-1)*samples {
		t.Errorf("provider calls = %d, want %d: none for the unscorable question", n, (questions-1)*samples)
	}
	if n := strings.Count(w.log.String(), "question cannot be scored"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
}

// TestHandleExecute_BreakerMaxWait: on the handler's clock, a unit that
// meets an open circuit whose outage began less than BreakerMaxWait ago is
// handed back to wait; once the outage is older, the unit fails with the
// provider's last error, without a call.
func TestHandleExecute_BreakerMaxWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Now()
	var now atomic.Pointer[time.Time]
	now.Store(&start)
	b := setupWith(t, mockllm.Config{}, settings{run: run.Config{BreakerMaxWait: 5 * time.Minute, Now: func() time.Time { return *now.Load() }}})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-perfect"}, 1, 1)
	// The fleet's record of an outage that began 4 minutes ago, its circuit
	// open for another hour.
	rec, err := json.Marshal(resilience.SharedBreaker{
		OpenedAt: start.UnixMilli(), Until: start.Add(time.Hour).UnixMilli(),
		Since: start.Add(-4 * time.Minute).UnixMilli(), LastError: "provider: HTTP 503: down",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.rdb.Set(ctx, resilience.BreakerKey(f.providerID.String()), rec, 2*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := b.store.CreateRun(ctx, store.NewRun{BenchmarkID: f.benchmark.ID, Trigger: run.TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}
	task := run.NewExecuteTask(ctx, r.ID, 0, run.UnitQueue(r))

	if err := b.handlers.HandleExecute(ctx, task); err == nil || run.IsFailure(err) {
		t.Fatalf("within the max wait: err = %v, want a wait", err)
	}
	if rows := b.executions(t, r.ID); len(rows) != 0 {
		t.Fatalf("recorded %+v while waiting", rows)
	}

	later := start.Add(2 * time.Minute)
	now.Store(&later)
	if err := b.handlers.HandleExecute(ctx, task); err != nil {
		t.Fatalf("past the max wait: err = %v, want the unit recorded", err)
	}
	rows := b.executions(t, r.ID)
	if len(rows) != 1 || rows[0].status != "failed" || !strings.Contains(rows[0].err, "open since") ||
		!strings.Contains(rows[0].err, "last error: provider: HTTP 503: down") {
		t.Fatalf("executions %+v: want the unit failed with the provider's last error", rows)
	}
	if n := b.mock.Server.Requests(); n != 0 {
		t.Errorf("provider calls = %d, want none", n)
	}
}
