package alerting_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/alerting"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
)

// The simulated benchmark: the mock provider at fixed accuracy, the
// shape of a small real benchmark.
const (
	simQuestions = 100
	simSamples   = 5
)

// simModel is one simulated model: for each question a fixed chance of
// passing, a fixed typical latency and a fixed typical output length, so
// that every run of it is an independent draw from the same behaviour.
type simModel struct {
	id      uuid.UUID
	pass    []float64
	latency []float64 // ms, the question's median
	tokens  []float64 // output tokens, the question's median
	price   float64   // USD per output token
}

// newSimModel makes a model whose questions pass with probabilities
// spread around accuracy (logit-normal: some questions are easy, some
// hard), with latencies and lengths that differ from question to
// question.
func newSimModel(r *rand.Rand, i int, accuracy, baseLatencyMs float64) simModel {
	m := simModel{
		id:   uuid.UUID{0x10, byte(i)},
		pass: make([]float64, simQuestions), latency: make([]float64, simQuestions), tokens: make([]float64, simQuestions),
		price: 2e-6 * float64(i+1),
	}
	logit := math.Log(accuracy / (1 - accuracy))
	for q := range simQuestions {
		m.pass[q] = 1 / (1 + math.Exp(-(logit + 1.5*r.NormFloat64())))
		m.latency[q] = baseLatencyMs * math.Exp(0.5*r.NormFloat64())
		m.tokens[q] = 300 * math.Exp(0.6*r.NormFloat64())
	}
	return m
}

// dropped is m with its accuracy lowered by points (0.05: 5 points):
// every question's chance scaled down by the same factor, so the mean
// falls by exactly points.
func (m simModel) dropped(points float64) simModel {
	mean := 0.0
	for _, p := range m.pass {
		mean += p
	}
	mean /= float64(len(m.pass))
	out := m
	out.pass = make([]float64, len(m.pass))
	for q, p := range m.pass {
		out.pass[q] = p * (1 - points/mean)
	}
	return out
}

// run draws one run of m: per question, the pass rate, mean latency
// and cost of simSamples samples.
func (m simModel) run(r *rand.Rand) []analytics.QuestionFigures {
	out := make([]analytics.QuestionFigures, simQuestions)
	for q := range simQuestions {
		passed, lat, cost := 0, 0.0, 0.0
		for range simSamples {
			if r.Float64() < m.pass[q] {
				passed++
			}
			lat += m.latency[q] * math.Exp(0.3*r.NormFloat64())
			cost += math.Round(m.tokens[q]*math.Exp(0.2*r.NormFloat64())) * m.price
		}
		out[q] = analytics.QuestionFigures{
			Score: float64(passed) / simSamples, LatencyMs: lat / simSamples, HasLatency: true, CostUSD: cost,
		}
	}
	return out
}

// simPair draws a baseline run of models and a run of current (the same
// models, or some changed) and pairs them as analytics.PairRuns would.
func simPair(r *rand.Rand, baseline, current []simModel) []alerting.ModelData {
	out := make([]alerting.ModelData, len(baseline))
	for i := range baseline {
		prev, cur := baseline[i].run(r), current[i].run(r)
		qs := make([]analytics.PairedQuestion, simQuestions)
		for q := range qs {
			qs[q] = analytics.PairedQuestion{RevisionID: uuid.UUID{0x20, byte(q)}, Current: cur[q], Previous: prev[q]}
		}
		out[i] = alerting.ModelData{ModelID: baseline[i].id, Questions: qs}
	}
	return out
}

func simModels() []simModel {
	r := rand.New(rand.NewPCG(17, 1))
	return []simModel{
		newSimModel(r, 0, 0.55, 900),
		newSimModel(r, 1, 0.70, 1500),
		newSimModel(r, 2, 0.80, 600),
		newSimModel(r, 3, 0.90, 2500),
	}
}

// allMetrics are the default settings with every metric watched.
func allMetrics() catalog.AlertSettings {
	s := catalog.DefaultAlertSettings()
	s.Metrics = catalog.AlertMetrics
	return s
}

// simulate checks pairs run pairs, in parallel, and returns each pair's
// tests. Pair i draws from its own seeded stream and is checked as a run
// with its own id, so the outcome does not depend on scheduling.
func simulate(pairs int, seed uint64, baseline, current []simModel) [][]alerting.Test {
	out := make([][]alerting.Test, pairs)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := rand.New(rand.NewPCG(seed, uint64(i)))
				var runID uuid.UUID
				binary.BigEndian.PutUint64(runID[:8], seed)
				binary.BigEndian.PutUint64(runID[8:], uint64(i))
				out[i] = alerting.Detect(runID, simPair(r, baseline, current), allMetrics(), alerting.Resamples)
			}
		}()
	}
	for i := range pairs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// TestDetect_FalseAlarmRate is the measured false-alarm rate: 500 pairs of
// runs of 4 unchanged models (100 questions, 5 samples, latency and cost
// drawn from fixed distributions), every metric watched (12 tests per
// run). The share of runs raising any alert must stay at or below the
// family-wise rate the settings promise, alpha = 5%.
func TestDetect_FalseAlarmRate(t *testing.T) {
	t.Parallel()
	const pairs = 500
	models := simModels()
	results := simulate(pairs, 1, models, models)
	alarmed, significant := 0, 0
	for _, tests := range results {
		if len(tests) != len(models)*len(catalog.AlertMetrics) {
			t.Fatalf("a run made %d tests, want %d", len(tests), len(models)*len(catalog.AlertMetrics))
		}
		any, sig := false, false
		for _, ts := range tests {
			any = any || ts.Alert
			sig = sig || ts.PAdjusted < 0.05
		}
		if any {
			alarmed++
		}
		if sig {
			significant++
		}
	}
	rate := float64(alarmed) / pairs
	t.Logf("false alarms: %d of %d unchanged run pairs (%.1f%%) raised an alert; %d (%.1f%%) had a Holm-significant change in either direction",
		alarmed, pairs, 100*rate, significant, 100*float64(significant)/pairs)
	if rate > 0.05 {
		t.Errorf("false-alarm rate %.3f, want at most 0.05", rate)
	}
}

// TestDetect_Power plants a drop of 3, 5 and 10 points of accuracy in one
// model (accuracy 70%) and reports how often its score alert is raised.
func TestDetect_Power(t *testing.T) {
	t.Parallel()
	const pairs = 200
	models := simModels()
	const target = 1
	drops := []float64{0.03, 0.05, 0.10}
	rates := make([]float64, len(drops))
	t.Logf("%-13s %-15s %s", "planted drop", "detection rate", "other alerts")
	for k, d := range drops {
		current := append([]simModel(nil), models...)
		current[target] = models[target].dropped(d)
		caught, others := 0, 0
		for _, tests := range simulate(pairs, uint64(100+k), models, current) {
			for _, ts := range tests {
				switch {
				case !ts.Alert:
				case ts.ModelID == models[target].id && ts.Metric == catalog.AlertScore:
					caught++
				default:
					others++
				}
			}
		}
		rates[k] = float64(caught) / pairs
		t.Logf("%-13s %-15s %d in %d runs", pointsLabel(d), percentLabel(rates[k]), others, pairs)
	}
	if rates[2] <= 0.5 {
		t.Errorf("a 10-point drop was caught in %.0f%% of runs, want most (over half)", 100*rates[2])
	}
	for k := 1; k < len(rates); k++ {
		if rates[k] < rates[k-1] {
			t.Errorf("power fell from %.2f to %.2f as the drop grew from %s to %s", rates[k-1], rates[k], pointsLabel(drops[k-1]), pointsLabel(drops[k]))
		}
	}
}

func pointsLabel(d float64) string { return strconv.FormatFloat(100*d, 'f', 0, 64) + " points" }

func percentLabel(r float64) string { return strconv.FormatFloat(100*r, 'f', 1, 64) + "%" }
