package apply

import (
	"reflect"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// server is alert settings as the API answers them: every field set.
func serverAlerts(enabled bool, metrics ...oapi.AlertMetric) *oapi.BenchmarkAlerts {
	s, l, c := 0.02, 0.2, 0.2
	return &oapi.BenchmarkAlerts{Enabled: enabled, Metrics: metrics, CompareTo: oapi.CompareToPreviousRun, Alpha: 0.05,
		MinEffect: oapi.AlertMinEffect{Score: &s, LatencyP95: &l, Cost: &c}}
}

func TestAlertsChange(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	no := false
	for _, tc := range []struct {
		name       string
		file       *Alerts
		server     *oapi.BenchmarkAlerts
		wantFields []string
		wantSend   bool
	}{
		{"NoneAndNone", nil, nil, nil, false},
		// The API's defaults written out or left out mean the same.
		{"DefaultsMatch", &Alerts{}, serverAlerts(true, oapi.AlertMetricScore), nil, false},
		{"MetricOrderIgnored", &Alerts{Metrics: []oapi.AlertMetric{"cost", "score"}}, serverAlerts(true, "score", "cost"), nil, false},
		{"Create", &Alerts{Metrics: []oapi.AlertMetric{"cost"}}, nil, []string{"alerts"}, true},
		{"FileDropsThem", nil, serverAlerts(true, "score"), []string{"alerts.enabled"}, true},
		{"FileDropsDisabled", nil, serverAlerts(false, "score"), nil, false},
		{"Disable", &Alerts{Enabled: &no}, serverAlerts(true, "score"), []string{"alerts.enabled"}, true},
		{"MinEffectAndAlpha", &Alerts{MinEffect: &oapi.AlertMinEffect{Score: f(0.05)}, Alpha: f(0.01)}, serverAlerts(true, "score"),
			[]string{"alerts.min_effect", "alerts.alpha"}, true},
		{"CompareTo", &Alerts{CompareTo: oapi.CompareToPreviousWeek}, serverAlerts(true, "score"), []string{"alerts.compare_to"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fields, in := alertsChange(alertsOfFile(tc.file), alertsOfServer(tc.server))
			var got []string
			for _, fc := range fields {
				got = append(got, fc.Field)
			}
			if !reflect.DeepEqual(got, tc.wantFields) {
				t.Errorf("fields = %v, want %v", got, tc.wantFields)
			}
			if (in != nil) != tc.wantSend {
				t.Fatalf("settings to send = %+v, want some: %v", in, tc.wantSend)
			}
			if in == nil {
				return
			}
			// An update replaces the settings as a whole: every field is sent.
			if in.Enabled == nil || in.Metrics == nil || in.MinEffect == nil || in.MinEffect.Cost == nil || in.CompareTo == nil || in.Alpha == nil {
				t.Errorf("sent %+v, want every field set", in)
			}
		})
	}
}

// An exported benchmark's alerts, read back as a file, plan no change.
func TestAlertsOf_RoundTrip(t *testing.T) {
	t.Parallel()
	srv := serverAlerts(true, "latency_p95", "score")
	a := alertsOf(srv)
	if a.Metrics[0] != "score" || *a.Enabled != true || *a.MinEffect.LatencyP95 != 0.2 {
		t.Fatalf("exported %+v", a)
	}
	if fields, in := alertsChange(alertsOfFile(a), alertsOfServer(srv)); fields != nil || in != nil {
		t.Fatalf("plan after export = %v %+v, want none", fields, in)
	}
	if alertsOf(nil) != nil {
		t.Fatal("a benchmark without alerts exported some")
	}
}
