package stats_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sabe-dev/sabe/pkg/stats"
)

func contains(iv stats.Interval, x float64) bool { return iv.Low <= x && x <= iv.High }

func TestBootstrap_Mean(t *testing.T) {
	t.Parallel()

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		if got := (stats.Bootstrap{}).Mean(nil, 1); got != (stats.Interval{}) {
			t.Errorf("Mean(nil) = %+v, want {0 0}", got)
		}
	})

	t.Run("One", func(t *testing.T) {
		t.Parallel()
		// Every resample of one value is that value.
		if got := (stats.Bootstrap{}).Mean([]float64{0.37}, 1); got != (stats.Interval{Low: 0.37, High: 0.37}) {
			t.Errorf("Mean({0.37}) = %+v, want [0.37, 0.37]", got)
		}
	})

	t.Run("Constant", func(t *testing.T) {
		t.Parallel()
		// Every resample of 50 copies of 0.1 has mean 0.1, so both bounds
		// are 0.1 exactly (a naive sum of 50 copies of 0.1 divided by 50
		// is not).
		xs := make([]float64, 50)
		for i := range xs {
			xs[i] = 0.1
		}
		if got := (stats.Bootstrap{}).Mean(xs, 1); got != (stats.Interval{Low: 0.1, High: 0.1}) {
			t.Errorf("Mean(50 x 0.1) = %+v, want [0.1, 0.1] exactly", got)
		}
	})

	t.Run("ZeroOne", func(t *testing.T) {
		t.Parallel()
		// A resample of {0, 1} has mean 0 (both picks 0) with probability
		// 1/4, 1/2 with 1/2 and 1 with 1/4. With 10,000 resamples about
		// 2,500 means are 0 and 2,500 are 1, far more than the 250 at
		// each end that the 2.5% and 97.5% quantiles look at, so the
		// interval is exactly [0, 1].
		got := stats.Bootstrap{Resamples: 10000}.Mean([]float64{0, 1}, 1)
		if got != (stats.Interval{Low: 0, High: 1}) {
			t.Errorf("Mean({0, 1}) = %+v, want [0, 1]", got)
		}
		// The default 1,000 resamples: ~250 at each end against ~25 needed.
		if got := (stats.Bootstrap{}).Mean([]float64{0, 1}, 1); got != (stats.Interval{Low: 0, High: 1}) {
			t.Errorf("default Mean({0, 1}) = %+v, want [0, 1]", got)
		}
	})

	t.Run("Bernoulli400", func(t *testing.T) {
		t.Parallel()
		// 200 passes and 200 failures: mean 0.5; sample variance
		// 400 * 0.25 / 399 = 100/399; SE = sqrt(100/399) / sqrt(400)
		// = 0.0250313. For a mean of 400 values the bootstrap distribution
		// is close to normal, so the interval should be close to
		// 0.5 ± 1.96 * 0.0250313 = [0.450939, 0.549061]. Slack: resample
		// means move in steps of 1/400 = 0.0025, and the Monte Carlo error
		// of a 2.5% quantile at 10,000 resamples is about 0.0007.
		xs := make([]float64, 400)
		for i := range xs {
			xs[i] = float64(i % 2)
		}
		se := math.Sqrt(100.0/399) / 20
		if got := stats.StdError(xs); math.Abs(got-se) > 1e-15 {
			t.Fatalf("StdError = %.17g, want %.17g", got, se)
		}
		got := stats.Bootstrap{Resamples: 10000}.Mean(xs, 3)
		want := stats.Interval{Low: 0.5 - 1.96*se, High: 0.5 + 1.96*se}
		t.Logf("bootstrap %+v, normal approximation %+v", got, want)
		if math.Abs(got.Low-want.Low) > 0.004 || math.Abs(got.High-want.High) > 0.004 {
			t.Errorf("Mean(200 x {0, 1}) = %+v, want about %+v", got, want)
		}
	})

	t.Run("Reproducible", func(t *testing.T) {
		t.Parallel()
		xs := uniformValues(300, 9)
		a := (stats.Bootstrap{}).Mean(xs, 5)
		if b := (stats.Bootstrap{}).Mean(xs, 5); b != a {
			t.Errorf("same seed and stream: %+v then %+v", a, b)
		}
		// The zero value means the documented defaults.
		if b := (stats.Bootstrap{Resamples: stats.DefaultResamples, Seed: stats.DefaultSeed}).Mean(xs, 5); b != a {
			t.Errorf("explicit defaults gave %+v, zero value %+v", b, a)
		}
		if b := (stats.Bootstrap{Resamples: -3}).Mean(xs, 5); b != a {
			t.Errorf("negative Resamples gave %+v, want the default's %+v", b, a)
		}
		if b := (stats.Bootstrap{}).Mean(xs, 6); b == a {
			t.Errorf("streams 5 and 6 both gave %+v", a)
		}
		if b := (stats.Bootstrap{Seed: 2}).Mean(xs, 5); b == a {
			t.Errorf("seeds 1 and 2 both gave %+v", a)
		}
		// Whatever the stream, the interval brackets the sample mean.
		if m := stats.Mean(xs); !contains(a, m) {
			t.Errorf("interval %+v misses the mean %v", a, m)
		}
	})

	t.Run("Pinned", func(t *testing.T) {
		t.Parallel()
		// Not a hand computation: these figures pin the random sequence
		// (PCG, the seed mixing and the index draws). If this test fails,
		// every interval SABE has published would change for the same
		// data; change the figures only on purpose.
		xs := []float64{0, 0.25, 0.5, 0.5, 0.75, 1, 1, 1, 0, 0.5}
		got := (stats.Bootstrap{}).Mean(xs, 42)
		want := stats.Interval{Low: pinnedLow, High: pinnedHigh}
		if got != want {
			t.Errorf("Mean = %#v, want %#v", got, want)
		}
	})
}

// Pinned figures for TestBootstrap_Mean/Pinned and TestStreamFor.
const (
	pinnedLow    = 0.325
	pinnedHigh   = 0.775
	pinnedStream = 0x2da649864262d03f
)

func TestBootstrap_PairedDiff(t *testing.T) {
	t.Parallel()

	t.Run("PlantedRegression", func(t *testing.T) {
		t.Parallel()
		// 300 questions with previous scores spread over [0, 1) and a
		// current score 0.2 lower plus N(0, 0.1) noise. The mean difference
		// is about -0.2 with SE about 0.1/sqrt(300) = 0.0058, so the 95%
		// interval is about -0.2 ± 0.011: wholly below zero.
		r := rand.New(rand.NewPCG(42, 0))
		prev := make([]float64, 300)
		cur := make([]float64, 300)
		diff := make([]float64, 300)
		for i := range prev {
			prev[i] = r.Float64()
			cur[i] = prev[i] - 0.2 + 0.1*r.NormFloat64()
			diff[i] = cur[i] - prev[i]
		}
		if m := stats.Mean(diff); math.Abs(m+0.2) > 0.02 {
			t.Fatalf("synthetic mean difference %v, want about -0.2", m)
		}
		got := (stats.Bootstrap{}).PairedDiff([][]float64{cur}, [][]float64{prev}, 1)
		if len(got) != 1 {
			t.Fatalf("got %d intervals, want 1", len(got))
		}
		iv := got[0]
		t.Logf("mean difference %.4f, interval %+v, 1.96*SE %.4f", stats.Mean(diff), iv, 1.96*stats.StdError(diff))
		if !(iv.High < 0) {
			t.Errorf("interval %+v does not lie below 0", iv)
		}
		if m := stats.Mean(diff); !contains(iv, m) {
			t.Errorf("interval %+v misses the mean difference %v", iv, m)
		}
		// Width near the normal approximation's 2 * 1.96 * SE.
		if w, want := iv.High-iv.Low, 2*1.96*stats.StdError(diff); math.Abs(w-want) > 0.15*want {
			t.Errorf("interval width %v, want about %v", w, want)
		}
	})

	t.Run("PairingMatters", func(t *testing.T) {
		t.Parallel()
		// A drop of 0.05 on questions whose difficulty spreads over [0, 1):
		// each period's own interval is about ±1.96 * 0.29/sqrt(300) = ±0.033
		// wide, so the two overlap and an unpaired look sees nothing; the
		// paired differences have SE about 0.05/sqrt(300) = 0.003, so their
		// interval (about -0.05 ± 0.006) excludes zero.
		r := rand.New(rand.NewPCG(7, 0))
		prev := make([]float64, 300)
		cur := make([]float64, 300)
		for i := range prev {
			prev[i] = r.Float64()
			cur[i] = prev[i] - 0.05 + 0.05*r.NormFloat64()
		}
		var bs stats.Bootstrap
		ci, pi := bs.Mean(cur, 1), bs.Mean(prev, 2)
		if !(ci.High >= pi.Low) {
			t.Fatalf("unpaired intervals %+v and %+v do not overlap; the example shows nothing", ci, pi)
		}
		iv := bs.PairedDiff([][]float64{cur}, [][]float64{prev}, 1)[0]
		t.Logf("current %+v, previous %+v, paired difference %+v", ci, pi, iv)
		if !(iv.High < 0) {
			t.Errorf("paired interval %+v does not lie below 0", iv)
		}
	})

	// sameDistribution returns two periods of 300 questions whose
	// per-question scores come from the same distribution: each question
	// has a pass probability p, and each period's score is the pass rate
	// of 4 independent samples.
	sameDistribution := func(seed uint64) (cur, prev []float64) {
		r := rand.New(rand.NewPCG(seed, 0))
		rate := func(p float64) float64 {
			c := 0
			for range 4 {
				if r.Float64() < p {
					c++
				}
			}
			return float64(c) / 4
		}
		cur, prev = make([]float64, 300), make([]float64, 300)
		for i := range cur {
			p := r.Float64()
			cur[i], prev[i] = rate(p), rate(p)
		}
		return cur, prev
	}

	t.Run("SameDistribution", func(t *testing.T) {
		t.Parallel()
		cur, prev := sameDistribution(1)
		iv := (stats.Bootstrap{}).PairedDiff([][]float64{cur}, [][]float64{prev}, 1)[0]
		if !contains(iv, 0) {
			t.Errorf("interval %+v excludes 0 for identical distributions", iv)
		}
	})

	t.Run("FalseAlarmRate", func(t *testing.T) {
		t.Parallel()
		// A 95% interval should exclude 0 for about 5% of no-change
		// datasets: 10 of 200, with a binomial SD of about 3. Fewer than 2
		// would mean intervals far too wide (changes missed), more than 25
		// far too narrow (false alarms). Seeds are fixed, so the count is too.
		var bs stats.Bootstrap
		excluded := 0
		for seed := range uint64(200) {
			cur, prev := sameDistribution(1000 + seed)
			if iv := bs.PairedDiff([][]float64{cur}, [][]float64{prev}, seed)[0]; !contains(iv, 0) {
				excluded++
			}
		}
		t.Logf("%d of 200 no-change intervals exclude 0", excluded)
		if excluded < 2 || excluded > 25 {
			t.Errorf("%d of 200 no-change intervals exclude 0, want about 10", excluded)
		}
	})

	t.Run("OneDrawForAllMetrics", func(t *testing.T) {
		t.Parallel()
		// The same data under two metrics sees the same resampled indices,
		// so the intervals are identical; a third metric is independent
		// data and must not disturb them.
		a, b, c := uniformValues(200, 1), uniformValues(200, 2), uniformValues(200, 3)
		got := (stats.Bootstrap{}).PairedDiff([][]float64{a, c, a}, [][]float64{b, c, b}, 4)
		if len(got) != 3 {
			t.Fatalf("got %d intervals, want 3", len(got))
		}
		if got[0] != got[2] {
			t.Errorf("identical metrics got %+v and %+v", got[0], got[2])
		}
		// c - c is all zeros.
		if got[1] != (stats.Interval{}) {
			t.Errorf("zero differences got %+v, want [0, 0]", got[1])
		}
	})

	t.Run("AgreesWithMean", func(t *testing.T) {
		t.Parallel()
		// Against an all-zero baseline the differences are the values
		// themselves, and with the same seed and stream PairedDiff must draw
		// the same indices as Mean: one code path, one answer.
		xs := uniformValues(777, 5)
		zeros := make([]float64, len(xs))
		got := (stats.Bootstrap{Seed: 9}).PairedDiff([][]float64{xs}, [][]float64{zeros}, 3)[0]
		if want := (stats.Bootstrap{Seed: 9}).Mean(xs, 3); got != want {
			t.Errorf("PairedDiff = %+v, Mean = %+v", got, want)
		}
	})

	t.Run("MissingPairs", func(t *testing.T) {
		t.Parallel()
		nan, inf := math.NaN(), math.Inf(1)
		// Metric 0 is a score present everywhere: differences 1, 0, 0, 1.
		// Metric 1 is a latency present only for questions 0 and 3 (a NaN on
		// either side removes the pair), where it rose by 3: its interval
		// is exactly [3, 3]. Were the missing pairs counted as zero
		// differences, it would reach down to 0.
		// Metric 2 has no finite difference at all (inf - inf is NaN): [0, 0].
		cur := [][]float64{{1, 0, 1, 1}, {13, nan, 5, 10}, {nan, nan, 1, inf}}
		prev := [][]float64{{0, 0, 1, 0}, {10, 4, nan, 7}, {1, 2, nan, inf}}
		got := (stats.Bootstrap{}).PairedDiff(cur, prev, 1)
		if got[1] != (stats.Interval{Low: 3, High: 3}) {
			t.Errorf("latency interval %+v, want [3, 3]", got[1])
		}
		if got[2] != (stats.Interval{}) {
			t.Errorf("all-missing interval %+v, want [0, 0]", got[2])
		}
		// Differences {1, 0, 0, 1}: resample means lie in [0, 1] and the
		// interval holds the mean 0.5.
		if iv := got[0]; iv.Low < 0 || iv.High > 1 || !contains(iv, 0.5) {
			t.Errorf("score interval %+v, want inside [0, 1] around 0.5", iv)
		}
		// Two present differences, 0 and 10, among ten questions. A resample
		// averages only its present picks, so its mean is 0 when every
		// present pick is the 0 (and likewise 10): with K ~ Binomial(10, 0.2)
		// present picks that happens with probability E[2^-K; K >= 1] > 0.13
		// at each end, far above 2.5%, so the interval is exactly [0, 10].
		// Dividing by all ten picks instead would give means equal to the
		// number of times the 10 was picked, whose 97.5% quantile is about 3.
		sparse := []float64{0, 10, nan, nan, nan, nan, nan, nan, nan, nan}
		iv := (stats.Bootstrap{}).PairedDiff([][]float64{sparse}, [][]float64{make([]float64, 10)}, 1)[0]
		if iv != (stats.Interval{Low: 0, High: 10}) {
			t.Errorf("two present pairs among ten: %+v, want [0, 10]", iv)
		}
		// An infinite difference is missing, not infinite.
		iv = (stats.Bootstrap{}).PairedDiff([][]float64{{inf, 2}}, [][]float64{{1, 1}}, 1)[0]
		if iv != (stats.Interval{Low: 1, High: 1}) {
			t.Errorf("with an infinite pair: %+v, want [1, 1]", iv)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		if got := (stats.Bootstrap{}).PairedDiff(nil, nil, 1); len(got) != 0 {
			t.Errorf("no metrics: %+v, want none", got)
		}
		got := (stats.Bootstrap{}).PairedDiff([][]float64{{}, {}}, [][]float64{{}, {}}, 1)
		if len(got) != 2 || got[0] != (stats.Interval{}) || got[1] != (stats.Interval{}) {
			t.Errorf("no questions: %+v, want two [0, 0]", got)
		}
	})

	t.Run("MismatchPanics", func(t *testing.T) {
		t.Parallel()
		for name, args := range map[string][2][][]float64{
			"metrics":   {{{1}}, {{1}, {2}}},
			"questions": {{{1, 2}}, {{1}}},
			"ragged":    {{{1, 2}, {1}}, {{1, 2}, {1}}},
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: PairedDiff did not panic", name)
					}
				}()
				(stats.Bootstrap{}).PairedDiff(args[0], args[1], 1)
			}()
		}
	})
}

func TestStreamFor(t *testing.T) {
	t.Parallel()

	id := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	other := id
	other[15] ^= 1

	a := stats.StreamFor(1, id)
	if b := stats.StreamFor(1, id); b != a {
		t.Errorf("StreamFor is not deterministic: %#x then %#x", a, b)
	}
	if b := stats.StreamFor(1, other); b == a {
		t.Errorf("ids differing in one bit share stream %#x", a)
	}
	if b := stats.StreamFor(2, id); b == a {
		t.Errorf("seeds 1 and 2 share stream %#x", a)
	}
	// Pinned like TestBootstrap_Mean/Pinned: a model's interval depends on
	// this derivation.
	if a != pinnedStream {
		t.Errorf("StreamFor(1, id) = %#x, want %#x", a, uint64(pinnedStream))
	}
}

func TestBootstrap_Resample(t *testing.T) {
	t.Parallel()
	xs := []float64{1, 4, 2, 8, 5, 7}
	b := stats.Bootstrap{Resamples: 500, Seed: 9}
	// The means of Resample's draws are Mean's: the same indices.
	var means []float64
	b.Resample(len(xs), 3, func(idx []uint32) {
		var s float64
		for _, i := range idx {
			s += xs[i]
		}
		means = append(means, s/float64(len(idx)))
	})
	if len(means) != 500 {
		t.Fatalf("got %d resamples, want 500", len(means))
	}
	slices.Sort(means)
	want := b.Mean(xs, 3)
	got := stats.Interval{Low: stats.Quantile(means, 0.025), High: stats.Quantile(means, 0.975)}
	if math.Abs(got.Low-want.Low) > 1e-12 || math.Abs(got.High-want.High) > 1e-12 {
		t.Errorf("Resample's means give %+v, Mean gives %+v", got, want)
	}
}
