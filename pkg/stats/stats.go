package stats

import (
	"math"
)

// Interval is a closed interval [Low, High]; in this package, a 95%
// confidence interval.
type Interval struct{ Low, High float64 }

// Mean returns the arithmetic mean of xs, or 0 for an empty slice so that
// callers summarising "no questions" get a number rather than NaN. A NaN in
// xs makes the result NaN.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// StdError returns the standard error of the mean of xs: the sample standard
// deviation (with n-1 in the denominator, since the mean is estimated from
// the same values) over sqrt(n). It is 0 when there are fewer than two
// values, where no spread can be estimated.
func StdError(xs []float64) float64 {
	n := len(xs)
	if n < 2 {
		return 0
	}
	// Two passes: subtracting the mean first avoids the cancellation of the
	// one-pass sum-of-squares formula when the values sit far from zero.
	m := Mean(xs)
	var ss float64
	for _, x := range xs {
		d := x - m
		ss += d * d
	}
	return math.Sqrt(ss / float64(n-1) / float64(n))
}

// Quantile returns the p-quantile of sorted (ascending) by linear
// interpolation between order statistics: Hyndman and Fan's type 7, the
// default of R's quantile and numpy.quantile, so figures can be checked
// with either. p is clamped to [0, 1]. It returns 0 for an empty slice and
// NaN for a NaN p.
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	switch {
	case math.IsNaN(p):
		return math.NaN()
	case n == 0:
		return 0
	case p <= 0:
		return sorted[0]
	case p >= 1:
		return sorted[n-1]
	}
	h := float64(n-1) * p
	lo := int(h)
	if lo >= n-1 {
		return sorted[n-1]
	}
	// Written as a step from the lower value so that equal neighbours give
	// exactly that value: a constant sample has a degenerate interval.
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// PassAtK is the unbiased estimator of pass@k from Chen et al. 2021
// ("Evaluating Large Language Models Trained on Code"): given n samples of
// one question of which c passed, the probability that at least one of k
// samples drawn without replacement passes, 1 - C(n-c, k) / C(n, k).
//
// It is 1 when n-c < k (every draw of k includes a pass). Callers pass
// 1 <= k <= n and 0 <= c <= n; anything else returns 0 rather than
// panicking, since no estimate exists there.
func PassAtK(n, c, k int) float64 {
	if n <= 0 || k <= 0 || k > n || c < 0 || c > n {
		return 0
	}
	if n-c < k {
		return 1
	}
	// C(n-c, k)/C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i): the binomials
	// overflow long before n = 200, the product never does. Summing logs
	// and finishing with expm1 keeps full relative precision when the
	// answer is tiny (few passes, small k), where 1 - product would cancel.
	// Every term is finite: i > n-c >= k, so k/i < 1.
	var logRatio float64
	for i := n - c + 1; i <= n; i++ {
		logRatio += math.Log1p(-float64(k) / float64(i))
	}
	return -math.Expm1(logRatio)
}

// RankBands returns, for models whose score intervals are iv, the band of
// ranks each could hold (1 is best): low[i] = 1 + the number of models whose
// interval lies wholly above iv[i] (other.Low > iv[i].High), and high[i] =
// 1 + the number of other models whose interval does not lie wholly below
// iv[i] (not other.High < iv[i].Low). Intervals that merely touch overlap.
// The bands do not depend on the order of iv.
func RankBands(iv []Interval) (low, high []int) {
	low = make([]int, len(iv))
	high = make([]int, len(iv))
	// Quadratic, but leaderboards hold tens of models, not thousands.
	for i, a := range iv {
		low[i], high[i] = 1, 1
		for j, b := range iv {
			if j == i {
				continue
			}
			if b.Low > a.High {
				low[i]++
			}
			if !(b.High < a.Low) {
				high[i]++
			}
		}
	}
	return low, high
}
