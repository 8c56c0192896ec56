package run

// Agreement is how far a run's judges agree with each other and with the
// people who reviewed their verdicts (GET /v1/runs/{id}/agreement).
type Agreement struct {
	// ScoringVersion is the run's scoring version the figures are of.
	ScoringVersion int `json:"scoring_version"`
	// Panels has one entry per judged scorer with two or more judges.
	Panels []PanelAgreement `json:"panels"`
	// Human compares the effective judged verdicts with the people's over
	// the reviewed units; nil when no judged unit was reviewed.
	Human *HumanAgreement `json:"human,omitempty"`
}

// PanelAgreement is the inter-judge agreement of one judged scorer: over
// the units at least two of its judges gave a verdict on, each judge's
// label (pass/fail, the choice, or the score on the judge's scale).
type PanelAgreement struct {
	// Scorer is the evaluation's scorer ("llm_judge" or "assertions"),
	// Assertion the index of the judged assertion within an assertion set
	// (nil for a plain llm_judge rule).
	Scorer    string `json:"scorer"`
	Assertion *int   `json:"assertion,omitempty"`
	// Kind is the verdict kind: pass_fail, score or choice.
	Kind   string      `json:"kind"`
	Judges []JudgeName `json:"judges"`
	// Units counts the units with at least two verdicts.
	Units int `json:"units"`
	// PercentAgreement is the share of agreeing judge pairs, 0..1.
	PercentAgreement float64 `json:"percent_agreement"`
	// Alpha is Krippendorff's alpha (nominal for pass_fail and choice,
	// interval for score); nil when undefined (no variation at all).
	Alpha *float64 `json:"krippendorff_alpha"`
}

// JudgeName names a judge model as the run recorded it.
type JudgeName struct {
	ModelID string `json:"model_id"`
	Name    string `json:"name"`
}

// HumanAgreement compares judge and human verdicts (pass/fail) over the
// units that have both.
type HumanAgreement struct {
	Units            int     `json:"units"`
	PercentAgreement float64 `json:"percent_agreement"`
	// Kappa is Cohen's kappa; nil when undefined (both always said the
	// same single label).
	Kappa *float64 `json:"cohen_kappa"`
}
