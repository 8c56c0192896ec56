package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

var _ run.RedoStore = (*Store)(nil)

// lockFinishedRun locks a run's row and checks that it may be redone:
// NotFound without it, Conflict while it is queued or running or a
// rescore of it runs.
func lockFinishedRun(ctx context.Context, q *dbsqlc.Queries, id uuid.UUID, what string) (dbsqlc.Run, error) {
	row, err := q.LockRunForRedo(ctx, id)
	if err != nil {
		return row, notFound(err, "run")
	}
	if st := run.Status(row.Status); !st.Final() {
		return row, fault.Conflict("run is %s: %s it once it has finished", st, what)
	}
	if res, err := q.RunningRescore(ctx, id); err == nil {
		return row, fault.Conflict("run is being rescored (version %d, %d of %d units): %s it once that is done", res.Version, res.Done, res.Total, what)
	} else if err != pgx.ErrNoRows {
		return row, err
	}
	return row, nil
}

// StartRetry opens a retry round of a finished run; see run.RedoStore.
func (s *Store) StartRetry(ctx context.Context, id uuid.UUID) (*run.Run, error) {
	var out *run.Run
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := lockFinishedRun(ctx, q, id, "retry its failed units")
		if err != nil {
			return err
		}
		if row.Status == string(run.StatusCancelled) {
			return fault.Conflict("run was cancelled: its failed units are not retried")
		}
		if row.ScoringVersion > 1 {
			// A retried unit is scored by the run's first rules (the
			// worker's snapshot), which a rescore replaced: its verdict
			// would not be comparable with the others'.
			return fault.Conflict("run was rescored (scoring version %d): its failed units can only be retried before a rescore", row.ScoringVersion)
		}
		failed, err := q.CountFailedUnits(ctx, dbsqlc.CountFailedUnitsParams{RunCreatedAt: row.CreatedAt, RunID: id})
		if err != nil {
			return err
		}
		if failed == 0 {
			return fault.Conflict("run has no failed units to retry")
		}
		r := runFromRow(row)
		if err := undoFinalize(ctx, q, r); err != nil {
			return err
		}
		if _, err := q.DeleteFailedExecutions(ctx, dbsqlc.DeleteFailedExecutionsParams{RunCreatedAt: r.CreatedAt, RunID: id}); err != nil {
			return err
		}
		reopened, err := q.ReopenRunForRetry(ctx, id)
		if err != nil {
			return err
		}
		out = runFromRow(reopened)
		return auditChange(ctx, q, audit.ActionRunRetryFailed, audit.ResourceRun, id.String(),
			fmt.Sprintf("round %d: %d failed units", out.RetryRound, failed))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// undoFinalize takes back what finalizing wrote for a finished run: its
// outcomes, rankings and (for a completed or partial run) its share of the
// question tallies; its rollup buckets are marked for refresh.
func undoFinalize(ctx context.Context, q *dbsqlc.Queries, r *run.Run) error {
	if r.Status == run.StatusCompleted || r.Status == run.StatusPartial {
		if err := q.SubtractQuestionStats(ctx, r.ID); err != nil {
			return err
		}
		if err := q.DeleteEmptyQuestionStats(ctx, r.BenchmarkID); err != nil {
			return err
		}
	}
	if err := q.DeleteRunOutcomes(ctx, r.ID); err != nil {
		return err
	}
	if err := q.DeleteRunRankings(ctx, r.ID); err != nil {
		return err
	}
	return q.InvalidateRollups(ctx, dbsqlc.InvalidateRollupsParams{RunID: r.ID, BenchmarkID: r.BenchmarkID, RunCreatedAt: r.CreatedAt})
}

// RecomputeRun recomputes a finished run's outcomes, rankings (with rank)
// and question tallies from its executions' effective verdicts, and marks
// its rollups for refresh, in one transaction: after a review or a
// rescore changed verdicts. A run that is not final is left alone (its
// finalization will compute them).
func (s *Store) RecomputeRun(ctx context.Context, id uuid.UUID, rank run.RankFunc) error {
	return s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := q.LockRunForRedo(ctx, id)
		if err != nil {
			return notFound(err, "run")
		}
		return recomputeRun(ctx, q, runFromRow(row), rank)
	})
}

func recomputeRun(ctx context.Context, q *dbsqlc.Queries, r *run.Run, rank run.RankFunc) error {
	if !r.Status.Final() {
		return nil
	}
	if err := undoFinalize(ctx, q, r); err != nil {
		return err
	}
	return writeRunResults(ctx, q, r, r.Status, rank)
}

// RescoreBasis returns what run.RequestRescore decides from.
func (s *Store) RescoreBasis(ctx context.Context, id uuid.UUID) (*run.RescoreBasis, error) {
	row, err := s.q.GetRun(ctx, id)
	if err != nil {
		return nil, notFound(err, "run")
	}
	r := runFromRow(row)
	b := &run.RescoreBasis{Run: r, Version: int(row.ScoringVersion)}
	if b.Version > 1 {
		res, err := s.q.GetRescore(ctx, dbsqlc.GetRescoreParams{RunID: id, Version: int32(b.Version)})
		if err != nil {
			return nil, err
		}
		b.CurrentFingerprint = res.Fingerprint
	}
	rows, err := s.q.RunRescoreQuestions(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		first := run.QuestionScoring{QuestionID: row.QuestionID, RevisionID: row.RevisionID, ExpectedAnswer: row.ExpectedAnswer}
		cur := run.QuestionScoring{QuestionID: row.QuestionID, RevisionID: row.CurrentRevisionID, ExpectedAnswer: row.CurrentExpectedAnswer}
		if err := json.Unmarshal(row.Scoring, &first.Scoring); err != nil {
			return nil, fmt.Errorf("run %s question %s scoring: %w", id, row.QuestionID, err)
		}
		if err := json.Unmarshal(row.CurrentScoring, &cur.Scoring); err != nil {
			return nil, fmt.Errorf("question %s scoring: %w", row.QuestionID, err)
		}
		_ = json.Unmarshal(row.Choices, &first.Choices)
		_ = json.Unmarshal(row.CurrentChoices, &cur.Choices)
		b.First = append(b.First, first)
		b.Current = append(b.Current, cur)
	}
	bm, err := s.q.GetBenchmark(ctx, r.BenchmarkID)
	if err != nil {
		return nil, notFound(err, "benchmark")
	}
	_ = json.Unmarshal(bm.Config, &b.Config)
	judges, err := s.q.ListRunJudges(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, j := range judges {
		m := run.SnapshotModel{ModelID: j.ModelID, ProviderID: j.ProviderID, Name: j.Name, ProviderModelID: j.ProviderModelID,
			InputCostPerMTok: j.InputCostPerMtok, OutputCostPerMTok: j.OutputCostPerMtok}
		_ = json.Unmarshal(j.RequestOverrides, &m.Overrides)
		b.Judges = append(b.Judges, m)
	}
	return b, nil
}

// CreateRescore creates a run's next scoring version; see run.RedoStore.
func (s *Store) CreateRescore(ctx context.Context, runID uuid.UUID, nr run.NewRescore) (*run.Rescore, error) {
	var out *run.Rescore
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := lockFinishedRun(ctx, q, runID, "rescore")
		if err != nil {
			return err
		}
		if row.ScoringVersion > 1 {
			cur, err := q.GetRescore(ctx, dbsqlc.GetRescoreParams{RunID: runID, Version: row.ScoringVersion})
			if err != nil {
				return err
			}
			if cur.Fingerprint == nr.Fingerprint {
				out = rescoreFromRow(cur)
				return nil
			}
		}
		latest, err := q.LatestRescoreVersion(ctx, runID)
		if err != nil {
			return err
		}
		total, err := q.CountSucceededUnits(ctx, dbsqlc.CountSucceededUnitsParams{RunCreatedAt: row.CreatedAt, RunID: runID})
		if err != nil {
			return err
		}
		if len(nr.JudgeModelIDs) > 0 {
			if err := q.AddRunJudges(ctx, dbsqlc.AddRunJudgesParams{RunID: runID, ModelIds: nr.JudgeModelIDs}); err != nil {
				return err
			}
		}
		created, err := q.CreateRescore(ctx, dbsqlc.CreateRescoreParams{
			RunID: runID, Version: max(row.ScoringVersion, latest) + 1, Fingerprint: nr.Fingerprint,
			Scoring: mustJSON(nr.Scoring), Total: total, CreatedAt: time.Now().UTC(),
		})
		if err != nil {
			return err
		}
		out = rescoreFromRow(created)
		out.Created = true
		return auditChange(ctx, q, audit.ActionRunRescore, audit.ResourceRun, runID.String(),
			fmt.Sprintf("scoring version %d", created.Version))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func rescoreFromRow(r dbsqlc.RunRescore) *run.Rescore {
	out := &run.Rescore{
		RunID: r.RunID, Version: int(r.Version), Fingerprint: r.Fingerprint, Status: run.RescoreStatus(r.Status),
		Total: int(r.Total), Done: int(r.Done), Error: deref(r.Error), CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt,
	}
	_ = json.Unmarshal(r.Scoring, &out.Scoring)
	return out
}

// GetRescore returns one scoring version of a run after its first;
// fault.NotFound when there is none.
func (s *Store) GetRescore(ctx context.Context, runID uuid.UUID, version int) (*run.Rescore, error) {
	row, err := s.q.GetRescore(ctx, dbsqlc.GetRescoreParams{RunID: runID, Version: int32(version)})
	if err != nil {
		return nil, notFound(err, "rescore")
	}
	return rescoreFromRow(row), nil
}

// ListRescores returns the run's scoring versions after its first, oldest
// first, at most limit of them.
func (s *Store) ListRescores(ctx context.Context, runID uuid.UUID, limit int) ([]*run.Rescore, error) {
	rows, err := s.q.ListRescores(ctx, dbsqlc.ListRescoresParams{RunID: runID, Lim: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]*run.Rescore, len(rows))
	for i, row := range rows {
		out[i] = rescoreFromRow(row)
	}
	return out, nil
}

// writeRunResults writes what a finished run's executions add up to:
// outcomes, rankings made by rank, the week's and month's question
// tallies (completed and partial runs only) and the rollup invalidation.
// Finalize writes them once; RecomputeRun again after verdicts changed.
func writeRunResults(ctx context.Context, q *dbsqlc.Queries, r *run.Run, status run.Status, rank run.RankFunc) error {
	if _, err := q.InsertOutcomes(ctx, dbsqlc.InsertOutcomesParams{RunCreatedAt: r.CreatedAt, RunID: r.ID}); err != nil {
		return err
	}
	questions, err := runQuestionStats(ctx, q, r.ID, nil, nil)
	if err != nil {
		return err
	}
	models, err := q.ListRunModels(ctx, r.ID)
	if err != nil {
		return err
	}
	names := make(map[uuid.UUID]string, len(models))
	for _, m := range models {
		names[m.ModelID] = m.Name
	}
	rk := rank(questions, names)
	ttft, err := q.RunModelTTFT(ctx, dbsqlc.RunModelTTFTParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
	if err != nil {
		return fmt.Errorf("time to first token of run %s: %w", r.ID, err)
	}
	for _, t := range ttft {
		for i := range rk.Overall {
			if rk.Overall[i].ModelID == t.ModelID {
				p50 := t.TtftP50Ms
				rk.Overall[i].TTFTP50Ms = &p50
			}
		}
	}
	rows := rankingRows(r.ID, "", rk.Overall)
	for cat, entries := range rk.ByCategory {
		rows = append(rows, rankingRows(r.ID, cat, entries)...)
	}
	if _, err := q.InsertRankings(ctx, rows); err != nil {
		return err
	}
	if status == run.StatusCompleted || status == run.StatusPartial {
		if err := q.AddQuestionStats(ctx, r.ID); err != nil {
			return err
		}
	}
	return q.InvalidateRollups(ctx, dbsqlc.InvalidateRollupsParams{RunID: r.ID, BenchmarkID: r.BenchmarkID, RunCreatedAt: r.CreatedAt})
}

// RescoreUnits returns succeeded units of r still to score at version.
func (s *Store) RescoreUnits(ctx context.Context, r *run.Run, version int, after *run.UnitKey, limit int) ([]run.RescoreUnit, error) {
	arg := dbsqlc.RescoreUnitsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID, Version: int32(version), AfterSample: -1, Lim: int32(limit)}
	if after != nil {
		arg.AfterModel, arg.AfterQuestion, arg.AfterSample = after.ModelID, after.QuestionID, int32(after.Sample)
	}
	rows, err := s.q.RescoreUnits(ctx, arg)
	if err != nil {
		return nil, err
	}
	out := make([]run.RescoreUnit, len(rows))
	for i, row := range rows {
		out[i] = run.RescoreUnit{UnitKey: run.UnitKey{ModelID: row.ModelID, QuestionID: row.QuestionID, Sample: int(row.Sample)}, Response: row.Response}
	}
	return out, nil
}

// RescoreProgress counts and stores how many units a rescore has scored.
func (s *Store) RescoreProgress(ctx context.Context, r *run.Run, version int) (int, error) {
	done, err := s.q.RescoreDone(ctx, dbsqlc.RescoreDoneParams{RunCreatedAt: r.CreatedAt, RunID: r.ID, Version: int32(version)})
	if err != nil {
		return 0, err
	}
	if err := s.q.SetRescoreDone(ctx, dbsqlc.SetRescoreDoneParams{RunID: r.ID, Version: int32(version), Done: done}); err != nil {
		return 0, err
	}
	return int(done), nil
}

// CompleteRescore makes version the run's scoring version; see
// run.RescoreStore.
func (s *Store) CompleteRescore(ctx context.Context, r *run.Run, version int, rank run.RankFunc) (bool, error) {
	first := false
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := q.LockRunForRedo(ctx, r.ID)
		if err != nil {
			return notFound(err, "run")
		}
		res, err := q.GetRescore(ctx, dbsqlc.GetRescoreParams{RunID: r.ID, Version: int32(version)})
		if err != nil {
			return notFound(err, "rescore")
		}
		if res.Status != string(run.RescoreRunning) {
			return nil
		}
		first = true
		// The run-wide joins below come right after the rescore's
		// evaluations landed (see runWide).
		if err := q.PreferRunWideJoins(ctx); err != nil {
			return err
		}
		if _, err := q.ApplyVerdicts(ctx, dbsqlc.ApplyVerdictsParams{RunCreatedAt: row.CreatedAt, RunID: r.ID, Version: int32(version)}); err != nil {
			return err
		}
		if err := q.SetScoringVersion(ctx, dbsqlc.SetScoringVersionParams{ID: r.ID, Version: int32(version)}); err != nil {
			return err
		}
		if err := setScoringTotals(ctx, q, row, version); err != nil {
			return err
		}
		done, err := q.RescoreDone(ctx, dbsqlc.RescoreDoneParams{RunCreatedAt: row.CreatedAt, RunID: r.ID, Version: int32(version)})
		if err != nil {
			return err
		}
		if err := q.FinishRescore(ctx, dbsqlc.FinishRescoreParams{
			RunID: r.ID, Version: int32(version), Status: string(run.RescoreCompleted), Done: done, FinishedAt: new(time.Now().UTC()),
		}); err != nil {
			return err
		}
		return recomputeRun(ctx, q, runFromRow(row), rank)
	})
	return first, err
}

// FailRescore ends a running rescore as failed.
func (s *Store) FailRescore(ctx context.Context, runID uuid.UUID, version int, reason string) error {
	res, err := s.q.GetRescore(ctx, dbsqlc.GetRescoreParams{RunID: runID, Version: int32(version)})
	if err != nil {
		return notFound(err, "rescore")
	}
	return s.q.FinishRescore(ctx, dbsqlc.FinishRescoreParams{
		RunID: runID, Version: int32(version), Status: string(run.RescoreFailed), Done: res.Done, Error: &reason, FinishedAt: new(time.Now().UTC()),
	})
}

// setScoringTotals stores what the run's new scoring version changes on
// the run: its unscored units (from the effective verdicts just applied)
// and its judge totals. The judge totals are the current version's, as
// Finalize computes them: judge_cost_usd and the judge tokens say what
// judging the verdicts the run shows cost, so a rescore replaces them
// (deterministic rules: zero), and a retry round's finalization agrees
// with them. What earlier versions cost stays on their evaluations.
func setScoringTotals(ctx context.Context, q *dbsqlc.Queries, row dbsqlc.Run, version int) error {
	t, err := q.RunTotals(ctx, dbsqlc.RunTotalsParams{RunCreatedAt: row.CreatedAt, RunID: row.ID})
	if err != nil {
		return err
	}
	jt, err := q.RunJudgeTotals(ctx, dbsqlc.RunJudgeTotalsParams{RunCreatedAt: row.CreatedAt, RunID: row.ID, ScorerVersion: int32(version)})
	if err != nil {
		return err
	}
	return q.SetRunScoringTotals(ctx, dbsqlc.SetRunScoringTotalsParams{
		ID: row.ID, Unscored: t.Unscored,
		JudgeCostUsd: jt.JudgeCostUsd, JudgeInputTokens: jt.JudgeInputTokens, JudgeOutputTokens: jt.JudgeOutputTokens,
	})
}

// JudgingUnits returns the succeeded units of r's judged questions
// (questionIDs) with whether each has its machine verdict at version; see
// run.RescoreStore.
func (s *Store) JudgingUnits(ctx context.Context, r *run.Run, questionIDs []uuid.UUID, version int) ([]run.JudgingUnit, error) {
	if len(questionIDs) == 0 {
		return nil, nil
	}
	var rows []dbsqlc.JudgingUnitsRow
	err := s.runWide(ctx, func(q *dbsqlc.Queries) error {
		var err error
		rows, err = q.JudgingUnits(ctx, dbsqlc.JudgingUnitsParams{
			RunCreatedAt: r.CreatedAt, RunID: r.ID, QuestionIds: questionIDs, ScorerVersion: int32(version),
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]run.JudgingUnit, len(rows))
	for i, row := range rows {
		out[i] = run.JudgingUnit{
			Key:    run.UnitKey{ModelID: row.ModelID, QuestionID: row.QuestionID, Sample: int(row.Sample)},
			Judged: row.Judged, Unscored: row.Unscored,
		}
	}
	return out, nil
}
