package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// RecordEvaluation stores ev as the evaluation of unit k of r, once per
// (unit, scorer, scorer version): a second call for the same key (a
// duplicated or retried judge task) changes nothing and reports false. It
// does not touch the unit's effective verdict (executions.score/passed/
// unscored_reason): ApplyVerdicts sets those of a whole run at once before
// it is finalized.
func (s *Store) RecordEvaluation(ctx context.Context, r *run.Run, k run.UnitKey, ev *run.Evaluation) (bool, error) {
	var inserted [1]bool
	if err := s.recordEvaluations(ctx, []evaluationRecord{{r: r, k: k, ev: ev}}, inserted[:]); err != nil {
		return false, err
	}
	return inserted[0], nil
}

// recordEvaluations stores evaluations as RecordEvaluation does, in one
// round trip and one transaction; inserted[i] reports whether es[i] was
// inserted by this call. It is all or nothing: on error nothing was
// written.
func (s *Store) recordEvaluations(ctx context.Context, es []evaluationRecord, inserted []bool) error {
	if len(inserted) != len(es) {
		return fmt.Errorf("record evaluations: %d results for %d evaluations", len(inserted), len(es))
	}
	args := make([]dbsqlc.RecordEvaluationsParams, len(es))
	for i, e := range es {
		args[i] = evaluationParams(e.r, e.k, e.ev)
	}
	return batchInserted("record evaluation", s.q.RecordEvaluations(ctx, args).QueryRow, inserted)
}

// runWide runs fn in a transaction that joins a run's executions to its
// evaluations by hashing (see PreferRunWideJoins in
// queries/evaluations.sql): run-wide statements come right after
// thousands of rows land in tables whose statistics may not know them yet.
func (s *Store) runWide(ctx context.Context, fn func(q *dbsqlc.Queries) error) error {
	return s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if err := q.PreferRunWideJoins(ctx); err != nil {
			return err
		}
		return fn(q)
	})
}

// ApplyVerdicts makes the machine verdicts at r's scoring version the
// effective verdicts of its succeeded units that have none yet, except
// where a person reviewed the unit. run:finalize calls it once every
// judged unit has its evaluation; it is idempotent.
func (s *Store) ApplyVerdicts(ctx context.Context, r *run.Run) error {
	err := s.runWide(ctx, func(q *dbsqlc.Queries) error {
		_, err := q.ApplyVerdicts(ctx, dbsqlc.ApplyVerdictsParams{
			RunCreatedAt: r.CreatedAt, RunID: r.ID, Version: int32(max(r.ScoringVersion, 1)), OnlyPending: true,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("apply the verdicts of run %s: %w", r.ID, err)
	}
	return nil
}

func evaluationParams(r *run.Run, k run.UnitKey, ev *run.Evaluation) dbsqlc.RecordEvaluationsParams {
	arg := dbsqlc.RecordEvaluationsParams{
		RunCreatedAt: r.CreatedAt, RunID: r.ID, ModelID: k.ModelID, QuestionID: k.QuestionID, Sample: int32(k.Sample),
		Scorer: ev.Scorer, ScorerVersion: int32(max(ev.Version, 1)), Status: ev.Status, Detail: ev.Detail,
		JudgeInputTokens: int32(ev.JudgeInputTokens), JudgeOutputTokens: int32(ev.JudgeOutputTokens),
		JudgeCostUsd: ev.JudgeCostUSD, JudgeLatencyMs: ev.JudgeLatencyMs,
		Reason: nonEmpty(ev.Reason), Reasoning: nonEmpty(ev.Reasoning), Reviewer: nonEmpty(ev.Reviewer), Note: nonEmpty(ev.Note),
	}
	if ev.Status == run.EvalScored {
		arg.Passed, arg.Score = ev.Passed, ev.Score
	}
	if len(ev.Judges) > 0 {
		arg.Judges = mustJSON(ev.Judges)
	}
	if len(ev.Assertions) > 0 {
		arg.Assertions = mustJSON(ev.Assertions)
	}
	return arg
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Answer returns the recorded outcome of unit k of r (its status and
// response); fault NotFound when the unit has no execution.
func (s *Store) Answer(ctx context.Context, r *run.Run, k run.UnitKey) (*run.Execution, error) {
	row, err := s.q.GetExecutionAnswer(ctx, dbsqlc.GetExecutionAnswerParams{
		RunCreatedAt: r.CreatedAt, RunID: r.ID, ModelID: k.ModelID, QuestionID: k.QuestionID, Sample: int32(k.Sample),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFound(fmt.Sprintf("execution of run %s model %s question %s sample %d", r.ID, k.ModelID, k.QuestionID, k.Sample))
	}
	if err != nil {
		return nil, err
	}
	return &run.Execution{
		RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: k.ModelID, QuestionID: k.QuestionID,
		Sample: k.Sample, Status: run.ExecutionStatus(row.Status), Response: row.Response,
	}, nil
}

// UnjudgedUnits returns up to limit succeeded units of r's judged
// questions (questionIDs) without a machine evaluation at version.
func (s *Store) UnjudgedUnits(ctx context.Context, r *run.Run, questionIDs []uuid.UUID, version, limit int) ([]run.UnitKey, error) {
	if len(questionIDs) == 0 {
		return nil, nil
	}
	var rows []dbsqlc.UnjudgedUnitsRow
	err := s.runWide(ctx, func(q *dbsqlc.Queries) error {
		var err error
		rows, err = q.UnjudgedUnits(ctx, dbsqlc.UnjudgedUnitsParams{
			RunCreatedAt: r.CreatedAt, RunID: r.ID, QuestionIds: questionIDs, ScorerVersion: int32(version), Lim: int32(limit),
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]run.UnitKey, len(rows))
	for i, row := range rows {
		out[i] = run.UnitKey{ModelID: row.ModelID, QuestionID: row.QuestionID, Sample: int(row.Sample)}
	}
	return out, nil
}

// JudgedCounts counts r's succeeded units of its judged questions
// (questionIDs): how many there are, how many have their machine verdict
// at version, and how many of those are unscored.
func (s *Store) JudgedCounts(ctx context.Context, r *run.Run, questionIDs []uuid.UUID, version int) (needs, judged, unscored int, err error) {
	if len(questionIDs) == 0 {
		return 0, 0, 0, nil
	}
	var row dbsqlc.JudgedCountsRow
	err = s.runWide(ctx, func(q *dbsqlc.Queries) error {
		var err error
		row, err = q.JudgedCounts(ctx, dbsqlc.JudgedCountsParams{
			RunCreatedAt: r.CreatedAt, RunID: r.ID, QuestionIds: questionIDs, ScorerVersion: int32(version),
		})
		return err
	})
	if err != nil {
		return 0, 0, 0, err
	}
	return int(row.NeedsJudgment), int(row.Judged), int(row.Unscored), nil
}

// UnscoredReasons counts r's succeeded units without an effective verdict
// by reason ("awaiting_judgment" for those still waiting).
func (s *Store) UnscoredReasons(ctx context.Context, r *run.Run) (map[string]int, error) {
	rows, err := s.q.RunUnscoredReasons(ctx, dbsqlc.RunUnscoredReasonsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, row := range rows {
		out[row.Reason] = int(row.Units)
	}
	return out, nil
}

// judgesFromRows converts a run's judge snapshot.
func judgesFromRows(rows []dbsqlc.RunJudge) []run.SnapshotModel {
	out := make([]run.SnapshotModel, len(rows))
	for i, m := range rows {
		out[i] = run.SnapshotModel{
			ModelID: m.ModelID, ProviderID: m.ProviderID, Name: m.Name, ProviderModelID: m.ProviderModelID,
			InputCostPerMTok: m.InputCostPerMtok, OutputCostPerMTok: m.OutputCostPerMtok,
		}
		_ = json.Unmarshal(m.RequestOverrides, &out[i].Overrides)
	}
	return out
}
