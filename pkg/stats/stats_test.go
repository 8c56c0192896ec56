package stats_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sabe-dev/sabe/pkg/stats"
)

// near reports whether got is within tol of want, relative to want's size
// when that exceeds 1.
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestMean(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"Empty", nil, 0},
		{"One", []float64{0.25}, 0.25},
		// (1 + 2 + 3 + 4) / 4 = 10 / 4.
		{"Four", []float64{1, 2, 3, 4}, 2.5},
		// (0 + 1 + 1) / 3.
		{"Scores", []float64{0, 1, 1}, 2.0 / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := stats.Mean(tc.xs); !near(got, tc.want, 1e-15) {
				t.Errorf("Mean(%v) = %.17g, want %.17g", tc.xs, got, tc.want)
			}
		})
	}
}

func TestStdError(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"Empty", nil, 0},
		{"One", []float64{3}, 0},
		// Mean 2, squared deviations 1 + 1 = 2, sample variance 2/(2-1) = 2,
		// SE = sqrt(2)/sqrt(2) = 1.
		{"Two", []float64{1, 3}, 1},
		// Mean 40/8 = 5; squared deviations 9,1,1,1,0,0,4,16 sum to 32;
		// sample variance 32/7; SE = sqrt(32/7)/sqrt(8) = sqrt(4/7).
		{"Eight", []float64{2, 4, 4, 4, 5, 5, 7, 9}, math.Sqrt(4.0 / 7)},
		// Same spread far from zero: the two-pass formula keeps it exact
		// where sum(x^2) - n*mean^2 would cancel away every digit.
		{"Shifted", []float64{1e9 + 2, 1e9 + 4, 1e9 + 4, 1e9 + 4, 1e9 + 5, 1e9 + 5, 1e9 + 7, 1e9 + 9}, math.Sqrt(4.0 / 7)},
		// Constant: no spread.
		{"Constant", []float64{0.7, 0.7, 0.7}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := stats.StdError(tc.xs); !near(got, tc.want, 1e-12) {
				t.Errorf("StdError(%v) = %.17g, want %.17g", tc.xs, got, tc.want)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()

	// Type 7: h = (n-1)p, answer x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]),
	// 0-based. For {1, 2, 4, 8}, n-1 = 3. numpy.quantile([1,2,4,8], p) agrees.
	xs := []float64{1, 2, 4, 8}
	for _, tc := range []struct {
		p, want float64
	}{
		{0, 1},
		{1, 8},
		{-0.5, 1},      // clamped
		{1.5, 8},       // clamped
		{0.5, 3},       // h = 1.5: 2 + 0.5*(4-2)
		{0.25, 1.75},   // h = 0.75: 1 + 0.75*(2-1)
		{0.9, 6.8},     // h = 2.7: 4 + 0.7*(8-4)
		{0.025, 1.075}, // h = 0.075: 1 + 0.075*(2-1)
		{0.975, 7.7},   // h = 2.925: 4 + 0.925*(8-4)
		{2.0 / 3, 4},   // h = 2 exactly: x[2]
	} {
		if got := stats.Quantile(xs, tc.p); !near(got, tc.want, 1e-12) {
			t.Errorf("Quantile(%v, %v) = %.17g, want %.17g", xs, tc.p, got, tc.want)
		}
	}

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		if got := stats.Quantile(nil, 0.5); got != 0 {
			t.Errorf("Quantile(nil) = %v, want 0", got)
		}
	})
	t.Run("One", func(t *testing.T) {
		t.Parallel()
		for _, p := range []float64{0, 0.025, 0.5, 0.975, 1} {
			if got := stats.Quantile([]float64{0.3}, p); got != 0.3 {
				t.Errorf("Quantile({0.3}, %v) = %v, want 0.3", p, got)
			}
		}
	})
	t.Run("EqualNeighbours", func(t *testing.T) {
		t.Parallel()
		// Interpolating between equal values must give that value exactly,
		// not a rounding of it.
		xs := []float64{0.1, 0.1, 0.1, 0.1}
		for _, p := range []float64{0.025, 0.3, 0.975} {
			if got := stats.Quantile(xs, p); got != 0.1 {
				t.Errorf("Quantile(%v, %v) = %.17g, want 0.1 exactly", xs, p, got)
			}
		}
	})
	t.Run("NaN", func(t *testing.T) {
		t.Parallel()
		if got := stats.Quantile(xs, math.NaN()); !math.IsNaN(got) {
			t.Errorf("Quantile(p = NaN) = %v, want NaN", got)
		}
	})
}

// exactPassAtK is 1 - C(n-c, k)/C(n, k) in exact rational arithmetic.
func exactPassAtK(n, c, k int) float64 {
	num := new(big.Int).Binomial(int64(n-c), int64(k)) // 0 when n-c < k
	den := new(big.Int).Binomial(int64(n), int64(k))
	r := new(big.Rat).SetFrac(num, den)
	f, _ := new(big.Rat).Sub(big.NewRat(1, 1), r).Float64()
	return f
}

func TestPassAtK(t *testing.T) {
	t.Parallel()

	t.Run("Hand", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name    string
			n, c, k int
			want    float64
		}{
			// 1 - C(3,1)/C(5,1) = 1 - 3/5.
			{"5,2,1", 5, 2, 1, 0.4},
			// 1 - C(3,2)/C(5,2) = 1 - 3/10.
			{"5,2,2", 5, 2, 2, 0.7},
			// n-c = 1 < k = 2: every pair of samples holds a pass.
			{"5,4,2", 5, 4, 2, 1},
			// C(197,100)/C(200,100) = (100*99*98)/(200*199*198) = 970200/7880400,
			// which reduces (÷100, ÷6, then 1617/13134 = 3*7^2*11 / (2*3*11*199))
			// to 49/398; so pass@100 = 349/398.
			{"200,3,100", 200, 3, 100, 349.0 / 398},
			// 1 - C(999,1)/C(1000,1) = 1/1000: small answers keep their
			// relative precision (1 - product would lose ~3 digits here).
			{"1000,1,1", 1000, 1, 1, 0.001},
			// 1 - C(99,10)/C(100,10) = 1 - 90/100.
			{"100,1,10", 100, 1, 10, 0.1},
		} {
			if got := stats.PassAtK(tc.n, tc.c, tc.k); math.Abs(got-tc.want) > 1e-13*tc.want {
				t.Errorf("PassAtK(%s) = %.17g, want %.17g", tc.name, got, tc.want)
			}
		}
	})

	t.Run("NoneCorrect", func(t *testing.T) {
		t.Parallel()
		// C(10,k)/C(10,k) = 1: no sample ever passes.
		for k := 1; k <= 10; k++ {
			if got := stats.PassAtK(10, 0, k); got != 0 {
				t.Errorf("PassAtK(10, 0, %d) = %v, want 0", k, got)
			}
		}
	})

	t.Run("AllCorrect", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int{1, 2, 5, 200} {
			for k := 1; k <= n; k++ {
				if got := stats.PassAtK(n, n, k); got != 1 {
					t.Errorf("PassAtK(%d, %d, %d) = %v, want 1", n, n, k, got)
				}
			}
		}
	})

	t.Run("PassAt1IsRate", func(t *testing.T) {
		t.Parallel()
		// 1 - C(n-c,1)/C(n,1) = 1 - (n-c)/n = c/n.
		for n := 1; n <= 50; n++ {
			for c := 0; c <= n; c++ {
				if got, want := stats.PassAtK(n, c, 1), float64(c)/float64(n); !near(got, want, 1e-14) {
					t.Errorf("PassAtK(%d, %d, 1) = %.17g, want %.17g", n, c, got, want)
				}
			}
		}
	})

	t.Run("MatchesExact", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int{1, 2, 3, 5, 10, 20, 50, 100, 200} {
			for c := 0; c <= n; c++ {
				for _, k := range []int{1, 2, 5, 10, 20, 50, 100} {
					if k > n {
						continue
					}
					got, want := stats.PassAtK(n, c, k), exactPassAtK(n, c, k)
					// Relative to the answer itself, however small.
					if math.Abs(got-want) > 1e-12*want {
						t.Errorf("PassAtK(%d, %d, %d) = %.17g, exact %.17g", n, c, k, got, want)
					}
				}
			}
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for _, tc := range [][3]int{
			{5, 2, 0}, {5, 2, -1}, {5, 2, 6}, {0, 0, 1}, {-1, 0, 1}, {5, -1, 1}, {5, 6, 1},
		} {
			if got := stats.PassAtK(tc[0], tc[1], tc[2]); got != 0 {
				t.Errorf("PassAtK(%d, %d, %d) = %v, want 0", tc[0], tc[1], tc[2], got)
			}
		}
	})
}

func TestRankBands(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name      string
		iv        []stats.Interval
		low, high []int
	}{
		{"Empty", nil, []int{}, []int{}},
		{"One", []stats.Interval{{0.2, 0.4}}, []int{1}, []int{1}},
		{
			// Nothing overlaps: the order is fully known.
			"Disjoint",
			[]stats.Interval{{0.8, 0.9}, {0.5, 0.6}, {0.1, 0.2}},
			[]int{1, 2, 3}, []int{1, 2, 3},
		},
		{
			// Same models listed worst first: bands follow the models.
			"DisjointReversed",
			[]stats.Interval{{0.1, 0.2}, {0.5, 0.6}, {0.8, 0.9}},
			[]int{3, 2, 1}, []int{3, 2, 1},
		},
		{
			// Everyone overlaps everyone: any order is possible.
			"AllOverlapping",
			[]stats.Interval{{0.4, 0.7}, {0.5, 0.6}, {0.45, 0.8}},
			[]int{1, 1, 1}, []int{3, 3, 3},
		},
		{
			// A [.7,.9]: none above (lo > .9); not below it: B (.75 >= .7) -> [1, 2].
			// B [.6,.75]: none above (lo > .75: A is .7); not below: A, D (.65 >= .6) -> [1, 3].
			// C [.3,.5]: above (lo > .5): A, B -> low 3; none wholly below -> high 4.
			// D [.45,.65]: above (lo > .65): A -> low 2; not below (hi >= .45): A, B, C -> high 4.
			"Mixed",
			[]stats.Interval{{0.7, 0.9}, {0.6, 0.75}, {0.3, 0.5}, {0.45, 0.65}},
			[]int{1, 1, 3, 2}, []int{2, 3, 4, 4},
		},
		{
			// Touching intervals share a point, so neither lies wholly above.
			"Touching",
			[]stats.Interval{{0.6, 0.7}, {0.5, 0.6}},
			[]int{1, 1}, []int{2, 2},
		},
		{
			// Identical (e.g. degenerate) intervals tie.
			"Identical",
			[]stats.Interval{{0.5, 0.5}, {0.5, 0.5}, {0.2, 0.2}},
			[]int{1, 1, 3}, []int{2, 2, 3},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			low, high := stats.RankBands(tc.iv)
			if !slices.Equal(low, tc.low) || !slices.Equal(high, tc.high) {
				t.Errorf("RankBands(%v) = %v, %v; want %v, %v", tc.iv, low, high, tc.low, tc.high)
			}
		})
	}
}

// uniformValues returns n values in [0, 1) from a fixed seed: per-question
// scores for the benchmarks.
func uniformValues(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 0))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = r.Float64()
	}
	return xs
}

// BenchmarkBootstrapMean is one model's leaderboard interval on a
// 2,500-question benchmark at the default 1,000 resamples.
func BenchmarkBootstrapMean(b *testing.B) {
	xs := uniformValues(2500, 1)
	var bs stats.Bootstrap
	b.ReportAllocs()
	for b.Loop() {
		bs.Mean(xs, 7)
	}
}

// BenchmarkPairedDiff is one model's week-over-week comparison on 2,500
// paired questions: score, latency and cost in one call.
func BenchmarkPairedDiff(b *testing.B) {
	cur := [][]float64{uniformValues(2500, 1), uniformValues(2500, 2), uniformValues(2500, 3)}
	prev := [][]float64{uniformValues(2500, 4), uniformValues(2500, 5), uniformValues(2500, 6)}
	var bs stats.Bootstrap
	b.ReportAllocs()
	for b.Loop() {
		bs.PairedDiff(cur, prev, 7)
	}
}

// BenchmarkPairedDiffMissing is BenchmarkPairedDiff with a tenth of the
// latency pairs missing, which takes the weighted path for that metric.
func BenchmarkPairedDiffMissing(b *testing.B) {
	cur := [][]float64{uniformValues(2500, 1), uniformValues(2500, 2), uniformValues(2500, 3)}
	prev := [][]float64{uniformValues(2500, 4), uniformValues(2500, 5), uniformValues(2500, 6)}
	for i := 0; i < 2500; i += 10 {
		cur[1][i] = math.NaN()
	}
	var bs stats.Bootstrap
	b.ReportAllocs()
	for b.Loop() {
		bs.PairedDiff(cur, prev, 7)
	}
}
