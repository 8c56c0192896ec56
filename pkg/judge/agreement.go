package judge

import (
	"math"
	"strconv"
	"strings"
)

// Metric is the difference function of Krippendorff's alpha.
type Metric int

// The metrics: Nominal for labels (pass_fail, choice), Interval for
// numbers (score verdicts; labels are parsed as numbers).
const (
	Nominal Metric = iota
	Interval
)

// PercentAgreement returns the mean, over the units (rows) with at least
// two ratings, of the share of pairs of raters (columns) that gave the
// same label, and the number of those units. "" is a missing rating. With
// no such unit it returns 0, 0.
func PercentAgreement(units [][]string) (float64, int) {
	sum, n := 0.0, 0
	for _, u := range units {
		vals := present(u)
		if len(vals) < 2 {
			continue
		}
		agree, pairs := 0, 0
		for i := range vals {
			for j := i + 1; j < len(vals); j++ {
				pairs++
				if vals[i] == vals[j] {
					agree++
				}
			}
		}
		sum += float64(agree) / float64(pairs)
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// KrippendorffAlpha returns Krippendorff's alpha of units (rows = units,
// columns = raters, "" = missing) with metric. Units with fewer than two
// ratings do not count. With Interval a label that is not a number counts
// as missing. It returns false when alpha is undefined: fewer than two
// pairable values, or no variation at all (every value the same).
func KrippendorffAlpha(units [][]string, metric Metric) (float64, bool) {
	// o is the coincidence matrix over the distinct values.
	index := map[string]int{}
	var values []string
	var o [][]float64
	for _, u := range units {
		vals := present(u)
		if metric == Interval {
			vals = numeric(vals)
		}
		m := len(vals)
		if m < 2 {
			continue
		}
		for _, v := range vals {
			if _, ok := index[v]; !ok {
				index[v] = len(values)
				values = append(values, v)
				for i := range o {
					o[i] = append(o[i], 0)
				}
				o = append(o, make([]float64, len(values)))
			}
		}
		for i, a := range vals {
			for j, b := range vals {
				if i != j {
					o[index[a]][index[b]] += 1 / float64(m-1)
				}
			}
		}
	}
	k := len(values)
	nc := make([]float64, k)
	total := 0.0
	for c := range k {
		for d := range k {
			nc[c] += o[c][d]
		}
		total += nc[c]
	}
	if total < 2 {
		return 0, false
	}
	var nums []float64
	if metric == Interval {
		nums = make([]float64, k)
		for i, v := range values {
			nums[i], _ = strconv.ParseFloat(v, 64)
		}
	}
	delta := func(c, d int) float64 {
		if metric == Interval {
			return (nums[c] - nums[d]) * (nums[c] - nums[d])
		}
		if c == d {
			return 0
		}
		return 1
	}
	observed, expected := 0.0, 0.0
	for c := range k {
		for d := range k {
			dd := delta(c, d)
			observed += o[c][d] * dd
			expected += nc[c] * nc[d] * dd
		}
	}
	if expected == 0 {
		return 0, false
	}
	return 1 - (total-1)*observed/expected, true
}

// CohenKappa returns Cohen's kappa of two raters: the first two columns of
// units, over the units both rated (neither ""), and the number of those
// units. It returns false when kappa is undefined: no such unit, or
// agreement expected by chance is 1 (both raters always gave the same one
// label).
func CohenKappa(units [][]string) (float64, int, bool) {
	a, b := map[string]float64{}, map[string]float64{}
	agree, n := 0.0, 0
	for _, u := range units {
		if len(u) < 2 || u[0] == "" || u[1] == "" {
			continue
		}
		a[u[0]]++
		b[u[1]]++
		if u[0] == u[1] {
			agree++
		}
		n++
	}
	if n == 0 {
		return 0, 0, false
	}
	po := agree / float64(n)
	pe := 0.0
	for label, ca := range a {
		pe += ca / float64(n) * b[label] / float64(n)
	}
	if pe >= 1 {
		return 0, n, false
	}
	return (po - pe) / (1 - pe), n, true
}

func present(u []string) []string {
	out := make([]string, 0, len(u))
	for _, v := range u {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// numeric keeps the values that parse as finite numbers, written in one
// canonical form so that "4" and "4.0" are the same value.
func numeric(vals []string) []string {
	out := vals[:0:0]
	for _, v := range vals {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			continue
		}
		out = append(out, strconv.FormatFloat(x, 'g', -1, 64))
	}
	return out
}

// Metric is the agreement metric for c's verdicts: Interval for score
// verdicts, Nominal for pass_fail and choice.
func (c Config) Metric() Metric {
	if c.Normalized().Verdict.Kind == KindScore {
		return Interval
	}
	return Nominal
}

// PanelLabels is the units × judges table PercentAgreement and
// KrippendorffAlpha take, from the judge results of one panel scorer's
// evaluations: one row per unit, one column per judge (by position in the
// rule's judge_model_ids), each judge's verdict label or "" where it gave
// none.
func PanelLabels(units [][]Result) [][]string {
	out := make([][]string, len(units))
	for i, rs := range units {
		row := make([]string, len(rs))
		for j, r := range rs {
			if r.Verdict != nil {
				row[j] = r.Verdict.Label
			}
		}
		out[i] = row
	}
	return out
}
