package analytics

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/stats"
)

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
	// Changed are the questions whose majority verdict flipped between
	// the periods (by question, as drift counts them: an edited question
	// is still the same question here), at most MaxChangedQuestions.
	Changed Flips
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
		g.Go(func() (err error) {
			cur, err = s.store.RunQuestionStats(gctx, curRun.ID, nil, q.Category)
			return err
		})
		g.Go(func() (err error) {
			prev, err = s.store.RunQuestionStats(gctx, prevRun.ID, nil, q.Category)
			return err
		})
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

	pairs, unpaired := pairModels(cur, prev)
	out.UnpairedModels = append(out.UnpairedModels, unpaired...)

	out.Models = make([]ModelChange, len(pairs))
	ids := slices.Clone(out.UnpairedModels)
	s.each(len(pairs), func(i int) { out.Models[i] = pairs[i].change(boot) })
	curV, prevV := verdicts(cur), verdicts(prev)
	changed := make([][]DriftQuestion, len(pairs))
	for i := range pairs {
		ids = append(ids, pairs[i].model)
		out.Models[i].Changed = flips(curV[pairs[i].model], prevV[pairs[i].model], MaxChangedQuestions)
		changed[i] = out.Models[i].Changed.Questions
	}
	if err := s.namePrompts(ctx, changed...); err != nil {
		return nil, err
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

// pairModels aligns each model's questions of two sets of tallies: the
// models with questions on both sides, in model id order, and those that
// cannot be compared (on one side only, or sharing no question revision),
// in id order.
func pairModels(cur, prev []QuestionStat) (pairs []modelPairs, unpaired []uuid.UUID) {
	curBy, prevBy := byModel(cur), byModel(prev)
	unpaired = []uuid.UUID{}
	for id, c := range curBy {
		p, ok := prevBy[id]
		if !ok {
			unpaired = append(unpaired, id)
			continue
		}
		mp := pair(id, c, p)
		if len(mp.cur) == 0 {
			unpaired = append(unpaired, id)
			continue
		}
		pairs = append(pairs, mp)
	}
	for id := range prevBy {
		if _, ok := curBy[id]; !ok {
			unpaired = append(unpaired, id)
		}
	}
	slices.SortFunc(pairs, func(a, b modelPairs) int { return bytes.Compare(a.model[:], b.model[:]) })
	slices.SortFunc(unpaired, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return pairs, unpaired
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
