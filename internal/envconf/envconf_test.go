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

func TestListen_Read(t *testing.T) {
	t.Parallel()
	v := Listen{Name: "ADDR", Default: "127.0.0.1:9090"}
	for _, tc := range []struct {
		name, value, want string
		explicit, fails   bool
	}{
		{"OKDefault", "", "127.0.0.1:9090", false, false},
		{"OKSet", "0.0.0.0:0", "0.0.0.0:0", true, false},
		{"OKOff", "OFF", "", true, false},
		{"ErrNoPort", "9090", "9090", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := New(func(k string) string {
				if k == "ADDR" {
					return tc.value
				}
				return ""
			})
			addr, explicit := v.Read(r)
			if addr != tc.want || explicit != tc.explicit {
				t.Errorf("Read = %q, %v; want %q, %v", addr, explicit, tc.want, tc.explicit)
			}
			if err := r.Err(); (err != nil) != tc.fails || (err != nil && !strings.Contains(err.Error(), "ADDR")) {
				t.Errorf("err = %v, want failure %v naming ADDR", err, tc.fails)
			}
		})
	}
}

// TestShared: a name read by several processes has one meaning; where the
// defaults differ per process, the bounds and name stay in one table.
func TestShared(t *testing.T) {
	t.Parallel()
	if APIShutdownTimeout.Name != WorkerShutdownTimeout.Name || APIMetricsAddr.Name != WorkerMetricsAddr.Name {
		t.Error("per-process entries of one variable must share its name")
	}
	if APIMetricsAddr.Default == WorkerMetricsAddr.Default {
		t.Error("the api's and a worker's metrics listeners must not collide on one machine")
	}
	r := New(func(string) string { return "" })
	if LogLevel.Read(r) != "info" || LogFormat.Read(r) != "json" || Pprof.Read(r) || AllowPrivateProviders.Read(r) ||
		WorkerShutdownTimeout.Read(r) != 30*time.Second || APIShutdownTimeout.Read(r) != 15*time.Second {
		t.Error("shared defaults changed")
	}
}
