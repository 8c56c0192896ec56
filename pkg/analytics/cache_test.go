package analytics_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
)

// TestService_CacheFollowsDataVersion: a leaderboard is computed once per
// data version; when a run finishes (the version moves) it is computed
// again from the new tallies.
func TestService_CacheFollowsDataVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	alpha := modelID(1)
	version, reads := "1", 0
	correct := 2
	st := &fakeStore{
		version: func() string { return version },
		latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) {
			return []analytics.RunRef{{ID: runID(1), BenchmarkID: benchmarkID}}, nil
		},
		runStats: func(uuid.UUID, *string) ([]analytics.QuestionStat, error) {
			reads++
			return []analytics.QuestionStat{stat(alpha, 0, 2, correct)}, nil
		},
		names: map[uuid.UUID]string{alpha: "alpha"},
	}
	s := analytics.NewService(st)
	q := analytics.LeaderboardQuery{BenchmarkID: benchmarkID}
	first, err := s.Leaderboard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Leaderboard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if reads != 1 || again != first {
		t.Fatalf("same version: %d reads, same answer %v; want 1 read and the cached answer", reads, again == first)
	}
	other := "math"
	if _, err := s.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Category: &other}); err != nil || reads != 2 {
		t.Fatalf("another query: %d reads, %v; want it computed", reads, err)
	}
	version, correct = "2", 0
	moved, err := s.Leaderboard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if reads != 3 || moved.Entries[0].Score != 0 || first.Entries[0].Score != 1 {
		t.Fatalf("after the version moved: %d reads, score %v (was %v)", reads, moved.Entries[0].Score, first.Entries[0].Score)
	}
}
