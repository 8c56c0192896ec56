package run

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/judge"
)

// Agreement is how far a run's judges agree with each other and with the
// people who reviewed their verdicts (GET /v1/runs/{id}/agreement), at
// the run's current scoring version.
type Agreement struct {
	// ScoringVersion is the run's scoring version the figures are of.
	ScoringVersion int `json:"scoring_version"`
	// Panels has one entry per judged scorer with two or more judges.
	Panels []PanelAgreement `json:"panels"`
	// Human compares the judged verdicts with the people's over the units
	// that have both; nil when no judged unit was reviewed.
	Human *HumanAgreement `json:"human,omitempty"`
}

// PanelAgreement is the inter-judge agreement of one judged scorer over
// the units at least two of its judges gave a verdict on, each judge's
// label being pass/fail, the choice's name, or the score on the judge's
// own scale.
type PanelAgreement struct {
	// Scorer is the evaluation's scorer: "llm_judge", or "assertions"
	// for the (first) judged assertion of a set.
	Scorer string `json:"scorer"`
	// Kind is the verdict kind the labels are of: pass_fail, score or
	// choice.
	Kind   judge.Kind  `json:"kind"`
	Judges []JudgeName `json:"judges"`
	// Units counts the units with at least two verdicts.
	Units int `json:"units"`
	// PercentAgreement is the mean share of agreeing judge pairs, 0..1.
	PercentAgreement float64 `json:"percent_agreement"`
	// Alpha is Krippendorff's alpha (nominal for pass_fail and choice,
	// interval for score); nil when undefined (no variation at all).
	Alpha *float64 `json:"krippendorff_alpha"`
}

// JudgeName names a judge model as the run recorded it.
type JudgeName struct {
	ModelID uuid.UUID `json:"model_id"`
	Name    string    `json:"name"`
}

// HumanAgreement compares the judged verdicts (pass/fail) with the
// newest human review of each unit that has both.
type HumanAgreement struct {
	Units            int     `json:"units"`
	PercentAgreement float64 `json:"percent_agreement"`
	// Kappa is Cohen's kappa; nil when undefined (judge and people always
	// gave the same one label).
	Kappa *float64 `json:"cohen_kappa"`
}

// JudgedUnit is one judged evaluation as agreement reads it.
type JudgedUnit struct {
	Unit   UnitKey
	Scorer string
	// Passed is the evaluation's verdict; nil when it is unscored.
	Passed *bool
	Judges []judge.Result
}

// ComputeAgreement works out a run's agreement figures at a scoring
// version from its judged evaluations and the newest human verdict of
// each reviewed unit.
func ComputeAgreement(version int, judged []JudgedUnit, reviews map[UnitKey]bool) *Agreement {
	out := &Agreement{ScoringVersion: version, Panels: []PanelAgreement{}}
	byScorer := map[string][]JudgedUnit{}
	for _, u := range judged {
		byScorer[u.Scorer] = append(byScorer[u.Scorer], u)
	}
	scorers := make([]string, 0, len(byScorer))
	for s := range byScorer {
		scorers = append(scorers, s)
	}
	slices.Sort(scorers)
	for _, s := range scorers {
		if p, ok := panelAgreement(s, byScorer[s]); ok {
			out.Panels = append(out.Panels, p)
		}
	}
	var pairs [][]string
	for _, u := range judged {
		human, ok := reviews[u.Unit]
		if !ok || u.Passed == nil {
			continue
		}
		pairs = append(pairs, []string{passLabel(*u.Passed), passLabel(human)})
	}
	if len(pairs) > 0 {
		pct, n := judge.PercentAgreement(pairs)
		h := &HumanAgreement{Units: n, PercentAgreement: pct}
		if k, _, ok := judge.CohenKappa(pairs); ok {
			h.Kappa = &k
		}
		out.Human = h
	}
	return out
}

// panelAgreement is the agreement of one scorer's judges; false when the
// scorer never had two judges.
func panelAgreement(scorer string, units []JudgedUnit) (PanelAgreement, bool) {
	col := map[uuid.UUID]int{}
	var names []JudgeName
	for _, u := range units {
		for _, j := range u.Judges {
			if _, ok := col[j.ModelID]; !ok {
				col[j.ModelID] = len(names)
				names = append(names, JudgeName{ModelID: j.ModelID, Name: j.ModelName})
			}
		}
	}
	if len(names) < 2 {
		return PanelAgreement{}, false
	}
	rows := make([][]string, 0, len(units))
	var labels []string
	for _, u := range units {
		row := make([]string, len(names))
		for _, j := range u.Judges {
			if j.Verdict != nil {
				row[col[j.ModelID]] = j.Verdict.Label
				labels = append(labels, j.Verdict.Label)
			}
		}
		rows = append(rows, row)
	}
	p := PanelAgreement{Scorer: scorer, Kind: kindOf(labels), Judges: names}
	p.PercentAgreement, p.Units = judge.PercentAgreement(rows)
	metric := judge.Nominal
	if p.Kind == judge.KindScore {
		metric = judge.Interval
	}
	if a, ok := judge.KrippendorffAlpha(rows, metric); ok {
		p.Alpha = &a
	}
	slices.SortFunc(p.Judges, func(a, b JudgeName) int { return cmp.Compare(a.Name, b.Name) })
	return p, true
}

// kindOf tells the verdict kind from the labels the judges gave: pass and
// fail only is pass_fail, integers only a score, anything else choices.
func kindOf(labels []string) judge.Kind {
	passFail, numeric := true, true
	for _, l := range labels {
		if l != "pass" && l != "fail" {
			passFail = false
		}
		if _, err := strconv.Atoi(l); err != nil {
			numeric = false
		}
	}
	switch {
	case passFail:
		return judge.KindPassFail
	case numeric:
		return judge.KindScore
	default:
		return judge.KindChoice
	}
}

func passLabel(passed bool) string {
	if passed {
		return "pass"
	}
	return "fail"
}
