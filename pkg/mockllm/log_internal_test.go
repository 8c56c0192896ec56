package mockllm

import (
	"testing"
	"time"
)

func TestRequestLog_Ring(t *testing.T) {
	t.Parallel()

	t.Run("UnderCapacity", func(t *testing.T) {
		t.Parallel()
		var l requestLog
		for i := range 100 {
			l.add(LogEntry{Status: i})
		}
		got := l.snapshot()
		if len(got) != 100 || got[0].Status != 0 || got[99].Status != 99 {
			t.Errorf("got %d entries from %d to %d, want 0..99", len(got), got[0].Status, got[len(got)-1].Status)
		}
	})

	t.Run("Wraps", func(t *testing.T) {
		t.Parallel()
		var l requestLog
		const extra = 1234
		base := time.Now()
		for i := range LogCapacity + extra {
			l.add(LogEntry{Time: base.Add(time.Duration(i)), Status: i})
		}
		got := l.snapshot()
		if len(got) != LogCapacity || cap(l.entries) != LogCapacity {
			t.Fatalf("kept %d entries in a ring of %d, want %d", len(got), cap(l.entries), LogCapacity)
		}
		for i, e := range got {
			if e.Status != extra+i {
				t.Fatalf("entry %d is request %d, want %d: the oldest must go first", i, e.Status, extra+i)
			}
		}
	})
}
