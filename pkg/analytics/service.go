package analytics

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/fault"
)

// ErrNoFinishedRun answers a comparison or leaderboard of a benchmark that
// has nothing to show yet (or does not exist: the Store's reads answer
// empty for an unknown benchmark).
var ErrNoFinishedRun = &fault.Error{Kind: fault.KindNotFound, Field: "benchmark_id", Message: "the benchmark has no finished run"}

// Service computes time series, comparisons, leaderboards and drift from
// what a Store reads. Its only state is a cache of comparisons and
// leaderboards that a new data version invalidates; it is safe for
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

// sequential runs f(0..n-1) one after another.
func sequential(n int, f func(i int)) {
	for i := range n {
		f(i)
	}
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
