package judge_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/judge"
)

// krippendorff2011 is the reliability data of section C of Krippendorff
// (2011), "Computing Krippendorff's Alpha-Reliability": four observers, 12
// units, values 1–5, missing data. Rows are units here.
var krippendorff2011 = [][]string{
	{"1", "1", "", "1"},
	{"2", "2", "3", "2"},
	{"3", "3", "3", "3"},
	{"3", "3", "3", "3"},
	{"2", "2", "2", "2"},
	{"1", "2", "3", "4"},
	{"4", "4", "4", "4"},
	{"1", "1", "2", "1"},
	{"2", "2", "2", "2"},
	{"", "5", "5", "5"},
	{"", "", "1", "1"},
	{"", "3", "", ""},
}

// binary2011 is section A's data: two observers, ten units, binary values.
var binary2011 = [][]string{
	{"0", "1"}, {"1", "1"}, {"0", "1"}, {"0", "0"}, {"0", "0"},
	{"0", "1"}, {"0", "0"}, {"0", "0"}, {"1", "0"}, {"0", "0"},
}

func near(a, b, eps float64) bool { return math.Abs(a-b) <= eps }

func TestKrippendorffAlpha(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		units  [][]string
		metric judge.Metric
		want   float64
		eps    float64
	}{
		// The paper gives these to three decimals.
		{name: "NominalMissingData", units: krippendorff2011, metric: judge.Nominal, want: 0.743, eps: 0.0005},
		{name: "IntervalMissingData", units: krippendorff2011, metric: judge.Interval, want: 0.849, eps: 0.0005},
		{name: "BinaryTwoObservers", units: binary2011, metric: judge.Nominal, want: 0.095, eps: 0.0005},
		// By hand: units (pass,pass) (fail,fail) (pass,fail): o_pp = 2,
		// o_ff = 2, o_pf = o_fp = 1, n_p = n_f = 3, n = 6;
		// alpha = 1 − (n−1)·D_o/D_e = 1 − 5·2/(2·3·3) = 4/9.
		{name: "HandComputed", units: [][]string{{"pass", "pass"}, {"fail", "fail"}, {"pass", "fail"}}, metric: judge.Nominal, want: 4.0 / 9, eps: 1e-12},
		{name: "PerfectAgreement", units: [][]string{{"a", "a"}, {"b", "b"}}, metric: judge.Nominal, want: 1, eps: 1e-12},
		{name: "IntervalCanonicalNumbers", units: [][]string{{"4", "4.0"}, {"1", "1"}}, metric: judge.Interval, want: 1, eps: 1e-12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := judge.KrippendorffAlpha(tc.units, tc.metric)
			if !ok || !near(got, tc.want, tc.eps) {
				t.Errorf("KrippendorffAlpha = %v, %v; want %v", got, ok, tc.want)
			}
		})
	}
	t.Run("ErrUndefined", func(t *testing.T) {
		t.Parallel()
		for _, units := range [][][]string{
			nil,
			{{"a", ""}, {"", "b"}},        // nothing pairable
			{{"a", "a"}, {"a", "a", "a"}}, // no variation
			{{"x", "y"}, {"z", "w"}},      // interval: no numbers
		} {
			m := judge.Nominal
			if units != nil && units[0][0] == "x" {
				m = judge.Interval
			}
			if got, ok := judge.KrippendorffAlpha(units, m); ok {
				t.Errorf("KrippendorffAlpha(%v) = %v, true; want undefined", units, got)
			}
		}
	})
}

func TestPercentAgreement(t *testing.T) {
	t.Parallel()
	// By hand: unit 1 all agree (1), unit 2 one pair of three agrees
	// (pass,pass,fail: 1/3), unit 3 has one rating (left out), unit 4
	// two raters disagree (0): mean (1 + 1/3 + 0)/3 = 4/9 over 3 units.
	got, n := judge.PercentAgreement([][]string{
		{"pass", "pass", "pass"},
		{"pass", "fail", "pass"},
		{"pass", "", ""},
		{"", "fail", "pass"},
	})
	if n != 3 || !near(got, 4.0/9, 1e-12) {
		t.Errorf("PercentAgreement = %v, %d; want 4/9, 3", got, n)
	}
	if got, n := judge.PercentAgreement(binary2011); n != 10 || !near(got, 0.6, 1e-12) {
		t.Errorf("PercentAgreement(binary) = %v, %d; want 0.6, 10", got, n)
	}
	if got, n := judge.PercentAgreement(nil); got != 0 || n != 0 {
		t.Errorf("PercentAgreement(nil) = %v, %d", got, n)
	}
}

func TestCohenKappa(t *testing.T) {
	t.Parallel()
	// binary2011 by hand: agreement 6/10; rater 1 gives 1 twice, rater 2
	// four times: p_e = 0.2·0.4 + 0.8·0.6 = 0.56;
	// kappa = (0.6 − 0.56)/(1 − 0.56) = 1/11.
	got, n, ok := judge.CohenKappa(binary2011)
	if !ok || n != 10 || !near(got, 1.0/11, 1e-12) {
		t.Errorf("CohenKappa = %v, %d, %v; want 1/11, 10", got, n, ok)
	}
	// Units either rater left out do not count: judge–human over reviewed
	// units only.
	got, n, ok = judge.CohenKappa([][]string{{"pass", "pass"}, {"fail", "fail"}, {"pass", ""}, {"", "fail"}})
	if !ok || n != 2 || got != 1 {
		t.Errorf("CohenKappa(perfect) = %v, %d, %v; want 1, 2", got, n, ok)
	}
	if _, _, ok := judge.CohenKappa([][]string{{"pass", "pass"}, {"pass", "pass"}}); ok {
		t.Error("CohenKappa with one label everywhere is defined, want undefined")
	}
	if _, n, ok := judge.CohenKappa(nil); ok || n != 0 {
		t.Error("CohenKappa(nil) defined")
	}
}

func TestPanelLabels(t *testing.T) {
	t.Parallel()
	pass, fail := &judge.Verdict{Label: "pass"}, &judge.Verdict{Label: "fail"}
	got := judge.PanelLabels([][]judge.Result{
		{{Verdict: pass}, {Verdict: pass}, {Reason: judge.ReasonError}},
		{{Verdict: fail}, {Verdict: pass}, {Verdict: fail}},
	})
	want := [][]string{{"pass", "pass", ""}, {"fail", "pass", "fail"}}
	if len(got) != 2 || strings.Join(got[0], ",") != strings.Join(want[0], ",") || strings.Join(got[1], ",") != strings.Join(want[1], ",") {
		t.Errorf("PanelLabels = %v, want %v", got, want)
	}
	// By hand: unit 1 one pair, agreeing (1); unit 2 one of three pairs (1/3).
	if pa, n := judge.PercentAgreement(got); n != 2 || !near(pa, 2.0/3, 1e-12) {
		t.Errorf("PercentAgreement = %v, %d; want 2/3, 2", pa, n)
	}
	if (judge.Config{Verdict: judge.VerdictSpec{Kind: judge.KindScore}}).Metric() != judge.Interval || factuality.Metric() != judge.Nominal || passFail.Metric() != judge.Nominal {
		t.Error("Metric by kind is wrong")
	}
}
