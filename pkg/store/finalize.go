package store

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// Finalize computes a run's totals and outcomes, stores the rankings rank
// makes of its outcomes and sets its final status, in one transaction. A
// run is finalized once: when another finalizer won, it returns the run as
// finished and false. The run's run.* event is written in the same
// transaction; the caller kicks its dispatch (notify.Kick) after.
// r.Progress.Judged, which the caller counts in
// PostgreSQL (the store cannot tell judged questions), is stored as the
// finished run's judged count.
func (s *Store) Finalize(ctx context.Context, r *run.Run, status run.Status, reason string, rank run.RankFunc) (*run.Run, bool, error) {
	var out *run.Run
	first := true
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		t, err := q.RunTotals(ctx, dbsqlc.RunTotalsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
		if err != nil {
			return err
		}
		jt, err := q.RunJudgeTotals(ctx, dbsqlc.RunJudgeTotalsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID, ScorerVersion: int32(max(r.ScoringVersion, 1))})
		if err != nil {
			return err
		}
		arg := dbsqlc.FinishRunParams{
			ID: r.ID, Status: string(status), Succeeded: t.Succeeded, Failed: t.Failed, Cancelled: t.Cancelled, Skipped: t.Skipped,
			CostUsd: t.CostUsd, InputTokens: t.InputTokens, OutputTokens: t.OutputTokens,
			JudgeCostUsd: jt.JudgeCostUsd, JudgeInputTokens: jt.JudgeInputTokens, JudgeOutputTokens: jt.JudgeOutputTokens,
			Unscored: t.Unscored, Judged: int32(r.Progress.Judged),
		}
		if t.Succeeded > 0 {
			arg.LatencyP50Ms, arg.LatencyP95Ms = &t.LatencyP50Ms, &t.LatencyP95Ms
		}
		if reason != "" {
			arg.Error = &reason
		}
		row, err := q.FinishRun(ctx, arg)
		if err != nil {
			if err == pgx.ErrNoRows {
				first = false
				return nil
			}
			return err
		}
		// The compact per-(model, question) record outlives the raw rows
		// that retention deletes; rank computes the rankings from it (by
		// the same code as the leaderboards, in SABE). Only completed and
		// partial runs count in the week's and month's comparisons; every
		// run's executions are in the rollups.
		if err := writeRunResults(ctx, q, r, status, rank); err != nil {
			return err
		}
		out = runFromRow(row)
		// The run.* event, in the transaction that finishes the run (the
		// outbox): after the rankings, whose top it carries.
		return writeRunEvent(ctx, q, out)
	})
	if err != nil {
		return nil, false, err
	}
	if !first {
		out, err = s.GetRun(ctx, r.ID)
		return out, false, err
	}
	return out, true, nil
}

// rankingRows are the rows that store one leaderboard of a run; category
// is "" for the overall one.
func rankingRows(runID uuid.UUID, category string, entries []analytics.Entry) []dbsqlc.InsertRankingsParams {
	rows := make([]dbsqlc.InsertRankingsParams, len(entries))
	for i, e := range entries {
		rows[i] = dbsqlc.InsertRankingsParams{
			RunID: runID, Category: category, ModelID: e.ModelID, Position: int32(e.Rank), ModelName: e.ModelName,
			Score: e.Score, N: int32(e.N), Correct: int32(e.Correct), Failed: int32(e.Failed), ErrorRate: e.ErrorRate,
			MeanLatencyMs: deref(e.MeanLatencyMs), CostUsd: e.CostUSD, CiLow: e.CI.Low, CiHigh: e.CI.High,
			Questions: int32(e.Questions), StdError: e.StdError, RankLow: int32(e.RankLow), RankHigh: int32(e.RankHigh),
			PassAtK: mustJSON(e.PassAtK), Unscored: int32(e.Unscored), TtftP50Ms: e.TTFTP50Ms,
		}
	}
	return rows
}

// entryFromRanking is one stored leaderboard line as the analytics compute
// it. A run's rankings are of one run, so the cost per 1,000 questions is
// the total over the questions; the mean latency was stored as 0 when no
// unit succeeded, and reads back as none.
func entryFromRanking(row dbsqlc.Ranking) analytics.Entry {
	e := analytics.Entry{
		Rank: int(row.Position), RankLow: int(row.RankLow), RankHigh: int(row.RankHigh), ModelID: row.ModelID,
		ModelName: row.ModelName, Score: row.Score, StdError: row.StdError, Questions: int(row.Questions),
		N: int(row.N), Correct: int(row.Correct), Failed: int(row.Failed), ErrorRate: row.ErrorRate,
		CostUSD: row.CostUsd, PassAtK: []analytics.PassAtK{}, Unscored: int(row.Unscored), TTFTP50Ms: row.TtftP50Ms,
	}
	e.CI.Low, e.CI.High = row.CiLow, row.CiHigh
	if row.N > row.Failed {
		latency := row.MeanLatencyMs
		e.MeanLatencyMs = &latency
	}
	if row.Questions > 0 {
		e.CostPer1kQuestions = 1000 * row.CostUsd / float64(row.Questions)
	}
	_ = json.Unmarshal(row.PassAtK, &e.PassAtK)
	return e
}

// Rankings returns a finished run's rankings; Conflict while it runs.
func (s *Store) Rankings(ctx context.Context, id uuid.UUID) (*analytics.RunRanking, error) {
	r, err := s.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if !r.Status.Final() {
		return nil, fault.Conflict("run has not finished yet (status %s)", r.Status)
	}
	rows, err := s.q.ListRankings(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &analytics.RunRanking{Overall: []analytics.Entry{}, ByCategory: map[string][]analytics.Entry{}}
	for _, row := range rows {
		e := entryFromRanking(row)
		if row.Category == "" {
			out.Overall = append(out.Overall, e)
		} else {
			out.ByCategory[row.Category] = append(out.ByCategory[row.Category], e)
		}
	}
	return out, nil
}
