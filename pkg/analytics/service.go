package analytics

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/pkg/fault"
	"github.com/sabe-dev/sabe/pkg/stats"
)

// MaxBuckets bounds the buckets one time series may span, so that a
// request cannot ask for decades of days.
const MaxBuckets = 1000

// passAtKs are the k that pass@k is reported for, those at most the
// smallest number of samples of any of the model's questions.
var passAtKs = [...]int{1, 2, 5, 10, 20, 50, 100}

// ErrNoFinishedRun answers a comparison or leaderboard of a benchmark that
// has nothing to show yet (or does not exist: the Store's reads answer
// empty for an unknown benchmark).
var ErrNoFinishedRun = &fault.Error{Kind: fault.KindNotFound, Field: "benchmark_id", Message: "the benchmark has no finished run"}

// Service computes time series, comparisons, leaderboards and drift from
// what a Store reads. It holds no state of its own and is safe for
// concurrent use.
type Service struct {
	store Store
	now   func() time.Time
	// workers bounds the bootstraps that run at once.
	workers int
	cache   *resultCache
}

// NewService returns a Service over st.
func NewService(st Store) *Service {
	return &Service{store: st, now: time.Now, workers: runtime.GOMAXPROCS(0), cache: newResultCache()}
}

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
	case MetricScore, MetricLatency, MetricTTFT, MetricTokensPerS, MetricCost:
		return true
	}
	return false
}

// of is the figure of r that m plots. Latency and TTFT are the bucket's
// medians; cost is the bucket's total.
func (m Metric) of(r *Rollup) *float64 {
	switch m {
	case MetricScore:
		return r.MeanScore
	case MetricLatency:
		return r.LatencyP50Ms
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

// CompareQuery selects a comparison: either two consecutive week or month
// buckets, or two runs.
type CompareQuery struct {
	BenchmarkID uuid.UUID
	// Bucket is Week (week over week) or Month (month over month); it is
	// not used when both run ids are set.
	Bucket Bucket
	// At picks the current bucket, the one containing At; nil means the
	// newest bucket in which the benchmark has a finished run.
	At *time.Time
	// Category restricts the questions to one category; nil means all.
	Category *string
	// CurrentRunID and PreviousRunID compare two finished runs of the
	// benchmark instead of two buckets: both or neither.
	CurrentRunID, PreviousRunID *uuid.UUID
	// Seed seeds the bootstrap; 0 means stats.DefaultSeed.
	Seed uint64
}

// Comparison is what changed between two periods, model by model.
type Comparison struct {
	BenchmarkID uuid.UUID
	// Bucket is Week or Month, empty when two runs were compared.
	Bucket            Bucket
	Current, Previous Side
	Category          *string
	Seed              uint64
	Resamples         int
	// Models are the models with questions in both periods, by name then
	// id.
	Models []ModelChange
	// UnpairedModels are the models that cannot be compared: present in
	// one period only, or sharing no question revision between the two.
	// UnpairedModelNames are their names, in the same order.
	UnpairedModels     []uuid.UUID
	UnpairedModelNames []string
}

// Side is one side of a comparison: a bucket or a run.
type Side struct {
	// Period is set for a bucket.
	Period *Period
	// Run is set for a run.
	Run *RunRef
}

// ModelChange is one model's change between the periods.
type ModelChange struct {
	ModelID   uuid.UUID
	ModelName string
	// Questions is the number of question revisions the periods share.
	Questions int
	Score     Change
	// LatencyMs is nil when no shared question has a latency in both
	// periods (every unit of it failed on one side).
	LatencyMs *Change
	CostUSD   Change
}

// Change is a metric's mean over the paired questions in each period, the
// difference Current - Previous and the 95% paired bootstrap interval of
// the difference. Significant means the interval excludes 0.
type Change struct {
	Current, Previous, Diff float64
	CI                      stats.Interval
	Significant             bool
	// Questions is the number of pairs the figures are over.
	Questions int
}

// Compare compares two periods. It returns fault.NotFound for an unknown
// run, or a benchmark with no finished run when no At is given;
// fault.BadRequest when only one run id is given; fault.Invalid for a bad
// bucket, equal run ids or a run of another benchmark; and
// fault.KindConflict for a run that has not finished, or finished without
// results (failed or cancelled).
func (s *Service) Compare(ctx context.Context, q CompareQuery) (*Comparison, error) {
	key := cacheKey("compare", q.Bucket, q.At, q.Category, q.CurrentRunID, q.PreviousRunID, q.Seed)
	v, err := s.cache.get(ctx, s.store, q.BenchmarkID, key, func() (any, error) { return s.compare(ctx, q) })
	if err != nil {
		return nil, err
	}
	return v.(*Comparison), nil
}

func (s *Service) compare(ctx context.Context, q CompareQuery) (*Comparison, error) {
	boot := stats.Bootstrap{Resamples: stats.DefaultResamples, Seed: cmp.Or(q.Seed, stats.DefaultSeed)}
	out := &Comparison{BenchmarkID: q.BenchmarkID, Category: q.Category, Seed: boot.Seed, Resamples: boot.Resamples, Models: []ModelChange{}, UnpairedModels: []uuid.UUID{}}
	var cur, prev []QuestionStat
	g, gctx := errgroup.WithContext(ctx)
	switch {
	case q.CurrentRunID != nil || q.PreviousRunID != nil:
		if q.CurrentRunID == nil {
			return nil, fault.BadRequest("current_run_id", "is required with previous_run_id")
		}
		if q.PreviousRunID == nil {
			return nil, fault.BadRequest("previous_run_id", "is required with current_run_id")
		}
		if *q.CurrentRunID == *q.PreviousRunID {
			return nil, fault.Invalid("previous_run_id", "must differ from current_run_id")
		}
		curRun, err := s.finishedRun(ctx, q.BenchmarkID, *q.CurrentRunID, "current_run_id")
		if err != nil {
			return nil, err
		}
		prevRun, err := s.finishedRun(ctx, q.BenchmarkID, *q.PreviousRunID, "previous_run_id")
		if err != nil {
			return nil, err
		}
		out.Current.Run, out.Previous.Run = &curRun, &prevRun
		g.Go(func() (err error) { cur, err = s.store.RunQuestionStats(gctx, curRun.ID, q.Category); return err })
		g.Go(func() (err error) { prev, err = s.store.RunQuestionStats(gctx, prevRun.ID, q.Category); return err })
	default:
		if q.Bucket != Week && q.Bucket != Month {
			return nil, fault.Invalid("period", "must be wow or mom")
		}
		start, err := s.currentBucket(ctx, q.BenchmarkID, q.Bucket, q.At)
		if err != nil {
			return nil, err
		}
		prevStart := q.Bucket.Start(start.Add(-time.Second))
		out.Bucket = q.Bucket
		out.Current.Period = &Period{Bucket: q.Bucket, Start: start, End: q.Bucket.Next(start)}
		out.Previous.Period = &Period{Bucket: q.Bucket, Start: prevStart, End: start}
		g.Go(func() (err error) {
			cur, err = s.store.BucketQuestionStats(gctx, q.BenchmarkID, q.Bucket, start, q.Category)
			return err
		})
		g.Go(func() (err error) {
			prev, err = s.store.BucketQuestionStats(gctx, q.BenchmarkID, q.Bucket, prevStart, q.Category)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	curBy, prevBy := byModel(cur), byModel(prev)
	var pairs []modelPairs
	for id, c := range curBy {
		p, ok := prevBy[id]
		if !ok {
			out.UnpairedModels = append(out.UnpairedModels, id)
			continue
		}
		mp := pair(id, c, p)
		if len(mp.cur) == 0 {
			out.UnpairedModels = append(out.UnpairedModels, id)
			continue
		}
		pairs = append(pairs, mp)
	}
	for id := range prevBy {
		if _, ok := curBy[id]; !ok {
			out.UnpairedModels = append(out.UnpairedModels, id)
		}
	}
	slices.SortFunc(out.UnpairedModels, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })

	out.Models = make([]ModelChange, len(pairs))
	ids := slices.Clone(out.UnpairedModels)
	s.each(len(pairs), func(i int) { out.Models[i] = pairs[i].change(boot) })
	for i := range pairs {
		ids = append(ids, pairs[i].model)
	}
	names, err := s.names(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out.Models {
		out.Models[i].ModelName = names[out.Models[i].ModelID]
	}
	out.UnpairedModelNames = make([]string, len(out.UnpairedModels))
	for i, id := range out.UnpairedModels {
		out.UnpairedModelNames[i] = names[id]
	}
	slices.SortFunc(out.Models, func(a, b ModelChange) int { return byName(a.ModelName, b.ModelName, a.ModelID, b.ModelID) })
	return out, nil
}

// finishedRun returns run id after checking that it is a finished run of
// benchmarkID with results; field names the parameter the id came from.
func (s *Service) finishedRun(ctx context.Context, benchmarkID, id uuid.UUID, field string) (RunRef, error) {
	r, err := s.store.Run(ctx, id)
	if err != nil {
		if fault.KindOf(err) == fault.KindNotFound {
			return RunRef{}, &fault.Error{Kind: fault.KindNotFound, Field: field, Message: "run not found"}
		}
		return RunRef{}, err
	}
	switch {
	case r.BenchmarkID != benchmarkID:
		return RunRef{}, fault.Invalid(field, "is a run of another benchmark")
	case r.FinishedAt == nil:
		return RunRef{}, &fault.Error{Kind: fault.KindConflict, Field: field, Message: "the run has not finished"}
	case r.Status != "completed" && r.Status != "partial":
		return RunRef{}, &fault.Error{Kind: fault.KindConflict, Field: field, Message: fmt.Sprintf("the run finished as %s, without results to compare", r.Status)}
	}
	return r, nil
}

// currentBucket is the start of the bucket containing at, or without at
// the newest bucket with a finished run.
func (s *Service) currentBucket(ctx context.Context, benchmarkID uuid.UUID, b Bucket, at *time.Time) (time.Time, error) {
	if at != nil {
		return b.Start(*at), nil
	}
	start, ok, err := s.store.LatestBucket(ctx, benchmarkID, b)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, ErrNoFinishedRun
	}
	return b.Start(start), nil
}

// question is one question revision's figures for one model over a
// period, runs and samples averaged.
type question struct {
	revisionID         uuid.UUID
	n, correct, failed int
	score              float64
	latency            float64
	hasLatency         bool
	cost               float64
}

// byModel merges tallies per (model, question revision) and turns them
// into per-question figures, each model's questions in revision id order,
// so that the bootstrap draws the same questions whatever order the store
// returned them in. Tallies with no answered or failed unit say nothing
// and are dropped. The store already returns rows in that order (uuid
// order in PostgreSQL is byte order), and then no map or sort is needed:
// this runs before the bootstraps, on every request, over every row.
func byModel(in []QuestionStat) map[uuid.UUID][]question {
	rows := in
	for i := 1; i < len(in); i++ {
		if compareStat(&in[i-1], &in[i]) >= 0 {
			rows = slices.Clone(in)
			slices.SortFunc(rows, func(a, b QuestionStat) int { return compareStat(&a, &b) })
			break
		}
	}
	out := map[uuid.UUID][]question{}
	all := make([]question, 0, len(rows))
	for i := 0; i < len(rows); {
		st := rows[i]
		j := i + 1
		for ; j < len(rows) && compareStat(&rows[j], &st) == 0; j++ {
			r := &rows[j]
			st.Runs += r.Runs
			st.N += r.N
			st.Correct += r.Correct
			st.Failed += r.Failed
			st.LatencySumMs += r.LatencySumMs
			st.LatencyN += r.LatencyN
			st.CostUSD += r.CostUSD
		}
		i = j
		if st.N <= 0 {
			continue
		}
		q := question{
			revisionID: st.RevisionID, n: st.N, correct: st.Correct, failed: st.Failed,
			score: float64(st.Correct) / float64(st.N),
			cost:  st.CostUSD / float64(max(st.Runs, 1)),
		}
		if st.LatencyN > 0 {
			q.latency, q.hasLatency = st.LatencySumMs/float64(st.LatencyN), true
		}
		// A model's questions are contiguous: its slice is a window of all.
		all = append(all, q)
		out[st.ModelID] = all[len(all)-len(out[st.ModelID])-1 : len(all) : len(all)]
	}
	return out
}

func compareStat(a, b *QuestionStat) int {
	return cmp.Or(bytes.Compare(a.ModelID[:], b.ModelID[:]), bytes.Compare(a.RevisionID[:], b.RevisionID[:]))
}

// modelPairs is one model's questions present in both periods, aligned:
// cur[i] and prev[i] are the same revision.
type modelPairs struct {
	model     uuid.UUID
	cur, prev []question
}

// pair aligns the revisions cur and prev share; both are in revision id
// order, so one merge pass does it.
func pair(model uuid.UUID, cur, prev []question) modelPairs {
	mp := modelPairs{model: model, cur: make([]question, 0, len(cur)), prev: make([]question, 0, len(cur))}
	for i, j := 0, 0; i < len(cur) && j < len(prev); {
		switch c := bytes.Compare(cur[i].revisionID[:], prev[j].revisionID[:]); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			mp.cur, mp.prev = append(mp.cur, cur[i]), append(mp.prev, prev[j])
			i++
			j++
		}
	}
	return mp
}

// change computes the model's change in score, cost and latency with one
// paired bootstrap: the same questions are drawn for every metric. A
// question without a latency on one side (every unit of it failed there)
// is NaN for latency, which the bootstrap leaves out of that metric only.
func (mp modelPairs) change(boot stats.Bootstrap) ModelChange {
	n := len(mp.cur)
	cur := [][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
	prev := [][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
	var latCur, latPrev []float64
	for i := range n {
		c, p := &mp.cur[i], &mp.prev[i]
		cur[0][i], prev[0][i] = c.score, p.score
		cur[1][i], prev[1][i] = c.cost, p.cost
		cur[2][i], prev[2][i] = math.NaN(), math.NaN()
		if c.hasLatency && p.hasLatency {
			cur[2][i], prev[2][i] = c.latency, p.latency
			latCur, latPrev = append(latCur, c.latency), append(latPrev, p.latency)
		}
	}
	iv := boot.PairedDiff(cur, prev, stats.StreamFor(boot.Seed, mp.model))
	out := ModelChange{
		ModelID: mp.model, Questions: n,
		Score:   newChange(cur[0], prev[0], iv[0]),
		CostUSD: newChange(cur[1], prev[1], iv[1]),
	}
	if len(latCur) > 0 {
		l := newChange(latCur, latPrev, iv[2])
		out.LatencyMs = &l
	}
	return out
}

func newChange(cur, prev []float64, iv stats.Interval) Change {
	c := Change{Current: stats.Mean(cur), Previous: stats.Mean(prev), CI: iv, Questions: len(cur)}
	c.Diff = c.Current - c.Previous
	c.Significant = iv.Low > 0 || iv.High < 0
	return c
}

// LeaderboardQuery selects a leaderboard: of the latest finished run, or
// of a week or month.
type LeaderboardQuery struct {
	BenchmarkID uuid.UUID
	// Bucket is Week or Month for a bucket's runs; empty means the latest
	// finished run.
	Bucket Bucket
	// At picks the bucket containing At; nil means the newest bucket with
	// a finished run. Only with Bucket set.
	At       *time.Time
	Category *string
	// Seed seeds the bootstrap; 0 means stats.DefaultSeed.
	Seed uint64
}

// Leaderboard ranks a benchmark's models over one run or one bucket.
type Leaderboard struct {
	BenchmarkID uuid.UUID
	// Bucket is Week or Month, empty for the latest run.
	Bucket Bucket
	// Period is set for a bucket, Run for the latest run.
	Period    *Period
	Run       *RunRef
	Category  *string
	Seed      uint64
	Resamples int
	// Entries are by score, best first; ties by model name, then id.
	Entries []Entry
}

// Entry is one model's line in a leaderboard.
type Entry struct {
	// Rank is the position in the order, from 1. RankLow and RankHigh
	// are the band of ranks the intervals allow (see the package doc).
	Rank, RankLow, RankHigh int
	ModelID                 uuid.UUID
	ModelName               string
	// Score is the mean over questions of each question's pass rate.
	Score float64
	// CI is the 95% percentile bootstrap interval of Score over questions.
	CI stats.Interval
	// StdError is the standard deviation of the per-question scores over
	// the square root of Questions.
	StdError  float64
	Questions int
	// N counts the units answered or failed for good.
	N int
	// ErrorRate is the part of N that failed for good.
	ErrorRate float64
	// MeanLatencyMs is the mean over questions of each question's mean
	// latency over its succeeded units; nil when none succeeded.
	MeanLatencyMs *float64
	// CostPer1kQuestions is 1000 times the mean cost of one run's samples
	// of a question.
	CostPer1kQuestions float64
	// PassAtK is empty unless every question was sampled more than once.
	PassAtK []PassAtK
}

// PassAtK is the unbiased pass@k estimate, averaged over questions.
type PassAtK struct {
	K     int
	Value float64
}

// Leaderboard ranks the models of q's period. It returns fault.NotFound
// for an unknown benchmark, or one with no finished run when the period
// is not pinned by At; fault.Invalid for a bad bucket; fault.BadRequest for
// At with the latest run.
func (s *Service) Leaderboard(ctx context.Context, q LeaderboardQuery) (*Leaderboard, error) {
	key := cacheKey("leaderboard", q.Bucket, q.At, q.Category, q.Seed)
	v, err := s.cache.get(ctx, s.store, q.BenchmarkID, key, func() (any, error) { return s.leaderboard(ctx, q) })
	if err != nil {
		return nil, err
	}
	return v.(*Leaderboard), nil
}

func (s *Service) leaderboard(ctx context.Context, q LeaderboardQuery) (*Leaderboard, error) {
	boot := stats.Bootstrap{Resamples: stats.DefaultResamples, Seed: cmp.Or(q.Seed, stats.DefaultSeed)}
	out := &Leaderboard{BenchmarkID: q.BenchmarkID, Bucket: q.Bucket, Category: q.Category, Seed: boot.Seed, Resamples: boot.Resamples, Entries: []Entry{}}
	var in []QuestionStat
	switch q.Bucket {
	case "":
		if q.At != nil {
			return nil, fault.BadRequest("at", "applies only to period week or month")
		}
		runs, err := s.store.LatestRuns(ctx, q.BenchmarkID, nil, 1)
		if err != nil {
			return nil, err
		}
		if len(runs) == 0 {
			return nil, ErrNoFinishedRun
		}
		out.Run = &runs[0]
		if in, err = s.store.RunQuestionStats(ctx, runs[0].ID, q.Category); err != nil {
			return nil, err
		}
	case Week, Month:
		start, err := s.currentBucket(ctx, q.BenchmarkID, q.Bucket, q.At)
		if err != nil {
			return nil, err
		}
		out.Period = &Period{Bucket: q.Bucket, Start: start, End: q.Bucket.Next(start)}
		if in, err = s.store.BucketQuestionStats(ctx, q.BenchmarkID, q.Bucket, start, q.Category); err != nil {
			return nil, err
		}
	default:
		return nil, fault.Invalid("period", "must be latest, week or month")
	}

	models := byModel(in)
	ids := make([]uuid.UUID, 0, len(models))
	for id := range models {
		ids = append(ids, id)
	}
	names, err := s.names(ctx, ids)
	if err != nil {
		return nil, err
	}
	out.Entries = rankModels(models, names, boot, s.each)
	return out, nil
}

// entry computes one model's leaderboard figures, without its rank.
func entry(model uuid.UUID, qs []question, boot stats.Bootstrap) Entry {
	e := Entry{ModelID: model, Questions: len(qs)}
	scores := make([]float64, len(qs))
	var failed, minN int
	var latSum, costSum float64
	var latN int
	for i, q := range qs {
		scores[i] = q.score
		e.N += q.n
		failed += q.failed
		costSum += q.cost
		if q.hasLatency {
			latSum += q.latency
			latN++
		}
		if i == 0 || q.n < minN {
			minN = q.n
		}
	}
	e.Score = stats.Mean(scores)
	e.StdError = stats.StdError(scores)
	e.CI = boot.Mean(scores, stats.StreamFor(boot.Seed, model))
	if e.N > 0 {
		e.ErrorRate = float64(failed) / float64(e.N)
	}
	if latN > 0 {
		m := latSum / float64(latN)
		e.MeanLatencyMs = &m
	}
	if len(qs) > 0 {
		e.CostPer1kQuestions = 1000 * costSum / float64(len(qs))
	}
	e.PassAtK = []PassAtK{}
	if minN > 1 {
		for _, k := range passAtKs {
			if k > minN {
				break
			}
			var sum float64
			for _, q := range qs {
				sum += stats.PassAtK(q.n, q.correct, k)
			}
			e.PassAtK = append(e.PassAtK, PassAtK{K: k, Value: sum / float64(len(qs))})
		}
	}
	return e
}

// rank orders entries by score, best first (ties by model name, then id),
// and sets their ranks and rank bands.
func rank(entries []Entry) {
	slices.SortFunc(entries, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), byName(a.ModelName, b.ModelName, a.ModelID, b.ModelID))
	})
	ivs := make([]stats.Interval, len(entries))
	for i := range entries {
		ivs[i] = entries[i].CI
	}
	low, high := stats.RankBands(ivs)
	for i := range entries {
		entries[i].Rank, entries[i].RankLow, entries[i].RankHigh = i+1, low[i], high[i]
	}
}

// Drift is what changed for one model between its last two finished runs
// of a benchmark.
type Drift struct {
	ModelID, BenchmarkID    uuid.UUID
	ModelName               string
	CurrentRun, PreviousRun RunRef
	Regressed, Improved     int
	Unchanged               int
	// Questions are the questions whose verdict flipped: regressions
	// first, then improvements, each by question id.
	Questions []DriftQuestion
}

// DriftQuestion is one question whose majority verdict flipped.
type DriftQuestion struct {
	QuestionID uuid.UUID
	Category   string
	// CurrentRevisionID is the revision the current run asked; Prompt
	// the start of its prompt, to read beside the id.
	CurrentRevisionID                 uuid.UUID
	Prompt                            string
	PreviousRevision, CurrentRevision int
	PreviousPassRate, CurrentPassRate float64
	// Regressed is true when the question went from passing to failing.
	Regressed bool
}

// Drift compares a model's last two finished runs of a benchmark, question
// by question (by question, not revision: an edit that fixed or broke a
// question is drift too). A question passes when at least half its units
// passed. It returns fault.NotFound for an unknown model or benchmark and
// fault.KindConflict when the model has fewer than two finished runs of
// the benchmark.
func (s *Service) Drift(ctx context.Context, modelID, benchmarkID uuid.UUID) (*Drift, error) {
	runs, err := s.store.LatestRuns(ctx, benchmarkID, &modelID, 2)
	if err != nil {
		return nil, err
	}
	if len(runs) < 2 {
		return nil, fault.Conflict("the model has %d finished run(s) of the benchmark; drift needs two", len(runs))
	}
	out := &Drift{ModelID: modelID, BenchmarkID: benchmarkID, CurrentRun: runs[0], PreviousRun: runs[1], Questions: []DriftQuestion{}}
	var cur, prev []QuestionStat
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { cur, err = s.store.RunQuestionStats(gctx, runs[0].ID, nil); return err })
	g.Go(func() (err error) { prev, err = s.store.RunQuestionStats(gctx, runs[1].ID, nil); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	before := map[uuid.UUID]*QuestionStat{}
	for i := range prev {
		if st := &prev[i]; st.ModelID == modelID && st.N > 0 {
			before[st.QuestionID] = st
		}
	}
	for i := range cur {
		st := &cur[i]
		if st.ModelID != modelID || st.N <= 0 {
			continue
		}
		p, ok := before[st.QuestionID]
		if !ok {
			continue
		}
		was, is := passRate(p), passRate(st)
		if (was >= 0.5) == (is >= 0.5) {
			out.Unchanged++
			continue
		}
		dq := DriftQuestion{
			QuestionID: st.QuestionID, Category: st.Category, CurrentRevisionID: st.RevisionID,
			PreviousRevision: p.Revision, CurrentRevision: st.Revision,
			PreviousPassRate: was, CurrentPassRate: is, Regressed: was >= 0.5,
		}
		if dq.Regressed {
			out.Regressed++
		} else {
			out.Improved++
		}
		out.Questions = append(out.Questions, dq)
	}
	slices.SortFunc(out.Questions, func(a, b DriftQuestion) int {
		if a.Regressed != b.Regressed {
			if a.Regressed {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.QuestionID[:], b.QuestionID[:])
	})
	return out, s.nameDrift(ctx, out)
}

// nameDrift fills in the names a person reads beside the drift's ids: the
// model's, and the start of each flipped question's prompt.
func (s *Service) nameDrift(ctx context.Context, d *Drift) error {
	names, err := s.names(ctx, []uuid.UUID{d.ModelID})
	if err != nil {
		return err
	}
	d.ModelName = names[d.ModelID]
	if len(d.Questions) == 0 {
		return nil
	}
	revs := make([]uuid.UUID, len(d.Questions))
	for i, q := range d.Questions {
		revs[i] = q.CurrentRevisionID
	}
	prompts, err := s.store.PromptExcerpts(ctx, revs)
	if err != nil {
		return fmt.Errorf("prompt excerpts: %w", err)
	}
	for i := range d.Questions {
		d.Questions[i].Prompt = prompts[d.Questions[i].CurrentRevisionID]
	}
	return nil
}

func passRate(st *QuestionStat) float64 { return float64(st.Correct) / float64(st.N) }

// each runs f(0..n-1) on at most s.workers goroutines: the bootstraps are
// CPU-bound and independent, one per model.
func (s *Service) each(n int, f func(i int)) {
	if n <= 1 || s.workers <= 1 {
		sequential(n, f)
		return
	}
	var g errgroup.Group
	g.SetLimit(s.workers)
	for i := range n {
		g.Go(func() error { f(i); return nil })
	}
	_ = g.Wait()
}

// names looks up the names of models.
func (s *Service) names(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	if len(ids) == 0 {
		return map[uuid.UUID]string{}, nil
	}
	names, err := s.store.ModelNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("model names: %w", err)
	}
	return names, nil
}

func byName(aName, bName string, aID, bID uuid.UUID) int {
	return cmp.Or(cmp.Compare(aName, bName), bytes.Compare(aID[:], bID[:]))
}
