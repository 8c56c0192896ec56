package httpapi

import (
	"context"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/importer"
)

// checkPromptTemplate refuses a prompt template the importer could not
// render (a placeholder that is not a plain variable), when it is set
// rather than at the first import that needs it.
func checkPromptTemplate(tmpl *string) error {
	if tmpl == nil {
		return nil
	}
	if err := importer.CheckTemplate(*tmpl); err != nil {
		return fault.Invalid("prompt_template", "%s", text.Clip(err.Error(), maxMessageLen))
	}
	return nil
}

// CreateSuite creates an empty suite.
func (a *api) CreateSuite(ctx context.Context, req oapi.CreateSuiteRequestObject) (oapi.CreateSuiteResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	in := fromCreateSuite(*b)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := checkPromptTemplate(&in.PromptTemplate); err != nil {
		return nil, err
	}
	s, err := a.s.store.CreateSuite(ctx, in)
	if err != nil {
		return nil, err
	}
	return oapi.CreateSuite201JSONResponse(toSuite(s)), nil
}

// ListSuites lists the suites that are not archived (deleted suites with
// history are archived), in creation order.
func (a *api) ListSuites(ctx context.Context, req oapi.ListSuitesRequestObject) (oapi.ListSuitesResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	page, err := a.s.store.ListSuites(ctx, false, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := oapi.ListSuites200JSONResponse{Items: make([]oapi.Suite, 0, len(page.Items)), NextCursor: nextCursor(page.Next)}
	for i := range page.Items {
		out.Items = append(out.Items, toSuite(&page.Items[i]))
	}
	return out, nil
}

// GetSuite returns a suite with its number of questions.
func (a *api) GetSuite(ctx context.Context, req oapi.GetSuiteRequestObject) (oapi.GetSuiteResponseObject, error) {
	s, err := a.s.store.GetSuite(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetSuite200JSONResponse(toSuite(s)), nil
}

// UpdateSuite changes the given fields of a suite; new few-shot turns
// revise every active question of the suite.
func (a *api) UpdateSuite(ctx context.Context, req oapi.UpdateSuiteRequestObject) (oapi.UpdateSuiteResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	patch := catalog.SuitePatch{Name: b.Name, Description: b.Description, PromptTemplate: b.PromptTemplate}
	if b.FewShot != nil {
		fs := fromMessages(*b.FewShot)
		patch.FewShot = &fs
	}
	if err := patch.Validate(); err != nil {
		return nil, err
	}
	if err := checkPromptTemplate(patch.PromptTemplate); err != nil {
		return nil, err
	}
	s, err := a.s.store.UpdateSuite(ctx, req.Id, patch)
	if err != nil {
		return nil, err
	}
	return oapi.UpdateSuite200JSONResponse(toSuite(s)), nil
}

// DeleteSuite deletes a suite, or archives it when a benchmark or run
// refers to it; one that enabled schedules depend on only with force.
func (a *api) DeleteSuite(ctx context.Context, req oapi.DeleteSuiteRequestObject) (oapi.DeleteSuiteResponseObject, error) {
	if _, err := a.s.store.DeleteSuite(ctx, req.Id, derefOr(req.Params.Force)); err != nil {
		return nil, err
	}
	return oapi.DeleteSuite204Response{}, nil
}
