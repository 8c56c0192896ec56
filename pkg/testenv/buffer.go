package testenv

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a concurrency-safe output sink for a service run in a test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor waits until the output contains substr, failing the test after
// timeout.
func (s *Buffer) WaitFor(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(s.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output after %s:\n%s", substr, timeout, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
