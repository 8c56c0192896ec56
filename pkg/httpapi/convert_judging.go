package httpapi

import (
	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// This file renders what judging, reviews, rescores and agreement add to
// a run's results. Like convert.go, it decides nothing except which
// evaluation is a unit's effective verdict, which the document defines.

func toEvaluation(ev *run.Evaluation) oapi.Evaluation {
	out := oapi.Evaluation{
		Scorer: ev.Scorer, Version: ev.Version, Status: oapi.EvaluationStatus(ev.Status),
		Passed: ev.Passed, Score: figurePtr(ev.Score), Detail: ev.Detail,
		Reason: nonEmpty(ev.Reason), Reasoning: nonEmpty(ev.Reasoning),
		JudgeInputTokens: int64(ev.JudgeInputTokens), JudgeOutputTokens: int64(ev.JudgeOutputTokens),
		JudgeCostUsd: figure(ev.JudgeCostUSD), JudgeLatencyMs: figurePtr(ev.JudgeLatencyMs),
		Reviewer: nonEmpty(ev.Reviewer), Note: nonEmpty(ev.Note), CreatedAt: ev.CreatedAt.UTC(),
	}
	if out.Status == "" {
		// Evaluations stored before judging existed always had a verdict.
		out.Status = oapi.EvaluationStatusScored
	}
	if len(ev.Judges) > 0 {
		js := toJudgeResults(ev.Judges)
		out.Judges = &js
	}
	if len(ev.Assertions) > 0 {
		as := toAssertionResults(ev.Assertions)
		out.Assertions = &as
	}
	return out
}

func toJudgeResults(in []judge.Result) []oapi.JudgeResult {
	out := make([]oapi.JudgeResult, len(in))
	for i, r := range in {
		out[i] = oapi.JudgeResult{
			ModelId: r.ModelID, ModelName: r.ModelName, Reason: nonEmpty(r.Reason), Error: nonEmpty(r.Error),
			Attempts: r.Attempts, InputTokens: int64(r.InputTokens), OutputTokens: int64(r.OutputTokens),
			CostUsd: figure(r.CostUSD), LatencyMs: figure(r.LatencyMs),
		}
		if v := r.Verdict; v != nil {
			out[i].Verdict = &oapi.JudgeGivenVerdict{Label: v.Label, Score: figure(v.Score), Passed: v.Passed, Reasoning: v.Reasoning}
		}
	}
	return out
}

func toAssertionResults(in []scoring.AssertionResult) []oapi.AssertionResult {
	out := make([]oapi.AssertionResult, len(in))
	for i, a := range in {
		out[i] = oapi.AssertionResult{
			Method: a.Method, Weight: a.Weight, Passed: a.Passed, Score: figure(a.Score), Detail: a.Detail,
			Reason: nonEmpty(a.Reason),
		}
		if a.Unscored {
			out[i].Unscored = &a.Unscored
		}
	}
	return out
}

// toVerdict is a unit's effective verdict, the one rankings count: its
// newest human review, else its evaluation at the run's scoring version.
// A succeeded unit with neither is unscored when the store says so, and
// otherwise still waits for its judges.
func toVerdict(e *run.Execution, scoringVersion int) oapi.ExecutionVerdict {
	if e.Status != run.ExecSucceeded {
		return oapi.ExecutionVerdict{Status: oapi.ExecutionVerdictStatusNone}
	}
	var eff *run.Evaluation
	for i := range e.Evaluations {
		ev := &e.Evaluations[i]
		if ev.Scorer == run.ScorerHuman && (eff == nil || eff.Scorer != run.ScorerHuman || ev.Version > eff.Version) {
			eff = ev
		}
	}
	if eff == nil {
		for i := range e.Evaluations {
			if ev := &e.Evaluations[i]; ev.Version == scoringVersion {
				eff = ev
				break
			}
		}
	}
	switch {
	case eff != nil && eff.Status == run.EvalUnscored:
		return oapi.ExecutionVerdict{Status: oapi.ExecutionVerdictStatusUnscored, Scorer: &eff.Scorer, Version: &eff.Version, Reason: nonEmpty(eff.Reason)}
	case eff != nil:
		return oapi.ExecutionVerdict{
			Status: oapi.ExecutionVerdictStatusScored, Passed: eff.Passed, Score: figurePtr(eff.Score),
			Scorer: &eff.Scorer, Version: &eff.Version,
		}
	case e.UnscoredReason != "":
		return oapi.ExecutionVerdict{Status: oapi.ExecutionVerdictStatusUnscored, Reason: &e.UnscoredReason}
	default:
		return oapi.ExecutionVerdict{Status: oapi.ExecutionVerdictStatusAwaitingJudgment}
	}
}

func toRescore(r *run.Rescore) oapi.Rescore {
	return oapi.Rescore{
		RunId: r.RunID, Version: r.Version, Status: oapi.RescoreStatus(r.Status), Fingerprint: nonEmpty(r.Fingerprint),
		Total: r.Total, Done: r.Done, Error: nonEmpty(r.Error), Created: r.Created,
		CreatedAt: r.CreatedAt.UTC(), FinishedAt: utcPtr(r.FinishedAt),
	}
}

func toAgreement(runID uuid.UUID, a *run.Agreement) oapi.Agreement {
	out := oapi.Agreement{RunId: runID, ScoringVersion: a.ScoringVersion, Panels: make([]oapi.PanelAgreement, len(a.Panels))}
	for i, p := range a.Panels {
		judges := make([]oapi.JudgeRef, len(p.Judges))
		for j, n := range p.Judges {
			judges[j] = oapi.JudgeRef{ModelId: n.ModelID, Name: n.Name}
		}
		out.Panels[i] = oapi.PanelAgreement{
			Scorer: p.Scorer, Kind: oapi.PanelAgreementKind(p.Kind), Judges: judges,
			Units: p.Units, PercentAgreement: figure(p.PercentAgreement), KrippendorffAlpha: figurePtr(p.Alpha),
		}
	}
	if h := a.Human; h != nil {
		out.Human = &oapi.HumanAgreement{Units: h.Units, PercentAgreement: figure(h.PercentAgreement), CohenKappa: figurePtr(h.Kappa)}
	}
	return out
}
