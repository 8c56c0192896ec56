package main

import (
	"testing"

	"github.com/hibiken/asynq"
)

func TestEnqueued(t *testing.T) {
	t.Parallel()
	// Every state a task can be in counts, and those processed (which
	// have left the queue) by the cumulative counter, not today's.
	qi := &asynq.QueueInfo{Pending: 1, Active: 2, Scheduled: 4, Retry: 8, Archived: 16, Completed: 32,
		ProcessedTotal: 64, Processed: 1000, Failed: 1000, FailedTotal: 1000, Size: 1000, Aggregating: 1000}
	if got := enqueued(qi); got != 127 {
		t.Errorf("enqueued = %d, want 127", got)
	}
	if got := enqueued(&asynq.QueueInfo{}); got != 0 {
		t.Errorf("enqueued of an empty queue = %d, want 0", got)
	}
}

func TestParseFanOutLog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, line string
		want       FanOutLog
		ok         bool
	}{
		{"Number", `worker1: time=2026-12-07T17:25:24.933Z level=INFO msg="run fanned out" process=worker run_id=01a2 units=1000000 seconds=41.2346`,
			FanOutLog{Units: 1_000_000, Seconds: 41.235}, true},
		{"Duration", `time=2026-12-07T17:25:24.933Z level=INFO msg="run fanned out" units=10000 seconds=1.5s`,
			FanOutLog{Units: 10_000, Seconds: 1.5}, true},
		{"NoSeconds", `level=INFO msg="run fanned out" units=10000`, FanOutLog{}, false},
		{"OtherLine", `level=INFO msg="run started" units=10000 seconds=3`, FanOutLog{}, false},
		{"Empty", "", FanOutLog{}, false},
	} {
		got, ok := parseFanOutLog(c.line)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s: parseFanOutLog = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestInfoInt(t *testing.T) {
	t.Parallel()
	info := "# Memory\r\nused_memory:2912345\r\nused_memory_human:2.78M\r\nused_memory_rss:9000000\r\nused_memory_peak:15400000\r\n"
	if n, ok := infoInt(info, "used_memory"); !ok || n != 2_912_345 {
		t.Errorf("used_memory = %d, %v; want 2912345", n, ok)
	}
	if n, ok := infoInt(info, "used_memory_peak"); !ok || n != 15_400_000 {
		t.Errorf("used_memory_peak = %d, %v; want 15400000", n, ok)
	}
	if _, ok := infoInt(info, "used_memory_lua"); ok {
		t.Error("used_memory_lua found in an answer without it")
	}
	if _, ok := infoInt("used_memory:2.78M\r\n", "used_memory"); ok {
		t.Error("a value that is not an integer was read")
	}
}

func TestSeriesSummary(t *testing.T) {
	t.Parallel()
	if got, want := seriesSummary([]float64{45.6, 70.2, 69.9}), "3 values, first 45.6, max 70.2, last 69.9"; got != want {
		t.Errorf("seriesSummary = %q, want %q", got, want)
	}
	if got := seriesSummary(nil); got != "none" {
		t.Errorf("seriesSummary(nil) = %q, want none", got)
	}
}
