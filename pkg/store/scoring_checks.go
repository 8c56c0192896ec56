package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// maxDefaultScored bounds the questions a benchmark's default scoring is
// compiled against when the benchmark or a run of it is written; the
// fan-out limit bounds them long before in practice.
const maxDefaultScored = 100_000

// checkJudgeModels verifies that every judge id names a registered model
// that is not archived, naming the offending element as field[i].
func checkJudgeModels(ctx context.Context, q *dbsqlc.Queries, field string, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	return checkModelsAt(ctx, q, field, ids)
}

// QuestionError is a problem with one question of several written at
// once (an import), by its index among them, so that the caller can name
// the line it came from.
type QuestionError struct {
	Index int
	Err   error
}

// Error implements error.
func (e *QuestionError) Error() string { return fmt.Sprintf("question %d: %v", e.Index+1, e.Err) }

// Unwrap returns the question's own error (a *fault.Error).
func (e *QuestionError) Unwrap() error { return e.Err }

// QuestionErrors are the problems of several questions written at once,
// in the order of the questions, each a *QuestionError; an import reports
// them all. errors.As finds the first.
type QuestionErrors []*QuestionError

// Error implements error with the first problem and how many more there are.
func (e QuestionErrors) Error() string {
	if len(e) == 0 {
		return "invalid questions"
	}
	if len(e) == 1 {
		return e[0].Error()
	}
	return fmt.Sprintf("%v (and %d more)", e[0], len(e)-1)
}

// Unwrap returns each question's error.
func (e QuestionErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, qe := range e {
		out[i] = qe
	}
	return out
}

// checkQuestionJudges verifies the judges named by the questions'
// scoring rules, each under the field the rule gives it
// ("scoring.judge_model_ids[0]", "scoring.assertions[1].judge_model_ids[0]").
// With several questions the error is a *QuestionError.
func checkQuestionJudges(ctx context.Context, q *dbsqlc.Queries, in []catalog.QuestionInput) error {
	for i, qi := range in {
		for _, ref := range catalog.JudgeRefs("scoring", qi.Scoring) {
			if err := checkJudgeModels(ctx, q, ref.Field, ref.ModelIDs); err != nil {
				if len(in) > 1 {
					return &QuestionError{Index: i, Err: err}
				}
				return err
			}
		}
	}
	return nil
}

// checkScoringCovered verifies that every active question of the suites
// that has no scoring of its own is covered by the default rule (field
// config.scoring), and that the default compiles against each such
// question. A benchmark without a default whose suites hold such a
// question cannot run.
func checkScoringCovered(ctx context.Context, q *dbsqlc.Queries, suiteIDs []uuid.UUID, cfg catalog.BenchmarkConfig) error {
	rows, err := q.ListDefaultScoredQuestions(ctx, dbsqlc.ListDefaultScoredQuestionsParams{SuiteIds: suiteIDs, Lim: maxDefaultScored})
	if err != nil {
		return fmt.Errorf("questions without scoring: %w", err)
	}
	if err := checkJudgesGiven(ctx, q, suiteIDs, cfg); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	if cfg.Scoring == nil {
		return fault.Invalid("config.scoring", "%d questions of the suites have no scoring of their own (question %s first): give a default scoring rule or score those questions", len(rows), rows[0].ID)
	}
	for _, r := range rows {
		in := catalog.QuestionInput{ExpectedAnswer: r.ExpectedAnswer}
		if len(r.Choices) > 0 {
			_ = json.Unmarshal(r.Choices, &in.Choices)
		}
		if err := catalog.CheckDefaultFits("config.scoring", *cfg.Scoring, in, r.ID.String()); err != nil {
			return err
		}
	}
	return nil
}

// checkJudgesGiven verifies that every llm_judge rule the benchmark would
// score with, its default's or a question's, names its judges or can take
// the benchmark's config.judge_model_ids.
func checkJudgesGiven(ctx context.Context, q *dbsqlc.Queries, suiteIDs []uuid.UUID, cfg catalog.BenchmarkConfig) error {
	if len(cfg.JudgeModelIDs) > 0 {
		return nil
	}
	if cfg.Scoring != nil {
		for _, ref := range catalog.JudgeRefs("config.scoring", *cfg.Scoring) {
			if len(ref.ModelIDs) == 0 {
				return fault.Invalid("config.judge_model_ids", "%s is an llm_judge rule without judge_model_ids: name its judges there or here", ref.Field)
			}
		}
	}
	rows, err := q.ListJudgedQuestions(ctx, dbsqlc.ListJudgedQuestionsParams{SuiteIds: suiteIDs, Lim: maxDefaultScored})
	if err != nil {
		return fmt.Errorf("judged questions: %w", err)
	}
	for _, r := range rows {
		var rule scoring.Rule
		if err := json.Unmarshal(r.Scoring, &rule); err != nil {
			return fmt.Errorf("question %s scoring: %w", r.ID, err)
		}
		for _, ref := range catalog.JudgeRefs("scoring", rule) {
			if len(ref.ModelIDs) == 0 {
				return fault.Invalid("config.judge_model_ids", "question %s has an llm_judge rule (%s) without judge_model_ids: name the benchmark's default judges here", r.ID, ref.Field)
			}
		}
	}
	return nil
}

// checkConfigScoring verifies what a benchmark's config says about
// scoring against the store: its default judges exist and are active, and
// every question of its suites can be scored (checkScoringCovered).
func checkConfigScoring(ctx context.Context, q *dbsqlc.Queries, suiteIDs []uuid.UUID, cfg catalog.BenchmarkConfig) error {
	if err := checkJudgeModels(ctx, q, "config.judge_model_ids", cfg.JudgeModelIDs); err != nil {
		return err
	}
	if cfg.Scoring != nil {
		for _, ref := range catalog.JudgeRefs("config.scoring", *cfg.Scoring) {
			if err := checkJudgeModels(ctx, q, ref.Field, ref.ModelIDs); err != nil {
				return err
			}
		}
	}
	return checkScoringCovered(ctx, q, suiteIDs, cfg)
}
