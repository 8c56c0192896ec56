package testenv

import (
	"context"
	"io"
	"testing"
	"time"
)

// RunFunc is a service's entry point, as cmd/<binary> calls it.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// StartService runs a service's Run in the background with env as its whole
// environment, exactly as production wires it, and returns its output. When
// the test ends the service is cancelled, and it must return nil within 30 s
// (a clean, graceful stop).
func StartService(t testing.TB, name string, run RunFunc, env map[string]string) *Buffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s returned %v when stopped, want nil", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30s", name)
		}
	})
	return out
}
