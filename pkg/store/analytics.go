package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

var _ analytics.Store = (*Store)(nil)

// Rollups returns the rollup rows q selects, ordered by model and bucket.
// The rollups are plain tables or TimescaleDB continuous aggregates; the
// queries are the same.
func (s *Store) Rollups(ctx context.Context, q analytics.RollupQuery) ([]analytics.Rollup, error) {
	if q.Category != nil {
		return s.categoryRollups(ctx, q)
	}
	arg := dbsqlc.RollupModelDailyParams{BenchmarkID: q.BenchmarkID, ModelID: q.ModelID, FromBucket: q.From, ToBucket: q.To}
	var rows []dbsqlc.RollupModelDaily
	var err error
	switch q.Bucket {
	case analytics.Day:
		rows, err = s.q.RollupModelDaily(ctx, arg)
	case analytics.Week:
		var w []dbsqlc.RollupModelWeekly
		w, err = s.q.RollupModelWeekly(ctx, dbsqlc.RollupModelWeeklyParams(arg))
		rows = convertRows(w, func(r dbsqlc.RollupModelWeekly) dbsqlc.RollupModelDaily { return dbsqlc.RollupModelDaily(r) })
	case analytics.Month:
		var m []dbsqlc.RollupModelMonthly
		m, err = s.q.RollupModelMonthly(ctx, dbsqlc.RollupModelMonthlyParams(arg))
		rows = convertRows(m, func(r dbsqlc.RollupModelMonthly) dbsqlc.RollupModelDaily { return dbsqlc.RollupModelDaily(r) })
	default:
		return nil, fault.Invalid("bucket", "bucket must be day, week or month")
	}
	if err != nil {
		return nil, fmt.Errorf("read %s rollups: %w", q.Bucket, err)
	}
	return convertRows(rows, func(r dbsqlc.RollupModelDaily) analytics.Rollup {
		return analytics.Rollup{
			Bucket: r.Bucket, BenchmarkID: r.BenchmarkID, ModelID: r.ModelID, N: r.N, Failed: r.Failed,
			MeanScore: r.MeanScore, LatencyP50Ms: r.LatencyP50Ms, LatencyP95Ms: r.LatencyP95Ms, TTFTP50Ms: r.TtftP50Ms,
			TokensPerS: r.TokensPerS, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CostUSD: r.CostUsd,
		}
	}), nil
}

func (s *Store) categoryRollups(ctx context.Context, q analytics.RollupQuery) ([]analytics.Rollup, error) {
	arg := dbsqlc.RollupCategoryDailyParams{
		BenchmarkID: q.BenchmarkID, Category: *q.Category, ModelID: q.ModelID, FromBucket: q.From, ToBucket: q.To,
	}
	var rows []dbsqlc.RollupCategoryDaily
	var err error
	switch q.Bucket {
	case analytics.Day:
		rows, err = s.q.RollupCategoryDaily(ctx, arg)
	case analytics.Week:
		var w []dbsqlc.RollupCategoryWeekly
		w, err = s.q.RollupCategoryWeekly(ctx, dbsqlc.RollupCategoryWeeklyParams(arg))
		rows = convertRows(w, func(r dbsqlc.RollupCategoryWeekly) dbsqlc.RollupCategoryDaily { return dbsqlc.RollupCategoryDaily(r) })
	case analytics.Month:
		var m []dbsqlc.RollupCategoryMonthly
		m, err = s.q.RollupCategoryMonthly(ctx, dbsqlc.RollupCategoryMonthlyParams(arg))
		rows = convertRows(m, func(r dbsqlc.RollupCategoryMonthly) dbsqlc.RollupCategoryDaily {
			return dbsqlc.RollupCategoryDaily(r)
		})
	default:
		return nil, fault.Invalid("bucket", "bucket must be day, week or month")
	}
	if err != nil {
		return nil, fmt.Errorf("read %s rollups: %w", q.Bucket, err)
	}
	return convertRows(rows, func(r dbsqlc.RollupCategoryDaily) analytics.Rollup {
		cat := r.Category
		return analytics.Rollup{
			Bucket: r.Bucket, BenchmarkID: r.BenchmarkID, ModelID: r.ModelID, Category: &cat, N: r.N, Failed: r.Failed,
			MeanScore: r.MeanScore, LatencyP50Ms: r.LatencyP50Ms, LatencyP95Ms: r.LatencyP95Ms, TTFTP50Ms: r.TtftP50Ms,
			TokensPerS: r.TokensPerS, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CostUSD: r.CostUsd,
		}
	}), nil
}

func convertRows[R, T any](rows []R, conv func(R) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = conv(r)
	}
	return out
}

// periodName is question_stats' name for a week or month bucket.
func periodName(b analytics.Bucket) (string, error) {
	switch b {
	case analytics.Week, analytics.Month:
		return string(b), nil
	}
	return "", fault.Invalid("period", "period must be a week or a month")
}

// BucketQuestionStats returns the per-(model, question revision) tallies
// of the finished runs of benchmarkID created in the week or month bucket
// that starts at start.
func (s *Store) BucketQuestionStats(ctx context.Context, benchmarkID uuid.UUID, b analytics.Bucket, start time.Time, category *string) ([]analytics.QuestionStat, error) {
	period, err := periodName(b)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.BucketQuestionStats(ctx, dbsqlc.BucketQuestionStatsParams{
		BenchmarkID: benchmarkID, Period: period, Bucket: start, Category: category,
	})
	if err != nil {
		return nil, fmt.Errorf("read question stats: %w", err)
	}
	return convertRows(rows, func(r dbsqlc.BucketQuestionStatsRow) analytics.QuestionStat {
		return analytics.QuestionStat{
			ModelID: r.ModelID, QuestionID: r.QuestionID, RevisionID: r.QuestionRevisionID, Revision: int(r.Revision),
			Category: r.Category, Runs: int(r.Runs), N: int(r.N), Correct: int(r.Correct), Failed: int(r.Failed),
			LatencySumMs: r.LatencySumMs, LatencyN: int(r.LatencyN), CostUSD: r.CostUsd, Unscored: int(r.Unscored),
		}
	}), nil
}

// RunQuestionStats returns the per-(model, question revision) tallies of
// one finished run, from its outcomes (which retention keeps); with
// modelID, of that model only.
func (s *Store) RunQuestionStats(ctx context.Context, runID uuid.UUID, modelID *uuid.UUID, category *string) ([]analytics.QuestionStat, error) {
	return runQuestionStats(ctx, s.q, runID, modelID, category)
}

func runQuestionStats(ctx context.Context, q *dbsqlc.Queries, runID uuid.UUID, modelID *uuid.UUID, category *string) ([]analytics.QuestionStat, error) {
	rows, err := q.RunQuestionStats(ctx, dbsqlc.RunQuestionStatsParams{RunID: runID, ModelID: modelID, Category: category})
	if err != nil {
		return nil, fmt.Errorf("read question stats of run %s: %w", runID, err)
	}
	return convertRows(rows, func(r dbsqlc.RunQuestionStatsRow) analytics.QuestionStat {
		return analytics.QuestionStat{
			ModelID: r.ModelID, QuestionID: r.QuestionID, RevisionID: r.QuestionRevisionID, Revision: int(r.Revision),
			Category: r.Category, Runs: int(r.Runs), N: int(r.N), Correct: int(r.Correct), Failed: int(r.Failed),
			LatencySumMs: r.LatencySumMs, LatencyN: int(r.LatencyN), CostUSD: r.CostUsd, Unscored: int(r.Unscored),
		}
	}), nil
}

// LatestBucket returns the start of the newest week or month bucket in
// which benchmarkID has a finished run with results.
func (s *Store) LatestBucket(ctx context.Context, benchmarkID uuid.UUID, b analytics.Bucket) (time.Time, bool, error) {
	period, err := periodName(b)
	if err != nil {
		return time.Time{}, false, err
	}
	t, err := s.q.LatestQuestionStatsBucket(ctx, dbsqlc.LatestQuestionStatsBucketParams{BenchmarkID: benchmarkID, Period: period})
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("latest %s of benchmark %s: %w", b, benchmarkID, err)
	}
	return t.UTC(), true, nil
}

// LatestRuns returns up to n runs of benchmarkID that finished with results
// (completed or partial), newest first; with modelID set, only the runs
// that included that model.
func (s *Store) LatestRuns(ctx context.Context, benchmarkID uuid.UUID, modelID *uuid.UUID, n int) ([]analytics.RunRef, error) {
	rows, err := s.q.LatestFinishedRuns(ctx, dbsqlc.LatestFinishedRunsParams{BenchmarkID: benchmarkID, ModelID: modelID, Lim: int32(n)})
	if err != nil {
		return nil, fmt.Errorf("latest runs of benchmark %s: %w", benchmarkID, err)
	}
	return convertRows(rows, func(r dbsqlc.LatestFinishedRunsRow) analytics.RunRef {
		return analytics.RunRef{ID: r.ID, BenchmarkID: r.BenchmarkID, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, Status: r.Status}
	}), nil
}

// Run returns one run as the analytics name it; NotFound when unknown.
func (s *Store) Run(ctx context.Context, id uuid.UUID) (analytics.RunRef, error) {
	r, err := s.q.GetRun(ctx, id)
	if err != nil {
		return analytics.RunRef{}, notFound(err, "run")
	}
	return analytics.RunRef{ID: r.ID, BenchmarkID: r.BenchmarkID, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, Status: r.Status}, nil
}

// DataVersion returns a token that changes whenever a run of benchmarkID
// finishes (the question tallies and rankings change only then).
func (s *Store) DataVersion(ctx context.Context, benchmarkID uuid.UUID) (string, error) {
	v, err := s.q.BenchmarkDataVersion(ctx, benchmarkID)
	if err != nil {
		return "", fmt.Errorf("data version of benchmark %s: %w", benchmarkID, err)
	}
	return v, nil
}

// ModelNames returns the names of the given models, archived or not;
// unknown ids are left out.
func (s *Store) ModelNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	rows, err := s.q.AnalyticsModelNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("model names: %w", err)
	}
	return labels(rows, func(r dbsqlc.AnalyticsModelNamesRow) (uuid.UUID, string) { return r.ID, r.Name }), nil
}

// PromptExcerpts returns the excerpts (catalog.PromptExcerpt) of the given
// question revisions' prompts; unknown ids are left out.
func (s *Store) PromptExcerpts(ctx context.Context, revisionIDs []uuid.UUID) (map[uuid.UUID]string, error) {
	rows, err := s.q.PromptStarts(ctx, revisionIDs)
	if err != nil {
		return nil, fmt.Errorf("prompt excerpts: %w", err)
	}
	return labels(rows, func(r dbsqlc.PromptStartsRow) (uuid.UUID, string) {
		return r.ID, catalog.PromptExcerpt(r.PromptStart)
	}), nil
}

// labels maps rows to the text shown beside their ids (a name, a prompt
// excerpt), for answers that name what they refer to.
func labels[R any](rows []R, label func(R) (uuid.UUID, string)) map[uuid.UUID]string {
	out := make(map[uuid.UUID]string, len(rows))
	for _, r := range rows {
		id, text := label(r)
		out[id] = text
	}
	return out
}

// refreshBatch is how many finished runs one RefreshRollups call takes.
const refreshBatch = 100

// RefreshRollups brings the rollups up to date with the runs finished since
// the last call: on plain PostgreSQL it recomputes each of their buckets
// (per benchmark) from the executions; with TimescaleDB it refreshes the
// continuous aggregates over those buckets' windows. Only the buckets of
// finished runs are ever refreshed, so buckets whose raw rows retention
// removed keep what they had. The maintenance task calls it every pass;
// calls racing each other do the same work twice, never harm.
func (s *Store) RefreshRollups(ctx context.Context) (analytics.Refresh, error) {
	var res analytics.Refresh
	inv, err := s.q.ListRollupInvalidations(ctx, refreshBatch+1)
	if err != nil {
		return res, fmt.Errorf("list rollup invalidations: %w", err)
	}
	if len(inv) > refreshBatch {
		inv, res.More = inv[:refreshBatch], true
	}
	if len(inv) == 0 {
		return res, nil
	}
	ids := convertRows(inv, func(r dbsqlc.RollupInvalidation) uuid.UUID { return r.RunID })
	buckets, err := s.q.RollupBucketsOf(ctx, ids)
	if err != nil {
		return res, fmt.Errorf("rollup buckets: %w", err)
	}
	timescale, err := s.q.RollupsAreContinuousAggregates(ctx)
	if err != nil {
		return res, fmt.Errorf("rollup kind: %w", err)
	}
	type window struct {
		name       string
		start, end time.Time
	}
	refreshed := map[window]bool{}
	for _, b := range buckets {
		if timescale {
			// A continuous aggregate refreshes a window for every
			// benchmark at once.
			w := window{b.Name, b.Bucket, b.BucketEnd}
			if refreshed[w] {
				continue
			}
			refreshed[w] = true
			err = s.q.RefreshContinuousAggregate(ctx, dbsqlc.RefreshContinuousAggregateParams{
				Name: b.Name, WindowStart: b.Bucket, WindowEnd: b.BucketEnd,
			})
		} else {
			err = s.q.RefreshRollupBucket(ctx, dbsqlc.RefreshRollupBucketParams{Name: b.Name, BenchmarkID: b.BenchmarkID, Bucket: b.Bucket})
		}
		if err != nil {
			return res, fmt.Errorf("refresh %s at %s: %w", b.Name, b.Bucket.UTC().Format(time.RFC3339), err)
		}
		res.Buckets++
	}
	if err := s.q.DeleteRollupInvalidations(ctx, ids); err != nil {
		return res, fmt.Errorf("delete rollup invalidations: %w", err)
	}
	res.Runs = len(ids)
	return res, nil
}

// DropOldChunks drops, with TimescaleDB, the execution and evaluation
// chunks wholly older than cutoff, but never one that may hold a row of an
// unfinished run; it returns how many it dropped, and 0 on plain
// PostgreSQL, where retention deletes rows in batches instead.
func (s *Store) DropOldChunks(ctx context.Context, cutoff time.Time) (int64, error) {
	oldest, err := s.q.OldestUnfinishedRun(ctx)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return 0, fmt.Errorf("oldest unfinished run: %w", err)
	case oldest.Before(cutoff):
		cutoff = oldest
	}
	n, err := s.q.DropOldChunks(ctx, cutoff)
	if err != nil {
		return 0, fmt.Errorf("drop old chunks: %w", err)
	}
	return n, nil
}
