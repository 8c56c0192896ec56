package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// CreateProvider adds a provider (POST /v1/providers).
func (c *Client) CreateProvider(ctx context.Context, in oapi.CreateProviderRequest) (oapi.Provider, error) {
	var out oapi.Provider
	err := c.Do(ctx, http.MethodPost, "/v1/providers", in, &out)
	return out, err
}

// UpdateProvider changes the fields of a provider that in sets (PATCH
// /v1/providers/{id}).
func (c *Client) UpdateProvider(ctx context.Context, id uuid.UUID, in oapi.UpdateProviderRequest) (oapi.Provider, error) {
	var out oapi.Provider
	err := c.Do(ctx, http.MethodPatch, "/v1/providers/"+id.String(), in, &out)
	return out, err
}

// GetProvider reads a provider with its circuit: whether the worker
// fleet is calling it now (GET /v1/providers/{id}).
func (c *Client) GetProvider(ctx context.Context, id uuid.UUID) (oapi.Provider, error) {
	var out oapi.Provider
	err := c.Do(ctx, http.MethodGet, "/v1/providers/"+id.String(), nil, &out)
	return out, err
}

// ListProviders reads one page of providers with their circuits
// (GET /v1/providers); cursor is "" for the first page.
func (c *Client) ListProviders(ctx context.Context, limit int, cursor string) (oapi.ProviderList, error) {
	var out oapi.ProviderList
	err := c.Do(ctx, http.MethodGet, withQuery("/v1/providers", pageQuery(limit, cursor)), nil, &out)
	return out, err
}

// GetBenchmark reads a benchmark with its schedule and the schedule's
// latest run (GET /v1/benchmarks/{id}).
func (c *Client) GetBenchmark(ctx context.Context, id uuid.UUID) (oapi.Benchmark, error) {
	var out oapi.Benchmark
	err := c.Do(ctx, http.MethodGet, "/v1/benchmarks/"+id.String(), nil, &out)
	return out, err
}

// Session says which token the client calls with, its scopes and when it
// expires (GET /v1/session).
func (c *Client) Session(ctx context.Context) (oapi.Session, error) {
	var out oapi.Session
	err := c.Do(ctx, http.MethodGet, "/v1/session", nil, &out)
	return out, err
}

// CreateModel adds a model of a provider (POST /v1/models).
func (c *Client) CreateModel(ctx context.Context, in oapi.CreateModelRequest) (oapi.Model, error) {
	var out oapi.Model
	err := c.Do(ctx, http.MethodPost, "/v1/models", in, &out)
	return out, err
}

// CreateSuite adds an empty suite (POST /v1/suites).
func (c *Client) CreateSuite(ctx context.Context, in oapi.CreateSuiteRequest) (oapi.Suite, error) {
	var out oapi.Suite
	err := c.Do(ctx, http.MethodPost, "/v1/suites", in, &out)
	return out, err
}

// GetSuite reads a suite (GET /v1/suites/{id}).
func (c *Client) GetSuite(ctx context.Context, id uuid.UUID) (oapi.Suite, error) {
	var out oapi.Suite
	err := c.Do(ctx, http.MethodGet, "/v1/suites/"+id.String(), nil, &out)
	return out, err
}

// ImportQuestions adds questions to a suite in one JSON Lines import
// (POST /v1/suites/{id}/questions:import): all of them or, when a line is
// invalid, none. The API bounds the body's size; split large sets.
func (c *Client) ImportQuestions(ctx context.Context, suiteID uuid.UUID, questions []oapi.CreateQuestionRequest) (oapi.ImportQuestionsResult, error) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body) // one value a line
	for i, q := range questions {
		if err := enc.Encode(q); err != nil {
			return oapi.ImportQuestionsResult{}, fmt.Errorf("import questions: line %d: %w", i+1, err)
		}
	}
	var out oapi.ImportQuestionsResult
	err := c.DoRaw(ctx, http.MethodPost, "/v1/suites/"+suiteID.String()+"/questions:import", "application/x-ndjson", &body, &out)
	return out, err
}

// CreateBenchmark adds a benchmark (POST /v1/benchmarks).
func (c *Client) CreateBenchmark(ctx context.Context, in oapi.CreateBenchmarkRequest) (oapi.Benchmark, error) {
	var out oapi.Benchmark
	err := c.Do(ctx, http.MethodPost, "/v1/benchmarks", in, &out)
	return out, err
}

// FindByName looks through every page of a collection ("/v1/providers",
// "/v1/models", "/v1/suites", "/v1/benchmarks") for the item named name
// and returns its id; found is false when there is none.
func (c *Client) FindByName(ctx context.Context, collection, name string) (id uuid.UUID, found bool, err error) {
	err = eachItem(ctx, c, collection, nil, func(it named) bool {
		if it.Name == name {
			id, found = it.ID, true
		}
		return !found
	})
	return id, found, err
}

// Names lists the names of every item of a collection, in the API's
// order.
func (c *Client) Names(ctx context.Context, collection string) ([]string, error) {
	var names []string
	err := eachItem(ctx, c, collection, nil, func(it named) bool {
		names = append(names, it.Name)
		return true
	})
	return names, err
}

// named is what FindByName and Names read of a collection's items.
type named struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}
