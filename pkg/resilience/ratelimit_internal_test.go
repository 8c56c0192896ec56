package resilience

import (
	"testing"
	"time"
)

// TestRPMLimit checks the request limit against the provider's own
// count, the calls in any 60 s: it plays the fastest schedule GCRA admits
// for rpmLimit (a full burst at once, then one call each emission
// interval) on a clock of its own and counts every window of 60 s plus
// one emission interval, the slack for calls that reach the provider
// closer together than they were allowed.
func TestRPMLimit(t *testing.T) {
	t.Parallel()
	for _, rpm := range []int{1, 2, 30, 59, 60, 61, 120, 600, 601, 3500, 10_000} {
		l := rpmLimit(rpm)
		if l.Rate < 1 || l.Burst < 1 || l.Burst != max(1, rpm/60) {
			t.Errorf("rpmLimit(%d) = %+v, want a positive rate a minute and a burst of one second's worth", rpm, l)
			continue
		}
		if rpm < 3 {
			continue // a rate of at least one a minute cannot leave room
		}
		interval := time.Minute / time.Duration(l.Rate)
		// Three minutes of calls, each as early as GCRA lets it go.
		var starts []time.Duration
		for k := 0; ; k++ {
			at := time.Duration(max(0, k-l.Burst+1)) * interval
			if at > 3*time.Minute {
				break
			}
			starts = append(starts, at)
		}
		most, j := 0, 0
		for i := range starts {
			for j < len(starts) && starts[j]-starts[i] < time.Minute+interval {
				j++
			}
			most = max(most, j-i)
		}
		if most > rpm {
			t.Errorf("rpmLimit(%d) = %+v admits %d calls within 60 s and one interval, over the limit", rpm, l, most)
		}
		// No slower than that needs: the fleet still gets within two calls
		// and a burst of the limit each minute.
		if l.Rate+l.Burst+1 < rpm {
			t.Errorf("rpmLimit(%d) = %+v paces slower than it needs to", rpm, l)
		}
	}
}
