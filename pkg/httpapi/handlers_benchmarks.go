package httpapi

import (
	"context"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/store"
)

// CreateBenchmark groups suites and models under a config, refusing one
// whose fan-out would exceed the server's cap.
func (a *api) CreateBenchmark(ctx context.Context, req oapi.CreateBenchmarkRequestObject) (oapi.CreateBenchmarkResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	in := catalog.BenchmarkInput{
		Name: b.Name, SuiteIDs: b.SuiteIds, ModelIDs: b.ModelIds, Config: fromBenchmarkConfig(b.Config), Schedule: fromScheduleInput(b.Schedule),
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	out, err := a.s.store.CreateBenchmark(ctx, in, a.s.cfg.Limits.MaxUnits)
	if err != nil {
		return nil, err
	}
	return oapi.CreateBenchmark201JSONResponse(toBenchmark(out)), nil
}

// ListBenchmarks lists the benchmarks that are not archived (deleted
// benchmarks with runs are archived), in creation order.
func (a *api) ListBenchmarks(ctx context.Context, req oapi.ListBenchmarksRequestObject) (oapi.ListBenchmarksResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	page, err := a.s.store.ListBenchmarks(ctx, false, limit, cursor)
	if err != nil {
		return nil, err
	}
	return benchmarksPage{streamedPage{
		n: len(page.Items), next: page.Next,
		item:  func(i int) any { return toBenchmark(&page.Items[i]) },
		after: func(i int) string { return store.IDCursor(page.Items[i].ID) },
	}}, nil
}

// GetBenchmark returns a benchmark with the units a run of it would have.
func (a *api) GetBenchmark(ctx context.Context, req oapi.GetBenchmarkRequestObject) (oapi.GetBenchmarkResponseObject, error) {
	b, err := a.s.store.GetBenchmark(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetBenchmark200JSONResponse(toBenchmark(b)), nil
}

// UpdateBenchmark changes the given fields; the result is held to the same
// fan-out cap as a new benchmark.
func (a *api) UpdateBenchmark(ctx context.Context, req oapi.UpdateBenchmarkRequestObject) (oapi.UpdateBenchmarkResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	patch := catalog.BenchmarkPatch{Name: b.Name, Schedule: fromSchedulePatch(b.Schedule)}
	if b.SuiteIds != nil {
		patch.SuiteIDs = nonNil(*b.SuiteIds)
	}
	if b.ModelIds != nil {
		patch.ModelIDs = nonNil(*b.ModelIds)
	}
	if b.Config != nil {
		c := fromBenchmarkConfig(b.Config)
		patch.Config = &c
	}
	if err := patch.Validate(); err != nil {
		return nil, err
	}
	out, err := a.s.store.UpdateBenchmark(ctx, req.Id, patch, a.s.cfg.Limits.MaxUnits)
	if err != nil {
		return nil, err
	}
	return oapi.UpdateBenchmark200JSONResponse(toBenchmark(out)), nil
}

// SetBenchmarkBudget sets or removes a benchmark's monthly spend budget;
// the scope table lets only admin tokens here.
func (a *api) SetBenchmarkBudget(ctx context.Context, req oapi.SetBenchmarkBudgetRequestObject) (oapi.SetBenchmarkBudgetResponseObject, error) {
	if req.Body == nil {
		return nil, errNoBody
	}
	out, err := a.s.store.SetBenchmarkBudget(ctx, req.Id, req.Body.MaxCostUsdPerMonth)
	if err != nil {
		return nil, err
	}
	return oapi.SetBenchmarkBudget200JSONResponse(toBenchmark(out)), nil
}

// EstimateBenchmark estimates the tokens and cost of a run of a benchmark
// started now.
func (a *api) EstimateBenchmark(ctx context.Context, req oapi.EstimateBenchmarkRequestObject) (oapi.EstimateBenchmarkResponseObject, error) {
	est, err := a.s.store.EstimateBenchmark(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.EstimateBenchmark200JSONResponse(toEstimate(est)), nil
}

// DeleteBenchmark deletes a benchmark, or archives it (disabling its
// schedule) when it has runs.
func (a *api) DeleteBenchmark(ctx context.Context, req oapi.DeleteBenchmarkRequestObject) (oapi.DeleteBenchmarkResponseObject, error) {
	if _, err := a.s.store.DeleteBenchmark(ctx, req.Id); err != nil {
		return nil, err
	}
	return oapi.DeleteBenchmark204Response{}, nil
}
