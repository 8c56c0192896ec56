package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// ResultFilter narrows ResultsPage; a nil field does not.
type ResultFilter struct {
	ModelID *uuid.UUID
	// QuestionID keeps one question's results: every model's answers.
	QuestionID *uuid.UUID
	// Status keeps the units in one status, such as failed.
	Status *oapi.ExecutionStatus
}

// ResultsPage reads one page of a run's results (GET /v1/runs/{id}/results):
// the units with their evaluations and effective verdicts, narrowed by f.
// cursor is "" for the first page, then the page's NextCursor; limit 0
// means the API's default.
func (c *Client) ResultsPage(ctx context.Context, runID uuid.UUID, f ResultFilter, limit int, cursor string) (oapi.ExecutionList, error) {
	var out oapi.ExecutionList
	err := c.Do(ctx, http.MethodGet, withQuery("/v1/runs/"+runID.String()+"/results", f.query(pageQuery(limit, cursor))), nil, &out)
	return out, err
}

// query adds f's narrowing to q, the query of GET /v1/runs/{id}/results
// (a page or an export), and returns it.
func (f ResultFilter) query(q url.Values) url.Values {
	if f.ModelID != nil {
		q.Set("model_id", f.ModelID.String())
	}
	if f.QuestionID != nil {
		q.Set("question_id", f.QuestionID.String())
	}
	if f.Status != nil {
		q.Set("status", string(*f.Status))
	}
	return q
}

// pageQuery is the query of one page of a list: limit 0 means the API's
// default, cursor "" the first page.
func pageQuery(limit int, cursor string) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return q
}

// withQuery appends q to path when it has any value.
func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Results reads every result of a run, page by page.
func (c *Client) Results(ctx context.Context, runID uuid.UUID) ([]oapi.Execution, error) {
	var all []oapi.Execution
	cursor := ""
	for {
		page, err := c.ResultsPage(ctx, runID, ResultFilter{}, 0, cursor)
		if err != nil {
			return all, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return all, nil
		}
		cursor = *page.NextCursor
	}
}

// Review records a person's verdict on one unit of a finished run
// (PUT /v1/executions/{id}/review), id being the result's Id; the answer
// is the review as the unit's "human" evaluation.
func (c *Client) Review(ctx context.Context, executionID string, in oapi.ReviewRequest) (oapi.Evaluation, error) {
	var out oapi.Evaluation
	err := c.Do(ctx, http.MethodPut, "/v1/executions/"+url.PathEscape(executionID)+"/review", in, &out)
	return out, err
}

// Rescore asks for a new scoring version of a finished run
// (POST /v1/runs/{id}/rescore); in may be the zero value for each
// question's current scoring. When nothing would change, the answer is the
// run's current version with Created false.
func (c *Client) Rescore(ctx context.Context, runID uuid.UUID, in oapi.RescoreRequest) (oapi.Rescore, error) {
	var out oapi.Rescore
	err := c.Do(ctx, http.MethodPost, "/v1/runs/"+runID.String()+"/rescore", in, &out)
	return out, err
}

// Rescores lists a run's scoring versions after its first
// (GET /v1/runs/{id}/rescores).
func (c *Client) Rescores(ctx context.Context, runID uuid.UUID) ([]oapi.Rescore, error) {
	var out oapi.RescoreList
	err := c.Do(ctx, http.MethodGet, "/v1/runs/"+runID.String()+"/rescores", nil, &out)
	return out.Items, err
}

// GetRescore reads one scoring version of a run with its progress
// (GET /v1/runs/{id}/rescores/{version}).
func (c *Client) GetRescore(ctx context.Context, runID uuid.UUID, version int) (oapi.Rescore, error) {
	var out oapi.Rescore
	err := c.Do(ctx, http.MethodGet, "/v1/runs/"+runID.String()+"/rescores/"+strconv.Itoa(version), nil, &out)
	return out, err
}

// WaitRescore reads a rescore every interval until it is no longer
// running and returns it as it ended. It returns ctx's error when ctx ends
// first; bound the wait with a deadline on ctx.
func (c *Client) WaitRescore(ctx context.Context, runID uuid.UUID, version int, interval time.Duration) (oapi.Rescore, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r, err := c.GetRescore(ctx, runID, version)
		if err != nil || r.Status != oapi.RescoreStatusRunning {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("wait for rescore %d of run %s (%d/%d done): %w", version, runID, r.Done, r.Total, ctx.Err())
		case <-t.C:
		}
	}
}

// RetryFailed runs a finished run's failed units again
// (POST /v1/runs/{id}/retry-failed); the run comes back running. Follow
// it with WaitRun.
func (c *Client) RetryFailed(ctx context.Context, runID uuid.UUID) (oapi.Run, error) {
	var out oapi.Run
	err := c.Do(ctx, http.MethodPost, "/v1/runs/"+runID.String()+"/retry-failed", nil, &out)
	return out, err
}

// Agreement reads how far a run's judges agree with each other and with
// reviewers (GET /v1/runs/{id}/agreement).
func (c *Client) Agreement(ctx context.Context, runID uuid.UUID) (oapi.Agreement, error) {
	var out oapi.Agreement
	err := c.Do(ctx, http.MethodGet, "/v1/runs/"+runID.String()+"/agreement", nil, &out)
	return out, err
}

// Leaderboard ranks a benchmark's models over its latest finished run
// (GET /v1/leaderboard).
func (c *Client) Leaderboard(ctx context.Context, benchmarkID uuid.UUID) (oapi.Leaderboard, error) {
	var out oapi.Leaderboard
	err := c.Do(ctx, http.MethodGet, "/v1/leaderboard?benchmark_id="+benchmarkID.String(), nil, &out)
	return out, err
}
