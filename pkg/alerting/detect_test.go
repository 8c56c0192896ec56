package alerting_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/alerting"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
)

func TestHolm(t *testing.T) {
	t.Parallel()
	// Worked by hand: sorted 0.01, 0.02, 0.03, 0.04 → ×4, ×3, ×2, ×1 =
	// 0.04, 0.06, 0.06, 0.04 → running max 0.04, 0.06, 0.06, 0.06.
	got := alerting.Holm([]float64{0.03, 0.01, 0.04, 0.02})
	want := []float64{0.06, 0.04, 0.06, 0.06}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if got := alerting.Holm([]float64{0.5, 0.9}); got[0] != 1 || got[1] != 1 {
		t.Errorf("Holm caps at 1: got %v", got)
	}
	if got := alerting.Holm(nil); len(got) != 0 {
		t.Errorf("Holm(nil) = %v", got)
	}
}

// questions builds n paired questions with the given per-side values.
func questions(n int, f func(i int) (cur, prev analytics.QuestionFigures)) []analytics.PairedQuestion {
	out := make([]analytics.PairedQuestion, n)
	for i := range out {
		c, p := f(i)
		out[i] = analytics.PairedQuestion{RevisionID: uuid.UUID{byte(i)}, Current: c, Previous: p}
	}
	return out
}

func TestDetect(t *testing.T) {
	t.Parallel()
	runID := uuid.UUID{1}
	model := uuid.UUID{2}
	settings := catalog.DefaultAlertSettings()
	settings.Metrics = catalog.AlertMetrics

	t.Run("ClearRegression", func(t *testing.T) {
		t.Parallel()
		// 40 questions: the baseline passes all, the run fails half of
		// them; latency doubles; cost stays.
		qs := questions(40, func(i int) (analytics.QuestionFigures, analytics.QuestionFigures) {
			prev := analytics.QuestionFigures{Score: 1, LatencyMs: 100 + float64(i), HasLatency: true, CostUSD: 0.01}
			cur := prev
			cur.LatencyMs *= 2
			if i%2 == 0 {
				cur.Score = 0
			}
			return cur, prev
		})
		tests := alerting.Detect(runID, []alerting.ModelData{{ModelID: model, Questions: qs}}, settings, alerting.Resamples)
		if len(tests) != 3 {
			t.Fatalf("got %d tests, want 3", len(tests))
		}
		score, lat, cost := tests[0], tests[1], tests[2]
		if score.Metric != "score" || !score.Alert || score.Diff != -0.5 || score.Previous != 1 || score.Current != 0.5 {
			t.Errorf("score test %+v, want an alert for a drop of 0.5", score)
		}
		if score.CI.High >= 0 || score.CI.Low > -0.3 {
			t.Errorf("score interval %+v should lie well below 0", score.CI)
		}
		if score.PValue > 0.001 || score.PAdjusted < score.PValue || score.Questions != 40 {
			t.Errorf("score p %g adjusted %g over %d questions", score.PValue, score.PAdjusted, score.Questions)
		}
		// p95 of 100..139 is 137.05; doubled 274.1.
		if math.Abs(lat.Previous-137.05) > 1e-9 || math.Abs(lat.Current-274.1) > 1e-9 || !lat.Alert {
			t.Errorf("latency test %+v, want p95 137.05 → 274.1 and an alert", lat)
		}
		if lat.Relative == nil || math.Abs(*lat.Relative-1) > 1e-9 {
			t.Errorf("latency relative change %v, want 1", lat.Relative)
		}
		if cost.Alert || cost.Diff != 0 || cost.PValue != 1 {
			t.Errorf("unchanged cost %+v raised an alert or a p below 1", cost)
		}
	})

	t.Run("BelowMinEffect", func(t *testing.T) {
		t.Parallel()
		// 400 questions, 4 of which flip: a certain but 1-point drop.
		qs := questions(400, func(i int) (analytics.QuestionFigures, analytics.QuestionFigures) {
			prev := analytics.QuestionFigures{Score: 1}
			cur := prev
			if i < 4 {
				cur.Score = 0
			}
			return cur, prev
		})
		s := catalog.DefaultAlertSettings()
		tests := alerting.Detect(runID, []alerting.ModelData{{ModelID: model, Questions: qs}}, s, alerting.Resamples)
		if len(tests) != 1 || tests[0].Alert || tests[0].Worse {
			t.Fatalf("a 1-point drop under min_effect 0.02 gave %+v", tests)
		}
		s.MinEffect.Score = 0.01
		tests = alerting.Detect(runID, []alerting.ModelData{{ModelID: model, Questions: qs}}, s, alerting.Resamples)
		if !tests[0].Worse {
			t.Errorf("a drop of exactly min_effect is not worse: %+v", tests[0])
		}
	})

	t.Run("TooFewQuestions", func(t *testing.T) {
		t.Parallel()
		qs := questions(alerting.MinQuestions-1, func(int) (analytics.QuestionFigures, analytics.QuestionFigures) {
			return analytics.QuestionFigures{Score: 0}, analytics.QuestionFigures{Score: 1}
		})
		if tests := alerting.Detect(runID, []alerting.ModelData{{ModelID: model, Questions: qs}}, settings, alerting.Resamples); len(tests) != 0 {
			t.Errorf("%d questions were tested: %+v", len(qs), tests)
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		t.Parallel()
		r := rand.New(rand.NewPCG(3, 4))
		qs := questions(60, func(int) (analytics.QuestionFigures, analytics.QuestionFigures) {
			return analytics.QuestionFigures{Score: r.Float64(), LatencyMs: 100 * r.Float64(), HasLatency: true, CostUSD: r.Float64()},
				analytics.QuestionFigures{Score: r.Float64(), LatencyMs: 100 * r.Float64(), HasLatency: true, CostUSD: r.Float64()}
		})
		other := uuid.UUID{3}
		a := alerting.Detect(runID, []alerting.ModelData{{ModelID: model, Questions: qs}, {ModelID: other, Questions: qs}}, settings, alerting.Resamples)
		b := alerting.Detect(runID, []alerting.ModelData{{ModelID: other, Questions: qs}, {ModelID: model, Questions: qs}}, settings, alerting.Resamples)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("the same data in another order gave other tests")
		}
		c := alerting.Detect(uuid.UUID{9}, []alerting.ModelData{{ModelID: model, Questions: qs}}, settings, alerting.Resamples)
		if c[0].PValue == a[0].PValue && c[0].CI == a[0].CI && c[1].CI == a[1].CI {
			t.Errorf("another run id drew the same resamples")
		}
		if a[0].Diff != c[0].Diff {
			t.Errorf("the observed difference depends on the seed")
		}
	})
}
