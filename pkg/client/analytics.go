package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// LeaderboardQuery says what LeaderboardOf ranks; its zero value is the
// benchmark's latest finished run over every category.
type LeaderboardQuery struct {
	// Period is latest (the default), week or month.
	Period oapi.LeaderboardPeriod
	// Category keeps one question category; "" keeps them all.
	Category string
	// At picks the week or month containing it; zero means the newest
	// one with a finished run.
	At time.Time
}

// LeaderboardOf ranks a benchmark's models over the runs q picks, with
// confidence intervals and rank bands (GET /v1/leaderboard).
func (c *Client) LeaderboardOf(ctx context.Context, benchmarkID uuid.UUID, q LeaderboardQuery) (oapi.Leaderboard, error) {
	v := url.Values{"benchmark_id": {benchmarkID.String()}}
	if q.Period != "" {
		v.Set("period", string(q.Period))
	}
	if q.Category != "" {
		v.Set("category", q.Category)
	}
	if !q.At.IsZero() {
		v.Set("at", q.At.UTC().Format(time.RFC3339))
	}
	var out oapi.Leaderboard
	err := c.Do(ctx, http.MethodGet, withQuery("/v1/leaderboard", v), nil, &out)
	return out, err
}

// CompareQuery says what Compare compares: two periods (Period, At) or two
// finished runs (CurrentRunID and PreviousRunID, which exclude a period).
type CompareQuery struct {
	// Period is wow (the default) or mom.
	Period oapi.ComparePeriod
	// At picks the current week or month; zero means the newest one with
	// a finished run.
	At time.Time
	// Category keeps one question category; "" keeps them all.
	Category string
	// CurrentRunID and PreviousRunID compare two finished runs of the
	// benchmark: both or neither.
	CurrentRunID, PreviousRunID *uuid.UUID
}

// Compare compares each model of a benchmark between two periods or two
// runs: score, latency and cost with paired bootstrap intervals, and the
// questions whose verdict flipped (GET /v1/analytics/compare).
func (c *Client) Compare(ctx context.Context, benchmarkID uuid.UUID, q CompareQuery) (oapi.Comparison, error) {
	v := url.Values{"benchmark_id": {benchmarkID.String()}}
	if q.Period != "" {
		v.Set("period", string(q.Period))
	}
	if !q.At.IsZero() {
		v.Set("at", q.At.UTC().Format(time.RFC3339))
	}
	if q.Category != "" {
		v.Set("category", q.Category)
	}
	if q.CurrentRunID != nil {
		v.Set("current_run_id", q.CurrentRunID.String())
	}
	if q.PreviousRunID != nil {
		v.Set("previous_run_id", q.PreviousRunID.String())
	}
	var out oapi.Comparison
	err := c.Do(ctx, http.MethodGet, withQuery("/v1/analytics/compare", v), nil, &out)
	return out, err
}
