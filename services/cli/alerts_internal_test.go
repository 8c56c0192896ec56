package cli

import (
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cmd := &cobra.Command{Use: "ls"}
	for in, want := range map[string]time.Time{
		"90m":                  now.Add(-90 * time.Minute),
		"36h":                  now.Add(-36 * time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"2026-11-15":           time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC),
		"2026-11-15T08:30:00Z": time.Date(2026, 11, 15, 8, 30, 0, 0, time.UTC),
	} {
		got, err := parseSince(cmd, in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-3h", "d", "yesterday", "7days"} {
		if _, err := parseSince(cmd, in, now); err == nil {
			t.Errorf("parseSince(%q) took it", in)
		}
	}
}

func TestAlertFormatting(t *testing.T) {
	t.Parallel()
	rel := -0.125
	a := oapi.Alert{Metric: oapi.AlertMetricScore, Previous: 0.8, Current: 0.7, Diff: -0.1, CiLow: -0.15, CiHigh: -0.05, RelativeChange: &rel}
	if got, want := alertChange(a), "0.800 → 0.700"; got != want {
		t.Errorf("change = %q, want %q", got, want)
	}
	if got, want := alertDiff(a), "-0.100 [-0.150, -0.050] (-12.5%)"; got != want {
		t.Errorf("diff = %q, want %q", got, want)
	}
	l := oapi.Alert{Metric: oapi.AlertMetricLatencyP95, Previous: 800, Current: 1200, Diff: 400, CiLow: 250, CiHigh: 560}
	if got, want := alertDiff(l), "+400 ms [+250 ms, +560 ms]"; got != want {
		t.Errorf("latency diff = %q, want %q", got, want)
	}
	if got := pValue(0.00001); got != "<0.0001" {
		t.Errorf("pValue = %q", got)
	}
	if got := minEffect(oapi.AlertMetricCost, 0.2); got != "20% of the baseline" {
		t.Errorf("minEffect = %q", got)
	}
}
