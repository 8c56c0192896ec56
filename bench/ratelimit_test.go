package main

import (
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

func TestMaxInWindow(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := func(offsets ...time.Duration) []mockllm.LogEntry {
		var log []mockllm.LogEntry
		for _, d := range offsets {
			log = append(log, mockllm.LogEntry{Time: t0.Add(d)})
		}
		return log
	}
	for _, c := range []struct {
		name string
		log  []mockllm.LogEntry
		want int
	}{
		{"Empty", nil, 0},
		// A window is [t, t+60s): a call 60 s after another is in the next.
		{"EdgeExcluded", at(0, time.Minute), 1},
		{"EdgeIncluded", at(0, time.Minute-time.Nanosecond), 2},
		// Out of order, as the log keeps calls by when they finished.
		{"Sliding", at(70*time.Second, 0, 30*time.Second, 65*time.Second, 89*time.Second), 4},
	} {
		if got := maxInWindow(c.log, time.Minute); got != c.want {
			t.Errorf("%s: maxInWindow = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestMaxInFlight(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	call := func(from, to time.Duration) mockllm.LogEntry {
		return mockllm.LogEntry{Time: t0.Add(from), Finished: t0.Add(to)}
	}
	log := []mockllm.LogEntry{
		call(0, 10), call(5, 20), call(8, 9), // three at once at 8
		call(20, 30), // starts as the second ends: not four
		call(25, 26),
	}
	if got := maxInFlight(log); got != 3 {
		t.Errorf("maxInFlight = %d, want 3", got)
	}
	if got := maxInFlight(nil); got != 0 {
		t.Errorf("maxInFlight(nil) = %d, want 0", got)
	}
}

func TestRateLimitIdeal(t *testing.T) {
	t.Parallel()
	if got, want := rateLimitIdeal(2000, 600), 200*time.Second; got != want {
		t.Errorf("rateLimitIdeal(2000, 600) = %v, want %v", got, want)
	}
}

func TestMetricLabels(t *testing.T) {
	t.Parallel()
	got := map[string]float64{}
	addMetric(got, "sabe_provider_rescheduled_total", `sabe_provider_rescheduled_total{provider="p1",reason="rate limit"} 37`)
	addMetric(got, "sabe_provider_rescheduled_total", `sabe_provider_rescheduled_total{provider="p2",reason="rate limit"} 5`)
	addMetric(got, "sabe_provider_rescheduled_total", `sabe_provider_retries_total{provider="p1"} 9`)
	addMetric(got, "sabe_provider_rescheduled_total", `# HELP sabe_provider_rescheduled_total Unit tasks put back`)
	if len(got) != 1 || got["reason=rate limit"] != 42 {
		t.Errorf("sums = %v, want reason=rate limit: 42", got)
	}
}
