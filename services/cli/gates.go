package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// gates are the CI gates a finished run is held to: --fail-under (every
// model's score, or named models' scores, at least a threshold) and
// --fail-on-regression (no model significantly worse than in the
// benchmark's previous finished run).
type gates struct {
	failUnder  []string
	regression bool
	// parsed from failUnder by parse
	all      *float64
	perModel []modelThreshold
}

// modelThreshold is one --fail-under MODEL=SCORE.
type modelThreshold struct {
	model string
	min   float64
}

// register adds the gates' flags to cmd.
func (g *gates) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&g.failUnder, "fail-under", nil, "exit 4 when a model's score is under `SCORE` (0 to 1); MODEL=SCORE holds one model to its own threshold (repeatable)")
	f.BoolVar(&g.regression, "fail-on-regression", false, "exit 4 when a model scores significantly worse than in the benchmark's previous finished run, and print the questions that flipped")
}

// any reports whether a gate was asked for.
func (g *gates) any() bool { return len(g.failUnder) > 0 || g.regression }

// parse reads --fail-under: SCORE for every model (given once at most),
// MODEL=SCORE for one (once per model), each score in 0..1.
func (g *gates) parse(cmd *cobra.Command) error {
	g.all, g.perModel = nil, nil
	for _, v := range g.failUnder {
		model, score := "", v
		if i := strings.LastIndex(v, "="); i >= 0 {
			model, score = strings.TrimSpace(v[:i]), v[i+1:]
			if model == "" {
				return command.Usagef(cmd.UsageString(), "--fail-under %q: give SCORE or MODEL=SCORE", v)
			}
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(score), 64)
		if err != nil || x < 0 || x > 1 {
			return command.Usagef(cmd.UsageString(), "--fail-under %q: a score is a number from 0 to 1", v)
		}
		switch {
		case model == "" && g.all != nil:
			return command.Usagef(cmd.UsageString(), "--fail-under: give one threshold for every model (and MODEL=SCORE for single models)")
		case model == "":
			g.all = &x
		case slices.ContainsFunc(g.perModel, func(t modelThreshold) bool { return t.model == model }):
			return command.Usagef(cmd.UsageString(), "--fail-under: model %q is given twice", model)
		default:
			g.perModel = append(g.perModel, modelThreshold{model: model, min: x})
		}
	}
	return nil
}

// checkModels makes sure every model --fail-under names is one of
// modelIDs (the benchmark's or the run's): a name that is not there is a
// usage error, found before a run spends anything.
func (g *gates) checkModels(ctx context.Context, cmd *cobra.Command, c *client.Client, modelIDs []uuid.UUID) error {
	for _, t := range g.perModel {
		id, found, err := c.FindByName(ctx, "/v1/models", t.model)
		if err != nil {
			return err
		}
		if !found || !slices.Contains(modelIDs, id) {
			return command.Usagef(cmd.UsageString(), "--fail-under %s=%g: the run has no model named %q", t.model, t.min, t.model)
		}
	}
	return nil
}

// gateReport is how a run fared against its gates, as --json prints it.
type gateReport struct {
	Passed bool `json:"passed"`
	// FailUnder has one entry per model a --fail-under applies to.
	FailUnder []scoreCheck `json:"fail_under,omitempty"`
	// Regression is the --fail-on-regression verdict.
	Regression *regressionCheck `json:"regression,omitempty"`
}

// scoreCheck is one model's score against its --fail-under threshold;
// Score is null when the model has no score in the run (none of its
// units could be scored), which fails.
type scoreCheck struct {
	Model  string   `json:"model"`
	Score  *float64 `json:"score"`
	Min    float64  `json:"min"`
	Passed bool     `json:"passed"`
}

// regressionCheck is the comparison with the previous finished run.
type regressionCheck struct {
	Passed bool `json:"passed"`
	// PreviousRunID is the run compared with; null when there was none,
	// which passes.
	PreviousRunID *uuid.UUID `json:"previous_run_id"`
	// Regressed names the models significantly worse than before.
	Regressed  []string         `json:"regressed"`
	Note       string           `json:"note,omitempty"`
	Comparison *oapi.Comparison `json:"comparison,omitempty"`
}

// evaluate holds a finished run r, with its rankings rk, to the gates.
func (g *gates) evaluate(ctx context.Context, c *client.Client, r oapi.Run, rk oapi.Rankings) (gateReport, error) {
	rep := gateReport{Passed: true}
	if g.all != nil || len(g.perModel) > 0 {
		rep.FailUnder = g.scoreChecks(r, rk)
		for _, s := range rep.FailUnder {
			rep.Passed = rep.Passed && s.Passed
		}
	}
	if g.regression {
		rc, err := regression(ctx, c, r)
		if err != nil {
			return rep, err
		}
		rep.Regression = &rc
		rep.Passed = rep.Passed && rc.Passed
	}
	return rep, nil
}

// scoreChecks holds each model of r to its threshold: its own
// MODEL=SCORE, else the one for every model.
func (g *gates) scoreChecks(r oapi.Run, rk oapi.Rankings) []scoreCheck {
	var out []scoreCheck
	ranked := map[uuid.UUID]bool{}
	for _, e := range rk.Overall {
		ranked[e.ModelId] = true
		i := slices.IndexFunc(g.perModel, func(t modelThreshold) bool { return t.model == e.ModelName })
		var floor float64
		switch {
		case i >= 0:
			floor = g.perModel[i].min
		case g.all != nil:
			floor = *g.all
		default:
			continue
		}
		score := e.Score
		out = append(out, scoreCheck{Model: e.ModelName, Score: &score, Min: floor, Passed: score >= floor})
	}
	// A model of the run without a ranking has no score: it cannot pass
	// a threshold that applies to it.
	for _, id := range r.Config.ModelIds {
		if ranked[id] || g.all == nil {
			continue
		}
		out = append(out, scoreCheck{Model: id.String(), Min: *g.all})
	}
	for _, t := range g.perModel {
		if !slices.ContainsFunc(out, func(s scoreCheck) bool { return s.Model == t.model }) {
			out = append(out, scoreCheck{Model: t.model, Min: t.min})
		}
	}
	return out
}

// regression compares r with the newest finished run of its benchmark
// before it (paired over the questions both ran): a model whose score
// difference is significantly below zero has regressed. Without an
// earlier run there is nothing to regress from, and the gate passes.
func regression(ctx context.Context, c *client.Client, r oapi.Run) (regressionCheck, error) {
	prev, found, err := c.PreviousFinishedRun(ctx, r)
	if err != nil {
		return regressionCheck{}, fmt.Errorf("find the run before %s: %w", r.Id, err)
	}
	if !found {
		return regressionCheck{Passed: true, Regressed: []string{}, Note: "no earlier finished run of the benchmark to compare with"}, nil
	}
	cmp, err := c.Compare(ctx, r.BenchmarkId, client.CompareQuery{CurrentRunID: &r.Id, PreviousRunID: &prev.Id})
	if err != nil {
		return regressionCheck{}, fmt.Errorf("compare run %s with run %s: %w", r.Id, prev.Id, err)
	}
	rc := regressionCheck{Passed: true, PreviousRunID: &prev.Id, Regressed: []string{}, Comparison: &cmp}
	for _, m := range cmp.Models {
		if m.Score.Significant && m.Score.Diff < 0 {
			rc.Regressed = append(rc.Regressed, m.ModelName)
			rc.Passed = false
		}
	}
	return rc, nil
}

// printGates prints rep for a person: a line per gate, the scores held
// to thresholds, and on a regression the comparison with the questions
// that flipped. With --json nothing: the report is part of the result.
func (e *env) printGates(rep gateReport) error {
	if e.global.json || e.global.quiet {
		return nil
	}
	if rep.FailUnder != nil {
		e.printf("\n--fail-under: %s\n", passFail(allPassed(rep.FailUnder)))
		t := table{Header: []string{"MODEL", "SCORE", "MIN", "GATE"}}
		for _, s := range rep.FailUnder {
			score := "no score"
			if s.Score != nil {
				score = fmt.Sprintf("%.3f", *s.Score)
			}
			t.Rows = append(t.Rows, []string{s.Model, score, fmt.Sprintf("%.3f", s.Min), passFail(s.Passed)})
		}
		e.printf("%s", t.render(e.io.Width))
	}
	if rc := rep.Regression; rc != nil {
		switch {
		case rc.PreviousRunID == nil:
			e.printf("\n--fail-on-regression: passed (%s)\n", rc.Note)
		case rc.Passed:
			e.printf("\n--fail-on-regression: passed (no model significantly worse than in run %s)\n", rc.PreviousRunID)
		default:
			e.printf("\n--fail-on-regression: failed (significantly worse than in run %s: %s)\n\n", rc.PreviousRunID, strings.Join(rc.Regressed, ", "))
			return e.printComparison(*rc.Comparison, true)
		}
	}
	return nil
}

// gateError is the error a failed gate ends the command with: exit 4,
// naming what failed.
func gateError(rep gateReport) error {
	var why []string
	for _, s := range rep.FailUnder {
		switch {
		case s.Passed:
		case s.Score == nil:
			why = append(why, fmt.Sprintf("%s has no score (--fail-under %g)", s.Model, s.Min))
		default:
			why = append(why, fmt.Sprintf("%s scored %.3f < %g", s.Model, *s.Score, s.Min))
		}
	}
	if rc := rep.Regression; rc != nil && !rc.Passed {
		why = append(why, "regressed: "+strings.Join(rc.Regressed, ", "))
	}
	return command.Exitf(command.ExitGateFailed, "CI gate failed: %s", strings.Join(why, "; "))
}

func allPassed(cs []scoreCheck) bool {
	for _, s := range cs {
		if !s.Passed {
			return false
		}
	}
	return true
}

func passFail(ok bool) string {
	if ok {
		return "passed"
	}
	return "FAILED"
}
