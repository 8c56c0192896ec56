package run_test

import (
	"math"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/run"
)

func TestComputeAgreement(t *testing.T) {
	t.Parallel()
	j1, j2, j3 := uuid.New(), uuid.New(), uuid.New()
	model := uuid.New()
	unit := func(i int) run.UnitKey {
		return run.UnitKey{ModelID: model, QuestionID: uuid.UUID{byte(i + 1)}, Sample: 0}
	}
	res := func(id uuid.UUID, name, label string) judge.Result {
		if label == "" {
			return judge.Result{ModelID: id, ModelName: name, Reason: judge.ReasonParseFailure}
		}
		return judge.Result{ModelID: id, ModelName: name, Verdict: &judge.Verdict{Label: label}}
	}
	b := func(v bool) *bool { return &v }
	// Four units, three judges (pass_fail); unit 3 has one verdict missing.
	//   u0: pass pass pass   -> 3/3 pairs agree
	//   u1: pass pass fail   -> 1/3
	//   u2: fail fail fail   -> 3/3
	//   u3: pass  -   fail   -> 0/1
	// Percent agreement = (1 + 1/3 + 1 + 0) / 4 = 7/12.
	// Krippendorff's alpha (nominal), coincidences weighted 1/(m-1):
	// o_pp = 6/2 (u0) + 2/2 (u1) = 4, o_ff = 6/2 (u2) = 3,
	// o_pf = o_fp = 2/2 (u1) + 1 (u3) = 2; n = 11, n_p = 6, n_f = 5;
	// Do = 4/11, De = 2*6*5/(11*10) = 6/11; alpha = 1 - 4/6 = 1/3.
	labels := [][3]string{{"pass", "pass", "pass"}, {"pass", "pass", "fail"}, {"fail", "fail", "fail"}, {"pass", "", "fail"}}
	passed := []*bool{b(true), b(true), b(false), nil}
	var judged []run.JudgedUnit
	for i, l := range labels {
		judged = append(judged, run.JudgedUnit{
			Unit: unit(i), Scorer: "llm_judge", Passed: passed[i],
			Judges: []judge.Result{res(j1, "a", l[0]), res(j2, "b", l[1]), res(j3, "c", l[2])},
		})
	}
	// A single-judge scorer has no panel figures.
	judged = append(judged, run.JudgedUnit{Unit: unit(9), Scorer: "assertions", Passed: b(true),
		Judges: []judge.Result{res(j1, "a", "pass")}})
	// Reviews: u0 pass (agrees), u1 fail (disagrees), u2 fail (agrees),
	// u3 reviewed but unscored (left out), u9 pass (agrees).
	// Pairs (judge, human): (p,p) (p,f) (f,f) (p,p): po = 3/4;
	// judge p=3/4, human p=2/4: pe = 3/4*2/4 + 1/4*2/4 = 1/2;
	// kappa = (3/4 - 1/2) / (1/2) = 1/2.
	reviews := map[run.UnitKey]bool{unit(0): true, unit(1): false, unit(2): false, unit(3): true, unit(9): true}

	got := run.ComputeAgreement(2, judged, reviews)
	if got.ScoringVersion != 2 || len(got.Panels) != 1 {
		t.Fatalf("got %+v, want version 2 and one panel", got)
	}
	p := got.Panels[0]
	if p.Scorer != "llm_judge" || p.Kind != judge.KindPassFail || p.Units != 4 || len(p.Judges) != 3 {
		t.Fatalf("panel %+v", p)
	}
	near(t, "percent agreement", p.PercentAgreement, 7.0/12)
	if p.Alpha == nil {
		t.Fatal("alpha undefined")
	}
	near(t, "alpha", *p.Alpha, 1.0/3)
	h := got.Human
	if h == nil || h.Units != 4 || h.Kappa == nil {
		t.Fatalf("human %+v", h)
	}
	near(t, "human percent", h.PercentAgreement, 0.75)
	near(t, "kappa", *h.Kappa, 0.5)

	t.Run("ScoreKindIsInterval", func(t *testing.T) {
		t.Parallel()
		// Scores 1..5; two judges, u0 (5,4), u1 (1,2): interval alpha.
		// Values 5,4,1,2; coincidences per unit pair both ways.
		// Do = (2*(5-4)^2 + 2*(1-2)^2)/4 = 1; n=4: De = sum over pairs
		// of values (c,k) of n_c n_k (c-k)^2 / (n(n-1)) =
		// 2*[(5-4)^2+(5-1)^2+(5-2)^2+(4-1)^2+(4-2)^2+(1-2)^2]/12 = 2*40/12;
		// alpha = 1 - 1/(80/12) = 1 - 12/80 = 0.85.
		units := []run.JudgedUnit{
			{Unit: unit(0), Scorer: "llm_judge", Passed: b(true), Judges: []judge.Result{res(j1, "a", "5"), res(j2, "b", "4")}},
			{Unit: unit(1), Scorer: "llm_judge", Passed: b(false), Judges: []judge.Result{res(j1, "a", "1"), res(j2, "b", "2")}},
		}
		got := run.ComputeAgreement(1, units, nil)
		if len(got.Panels) != 1 || got.Panels[0].Kind != judge.KindScore || got.Panels[0].Alpha == nil || got.Human != nil {
			t.Fatalf("got %+v", got)
		}
		near(t, "alpha", *got.Panels[0].Alpha, 0.85)
		near(t, "percent", got.Panels[0].PercentAgreement, 0)
	})
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
