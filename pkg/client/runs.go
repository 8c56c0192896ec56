package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
)

// StartRun starts a run of a benchmark with the benchmark's own options
// (POST /v1/benchmarks/{id}/runs); the run comes back queued.
func (c *Client) StartRun(ctx context.Context, benchmarkID uuid.UUID) (oapi.Run, error) {
	var out oapi.Run
	err := c.Do(ctx, http.MethodPost, "/v1/benchmarks/"+benchmarkID.String()+"/runs", nil, &out)
	return out, err
}

// GetRun reads a run with its progress (GET /v1/runs/{id}).
func (c *Client) GetRun(ctx context.Context, id uuid.UUID) (oapi.Run, error) {
	var out oapi.Run
	err := c.Do(ctx, http.MethodGet, "/v1/runs/"+id.String(), nil, &out)
	return out, err
}

// RunFilter narrows ListRuns; a nil field does not.
type RunFilter struct {
	BenchmarkID *uuid.UUID
	Status      *oapi.RunStatus
	// Trigger keeps the runs started one way: api, manual or schedule.
	Trigger *oapi.RunTrigger
}

// ListRuns reads one page of runs, newest first (GET /v1/runs), narrowed
// by f; cursor is "" for the first page, then the page's NextCursor.
func (c *Client) ListRuns(ctx context.Context, f RunFilter, limit int, cursor string) (oapi.RunList, error) {
	q := pageQuery(limit, cursor)
	if f.BenchmarkID != nil {
		q.Set("benchmark_id", f.BenchmarkID.String())
	}
	if f.Status != nil {
		q.Set("status", string(*f.Status))
	}
	if f.Trigger != nil {
		q.Set("trigger", string(*f.Trigger))
	}
	var out oapi.RunList
	err := c.Do(ctx, http.MethodGet, withQuery("/v1/runs", q), nil, &out)
	return out, err
}

// Rankings reads a finished run's rankings (GET /v1/runs/{id}/rankings).
func (c *Client) Rankings(ctx context.Context, runID uuid.UUID) (oapi.Rankings, error) {
	var out oapi.Rankings
	err := c.Do(ctx, http.MethodGet, "/v1/runs/"+runID.String()+"/rankings", nil, &out)
	return out, err
}

// Final reports whether a run's status will never change again.
func Final(r oapi.Run) bool { return run.Status(r.Status).Final() }

// WaitRun reads the run every interval until its status is final and
// returns it as it ended, whatever the status (completed, partial, failed
// or cancelled). Between reads it calls each (when not nil) with the run
// as last read, for progress reports or checks of the caller's own: an
// error from each stops the wait. It returns ctx's error when ctx ends
// first; bound the wait with a deadline on ctx.
func (c *Client) WaitRun(ctx context.Context, id uuid.UUID, interval time.Duration, each func(oapi.Run) error) (oapi.Run, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r, err := c.GetRun(ctx, id)
		if err != nil {
			return r, err
		}
		if Final(r) {
			return r, nil
		}
		if each != nil {
			if err := each(r); err != nil {
				return r, err
			}
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("wait for run %s (last %s): %w", id, r.Status, ctx.Err())
		case <-t.C:
		}
	}
}
