package metrics_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/internal/metrics"
	"github.com/sabe-dev/sabe/pkg/resilience"
)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return string(body)
}

func TestMetrics_Serve(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.Call("p1", "ok", 300*time.Millisecond)
	m.Call("p1", "server_error", 2*time.Second)
	m.Retry("p1")
	m.Rescheduled("p1", resilience.ReasonOpen)
	m.Skipped("deadline")
	m.BreakerStateChanged("p1", resilience.StateClosed, resilience.StateOpen)
	m.LimitWaited("p1", "rpm", false)
	m.Spent("p1", 0.25)
	m.Spent("p1", 0.5)
	m.Spent("p1", 0) // a free call adds nothing, and makes no series of its own

	s, err := metrics.Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	body := scrape(t, "http://"+s.Addr()+"/metrics")
	for _, want := range []string{
		`sabe_provider_calls_total{outcome="ok",provider="p1"} 1`,
		`sabe_provider_calls_total{outcome="server_error",provider="p1"} 1`,
		`sabe_provider_call_duration_seconds_bucket{outcome="ok",provider="p1",le="0.5"} 1`,
		`sabe_provider_retries_total{provider="p1"} 1`,
		`sabe_provider_rescheduled_total{provider="p1",reason="circuit open"} 1`,
		`sabe_units_skipped_total{reason="deadline"} 1`,
		`sabe_provider_breaker_state{provider="p1"} 2`,
		`sabe_provider_limit_waits_total{limit="rpm",provider="p1",rescheduled="false"} 1`,
		`sabe_provider_cost_usd_total{provider="p1"} 0.75`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}

	// Each process has its own registry: a second set starts empty.
	if other := metrics.New(); strings.Contains(scrapeHandler(t, other), "sabe_provider_calls_total{") {
		t.Error("a new Metrics shares counts with another")
	}
	s.Stop()
	s.Stop()
	if _, err := http.Get("http://" + s.Addr() + "/metrics"); err == nil {
		t.Error("still serving after Stop")
	}
}

func scrapeHandler(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	s, err := metrics.Listen("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	return scrape(t, "http://"+s.Addr()+"/metrics")
}

func TestListen_ErrAddrInUse(t *testing.T) {
	t.Parallel()
	s, err := metrics.Listen("127.0.0.1:0", metrics.New().Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, err := metrics.Listen(s.Addr(), metrics.New().Handler()); err == nil {
		t.Error("a second listener on a taken address: want an error")
	}
}

// TestWithPprof: the profiler is served beside /metrics only when asked
// for.
func TestWithPprof(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	plain, err := metrics.Listen("127.0.0.1:0", m.Handler(), metrics.Profiling(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Stop)
	profiled, err := metrics.Listen("127.0.0.1:0", m.Handler(), metrics.Profiling(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(profiled.Stop)
	if body := scrape(t, "http://"+profiled.Addr()+"/debug/pprof/"); !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index: %.200s", body)
	}
	if body := scrape(t, "http://"+profiled.Addr()+"/metrics"); !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics beside pprof: %.200s", body)
	}
	resp, err := http.Get("http://" + plain.Addr() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("the profiler is served without being asked for")
	}
}

func TestMetrics_Scored(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.Scored("regex", 3*time.Millisecond, true)
	m.Scored("regex", time.Millisecond, false)
	m.Scored("numeric", time.Microsecond, false)
	body := scrapeHandler(t, m)
	for _, want := range []string{
		`sabe_scoring_duration_seconds_count{scorer="regex"} 2`,
		`sabe_scoring_duration_seconds_count{scorer="numeric"} 1`,
		`sabe_scoring_prefix_only_total{scorer="regex"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, `sabe_scoring_prefix_only_total{scorer="numeric"}`) {
		t.Error("numeric counted as read on a prefix")
	}
}
