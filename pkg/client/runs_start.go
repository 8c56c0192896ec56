package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// StartRunWith starts a run of a benchmark with options of its own
// (POST /v1/benchmarks/{id}/runs): a spend cap (max_cost_usd) or a number
// of samples that replace the benchmark's for this run. The run comes
// back queued.
func (c *Client) StartRunWith(ctx context.Context, benchmarkID uuid.UUID, in oapi.CreateRunRequest) (oapi.Run, error) {
	var out oapi.Run
	err := c.Do(ctx, http.MethodPost, "/v1/benchmarks/"+benchmarkID.String()+"/runs", in, &out)
	return out, err
}

// refollowPause is how long WatchRun waits before following a run again
// after its event stream dropped, doubled up to refollowMax while the
// stream keeps dropping without news.
// After refollowTries streams in a row that brought nothing, WatchRun
// polls instead.
const (
	refollowPause = 250 * time.Millisecond
	refollowMax   = 5 * time.Second
	refollowTries = 5
)

// WatchRun follows a run to its end as a long-lived client must: through
// its event stream (FollowRun), following again when the stream drops (a
// restarted api replica, a proxy's idle timeout), and by reading the run
// every poll (WaitRun) when the server answers the event stream with an
// error rather than events (an older server, a proxy that refuses
// streams). each is called as by FollowRun; the run may repeat across a
// re-follow. It returns the run as it ended, or ctx's error.
func (c *Client) WatchRun(ctx context.Context, id uuid.UUID, poll time.Duration, each func(oapi.Run) error) (oapi.Run, error) {
	pause, fruitless := refollowPause, 0
	var last oapi.Run
	for {
		news := false
		var stop error
		r, err := c.FollowRun(ctx, id, func(r oapi.Run) error {
			news = true
			last = r
			if each == nil {
				return nil
			}
			stop = each(r)
			return stop
		})
		switch {
		case err == nil:
			return r, nil
		case stop != nil:
			return r, stop
		case ctx.Err() != nil:
			return last, fmt.Errorf("follow run %s: %w", id, ctx.Err())
		}
		var apiErr *Error
		if news {
			pause, fruitless = refollowPause, 0
		} else {
			pause, fruitless = min(2*pause, refollowMax), fruitless+1
		}
		if errors.As(err, &apiErr) || fruitless >= refollowTries {
			// The server answered, but not with events, or streams end
			// before they bring any: poll instead. A run that does not
			// exist, or a token that may not read it, fails the first read
			// with its own error.
			return c.WaitRun(ctx, id, poll, each)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, fmt.Errorf("follow run %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// PreviousFinishedRun returns the newest run of r's benchmark created
// before r that finished with results (completed or partial), which a
// comparison with r pairs against; found is false when there is none.
func (c *Client) PreviousFinishedRun(ctx context.Context, r oapi.Run) (prev oapi.Run, found bool, err error) {
	for _, st := range []oapi.RunStatus{oapi.RunStatusCompleted, oapi.RunStatusPartial} {
		p, ok, err := c.newestBefore(ctx, r, st)
		if err != nil {
			return oapi.Run{}, false, err
		}
		if ok && (!found || p.CreatedAt.After(prev.CreatedAt)) {
			prev, found = p, true
		}
	}
	return prev, found, nil
}

// newestBefore is the newest run of r's benchmark in status st created
// before r. Lists are newest first, so it stops at the first such run.
func (c *Client) newestBefore(ctx context.Context, r oapi.Run, st oapi.RunStatus) (oapi.Run, bool, error) {
	f := RunFilter{BenchmarkID: &r.BenchmarkId, Status: &st}
	cursor := ""
	for {
		page, err := c.ListRuns(ctx, f, 100, cursor)
		if err != nil {
			return oapi.Run{}, false, err
		}
		for _, p := range page.Items {
			if p.Id != r.Id && p.CreatedAt.Before(r.CreatedAt) {
				return p, true, nil
			}
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			return oapi.Run{}, false, nil
		}
		cursor = *page.NextCursor
	}
}
