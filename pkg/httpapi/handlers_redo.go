package httpapi

import (
	"context"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
)

// This file serves what a run allows once it has finished: rescoring its
// stored answers, running its failed units again, a person's review of a
// unit, and how far its judges agree. Rescore and retry-failed are tasks
// on the worker fleet; the handlers only decide and queue them.

// redo is what run.RequestRescore and run.RequestRetryFailed work with.
func (a *api) redo() run.RedoDeps {
	return run.RedoDeps{Store: a.s.store, Queue: a.s.queue}
}

// RescoreRun queues a new scoring version of a finished run, or answers
// the current one when the request would score every unit the same way.
func (a *api) RescoreRun(ctx context.Context, req oapi.RescoreRunRequestObject) (oapi.RescoreRunResponseObject, error) {
	var rr run.RescoreRequest
	if b := req.Body; b != nil {
		if b.Scoring != nil {
			rule := fromScoring(*b.Scoring)
			rr.Override = &rule
		}
		if b.JudgeModelIds != nil {
			rr.JudgeModelIDs = *b.JudgeModelIds
		}
	}
	// The version is decided in PostgreSQL before its task is queued; a
	// client gone meanwhile must not leave it without one.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	res, err := run.RequestRescore(qctx, a.redo(), req.Id, rr)
	if err != nil {
		return nil, err
	}
	return oapi.RescoreRun202JSONResponse(toRescore(res)), nil
}

// maxRescores bounds how many scoring versions ListRunRescores reads; a
// run rescored more often than this lists its first ones.
const maxRescores = 1000

// ListRunRescores lists a run's scoring versions after its first, oldest
// first.
func (a *api) ListRunRescores(ctx context.Context, req oapi.ListRunRescoresRequestObject) (oapi.ListRunRescoresResponseObject, error) {
	if _, err := a.s.store.GetRun(ctx, req.Id); err != nil {
		return nil, err
	}
	list, err := a.s.store.ListRescores(ctx, req.Id, maxRescores)
	if err != nil {
		return nil, err
	}
	items := make([]oapi.Rescore, len(list))
	for i, res := range list {
		res.Created = true
		items[i] = toRescore(res)
	}
	return oapi.ListRunRescores200JSONResponse(oapi.RescoreList{Items: items}), nil
}

// GetRunRescore returns one scoring version of a run with its progress.
func (a *api) GetRunRescore(ctx context.Context, req oapi.GetRunRescoreRequestObject) (oapi.GetRunRescoreResponseObject, error) {
	res, err := a.s.store.GetRescore(ctx, req.Id, req.Version)
	if err != nil {
		if fault.KindOf(err) == fault.KindNotFound {
			if _, rerr := a.s.store.GetRun(ctx, req.Id); rerr != nil {
				return nil, rerr
			}
			return nil, &fault.Error{Kind: fault.KindNotFound, Field: "version", Message: "the run has no such rescore"}
		}
		return nil, err
	}
	res.Created = true
	return oapi.GetRunRescore200JSONResponse(toRescore(res)), nil
}

// RetryFailedRun opens a retry round of a finished run's failed units and
// answers with the run, running again.
func (a *api) RetryFailedRun(ctx context.Context, req oapi.RetryFailedRunRequestObject) (oapi.RetryFailedRunResponseObject, error) {
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	r, err := run.RequestRetryFailed(qctx, a.redo(), req.Id)
	if err != nil {
		return nil, err
	}
	out, err := a.renderRun(ctx, r, true)
	if err != nil {
		return nil, err
	}
	return oapi.RetryFailedRun202JSONResponse(out), nil
}

// GetRunAgreement returns how far a run's judges agree with each other
// and with the people who reviewed their verdicts.
func (a *api) GetRunAgreement(ctx context.Context, req oapi.GetRunAgreementRequestObject) (oapi.GetRunAgreementResponseObject, error) {
	ag, err := a.s.store.Agreement(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetRunAgreement200JSONResponse(toAgreement(req.Id, ag)), nil
}

// ReviewExecution records the calling person's verdict on one unit beside
// the judge's; the reviewer is the token's name, never the body's.
func (a *api) ReviewExecution(ctx context.Context, req oapi.ReviewExecutionRequestObject) (oapi.ReviewExecutionResponseObject, error) {
	id, err := run.ParseExecutionID(req.Id)
	if err != nil {
		// An id that cannot be one names no execution.
		return nil, &fault.Error{Kind: fault.KindNotFound, Field: "id", Message: "execution not found"}
	}
	rv := run.Review{Passed: req.Body.Passed, Score: req.Body.Score, Note: derefOr(req.Body.Note), Reviewer: reviewer(ctx)}
	ev, err := a.s.store.ReviewExecution(ctx, id, rv)
	if err != nil {
		return nil, err
	}
	return oapi.ReviewExecution200JSONResponse(toEvaluation(ev)), nil
}

// reviewer names the person behind a request: the token's name, or its id
// when it has none.
func reviewer(ctx context.Context) string {
	tok, ok := TokenFrom(ctx)
	switch {
	case !ok:
		return "unknown"
	case tok.Name != "":
		return tok.Name
	default:
		return tok.ID.String()
	}
}
