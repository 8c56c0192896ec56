package httpapi

import (
	"context"
	"encoding/json"
	"io"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// fromAlertsInput is a benchmark's alert settings from a request, the
// fields left out taking their defaults; nil for nil.
func fromAlertsInput(in *oapi.BenchmarkAlertsInput) *catalog.AlertSettings {
	if in == nil {
		return nil
	}
	s := catalog.DefaultAlertSettings()
	s.Enabled = derefDefault(in.Enabled, s.Enabled)
	if in.Metrics != nil {
		s.Metrics = make([]string, len(*in.Metrics))
		for i, m := range *in.Metrics {
			s.Metrics[i] = string(m)
		}
	}
	if e := in.MinEffect; e != nil {
		s.MinEffect.Score = derefDefault(e.Score, s.MinEffect.Score)
		s.MinEffect.LatencyP95 = derefDefault(e.LatencyP95, s.MinEffect.LatencyP95)
		s.MinEffect.Cost = derefDefault(e.Cost, s.MinEffect.Cost)
	}
	if in.CompareTo != nil {
		s.CompareTo = string(*in.CompareTo)
	}
	s.Alpha = derefDefault(in.Alpha, s.Alpha)
	return &s
}

// toBenchmarkAlerts renders a benchmark's alert settings; nil for none.
func toBenchmarkAlerts(s *catalog.AlertSettings) *oapi.BenchmarkAlerts {
	if s == nil {
		return nil
	}
	out := &oapi.BenchmarkAlerts{
		Enabled: s.Enabled, Metrics: make([]oapi.AlertMetric, len(s.Metrics)), CompareTo: oapi.AlertCompareTo(s.CompareTo), Alpha: s.Alpha,
		MinEffect: oapi.AlertMinEffect{Score: &s.MinEffect.Score, LatencyP95: &s.MinEffect.LatencyP95, Cost: &s.MinEffect.Cost},
	}
	for i, m := range s.Metrics {
		out.Metrics[i] = oapi.AlertMetric(m)
	}
	return out
}

// alertsNulled reports whether a benchmark update's body sets alerts to
// null, which removes them: the generated request type cannot tell null
// from absent, so the body (kept by the validation middleware) is read
// again.
func alertsNulled(ctx context.Context) bool {
	c := echoContextFrom(ctx)
	if c == nil || c.Request().GetBody == nil {
		return false
	}
	body, err := c.Request().GetBody()
	if err != nil {
		return false
	}
	defer body.Close()
	raw, err := io.ReadAll(body)
	if err != nil {
		return false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return false
	}
	v, ok := fields["alerts"]
	return ok && string(v) == "null"
}
