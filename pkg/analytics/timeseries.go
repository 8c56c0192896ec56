package analytics

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
)

// MaxBuckets bounds the buckets one time series may span, so that a
// request cannot ask for decades of days.
const MaxBuckets = 1000

// TimeseriesQuery selects a time series. Zero fields take their defaults:
// Bucket Day, To now, From 90 days (Day), 26 weeks (Week) or 24 months
// (Month) before To.
type TimeseriesQuery struct {
	BenchmarkID uuid.UUID
	// ModelID restricts the series to one model; nil means every model.
	ModelID *uuid.UUID
	// Category restricts the figures to one question category; nil means
	// every category together.
	Category *string
	Metric   Metric
	Bucket   Bucket
	From, To *time.Time
}

// Timeseries is one metric of a benchmark's models, bucket by bucket.
type Timeseries struct {
	BenchmarkID uuid.UUID
	Metric      Metric
	Bucket      Bucket
	// From and To are the query's range aligned to bucket starts: From
	// floored, To rounded up; buckets starting in [From, To) are included.
	From, To time.Time
	Category *string
	// Series has one entry per model with data, by model name then id.
	Series []Series
}

// Series is one model's points, oldest first. Only buckets with data have
// a point: a gap means the model did not run then.
type Series struct {
	ModelID   uuid.UUID
	ModelName string
	Points    []Point
}

// Point is one bucket's figure. Value is nil when the bucket has rows but
// no value for the metric (latency of a bucket whose units all failed).
type Point struct {
	Bucket time.Time
	Value  *float64
	N      int64
}

// Timeseries returns the series q selects. It returns fault.Invalid naming
// the field for a bad metric or bucket, a range that is empty ("from") or
// spans more than MaxBuckets buckets ("from"), and fault.NotFound for an
// unknown benchmark.
func (s *Service) Timeseries(ctx context.Context, q TimeseriesQuery) (*Timeseries, error) {
	b := cmp.Or(q.Bucket, Day)
	if !b.Valid() {
		return nil, fault.Invalid("bucket", "must be day, week or month")
	}
	if !q.Metric.valid() {
		return nil, fault.Invalid("metric", "must be score, latency_ms, ttft_ms, tokens_per_s or cost_usd")
	}
	to := s.now()
	if q.To != nil {
		to = *q.To
	}
	from := defaultFrom(b, to)
	if q.From != nil {
		from = *q.From
	}
	if !from.Before(to) {
		return nil, fault.Invalid("from", "must be before to")
	}
	from, to = b.Start(from), ceilBucket(b, to)
	if n := countBuckets(b, from, to, MaxBuckets+1); n > MaxBuckets {
		return nil, fault.Invalid("from", "the range spans more than %d %s buckets; narrow it or use a wider bucket", MaxBuckets, b)
	}
	rows, err := s.store.Rollups(ctx, RollupQuery{
		BenchmarkID: q.BenchmarkID, ModelID: q.ModelID, Category: q.Category, Bucket: b, From: from, To: to,
	})
	if err != nil {
		return nil, err
	}
	out := &Timeseries{BenchmarkID: q.BenchmarkID, Metric: q.Metric, Bucket: b, From: from, To: to, Category: q.Category, Series: []Series{}}
	index := map[uuid.UUID]int{}
	for i := range rows {
		r := &rows[i]
		// Rows over every category (nil) and per category are different
		// figures; keep only those the query asked for.
		if !sameCategory(r.Category, q.Category) || r.Bucket.Before(from) || !r.Bucket.Before(to) {
			continue
		}
		j, ok := index[r.ModelID]
		if !ok {
			j = len(out.Series)
			index[r.ModelID] = j
			out.Series = append(out.Series, Series{ModelID: r.ModelID})
		}
		out.Series[j].Points = append(out.Series[j].Points, Point{Bucket: r.Bucket.UTC(), Value: q.Metric.of(r), N: r.N})
	}
	ids := make([]uuid.UUID, len(out.Series))
	for i := range out.Series {
		ids[i] = out.Series[i].ModelID
	}
	names, err := s.names(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out.Series {
		sr := &out.Series[i]
		sr.ModelName = names[sr.ModelID]
		slices.SortFunc(sr.Points, func(a, b Point) int { return a.Bucket.Compare(b.Bucket) })
	}
	slices.SortFunc(out.Series, func(a, b Series) int { return byName(a.ModelName, b.ModelName, a.ModelID, b.ModelID) })
	return out, nil
}

// valid reports whether m is a known metric.
func (m Metric) valid() bool {
	switch m {
	case MetricScore, MetricLatency, MetricLatencyP95, MetricTTFT, MetricTokensPerS, MetricCost:
		return true
	}
	return false
}

// of is the figure of r that m plots. Latency and TTFT are the bucket's
// medians (and latency its 95th percentile too); cost is the bucket's
// total.
func (m Metric) of(r *Rollup) *float64 {
	switch m {
	case MetricScore:
		return r.MeanScore
	case MetricLatency:
		return r.LatencyP50Ms
	case MetricLatencyP95:
		return r.LatencyP95Ms
	case MetricTTFT:
		return r.TTFTP50Ms
	case MetricTokensPerS:
		return r.TokensPerS
	default:
		c := r.CostUSD
		return &c
	}
}

func sameCategory(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// defaultFrom is where a time series starts when the query does not say.
func defaultFrom(b Bucket, to time.Time) time.Time {
	switch b {
	case Month:
		return to.AddDate(0, -24, 0)
	case Week:
		return to.AddDate(0, 0, -26*7)
	default:
		return to.AddDate(0, 0, -90)
	}
}

// ceilBucket is t when t starts a bucket, else the start of the next one.
func ceilBucket(b Bucket, t time.Time) time.Time {
	start := b.Start(t)
	if start.Equal(t) {
		return start
	}
	return b.Next(start)
}

// countBuckets counts the buckets in [from, to), stopping at limit.
func countBuckets(b Bucket, from, to time.Time, limit int) int {
	n := 0
	for t := from; t.Before(to) && n < limit; t = b.Next(t) {
		n++
	}
	return n
}
