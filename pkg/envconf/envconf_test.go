package envconf

import (
	"strings"
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	t.Parallel()
	env := map[string]string{"N": "7", "BAD_N": "x", "F": "0.5", "B": "yes", "D": "2s", "BAD_D": "forever", "S": " v "}
	r := New(func(k string) string { return env[k] })
	if got := r.Int("N", 1, 0, 10); got != 7 {
		t.Errorf("Int = %d, want 7", got)
	}
	if got := r.Int("MISSING", 3, 0, 10); got != 3 {
		t.Errorf("Int default = %d, want 3", got)
	}
	if got := r.Float("F", 0, 0, 1); got != 0.5 {
		t.Errorf("Float = %g", got)
	}
	if !r.Bool("B", false) {
		t.Error("Bool(yes) = false")
	}
	if got := r.Duration("D", time.Second, 0, time.Hour); got != 2*time.Second {
		t.Errorf("Duration = %s", got)
	}
	if got := r.String("S", "d"); got != "v" {
		t.Errorf("String = %q", got)
	}
	if r.Err() != nil {
		t.Fatalf("unexpected error: %v", r.Err())
	}
	r.Int("BAD_N", 1, 0, 10)
	r.Duration("BAD_D", time.Second, 0, time.Hour)
	err := r.Err()
	if err == nil || !strings.Contains(err.Error(), "BAD_N") || !strings.Contains(err.Error(), "BAD_D") {
		t.Fatalf("errors must name both variables, got %v", err)
	}
}
