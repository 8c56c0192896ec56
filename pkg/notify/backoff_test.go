package notify_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/notify"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := notify.Backoff{Base: 5 * time.Second, Jitter: func(n int64) int64 { return n - 1 }}
	for attempt, want := range map[int]time.Duration{
		1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 10: 2560 * time.Second, 11: time.Hour, 1000: time.Hour,
	} {
		if got := b.Delay(attempt); got != want {
			t.Errorf("delay after attempt %d: %s, want %s", attempt, got, want)
		}
	}
	b.Jitter = func(int64) int64 { return 0 }
	if got := b.Delay(3); got != 0 {
		t.Errorf("full jitter's low end: %s, want 0", got)
	}
	// The default source stays within the ceiling.
	b.Jitter = nil
	for range 100 {
		if d := b.Delay(2); d < 0 || d > 10*time.Second {
			t.Fatalf("delay %s outside [0, 10s]", d)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for value, want := range map[string]time.Duration{
		"":                              0,
		"30":                            30 * time.Second,
		"-5":                            0,
		"soon":                          0,
		"99999999999999":                time.Hour,
		"Mon, 07 Dec 2026 12:02:00 GMT": 2 * time.Minute,
		"Mon, 07 Dec 2026 11:00:00 GMT": 0,
		"Tue, 08 Dec 2026 12:00:00 GMT": time.Hour,
	} {
		h := http.Header{}
		if value != "" {
			h.Set("Retry-After", value)
		}
		if got := notify.RetryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", value, got, want)
		}
	}
}
