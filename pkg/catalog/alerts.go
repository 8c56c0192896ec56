package catalog

import (
	"fmt"
	"math"

	"github.com/sabe-dev/sabe/internal/fault"
)

// The metrics a regression alert watches (the API's AlertMetric).
const (
	AlertScore      = "score"
	AlertLatencyP95 = "latency_p95"
	AlertCost       = "cost"
)

// AlertMetrics are every alert metric, in the API's order.
var AlertMetrics = []string{AlertScore, AlertLatencyP95, AlertCost}

// The baselines a run is compared with (the API's AlertCompareTo).
const (
	ComparePreviousRun  = "previous_run"
	ComparePreviousWeek = "previous_week"
)

// AlertMinEffect is the smallest worsening worth an alert, per metric:
// Score in score units (0.02 is 2 points), LatencyP95 and Cost as a
// fraction of the baseline (0.2 is 20%).
type AlertMinEffect struct {
	Score      float64 `json:"score"`
	LatencyP95 float64 `json:"latency_p95"`
	Cost       float64 `json:"cost"`
}

// Of returns the minimum effect of metric.
func (m AlertMinEffect) Of(metric string) float64 {
	switch metric {
	case AlertLatencyP95:
		return m.LatencyP95
	case AlertCost:
		return m.Cost
	default:
		return m.Score
	}
}

// AlertSettings are a benchmark's regression alert settings, stored as
// they are in the benchmark's alerts column (BenchmarkAlerts in the API).
type AlertSettings struct {
	Enabled   bool           `json:"enabled"`
	Metrics   []string       `json:"metrics"`
	MinEffect AlertMinEffect `json:"min_effect"`
	CompareTo string         `json:"compare_to"`
	// Alpha is the family-wise error rate of one run's check: the chance
	// that a run with no real change raises any alert.
	Alpha float64 `json:"alpha"`
}

// DefaultAlertSettings are what a benchmark's alerts take for the fields
// a request leaves out.
func DefaultAlertSettings() AlertSettings {
	return AlertSettings{
		Enabled: true, Metrics: []string{AlertScore},
		MinEffect: AlertMinEffect{Score: 0.02, LatencyP95: 0.2, Cost: 0.2},
		CompareTo: ComparePreviousRun, Alpha: 0.05,
	}
}

// The bounds of the settings, as the API document states them.
const (
	minAlpha          = 0.0001
	maxAlpha          = 0.2
	maxRelativeEffect = 100
)

// Validate checks the settings; field prefixes the names in its errors
// ("alerts" gives "alerts.metrics[0]", the API's form). It returns a fault.Invalid naming
// the first bad field.
func (a AlertSettings) Validate(field string) error {
	if len(a.Metrics) == 0 || len(a.Metrics) > len(AlertMetrics) {
		return fault.Invalid(field+".metrics", "must list 1 to %d metrics", len(AlertMetrics))
	}
	seen := map[string]bool{}
	for i, m := range a.Metrics {
		f := fmt.Sprintf("%s.metrics[%d]", field, i)
		switch {
		case m != AlertScore && m != AlertLatencyP95 && m != AlertCost:
			return fault.Invalid(f, "must be one of: score, latency_p95, cost")
		case seen[m]:
			return fault.Invalid(f, "lists %s twice", m)
		}
		seen[m] = true
	}
	effects := []struct {
		name    string
		v, high float64
	}{
		{"score", a.MinEffect.Score, 1},
		{"latency_p95", a.MinEffect.LatencyP95, maxRelativeEffect},
		{"cost", a.MinEffect.Cost, maxRelativeEffect},
	}
	for _, e := range effects {
		if math.IsNaN(e.v) || e.v < 0 || e.v > e.high {
			return fault.Invalid(field+".min_effect."+e.name, "must be between 0 and %g", e.high)
		}
	}
	if a.CompareTo != ComparePreviousRun && a.CompareTo != ComparePreviousWeek {
		return fault.Invalid(field+".compare_to", "must be one of: previous_run, previous_week")
	}
	if math.IsNaN(a.Alpha) || a.Alpha < minAlpha || a.Alpha > maxAlpha {
		return fault.Invalid(field+".alpha", "must be between %g and %g", minAlpha, maxAlpha)
	}
	return nil
}
