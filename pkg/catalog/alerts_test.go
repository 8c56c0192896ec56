package catalog_test

import (
	"errors"
	"math"
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
)

func TestAlertSettings_Validate(t *testing.T) {
	t.Parallel()
	if err := catalog.DefaultAlertSettings().Validate("alerts"); err != nil {
		t.Fatalf("the defaults are invalid: %v", err)
	}
	for name, c := range map[string]struct {
		change func(*catalog.AlertSettings)
		field  string
	}{
		"NoMetric":      {func(a *catalog.AlertSettings) { a.Metrics = nil }, "alerts.metrics"},
		"UnknownMetric": {func(a *catalog.AlertSettings) { a.Metrics = []string{"score", "accuracy"} }, "alerts.metrics[1]"},
		"MetricTwice":   {func(a *catalog.AlertSettings) { a.Metrics = []string{"cost", "cost"} }, "alerts.metrics[1]"},
		"ScoreEffect":   {func(a *catalog.AlertSettings) { a.MinEffect.Score = 1.5 }, "alerts.min_effect.score"},
		"NaNEffect":     {func(a *catalog.AlertSettings) { a.MinEffect.Cost = math.NaN() }, "alerts.min_effect.cost"},
		"LatencyEffect": {func(a *catalog.AlertSettings) { a.MinEffect.LatencyP95 = -0.1 }, "alerts.min_effect.latency_p95"},
		"CompareTo":     {func(a *catalog.AlertSettings) { a.CompareTo = "last_month" }, "alerts.compare_to"},
		"AlphaTooSmall": {func(a *catalog.AlertSettings) { a.Alpha = 0 }, "alerts.alpha"},
		"AlphaTooLarge": {func(a *catalog.AlertSettings) { a.Alpha = 0.3 }, "alerts.alpha"},
	} {
		a := catalog.DefaultAlertSettings()
		c.change(&a)
		err := a.Validate("alerts")
		var fe *fault.Error
		if err == nil || !errors.As(err, &fe) || fe.Field != c.field || fe.Kind != fault.KindInvalid {
			t.Errorf("%s: %v, want an invalid %s", name, err, c.field)
		}
	}
	if got := catalog.DefaultAlertSettings().MinEffect.Of(catalog.AlertLatencyP95); got != 0.2 {
		t.Errorf("MinEffect.Of(latency_p95) = %g", got)
	}
}
