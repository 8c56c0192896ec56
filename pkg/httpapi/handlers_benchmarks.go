package httpapi

import (
	"context"

	"github.com/google/uuid"

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
		Alerts: fromAlertsInput(b.Alerts),
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	out, err := a.s.store.CreateBenchmark(ctx, in, a.s.cfg.Limits.MaxUnits)
	if err != nil {
		return nil, err
	}
	rendered, err := a.renderBenchmarks(ctx, out)
	if err != nil {
		return nil, err
	}
	return oapi.CreateBenchmark201JSONResponse(rendered[0]), nil
}

// ListBenchmarks lists the benchmarks that are not archived (deleted
// benchmarks with runs are archived), in creation order.
func (a *api) ListBenchmarks(ctx context.Context, req oapi.ListBenchmarksRequestObject) (oapi.ListBenchmarksResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	page, err := a.s.store.ListBenchmarks(ctx, false, limit, cursor)
	if err != nil {
		return nil, err
	}
	bs := make([]*catalog.Benchmark, len(page.Items))
	for i := range page.Items {
		bs[i] = &page.Items[i]
	}
	items, err := a.renderBenchmarks(ctx, bs...)
	if err != nil {
		return nil, err
	}
	return benchmarksPage{streamedPage{
		n: len(items), next: page.Next,
		item:  func(i int) any { return items[i] },
		after: func(i int) string { return store.IDCursor(page.Items[i].ID) },
	}}, nil
}

// GetBenchmark returns a benchmark with the units a run of it would have.
func (a *api) GetBenchmark(ctx context.Context, req oapi.GetBenchmarkRequestObject) (oapi.GetBenchmarkResponseObject, error) {
	b, err := a.s.store.GetBenchmark(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	rendered, err := a.renderBenchmarks(ctx, b)
	if err != nil {
		return nil, err
	}
	return oapi.GetBenchmark200JSONResponse(rendered[0]), nil
}

// UpdateBenchmark changes the given fields; the result is held to the same
// fan-out cap as a new benchmark.
func (a *api) UpdateBenchmark(ctx context.Context, req oapi.UpdateBenchmarkRequestObject) (oapi.UpdateBenchmarkResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	patch := catalog.BenchmarkPatch{Name: b.Name, Schedule: fromSchedulePatch(b.Schedule), Alerts: fromAlertsInput(b.Alerts)}
	patch.RemoveAlerts = patch.Alerts == nil && alertsNulled(ctx)
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
	rendered, err := a.renderBenchmarks(ctx, out)
	if err != nil {
		return nil, err
	}
	return oapi.UpdateBenchmark200JSONResponse(rendered[0]), nil
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
	rendered, err := a.renderBenchmarks(ctx, out)
	if err != nil {
		return nil, err
	}
	return oapi.SetBenchmarkBudget200JSONResponse(rendered[0]), nil
}

// renderBenchmarks renders benchmarks with the latest run of each
// schedule, read for all of them in one query.
func (a *api) renderBenchmarks(ctx context.Context, bs ...*catalog.Benchmark) ([]oapi.Benchmark, error) {
	out := make([]oapi.Benchmark, len(bs))
	ids := make([]uuid.UUID, 0, len(bs))
	for i, b := range bs {
		out[i] = toBenchmark(b)
		if b.Schedule != nil {
			ids = append(ids, b.ID)
		}
	}
	last, err := a.s.store.LastScheduledRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if r, ok := last[out[i].Id]; ok && out[i].Schedule != nil {
			out[i].Schedule.LastRun = toScheduleLastRun(r)
		}
	}
	return out, nil
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
