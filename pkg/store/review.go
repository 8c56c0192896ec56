package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// ReviewExecution records a person's verdict on one unit, in one
// transaction: a "human" evaluation under the unit's next human version
// (the judge's evaluation and earlier reviews stay), the unit's effective
// verdict, the audit entry and, when the run has finished, its outcomes,
// rankings (by analytics.RankRun, as run:finalize ranks) and tallies
// recomputed and its rollups invalidated. Only a succeeded unit has an
// answer to review: a failed, cancelled or skipped one is fault.Conflict
// (409), as is a unit of a run being rescored. fault.NotFound
// when the run or the unit does not exist; fault.Invalid for a bad review.
func (s *Store) ReviewExecution(ctx context.Context, id run.ExecutionID, in run.Review) (*run.Evaluation, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *run.Evaluation
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		// The run's lock orders reviews of one run, so each gets its own
		// human version, and keeps them from crossing a rescore or a
		// finalization of the run.
		row, err := q.LockRunForRedo(ctx, id.RunID)
		if err != nil {
			return notFound(err, "execution")
		}
		if res, err := q.RunningRescore(ctx, id.RunID); err == nil {
			return fault.Conflict("run is being rescored (version %d): review its units once that is done", res.Version)
		} else if err != pgx.ErrNoRows {
			return err
		}
		key := dbsqlc.GetExecutionStatusParams{RunCreatedAt: row.CreatedAt, RunID: id.RunID, ModelID: id.ModelID, QuestionID: id.QuestionID, Sample: int32(id.Sample)}
		status, err := q.GetExecutionStatus(ctx, key)
		if err != nil {
			return notFound(err, "execution")
		}
		if status != string(run.ExecSucceeded) {
			return fault.Conflict("the unit %s: only a succeeded unit has an answer to review", status)
		}
		ev, err := q.InsertReview(ctx, dbsqlc.InsertReviewParams{
			RunCreatedAt: row.CreatedAt, RunID: id.RunID, ModelID: id.ModelID, QuestionID: id.QuestionID, Sample: int32(id.Sample),
			Passed: in.Passed, Score: *in.Score, Reviewer: in.Reviewer, Note: in.Note, CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		})
		if err != nil {
			return err
		}
		if err := q.SetReviewedVerdict(ctx, dbsqlc.SetReviewedVerdictParams{
			Score: in.Score, Passed: &in.Passed,
			RunCreatedAt: row.CreatedAt, RunID: id.RunID, ModelID: id.ModelID, QuestionID: id.QuestionID, Sample: int32(id.Sample),
		}); err != nil {
			return err
		}
		verdict := "failed"
		if in.Passed {
			verdict = "passed"
		}
		if err := auditChange(ctx, q, audit.ActionExecutionReview, audit.ResourceExecution, id.String(),
			fmt.Sprintf("run %s: %s (score %g), review version %d", id.RunID, verdict, *in.Score, ev.ScorerVersion)); err != nil {
			return err
		}
		if err := recomputeRun(ctx, q, runFromRow(row), analytics.RankRun); err != nil {
			return err
		}
		out = evaluationFromRow(ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// evaluationFromRow is a stored evaluation as the domain reads it.
func evaluationFromRow(r dbsqlc.Evaluation) *run.Evaluation {
	ev := &run.Evaluation{
		Scorer: r.Scorer, Version: int(r.ScorerVersion), Status: r.Status, Passed: r.Passed, Score: r.Score, Detail: r.Detail,
		Reason: deref(r.Reason), Reasoning: deref(r.Reasoning), JudgeInputTokens: int(r.JudgeInputTokens),
		JudgeOutputTokens: int(r.JudgeOutputTokens), JudgeCostUSD: r.JudgeCostUsd, JudgeLatencyMs: r.JudgeLatencyMs,
		Reviewer: deref(r.Reviewer), Note: deref(r.Note), CreatedAt: r.CreatedAt,
	}
	_ = json.Unmarshal(r.Judges, &ev.Judges)
	_ = json.Unmarshal(r.Assertions, &ev.Assertions)
	return ev
}
