package alerting

import (
	"bytes"
	"cmp"
	"math"
	"slices"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/stats"
)

// Resamples is the number of bootstrap resamples of each test. Holm's
// first threshold for 12 tests at α = 0.05 is about 0.004; with 2000
// resamples the smallest p-value is 1/2001 and the p-values around that
// threshold rest on several resamples rather than one or two.
const Resamples = 2000

// MinQuestions is the fewest paired questions a (model, metric) pair needs
// to be tested: a bootstrap over a handful of questions cannot see its
// own spread, and would call any difference significant.
const MinQuestions = 10

// effectSlack absorbs rounding in the minimum effect comparison, so that a
// drop of exactly 2 points meets a min_effect of 0.02.
const effectSlack = 1e-9

// ModelData is one model's paired questions between a run and its
// baseline, as analytics.PairRuns gives them.
type ModelData struct {
	ModelID   uuid.UUID
	Questions []analytics.PairedQuestion
}

// Test is one (model, metric) comparison.
type Test struct {
	ModelID uuid.UUID
	Metric  string
	// Previous and Current are the metric in the baseline and the run;
	// Diff is Current - Previous, CI its 95% paired bootstrap interval.
	Previous, Current, Diff float64
	CI                      stats.Interval
	// Relative is Diff / Previous; nil when Previous is 0.
	Relative *float64
	// PValue is the bootstrap p-value of Diff, PAdjusted Holm's.
	PValue, PAdjusted float64
	// Questions is the number of paired questions the test is over.
	Questions int
	// Worse is true when the change is a worsening of at least the
	// metric's minimum effect; Alert when it is also significant.
	Worse, Alert bool
	// MinEffect is the metric's minimum effect in the settings.
	MinEffect float64
}

// Detect tests every model of models on every metric of s for the run
// runID, corrects the p-values with Holm over all the tests made, and
// marks the alerts. Pairs with fewer than MinQuestions paired questions
// are not tested (and not counted). Tests come out by model id, then in
// the order of s.Metrics. It is deterministic: each model's bootstrap is
// seeded by (runID, model); its metrics share the draws, as a
// comparison's do.
func Detect(runID uuid.UUID, models []ModelData, s catalog.AlertSettings, resamples int) []Test {
	models = slices.Clone(models)
	slices.SortFunc(models, func(a, b ModelData) int { return bytes.Compare(a.ModelID[:], b.ModelID[:]) })
	boot := stats.Bootstrap{Resamples: resamples, Seed: stats.StreamFor(alertSeed, runID)}
	var tests []Test
	for _, m := range models {
		tests = append(tests, testModel(m, s, boot)...)
	}
	p := make([]float64, len(tests))
	for i := range tests {
		p[i] = tests[i].PValue
	}
	for i, adj := range Holm(p) {
		tests[i].PAdjusted = adj
		tests[i].Alert = tests[i].Worse && adj < s.Alpha
	}
	return tests
}

// alertSeed separates the checks' random streams from the leaderboards'
// and comparisons' (which use stats.DefaultSeed).
const alertSeed = 0xa1e7

// worse reports whether t is a worsening of at least minEffect: a drop of
// score by minEffect points, a rise of latency or cost by minEffect of the
// baseline (any rise from a baseline of 0).
func worse(t Test, minEffect float64) bool {
	if t.Metric == catalog.AlertScore {
		return t.Diff < 0 && -t.Diff >= minEffect-effectSlack
	}
	if t.Diff <= 0 {
		return false
	}
	return t.Previous <= 0 || t.Diff/t.Previous >= minEffect-effectSlack
}

// metricTest is one metric's test in progress: its statistic of a
// resample and the resampled differences.
type metricTest struct {
	t     Test
	stat  func(idx []uint32) (float64, bool)
	draws []float64
	far   int
}

// testModel tests one model on the metrics of s with one paired bootstrap
// over its questions: the difference of each metric, its 95% percentile
// interval and its shift-method p-value.
func testModel(m ModelData, s catalog.AlertSettings, boot stats.Bootstrap) []Test {
	n := len(m.Questions)
	if n == 0 {
		return nil
	}
	var tests []*metricTest
	for _, metric := range s.Metrics {
		mt := &metricTest{t: Test{ModelID: m.ModelID, Metric: metric, MinEffect: s.MinEffect.Of(metric)}}
		switch metric {
		case catalog.AlertLatencyP95:
			mt.stat = latencyStat(m.Questions, &mt.t)
		case catalog.AlertCost:
			mt.stat = meanStat(m.Questions, &mt.t, func(f analytics.QuestionFigures) float64 { return f.CostUSD })
		default:
			mt.stat = meanStat(m.Questions, &mt.t, func(f analytics.QuestionFigures) float64 { return f.Score })
		}
		if mt.t.Questions < MinQuestions {
			continue
		}
		mt.t.Diff = mt.t.Current - mt.t.Previous
		if mt.t.Previous != 0 {
			r := mt.t.Diff / mt.t.Previous
			mt.t.Relative = &r
		}
		mt.t.Worse = worse(mt.t, mt.t.MinEffect)
		mt.draws = make([]float64, 0, max(boot.Resamples, 1))
		tests = append(tests, mt)
	}
	if len(tests) == 0 {
		return nil
	}
	boot.Resample(n, stats.StreamFor(boot.Seed, m.ModelID), func(idx []uint32) {
		for _, mt := range tests {
			d, ok := mt.stat(idx)
			if !ok {
				continue
			}
			mt.draws = append(mt.draws, d)
			if math.Abs(d-mt.t.Diff) >= math.Abs(mt.t.Diff) {
				mt.far++
			}
		}
	})
	out := make([]Test, len(tests))
	for i, mt := range tests {
		slices.Sort(mt.draws)
		mt.t.CI = stats.Interval{Low: stats.Quantile(mt.draws, 0.025), High: stats.Quantile(mt.draws, 0.975)}
		mt.t.PValue = float64(1+mt.far) / float64(1+len(mt.draws))
		out[i] = mt.t
	}
	return out
}

// meanStat sets t's figures to the means of value over every question
// and returns the statistic of a resample: the mean paired difference.
func meanStat(qs []analytics.PairedQuestion, t *Test, value func(analytics.QuestionFigures) float64) func([]uint32) (float64, bool) {
	d := make([]float64, len(qs))
	var cur, prev float64
	for i, q := range qs {
		c, p := value(q.Current), value(q.Previous)
		cur, prev, d[i] = cur+c, prev+p, c-p
	}
	n := float64(len(qs))
	t.Current, t.Previous, t.Questions = cur/n, prev/n, len(qs)
	return func(idx []uint32) (float64, bool) {
		var s float64
		for _, i := range idx {
			s += d[i]
		}
		return s / float64(len(idx)), true
	}
}

// latencyStat sets t's figures to the 95th percentiles of the questions'
// mean latency on each side, over the questions with a latency on both,
// and returns the statistic of a resample: the difference of the
// percentiles over the picked questions that have one (none picked: no
// value).
func latencyStat(qs []analytics.PairedQuestion, t *Test) func([]uint32) (float64, bool) {
	var cur, prev []float64
	has := make([]int32, len(qs)) // index into cur/prev + 1; 0: no latency
	for i, q := range qs {
		if q.Current.HasLatency && q.Previous.HasLatency {
			cur, prev = append(cur, q.Current.LatencyMs), append(prev, q.Previous.LatencyMs)
			has[i] = int32(len(cur))
		}
	}
	t.Questions = len(cur)
	if len(cur) == 0 {
		return nil
	}
	c, p := newQuantiler(cur, 0.95), newQuantiler(prev, 0.95)
	t.Current, t.Previous = c.all(), p.all()
	counts := make([]int32, len(cur))
	return func(idx []uint32) (float64, bool) {
		total := 0
		for _, i := range idx {
			if k := has[i]; k > 0 {
				counts[k-1]++
				total++
			}
		}
		if total == 0 {
			return 0, false
		}
		d := c.picked(counts, total) - p.picked(counts, total)
		clear(counts)
		return d, true
	}
}

// Holm returns Holm's step-down adjusted p-values of p, in p's order: the
// i-th smallest is max over j ≤ i of min(1, (m−j+1)·p_(j)). Rejecting the
// hypotheses whose adjusted p is below α keeps the chance of rejecting
// any true one at most α, whatever the dependence between the tests.
func Holm(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	out := make([]float64, m)
	running := 0.0
	for rank, i := range order {
		running = max(running, min(1, float64(m-rank)*p[i]))
		out[i] = running
	}
	return out
}

// quantiler computes one quantile (type 7, as stats.Quantile) of values
// and of bootstrap resamples of them given as pick counts, in O(n) per
// resample rather than a sort: it walks the values in sorted order,
// counting picks until the order statistics the quantile falls between.
type quantiler struct {
	values []float64
	// order is the indices of values in ascending order of value.
	order []int
	q     float64
}

func newQuantiler(values []float64, q float64) quantiler {
	order := make([]int, len(values))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(values[a], values[b]) })
	return quantiler{values: values, order: order, q: q}
}

// all is the quantile of every value once.
func (q quantiler) all() float64 {
	sorted := make([]float64, len(q.order))
	for k, i := range q.order {
		sorted[k] = q.values[i]
	}
	return stats.Quantile(sorted, q.q)
}

// picked is the quantile of the multiset of total values holding
// values[i] counts[i] times.
func (q quantiler) picked(counts []int32, total int) float64 {
	h := float64(total-1) * q.q
	lo := int(h)
	frac := h - float64(lo)
	var a float64
	found := false
	cum := 0
	for _, i := range q.order {
		cum += int(counts[i])
		if !found && cum > lo {
			a, found = q.values[i], true
		}
		if cum > lo+1 {
			return a + frac*(q.values[i]-a)
		}
	}
	// lo is the last order statistic: no step to the next.
	return a
}

// Correction names the multiple-comparison correction in alerts.
const Correction = "holm"
