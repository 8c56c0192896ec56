package httpapi

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// queueTimeout bounds the Redis work a run request does after the run is
// in the database. That work runs even when the client has gone away: the
// run exists and must be queued (or closed) either way.
const queueTimeout = 5 * time.Second

// CreateRun creates a run of a benchmark and queues its run:start task. A
// max_cost_usd in the body replaces the benchmark's spend cap for this run,
// and samples the benchmark's config.samples.
// The run is charged to the calling token: the store checks the fan-out
// cap, the benchmark's runs in flight and every budget the run counts
// against in the transaction that creates it (Config.Limits); a spent
// budget is 429 with Retry-After until it renews. When the task cannot be
// queued the run is closed as failed at once and the answer is 503, so no
// run is left queued with no work behind it.
func (a *api) CreateRun(ctx context.Context, req oapi.CreateRunRequestObject) (oapi.CreateRunResponseObject, error) {
	nr := store.NewRun{BenchmarkID: req.Id, Trigger: run.TriggerAPI}
	if req.Body != nil {
		nr.MaxCostUSD = req.Body.MaxCostUsd
		nr.Samples = req.Body.Samples
	}
	if err := catalog.ValidateMaxCost("max_cost_usd", nr.MaxCostUSD); err != nil {
		return nil, err
	}
	if n := nr.Samples; n != nil && (*n < 1 || *n > catalog.MaxSamples) {
		return nil, fault.Invalid("samples", "must be between 1 and %d", catalog.MaxSamples)
	}
	if tok, ok := TokenFrom(ctx); ok {
		nr.TokenID = &tok.ID
	}
	r, err := a.s.store.CreateRun(ctx, nr)
	if be, ok := errors.AsType[*store.BudgetError](err); ok {
		setRetryAfter(echoContextFrom(ctx), be.RetryAfter)
	}
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	if err := run.Enqueue(qctx, a.s.queue, run.NewStartTask(ctx, r.ID)); err != nil {
		a.s.log.WarnContext(ctx, "could not queue a run; closing it as failed", "run_id", r.ID, "err", err)
		if ferr := a.s.store.FailRun(qctx, r, "could not enqueue: "+err.Error()); ferr != nil {
			a.s.log.ErrorContext(ctx, "close a run that could not be queued", "run_id", r.ID, "err", ferr)
		}
		return nil, fault.Unavailable("the run could not be queued because the queue is unreachable; it was closed as failed, try again")
	}
	names, err := a.s.store.BenchmarkNames(ctx, []uuid.UUID{r.BenchmarkID})
	if err != nil {
		return nil, err
	}
	return oapi.CreateRun202JSONResponse(toRun(r, r.Progress, names[r.BenchmarkID])), nil
}

// GetRun returns a run with its progress: live counters while it runs, the
// stored totals once it has finished.
func (a *api) GetRun(ctx context.Context, req oapi.GetRunRequestObject) (oapi.GetRunResponseObject, error) {
	r, err := a.s.store.GetRun(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	out, err := a.renderRun(ctx, r, true)
	if err != nil {
		return nil, err
	}
	return oapi.GetRun200JSONResponse(out), nil
}

// ListRuns lists runs, newest first. Progress of unfinished runs comes
// from the live counters only: falling back to counting executions in
// PostgreSQL for every run of a page would make a list cost a query per
// run. GET /v1/runs/{id} gives the exact figure.
func (a *api) ListRuns(ctx context.Context, req oapi.ListRunsRequestObject) (oapi.ListRunsResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	f := store.RunFilter{BenchmarkID: req.Params.BenchmarkId}
	if req.Params.Status != nil {
		st := run.Status(*req.Params.Status)
		f.Status = &st
	}
	if req.Params.Trigger != nil {
		tr := run.Trigger(*req.Params.Trigger)
		f.Trigger = &tr
	}
	page, err := a.s.store.ListRuns(ctx, f, limit, cursor)
	if err != nil {
		return nil, err
	}
	items, err := a.renderRuns(ctx, page.Items, false)
	if err != nil {
		return nil, err
	}
	return runsPage{streamedPage{
		n: len(items), next: page.Next,
		item:  func(i int) any { return items[i] },
		after: func(i int) string { return store.IDCursor(items[i].Id) },
	}}, nil
}

// CancelRun asks an unfinished run to stop: the request is recorded in
// PostgreSQL (so it survives Redis) and the cancel flag that workers check
// before every provider call is raised in Redis.
func (a *api) CancelRun(ctx context.Context, req oapi.CancelRunRequestObject) (oapi.CancelRunResponseObject, error) {
	r, err := a.s.store.RequestCancel(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	if err := a.s.tracker.Cancel(qctx, r.ID); err != nil {
		a.s.log.WarnContext(ctx, "could not raise a run's cancel flag", "run_id", r.ID, "err", err)
		return nil, fault.Unavailable("the cancellation was recorded but the workers could not be told; try again")
	}
	out, err := a.renderRun(ctx, r, true)
	if err != nil {
		return nil, err
	}
	return oapi.CancelRun202JSONResponse(out), nil
}

// GetRunRankings returns a finished run's rankings; 409 before it has
// finished.
func (a *api) GetRunRankings(ctx context.Context, req oapi.GetRunRankingsRequestObject) (oapi.GetRunRankingsResponseObject, error) {
	rk, err := a.s.store.Rankings(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetRunRankings200JSONResponse(toRankings(req.Id, rk)), nil
}

// ListRunResults lists a run's executions with their evaluations, by
// model, question and sample (narrowed to a model, a question or a
// status), in pages bounded by count and by bytes (see streamedPage),
// written as they are encoded. Asked for CSV or NDJSON, it answers the
// whole run as one streamed export instead (see export.go).
func (a *api) ListRunResults(ctx context.Context, req oapi.ListRunResultsRequestObject) (oapi.ListRunResultsResponseObject, error) {
	r, err := a.s.store.GetRun(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	f := store.ResultFilter{ModelID: req.Params.ModelId, QuestionID: req.Params.QuestionId}
	if req.Params.Status != nil {
		st := run.ExecutionStatus(*req.Params.Status)
		f.Status = &st
	}
	if c := echoContextFrom(ctx); c != nil {
		if format := negotiateExport(c.Request().Header.Get("Accept")); format != "" {
			return a.exportResults(ctx, format, r, f, req.Params)
		}
	}
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	page, err := a.s.store.Results(ctx, r, f, limit, cursor)
	if err != nil {
		return nil, err
	}
	return newResultsPage(page, r.ScoringVersion), nil
}

// renderRun adds a run's progress and its benchmark's name. exact asks
// for recorded counts from PostgreSQL when Redis has no live ones.
func (a *api) renderRun(ctx context.Context, r *run.Run, exact bool) (oapi.Run, error) {
	// The benchmark's name, the progress and what holds the run's calls
	// back are read side by side: a client following a run asks for it
	// every second, and under a busy fleet each round trip waits its turn.
	var (
		names   map[uuid.UUID]string
		p       run.Progress
		waiting *[]oapi.ProviderWait
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		names, err = a.s.store.BenchmarkNames(gctx, []uuid.UUID{r.BenchmarkID})
		return err
	})
	g.Go(func() (err error) {
		p, err = a.progress(gctx, r, exact)
		return err
	})
	if exact && r.Status == run.StatusRunning {
		g.Go(func() error {
			waiting = a.waitingOn(gctx, r)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return oapi.Run{}, err
	}
	out := toRun(r, p, names[r.BenchmarkID])
	out.WaitingOn = waiting
	return out, nil
}

// waitingOn is what the worker fleet holds the run's provider calls back
// on, read from the shared state the workers themselves use; nil when
// nothing is held, or when it cannot be read (the run still renders: the
// field is a hint, the run's status is the truth).
func (a *api) waitingOn(ctx context.Context, r *run.Run) *[]oapi.ProviderWait {
	provs, err := a.s.store.RunProviders(ctx, r.ID)
	if err != nil {
		a.s.log.WarnContext(ctx, "read a run's providers", "run_id", r.ID, "err", err)
		return nil
	}
	ids := make([]string, len(provs))
	names := make(map[string]string, len(provs))
	for i, p := range provs {
		ids[i] = p.ID.String()
		names[ids[i]] = p.Name
	}
	holds, err := resilience.Holds(ctx, a.s.rdb, time.Now(), ids...)
	if err != nil {
		a.s.log.WarnContext(ctx, "read the fleet's provider state", "run_id", r.ID, "err", err)
		return nil
	}
	if len(holds) == 0 {
		return nil
	}
	out := make([]oapi.ProviderWait, len(holds))
	for i, h := range holds {
		out[i] = oapi.ProviderWait{
			ProviderId: uuid.MustParse(h.Provider), ProviderName: names[h.Provider], State: oapi.ProviderWaitState(h.State),
			Since: holdSince(h), Until: h.Until.UTC(), LastError: nonEmpty(h.LastError),
		}
	}
	return &out
}

// holdSince is when a hold's circuit first opened; nil for a quota pause,
// whose start is not kept.
func holdSince(h resilience.Hold) *time.Time {
	if h.Since.IsZero() {
		return nil
	}
	since := h.Since.UTC()
	return &since
}

// renderRuns is renderRun for a page of runs, with one query for all
// their benchmarks' names.
func (a *api) renderRuns(ctx context.Context, runs []*run.Run, exact bool) ([]oapi.Run, error) {
	ids := make([]uuid.UUID, len(runs))
	for i, r := range runs {
		ids[i] = r.BenchmarkID
	}
	names, err := a.s.store.BenchmarkNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]oapi.Run, len(runs))
	for i, r := range runs {
		p, err := a.progress(ctx, r, exact)
		if err != nil {
			return nil, err
		}
		out[i] = toRun(r, p, names[r.BenchmarkID])
	}
	return out, nil
}

// progress is a run's progress. A finished run's counts are stored with
// it; an unfinished one's live in Redis while workers record units. When
// Redis has none (the run has not started, or Redis lost its state) the
// executions recorded in PostgreSQL are counted, if exact.
func (a *api) progress(ctx context.Context, r *run.Run, exact bool) (run.Progress, error) {
	if r.Status.Final() {
		return r.Progress, nil
	}
	return a.liveProgress(ctx, r, exact)
}

// liveProgress is an unfinished run's counts: Redis's (with the spend so
// far), else (if exact) PostgreSQL's, else the stored ones.
func (a *api) liveProgress(ctx context.Context, r *run.Run, exact bool) (run.Progress, error) {
	p, ok, err := a.s.tracker.Progress(ctx, r.ID)
	if err != nil {
		a.s.log.WarnContext(ctx, "read live run progress", "run_id", r.ID, "err", err)
	}
	if err == nil && ok {
		p.Total = r.Progress.Total
		return p, nil
	}
	spent := p.SpentUSD
	if !exact {
		p = r.Progress
	} else if p, err = a.s.store.Counts(ctx, r); err != nil {
		return p, err
	}
	p.SpentUSD = spent
	return p, nil
}
