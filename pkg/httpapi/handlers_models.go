package httpapi

import (
	"context"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/store"
)

// CreateModel registers a model of an existing provider.
func (a *api) CreateModel(ctx context.Context, req oapi.CreateModelRequestObject) (oapi.CreateModelResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	m := catalog.Model{
		ProviderID:        b.ProviderId,
		Name:              b.Name,
		ProviderModelID:   b.ProviderModelId,
		InputCostPerMTok:  b.InputCostPerMtok,
		OutputCostPerMTok: b.OutputCostPerMtok,
		Overrides:         fromOverrides(b.RequestOverrides),
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	out, err := a.s.store.CreateModel(ctx, m)
	if err != nil {
		return nil, err
	}
	return oapi.CreateModel201JSONResponse(toModel(out)), nil
}

// ListModels lists models in creation order, archived ones on request.
func (a *api) ListModels(ctx context.Context, req oapi.ListModelsRequestObject) (oapi.ListModelsResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	archived := req.Params.IncludeArchived != nil && *req.Params.IncludeArchived
	page, err := a.s.store.ListModels(ctx, archived, limit, cursor)
	if err != nil {
		return nil, err
	}
	return modelsPage{streamedPage{
		n: len(page.Items), next: page.Next,
		item:  func(i int) any { return toModel(&page.Items[i]) },
		after: func(i int) string { return store.IDCursor(page.Items[i].ID) },
	}}, nil
}

// GetModel returns a model, archived or not.
func (a *api) GetModel(ctx context.Context, req oapi.GetModelRequestObject) (oapi.GetModelResponseObject, error) {
	m, err := a.s.store.GetModel(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetModel200JSONResponse(toModel(m)), nil
}

// UpdateModel changes the given fields of a model.
func (a *api) UpdateModel(ctx context.Context, req oapi.UpdateModelRequestObject) (oapi.UpdateModelResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	patch := catalog.ModelPatch{
		Name:              b.Name,
		ProviderModelID:   b.ProviderModelId,
		InputCostPerMTok:  b.InputCostPerMtok,
		OutputCostPerMTok: b.OutputCostPerMtok,
	}
	if b.RequestOverrides != nil {
		o := fromOverrides(b.RequestOverrides)
		patch.Overrides = &o
	}
	if err := patch.Validate(); err != nil {
		return nil, err
	}
	m, err := a.s.store.UpdateModel(ctx, req.Id, patch)
	if err != nil {
		return nil, err
	}
	return oapi.UpdateModel200JSONResponse(toModel(m)), nil
}

// DeleteModel deletes a model, or archives it when it has history; one
// that enabled schedules depend on only with force.
func (a *api) DeleteModel(ctx context.Context, req oapi.DeleteModelRequestObject) (oapi.DeleteModelResponseObject, error) {
	if _, err := a.s.store.DeleteModel(ctx, req.Id, derefOr(req.Params.Force)); err != nil {
		return nil, err
	}
	return oapi.DeleteModel204Response{}, nil
}
