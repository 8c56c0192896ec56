package httpapi

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// GetTimeseries returns one metric of a benchmark's models, bucket by
// bucket, from the rollups.
func (a *api) GetTimeseries(ctx context.Context, req oapi.GetTimeseriesRequestObject) (oapi.GetTimeseriesResponseObject, error) {
	p := req.Params
	q := analytics.TimeseriesQuery{
		BenchmarkID: p.BenchmarkId, ModelID: p.ModelId, Category: p.Category,
		Metric: analytics.Metric(p.Metric), Bucket: analytics.Day, From: p.From, To: p.To,
	}
	if p.Bucket != nil {
		q.Bucket = analytics.Bucket(*p.Bucket)
	}
	ts, err := a.s.analytics.Timeseries(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(ts.Series) == 0 {
		if err := a.exist(ctx, p.BenchmarkId, p.ModelId, "model_id"); err != nil {
			return nil, err
		}
	}
	return oapi.GetTimeseries200JSONResponse(toTimeseries(ts)), nil
}

// GetComparison compares each model between two weeks, two months or two
// runs, with paired bootstrap intervals of the differences.
func (a *api) GetComparison(ctx context.Context, req oapi.GetComparisonRequestObject) (oapi.GetComparisonResponseObject, error) {
	p := req.Params
	q := analytics.CompareQuery{
		BenchmarkID: p.BenchmarkId, At: p.At, Category: p.Category, Bucket: analytics.Week,
		CurrentRunID: p.CurrentRunId, PreviousRunID: p.PreviousRunId, Seed: seedOf(p.Seed),
	}
	if p.CurrentRunId != nil || p.PreviousRunId != nil {
		// Runs name their own periods; a period or time beside them would
		// be silently ignored.
		if p.Period != nil {
			return nil, fault.BadRequest("period", "cannot be combined with current_run_id and previous_run_id")
		}
		if p.At != nil {
			return nil, fault.BadRequest("at", "cannot be combined with current_run_id and previous_run_id")
		}
		// A run "of another benchmark" would be the answer for a benchmark
		// id that does not exist at all.
		if err := a.exist(ctx, p.BenchmarkId, nil, ""); err != nil {
			return nil, err
		}
	}
	if p.Period != nil && *p.Period == oapi.ComparePeriodMom {
		q.Bucket = analytics.Month
	}
	c, err := a.s.analytics.Compare(ctx, q)
	if errors.Is(err, analytics.ErrNoFinishedRun) || err == nil && len(c.Models)+len(c.UnpairedModels) == 0 {
		if err := a.exist(ctx, p.BenchmarkId, nil, ""); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return oapi.GetComparison200JSONResponse(toComparison(c)), nil
}

// GetLeaderboard ranks a benchmark's models over its latest finished run or
// a week or month of runs, with intervals and rank bands.
func (a *api) GetLeaderboard(ctx context.Context, req oapi.GetLeaderboardRequestObject) (oapi.GetLeaderboardResponseObject, error) {
	p := req.Params
	q := analytics.LeaderboardQuery{BenchmarkID: p.BenchmarkId, At: p.At, Category: p.Category, Seed: seedOf(p.Seed)}
	if p.Period != nil {
		switch *p.Period {
		case oapi.LeaderboardPeriodWeek:
			q.Bucket = analytics.Week
		case oapi.LeaderboardPeriodMonth:
			q.Bucket = analytics.Month
		}
	}
	lb, err := a.s.analytics.Leaderboard(ctx, q)
	if errors.Is(err, analytics.ErrNoFinishedRun) || err == nil && len(lb.Entries) == 0 {
		if err := a.exist(ctx, p.BenchmarkId, nil, ""); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return oapi.GetLeaderboard200JSONResponse(toLeaderboard(lb)), nil
}

// GetModelDrift lists the questions whose verdict flipped between the
// model's last two finished runs of a benchmark.
func (a *api) GetModelDrift(ctx context.Context, req oapi.GetModelDriftRequestObject) (oapi.GetModelDriftResponseObject, error) {
	d, err := a.s.analytics.Drift(ctx, req.Id, req.Params.BenchmarkId)
	if fault.KindOf(err) == fault.KindConflict {
		if err := a.exist(ctx, req.Params.BenchmarkId, &req.Id, "id"); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return oapi.GetModelDrift200JSONResponse(toDrift(d)), nil
}

// exist returns a 404 naming the benchmark, or the model (as modelField),
// when it does not exist. The analytics reads answer empty for ids they do
// not know, so the handlers ask only when an answer is empty: a typo gets
// a 404 and a real answer costs no extra query.
func (a *api) exist(ctx context.Context, benchmarkID uuid.UUID, modelID *uuid.UUID, modelField string) error {
	if modelID != nil {
		if _, err := a.s.store.GetModel(ctx, *modelID); err != nil {
			return named(err, modelField, "model not found")
		}
	}
	if _, err := a.s.store.GetBenchmark(ctx, benchmarkID); err != nil {
		return named(err, "benchmark_id", "benchmark not found")
	}
	return nil
}

// named points a not-found error at the parameter that held the id.
func named(err error, field, message string) error {
	if fault.KindOf(err) == fault.KindNotFound {
		return &fault.Error{Kind: fault.KindNotFound, Field: field, Message: message}
	}
	return err
}

// seedOf is the bootstrap seed of a request; the document bounds it to
// [1, 2^53 - 1], and 0 (absent) means the default.
func seedOf(p *int64) uint64 {
	if p == nil || *p < 1 {
		return 0
	}
	return uint64(*p)
}

func toTimeseries(ts *analytics.Timeseries) oapi.Timeseries {
	out := oapi.Timeseries{
		BenchmarkId: ts.BenchmarkID, Metric: oapi.TimeseriesMetric(ts.Metric), Bucket: oapi.TimeBucket(ts.Bucket),
		From: ts.From.UTC(), To: ts.To.UTC(), Category: ts.Category, Series: make([]oapi.TimeseriesSeries, len(ts.Series)),
	}
	for i, s := range ts.Series {
		points := make([]oapi.TimeseriesPoint, len(s.Points))
		for j, p := range s.Points {
			points[j] = oapi.TimeseriesPoint{Bucket: p.Bucket.UTC(), Value: figurePtr(p.Value), N: p.N}
		}
		out.Series[i] = oapi.TimeseriesSeries{ModelId: s.ModelID, ModelName: s.ModelName, Points: points}
	}
	return out
}

func toComparison(c *analytics.Comparison) oapi.Comparison {
	out := oapi.Comparison{
		BenchmarkId: c.BenchmarkID, Current: toSide(c.Current), Previous: toSide(c.Previous), Category: c.Category,
		Seed: int64(c.Seed), Resamples: c.Resamples,
		Models: make([]oapi.ModelComparison, len(c.Models)), UnpairedModels: nonNil(c.UnpairedModels),
		UnpairedModelNames: nonNil(c.UnpairedModelNames),
	}
	switch c.Bucket {
	case analytics.Week:
		out.Period = oapi.ComparisonPeriodWow
	case analytics.Month:
		out.Period = oapi.ComparisonPeriodMom
	default:
		out.Period = oapi.ComparisonPeriodRuns
	}
	for i, m := range c.Models {
		mc := oapi.ModelComparison{
			ModelId: m.ModelID, ModelName: m.ModelName, Questions: m.Questions,
			Score: toMetricChange(m.Score), CostUsd: toMetricChange(m.CostUSD),
			Regressed: m.Changed.Regressed, Improved: m.Changed.Improved, Unchanged: m.Changed.Unchanged,
			ChangedQuestions: toDriftQuestions(m.Changed.Questions),
		}
		if m.LatencyMs != nil {
			l := toMetricChange(*m.LatencyMs)
			mc.LatencyMs = &l
		}
		out.Models[i] = mc
	}
	return out
}

func toSide(s analytics.Side) oapi.ComparisonSide {
	var out oapi.ComparisonSide
	if s.Period != nil {
		start, end := s.Period.Start.UTC(), s.Period.End.UTC()
		out.Start, out.End = &start, &end
	}
	if s.Run != nil {
		id := s.Run.ID
		out.RunId = &id
	}
	return out
}

func toMetricChange(c analytics.Change) oapi.MetricChange {
	return oapi.MetricChange{
		Current: figure(c.Current), Previous: figure(c.Previous), Diff: figure(c.Diff),
		CiLow: figure(c.CI.Low), CiHigh: figure(c.CI.High), Significant: c.Significant, Questions: c.Questions,
	}
}

func toLeaderboard(lb *analytics.Leaderboard) oapi.Leaderboard {
	out := oapi.Leaderboard{
		BenchmarkId: lb.BenchmarkID, Period: oapi.LeaderboardPeriodLatest, Category: lb.Category,
		Seed: int64(lb.Seed), Resamples: lb.Resamples, Entries: make([]oapi.LeaderboardEntry, len(lb.Entries)),
	}
	switch lb.Bucket {
	case analytics.Week:
		out.Period = oapi.LeaderboardPeriodWeek
	case analytics.Month:
		out.Period = oapi.LeaderboardPeriodMonth
	}
	if lb.Run != nil {
		id := lb.Run.ID
		out.RunId = &id
	}
	if lb.Period != nil {
		start, end := lb.Period.Start.UTC(), lb.Period.End.UTC()
		out.Start, out.End = &start, &end
	}
	for i, e := range lb.Entries {
		out.Entries[i] = oapi.LeaderboardEntry{
			Rank: e.Rank, RankLow: e.RankLow, RankHigh: e.RankHigh, ModelId: e.ModelID, ModelName: e.ModelName,
			Score: figure(e.Score), CiLow: figure(e.CI.Low), CiHigh: figure(e.CI.High), StdError: figure(e.StdError),
			Questions: e.Questions, N: e.N, Unscored: e.Unscored, ErrorRate: figure(e.ErrorRate), MeanLatencyMs: figurePtr(e.MeanLatencyMs),
			CostPer1kQuestions: figure(e.CostPer1kQuestions), PassAtK: toPassAtK(e.PassAtK),
		}
	}
	return out
}

func toDrift(d *analytics.Drift) oapi.Drift {
	out := oapi.Drift{
		ModelId: d.ModelID, ModelName: d.ModelName, BenchmarkId: d.BenchmarkID,
		CurrentRun:  oapi.DriftRun{Id: d.CurrentRun.ID, CreatedAt: d.CurrentRun.CreatedAt.UTC()},
		PreviousRun: oapi.DriftRun{Id: d.PreviousRun.ID, CreatedAt: d.PreviousRun.CreatedAt.UTC()},
		Regressed:   d.Regressed, Improved: d.Improved, Unchanged: d.Unchanged,
		Questions: toDriftQuestions(d.Questions),
	}
	return out
}

// toDriftQuestions is the questions whose verdict flipped, as drift and
// comparisons both list them.
func toDriftQuestions(qs []analytics.DriftQuestion) []oapi.DriftQuestion {
	out := make([]oapi.DriftQuestion, len(qs))
	for i, q := range qs {
		change := oapi.DriftImproved
		if q.Regressed {
			change = oapi.DriftRegressed
		}
		out[i] = oapi.DriftQuestion{
			QuestionId: q.QuestionID, Category: q.Category, PromptExcerpt: q.Prompt,
			PreviousRevision: q.PreviousRevision, CurrentRevision: q.CurrentRevision,
			PreviousPassRate: figure(q.PreviousPassRate), CurrentPassRate: figure(q.CurrentPassRate), Change: change,
		}
	}
	return out
}
