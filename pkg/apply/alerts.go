package apply

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// Alerts are a benchmark's regression alert settings as the file gives
// them; fields left out take the API's defaults (enabled, metrics
// [score], compare_to previous_run, alpha 0.05, min_effect score 0.02,
// latency_p95 and cost 0.2). A benchmark without an alerts block in the
// file has its alerts disabled, if it has any, as its schedule is.
type Alerts struct {
	Enabled   *bool                `json:"enabled,omitempty"`
	Metrics   []oapi.AlertMetric   `json:"metrics,omitempty"`
	MinEffect *oapi.AlertMinEffect `json:"min_effect,omitempty"`
	CompareTo oapi.AlertCompareTo  `json:"compare_to,omitempty"`
	Alpha     *float64             `json:"alpha,omitempty"`
}

// The API's defaults of alert settings.
const (
	defaultAlpha          = 0.05
	defaultMinScore       = 0.02
	defaultMinRelative    = 0.2
	defaultAlertCompareTo = oapi.CompareToPreviousRun
)

// metricOrder is the order alert metrics are compared and written in.
var metricOrder = []oapi.AlertMetric{oapi.AlertMetricScore, oapi.AlertMetricLatencyP95, oapi.AlertMetricCost}

// alertsView is what a plan compares of alert settings: every field set,
// the metrics in metricOrder.
type alertsView struct {
	Enabled   bool                `json:"enabled"`
	Metrics   []oapi.AlertMetric  `json:"metrics"`
	MinEffect oapi.AlertMinEffect `json:"min_effect"`
	CompareTo oapi.AlertCompareTo `json:"compare_to"`
	Alpha     float64             `json:"alpha"`
}

// checkAlerts finds what decoding cannot in a benchmark's alerts: metrics
// and baselines the API does not know, values out of their ranges. The
// API checks again; the file says where.
func checkAlerts(path string, a *Alerts, bad func(path, format string, a ...any)) {
	if a == nil {
		return
	}
	if a.Metrics != nil && len(a.Metrics) == 0 {
		bad(path+".metrics", "give one metric or more (score, latency_p95, cost), or leave metrics out for [score]")
	}
	seen := map[oapi.AlertMetric]int{}
	for i, m := range a.Metrics {
		p := fmt.Sprintf("%s.metrics[%d]", path, i)
		if !m.Valid() {
			bad(p, "%q: give score, latency_p95 or cost", m)
			continue
		}
		if j, ok := seen[m]; ok {
			bad(p, "%q is also metrics[%d]", m, j)
		}
		seen[m] = i
	}
	if a.CompareTo != "" && !a.CompareTo.Valid() {
		bad(path+".compare_to", "%q: give previous_run or previous_week", a.CompareTo)
	}
	if a.Alpha != nil && (*a.Alpha < 0.0001 || *a.Alpha > 0.2) {
		bad(path+".alpha", "%v: give 0.0001 to 0.2 (the family-wise error rate per run)", *a.Alpha)
	}
	if e := a.MinEffect; e != nil {
		for _, x := range []struct {
			name string
			v    *float64
			max  float64
		}{{"score", e.Score, 1}, {"latency_p95", e.LatencyP95, 100}, {"cost", e.Cost, 100}} {
			if x.v != nil && (*x.v < 0 || *x.v > x.max) {
				bad(path+".min_effect."+x.name, "%v: give 0 to %v", *x.v, x.max)
			}
		}
	}
}

// fullMinEffect is m with every metric's minimum effect set, the API's
// default where m has none.
func fullMinEffect(m *oapi.AlertMinEffect) oapi.AlertMinEffect {
	v := oapi.AlertMinEffect{}
	if m != nil {
		v = *m
	}
	def := func(p *float64, d float64) *float64 {
		if p != nil {
			return p
		}
		return &d
	}
	return oapi.AlertMinEffect{Score: def(v.Score, defaultMinScore), LatencyP95: def(v.LatencyP95, defaultMinRelative), Cost: def(v.Cost, defaultMinRelative)}
}

// sortedMetrics is ms in metricOrder.
func sortedMetrics(ms []oapi.AlertMetric) []oapi.AlertMetric {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b oapi.AlertMetric) int {
		return cmp.Compare(slices.Index(metricOrder, a), slices.Index(metricOrder, b))
	})
	return out
}

// alertsOfFile is the file's alerts with the API's defaults filled in;
// nil when the file gives none.
func alertsOfFile(a *Alerts) *alertsView {
	if a == nil {
		return nil
	}
	v := &alertsView{Enabled: true, Metrics: []oapi.AlertMetric{oapi.AlertMetricScore}, MinEffect: fullMinEffect(a.MinEffect),
		CompareTo: cmp.Or(a.CompareTo, defaultAlertCompareTo), Alpha: defaultAlpha}
	if a.Enabled != nil {
		v.Enabled = *a.Enabled
	}
	if len(a.Metrics) > 0 {
		v.Metrics = sortedMetrics(a.Metrics)
	}
	if a.Alpha != nil {
		v.Alpha = *a.Alpha
	}
	return v
}

// alertsOfServer is a benchmark's alerts as the plan compares them; nil
// when it has none.
func alertsOfServer(a *oapi.BenchmarkAlerts) *alertsView {
	if a == nil {
		return nil
	}
	return &alertsView{Enabled: a.Enabled, Metrics: sortedMetrics(a.Metrics), MinEffect: fullMinEffect(&a.MinEffect),
		CompareTo: a.CompareTo, Alpha: a.Alpha}
}

// alertsInput is the request form of alert settings: all of them, since
// an update replaces them as a whole.
func alertsInput(v alertsView) *oapi.BenchmarkAlertsInput {
	metrics := slices.Clone(v.Metrics)
	me := v.MinEffect
	return &oapi.BenchmarkAlertsInput{Enabled: &v.Enabled, Metrics: &metrics, MinEffect: &me, CompareTo: &v.CompareTo, Alpha: &v.Alpha}
}

// alertsChange compares the file's alerts with the server's and returns
// the fields that differ and the settings to send (nil: none to send).
// A file without alerts disables the server's, keeping their values.
func alertsChange(want, have *alertsView) ([]FieldChange, *oapi.BenchmarkAlertsInput) {
	switch {
	case want == nil && (have == nil || !have.Enabled):
		return nil, nil
	case want == nil:
		off := *have
		off.Enabled = false
		return []FieldChange{{Field: "alerts.enabled", Old: "true", New: "false"}}, alertsInput(off)
	case have == nil:
		return []FieldChange{{Field: "alerts", Old: "(none)", New: render(canonicalAny(want))}}, alertsInput(*want)
	}
	fields := diff("alerts.", *have, *want)
	if len(fields) == 0 {
		return nil, nil
	}
	return fields, alertsInput(*want)
}

// alertsOf is a benchmark's alerts for an exported file, every field
// written; nil when it has none.
func alertsOf(a *oapi.BenchmarkAlerts) *Alerts {
	v := alertsOfServer(a)
	if v == nil {
		return nil
	}
	me := v.MinEffect
	return &Alerts{Enabled: &v.Enabled, Metrics: v.Metrics, MinEffect: &me, CompareTo: v.CompareTo, Alpha: &v.Alpha}
}
