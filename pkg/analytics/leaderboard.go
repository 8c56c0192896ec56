package analytics

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/stats"
)

// passAtKs are the k that pass@k is reported for, those at most the
// smallest number of samples of any of the model's questions.
var passAtKs = [...]int{1, 2, 5, 10, 20, 50, 100}

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

// Entry is one model's line in a leaderboard: of a benchmark's latest run,
// week or month (Leaderboard), or of one finished run as finalization
// stores it (RunRanking).
type Entry struct {
	// Rank is the position in the order, from 1: ranks are strictly 1..n
	// even when scores tie, so that a leaderboard always has one order.
	// RankLow and RankHigh are the band of ranks the intervals allow (see
	// the package doc).
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
	// N counts the units answered or failed for good; Correct those that
	// passed, Failed those that failed for good.
	N, Correct, Failed int
	// ErrorRate is Failed/N, or 0 when N is 0.
	ErrorRate float64
	// MeanLatencyMs is the mean over questions of each question's mean
	// latency over its succeeded units; nil when none succeeded.
	MeanLatencyMs *float64
	// CostUSD is what the model's units cost in all.
	CostUSD float64
	// CostPer1kQuestions is 1000 times the mean cost of one run's samples
	// of a question.
	CostPer1kQuestions float64
	// PassAtK is empty unless every question was sampled more than once.
	PassAtK []PassAtK
	// Unscored counts the answered units left out of N and the score
	// because they have no verdict (their judges failed or could not be
	// parsed).
	Unscored int
	// TTFTP50Ms is the median time to first token over the model's
	// succeeded units that reported one; nil when none did. Only a run's
	// overall rankings carry it (read from the run's units).
	TTFTP50Ms *float64
}

// PassAtK is the unbiased pass@k estimate, averaged over questions. Its
// JSON form is how finalization stores a run's estimates.
type PassAtK struct {
	K     int     `json:"k"`
	Value float64 `json:"value"`
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
		if in, err = s.store.RunQuestionStats(ctx, runs[0].ID, nil, q.Category); err != nil {
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
	// Every model of the tallies, a model whose units are all unscored
	// too (withUnscored gives it an entry).
	seen := make(map[uuid.UUID]bool, len(models))
	ids := make([]uuid.UUID, 0, len(models))
	for i := range in {
		if id := in[i].ModelID; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	names, err := s.names(ctx, ids)
	if err != nil {
		return nil, err
	}
	out.Entries = withUnscored(rankModels(models, names, boot, s.each), in, names)
	return out, nil
}

// entry computes one model's leaderboard figures, without its rank.
func entry(model uuid.UUID, qs []question, boot stats.Bootstrap) Entry {
	e := Entry{ModelID: model, Questions: len(qs)}
	scores := make([]float64, len(qs))
	var minN int
	var latSum, costSum float64
	var latN int
	for i, q := range qs {
		scores[i] = q.score
		e.N += q.n
		e.Correct += q.correct
		e.Failed += q.failed
		e.CostUSD += q.totalCost
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
		e.ErrorRate = float64(e.Failed) / float64(e.N)
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
