package analytics

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Bucket is the width of a time bucket. Buckets are UTC; weeks start on
// Monday.
type Bucket string

// The bucket widths.
const (
	Day   Bucket = "day"
	Week  Bucket = "week"
	Month Bucket = "month"
)

// Valid reports whether b is a known bucket width.
func (b Bucket) Valid() bool { return b == Day || b == Week || b == Month }

// weekOrigin is a Monday at 00:00 UTC: TimescaleDB's time_bucket uses it as
// the default origin for day and week buckets, and the plain-PostgreSQL
// rollups pass it to date_bin, so both paths cut weeks the same way.
var weekOrigin = time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC)

// Start returns the start of the bucket that contains t.
func (b Bucket) Start(t time.Time) time.Time {
	t = t.UTC()
	switch b {
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case Week:
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		days := int(day.Sub(weekOrigin).Hours() / 24)
		off := ((days % 7) + 7) % 7
		return day.AddDate(0, 0, -off)
	default:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
}

// Next returns the start of the bucket after the one that starts at start.
func (b Bucket) Next(start time.Time) time.Time {
	switch b {
	case Month:
		return start.AddDate(0, 1, 0)
	case Week:
		return start.AddDate(0, 0, 7)
	default:
		return start.AddDate(0, 0, 1)
	}
}

// Metric is what a time series plots.
type Metric string

// The metrics of a time series.
const (
	MetricScore      Metric = "score"
	MetricLatency    Metric = "latency_ms"
	MetricLatencyP95 Metric = "latency_p95_ms"
	MetricTTFT       Metric = "ttft_ms"
	MetricTokensPerS Metric = "tokens_per_s"
	MetricCost       Metric = "cost_usd"
)

// Rollup is one row of a rollup: what one model did on one benchmark (and
// one category, or every category when Category is nil) in one bucket. It
// is the same whether TimescaleDB's continuous aggregates or SABE's own
// rollup tables produced it.
type Rollup struct {
	Bucket      time.Time
	BenchmarkID uuid.UUID
	ModelID     uuid.UUID
	// Category is nil for the rollups over every category.
	Category *string
	// N counts the units that were answered or failed for good in runs
	// that finished completed or partial, the rule every analytic follows;
	// cancelled and skipped units, and other runs, are left out. Failed is
	// the part of N that failed.
	N, Failed int64
	// MeanScore is the mean score over N, a failed unit scoring 0; nil
	// when N is 0. The latency and throughput figures are over succeeded
	// units and nil when there were none.
	MeanScore    *float64
	LatencyP50Ms *float64
	LatencyP95Ms *float64
	TTFTP50Ms    *float64
	TokensPerS   *float64
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
}

// RollupQuery selects rollup rows: one benchmark, optionally one model and
// one category, buckets starting in [From, To).
type RollupQuery struct {
	BenchmarkID uuid.UUID
	ModelID     *uuid.UUID
	Category    *string
	Bucket      Bucket
	From, To    time.Time
}

// QuestionStat is what one model did on one question revision over a set
// of runs (one run, or every run of a week or month): the raw tallies the
// statistics are computed from.
type QuestionStat struct {
	ModelID    uuid.UUID
	QuestionID uuid.UUID
	RevisionID uuid.UUID
	// Revision is the revision's number (1, 2, ...).
	Revision int
	Category string
	// Runs is the number of runs the tallies cover.
	Runs int
	// N counts units answered or failed for good (cancelled and skipped
	// are left out); Correct those whose evaluation passed; Failed those
	// that failed for good.
	N, Correct, Failed int
	// LatencySumMs and LatencyN cover succeeded units only.
	LatencySumMs float64
	LatencyN     int
	CostUSD      float64
	// Unscored counts the answered units without a verdict, which N
	// leaves out.
	Unscored int
}

// Period is a week or month bucket of one benchmark, or explicit runs.
type Period struct {
	Bucket Bucket
	Start  time.Time
	End    time.Time
}

// RunRef is a finished run, as the statistics name it.
type RunRef struct {
	ID          uuid.UUID
	BenchmarkID uuid.UUID
	CreatedAt   time.Time
	// FinishedAt is nil while the run has not finished.
	FinishedAt *time.Time
	// Status is the run's status (run.Status values): only completed and
	// partial runs have results to compare.
	Status string
}

// Store is what the analytics read from PostgreSQL. pkg/store implements
// it. Unknown benchmark and model ids read as having no data (empty
// results), so that a normal answer costs no existence check; Run returns
// fault.NotFound for an unknown run.
type Store interface {
	// Rollups returns the rollup rows q selects, ordered by model,
	// category and bucket.
	Rollups(ctx context.Context, q RollupQuery) ([]Rollup, error)
	// BucketQuestionStats returns the per-(model, question revision)
	// tallies of the finished runs of benchmarkID created in the week or
	// month bucket that starts at start; category filters when non-nil.
	BucketQuestionStats(ctx context.Context, benchmarkID uuid.UUID, b Bucket, start time.Time, category *string) ([]QuestionStat, error)
	// RunQuestionStats returns the per-(model, question revision) tallies
	// of one finished run; modelID and category filter when non-nil.
	RunQuestionStats(ctx context.Context, runID uuid.UUID, modelID *uuid.UUID, category *string) ([]QuestionStat, error)
	// LatestBucket returns the start of the newest week or month bucket in
	// which benchmarkID has a finished run, and false when it has none.
	LatestBucket(ctx context.Context, benchmarkID uuid.UUID, b Bucket) (time.Time, bool, error)
	// LatestRuns returns up to n finished runs of benchmarkID, newest
	// first; with modelID set, only runs that included that model.
	LatestRuns(ctx context.Context, benchmarkID uuid.UUID, modelID *uuid.UUID, n int) ([]RunRef, error)
	// Run returns one run, finished or not.
	Run(ctx context.Context, id uuid.UUID) (RunRef, error)
	// DataVersion returns a token that changes whenever a run of
	// benchmarkID finishes: comparisons and leaderboards computed under one
	// token hold until it changes.
	DataVersion(ctx context.Context, benchmarkID uuid.UUID) (string, error)
	// ModelNames returns the names of the given models, archived or not.
	ModelNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error)
	// PromptExcerpts returns the start of the prompt of each of the given
	// question revisions (catalog.PromptExcerpt), so that answers can name
	// questions beside their ids; unknown ids are left out.
	PromptExcerpts(ctx context.Context, revisionIDs []uuid.UUID) (map[uuid.UUID]string, error)
}

// Refresh says what one refresh of the rollups did.
type Refresh struct {
	// Runs is the number of finished runs whose buckets were refreshed;
	// Buckets the number of (rollup, bucket) refreshes that took.
	Runs, Buckets int
	// More: finished runs are still waiting for the next refresh.
	More bool
}
