package httpapi

import (
	"context"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/store"
)

// ListAlerts lists regression alerts, newest first, filtered by
// benchmark, model, run, metric and time.
func (a *api) ListAlerts(ctx context.Context, req oapi.ListAlertsRequestObject) (oapi.ListAlertsResponseObject, error) {
	p := req.Params
	limit, cursor := pageArgs(p.Limit, p.Cursor)
	f := store.AlertFilter{BenchmarkID: p.BenchmarkId, ModelID: p.ModelId, RunID: p.RunId}
	if p.Metric != nil {
		f.Metric = string(*p.Metric)
	}
	if p.From != nil {
		f.From = p.From.UTC()
	}
	if p.To != nil {
		f.To = p.To.UTC()
	}
	page, err := a.s.store.ListAlerts(ctx, f, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := oapi.ListAlerts200JSONResponse{Items: make([]oapi.Alert, len(page.Items)), NextCursor: nextCursor(page.Next)}
	for i := range page.Items {
		out.Items[i] = toAlert(&page.Items[i])
	}
	return out, nil
}

// GetAlert returns one regression alert.
func (a *api) GetAlert(ctx context.Context, req oapi.GetAlertRequestObject) (oapi.GetAlertResponseObject, error) {
	al, err := a.s.store.GetAlert(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetAlert200JSONResponse(toAlert(al)), nil
}

// toAlert renders an alert; the regression.detected event carries the
// same figures.
func toAlert(r *notify.Regression) oapi.Alert {
	out := oapi.Alert{
		Id: r.ID, RunId: r.RunID, BaselineRunId: r.BaselineRunID, BenchmarkId: r.BenchmarkID, BenchmarkName: r.BenchmarkName,
		ModelId: r.ModelID, ModelName: r.ModelName, Metric: oapi.AlertMetric(r.Metric), Previous: r.Previous,
		Current: r.Current, Diff: r.Diff, CiLow: r.CILow, CiHigh: r.CIHigh, RelativeChange: r.RelativeChange,
		PValue: r.PValue, PAdjusted: r.PAdjusted, Correction: oapi.AlertCorrection(r.Correction),
		Comparisons: r.Comparisons, MinEffect: r.MinEffect, Questions: r.Questions, Regressed: r.Regressed,
		Improved: r.Improved, Flipped: make([]oapi.DriftQuestion, len(r.Flipped)), CreatedAt: r.CreatedAt.UTC(),
	}
	for i, q := range r.Flipped {
		out.Flipped[i] = oapi.DriftQuestion{
			QuestionId: q.QuestionID, Category: q.Category, PromptExcerpt: q.PromptExcerpt,
			PreviousRevision: q.PreviousRevision, CurrentRevision: q.CurrentRevision,
			PreviousPassRate: q.PreviousPassRate, CurrentPassRate: q.CurrentPassRate, Change: oapi.DriftQuestionChange(q.Change),
		}
	}
	return out
}
