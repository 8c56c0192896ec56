package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// catalogPage is the largest page the catalog lists ask for: the API's
// maximum, so a whole catalog takes few round trips.
const catalogPage = 200

// listAll reads every page of a list at path (which may carry a query of
// its own) and returns the items in the API's order.
func listAll[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	var all []T
	err := eachItem(ctx, c, path, q, func(it T) bool {
		all = append(all, it)
		return true
	})
	return all, err
}

// eachItem calls fn with each item of the list at path, page by page,
// until fn returns false or the pages end.
func eachItem[T any](ctx context.Context, c *Client, path string, q url.Values, fn func(T) bool) error {
	cursor := ""
	for {
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		pq.Set("limit", strconv.Itoa(catalogPage))
		if cursor != "" {
			pq.Set("cursor", cursor)
		}
		var page struct {
			Items      []T              `json:"items"`
			NextCursor *oapi.NextCursor `json:"next_cursor"`
		}
		if err := c.Do(ctx, http.MethodGet, withQuery(path, pq), nil, &page); err != nil {
			return err
		}
		for _, it := range page.Items {
			if !fn(it) {
				return nil
			}
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			return nil
		}
		cursor = *page.NextCursor
	}
}

// AllProviders reads every provider, page by page (GET /v1/providers).
func (c *Client) AllProviders(ctx context.Context) ([]oapi.Provider, error) {
	return listAll[oapi.Provider](ctx, c, "/v1/providers", nil)
}

// AllModels reads every model, page by page (GET /v1/models); archived
// ones too when includeArchived.
func (c *Client) AllModels(ctx context.Context, includeArchived bool) ([]oapi.Model, error) {
	q := url.Values{}
	if includeArchived {
		q.Set("include_archived", "true")
	}
	return listAll[oapi.Model](ctx, c, "/v1/models", q)
}

// AllSuites reads every suite that is not archived, page by page (GET
// /v1/suites).
func (c *Client) AllSuites(ctx context.Context) ([]oapi.Suite, error) {
	return listAll[oapi.Suite](ctx, c, "/v1/suites", nil)
}

// AllQuestions reads the current revision of every active question of a
// suite, page by page (GET /v1/suites/{id}/questions).
func (c *Client) AllQuestions(ctx context.Context, suiteID uuid.UUID) ([]oapi.Question, error) {
	return listAll[oapi.Question](ctx, c, "/v1/suites/"+suiteID.String()+"/questions", nil)
}

// AllBenchmarks reads every benchmark that is not archived, page by page
// (GET /v1/benchmarks).
func (c *Client) AllBenchmarks(ctx context.Context) ([]oapi.Benchmark, error) {
	return listAll[oapi.Benchmark](ctx, c, "/v1/benchmarks", nil)
}

// UpdateModel changes the fields of a model that in sets (PATCH
// /v1/models/{id}).
func (c *Client) UpdateModel(ctx context.Context, id uuid.UUID, in oapi.UpdateModelRequest) (oapi.Model, error) {
	var out oapi.Model
	err := c.Do(ctx, http.MethodPatch, "/v1/models/"+id.String(), in, &out)
	return out, err
}

// UpdateSuite changes the fields of a suite that in sets (PATCH
// /v1/suites/{id}).
func (c *Client) UpdateSuite(ctx context.Context, id uuid.UUID, in oapi.UpdateSuiteRequest) (oapi.Suite, error) {
	var out oapi.Suite
	err := c.Do(ctx, http.MethodPatch, "/v1/suites/"+id.String(), in, &out)
	return out, err
}

// UpdateQuestion makes a new revision of a question with the fields in
// sets changed (PATCH /v1/questions/{id}).
func (c *Client) UpdateQuestion(ctx context.Context, id uuid.UUID, in oapi.UpdateQuestionRequest) (oapi.Question, error) {
	var out oapi.Question
	err := c.Do(ctx, http.MethodPatch, "/v1/questions/"+id.String(), in, &out)
	return out, err
}

// UpdateBenchmark changes the fields of a benchmark that in sets (PATCH
// /v1/benchmarks/{id}); a config given replaces the whole config.
func (c *Client) UpdateBenchmark(ctx context.Context, id uuid.UUID, in oapi.UpdateBenchmarkRequest) (oapi.Benchmark, error) {
	var out oapi.Benchmark
	err := c.Do(ctx, http.MethodPatch, "/v1/benchmarks/"+id.String(), in, &out)
	return out, err
}

// SetBenchmarkBudget sets or (with a nil amount) removes a benchmark's
// monthly spend budget (PUT /v1/benchmarks/{id}/budget; admin scope).
func (c *Client) SetBenchmarkBudget(ctx context.Context, id uuid.UUID, in oapi.BenchmarkBudget) (oapi.Benchmark, error) {
	var out oapi.Benchmark
	err := c.Do(ctx, http.MethodPut, "/v1/benchmarks/"+id.String()+"/budget", in, &out)
	return out, err
}

// DeleteProvider deletes a provider that no model uses (DELETE
// /v1/providers/{id}); one that models use is a 409.
func (c *Client) DeleteProvider(ctx context.Context, id uuid.UUID) error {
	return c.Do(ctx, http.MethodDelete, "/v1/providers/"+id.String(), nil, nil)
}

// DeleteModel deletes a model, or archives it when history refers to it
// (DELETE /v1/models/{id}).
func (c *Client) DeleteModel(ctx context.Context, id uuid.UUID) error {
	return c.Do(ctx, http.MethodDelete, "/v1/models/"+id.String(), nil, nil)
}

// DeleteSuite deletes a suite, or archives it when history refers to it
// (DELETE /v1/suites/{id}).
func (c *Client) DeleteSuite(ctx context.Context, id uuid.UUID) error {
	return c.Do(ctx, http.MethodDelete, "/v1/suites/"+id.String(), nil, nil)
}

// DeleteQuestion archives a question (DELETE /v1/questions/{id}).
func (c *Client) DeleteQuestion(ctx context.Context, id uuid.UUID) error {
	return c.Do(ctx, http.MethodDelete, "/v1/questions/"+id.String(), nil, nil)
}

// DeleteBenchmark deletes a benchmark, or archives it when it has runs
// (DELETE /v1/benchmarks/{id}).
func (c *Client) DeleteBenchmark(ctx context.Context, id uuid.UUID) error {
	return c.Do(ctx, http.MethodDelete, "/v1/benchmarks/"+id.String(), nil, nil)
}
