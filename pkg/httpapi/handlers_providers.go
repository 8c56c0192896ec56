package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// errNoBody stands for a required body the generated binding left nil,
// which the validation in front of the handlers does not let through.
var errNoBody = fault.BadRequest("body", "is required")

// pageArgs applies the list defaults the document declares.
func pageArgs(limit *int, cursor *string) (int, string) {
	l, c := store.DefaultPageSize, ""
	if limit != nil {
		l = *limit
	}
	if cursor != nil {
		c = *cursor
	}
	return l, c
}

// checkBaseURL applies the operator's policy on which addresses providers
// may have: the same as the guard the calls go through, so a provider that
// is accepted here is not refused when called (a host name's addresses are
// checked then).
func (a *api) checkBaseURL(baseURL *string) error {
	if baseURL == nil {
		return nil
	}
	opts := provider.HTTPConfig{AllowPrivate: a.s.cfg.AllowPrivateProviders, Allow: a.s.cfg.ProviderAllow}
	return opts.ValidateBaseURL(*baseURL)
}

// CreateProvider registers a provider; its key is encrypted by the store
// and never returned.
func (a *api) CreateProvider(ctx context.Context, req oapi.CreateProviderRequestObject) (oapi.CreateProviderResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	in := catalog.ProviderInput{
		Name: b.Name, Kind: catalog.ProviderKind(b.Kind), BaseURL: b.BaseUrl, APIKey: b.ApiKey,
		Limits: fromLimits(b.Limits),
	}
	if b.Headers != nil {
		in.Headers = *b.Headers
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := a.checkBaseURL(&in.BaseURL); err != nil {
		return nil, err
	}
	p, err := a.s.store.CreateProvider(ctx, in)
	if err != nil {
		return nil, err
	}
	return oapi.CreateProvider201JSONResponse(a.withCircuits(ctx, toProvider(p))[0]), nil
}

// ListProviders lists providers in creation order.
func (a *api) ListProviders(ctx context.Context, req oapi.ListProvidersRequestObject) (oapi.ListProvidersResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	page, err := a.s.store.ListProviders(ctx, limit, cursor)
	if err != nil {
		return nil, err
	}
	items := make([]oapi.Provider, 0, len(page.Items))
	for i := range page.Items {
		items = append(items, toProvider(&page.Items[i]))
	}
	return oapi.ListProviders200JSONResponse{Items: a.withCircuits(ctx, items...), NextCursor: nextCursor(page.Next)}, nil
}

// GetProvider returns a provider.
func (a *api) GetProvider(ctx context.Context, req oapi.GetProviderRequestObject) (oapi.GetProviderResponseObject, error) {
	p, err := a.s.store.GetProvider(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetProvider200JSONResponse(a.withCircuits(ctx, toProvider(p))[0]), nil
}

// UpdateProvider changes the given fields of a provider.
func (a *api) UpdateProvider(ctx context.Context, req oapi.UpdateProviderRequestObject) (oapi.UpdateProviderResponseObject, error) {
	b := req.Body
	if b == nil {
		return nil, errNoBody
	}
	patch := catalog.ProviderPatch{Name: b.Name, BaseURL: b.BaseUrl, APIKey: b.ApiKey}
	if b.Limits != nil {
		l := fromLimits(b.Limits)
		patch.Limits = &l
	}
	if b.Headers != nil {
		patch.Headers = *b.Headers
	}
	if err := patch.Validate(); err != nil {
		return nil, err
	}
	if err := a.checkBaseURL(patch.BaseURL); err != nil {
		return nil, err
	}
	p, err := a.s.store.UpdateProvider(ctx, req.Id, patch)
	if err != nil {
		return nil, err
	}
	if err := a.announceProviderChange(ctx, p.ID); err != nil {
		return nil, fault.Unavailable("the change was saved but the workers could not be told to drop their cached connection; repeat the request")
	}
	return oapi.UpdateProvider200JSONResponse(a.withCircuits(ctx, toProvider(p))[0]), nil
}

// DeleteProvider deletes a provider that no model uses.
func (a *api) DeleteProvider(ctx context.Context, req oapi.DeleteProviderRequestObject) (oapi.DeleteProviderResponseObject, error) {
	if err := a.s.store.DeleteProvider(ctx, req.Id); err != nil {
		return nil, err
	}
	// A deleted provider has no models, so no unit can need it any more: a
	// worker that misses the news only holds a key it will never use, until
	// its cache lets go of it. Not worth failing the request for.
	_ = a.announceProviderChange(ctx, req.Id)
	return oapi.DeleteProvider204Response{}, nil
}

// announceProviderChange publishes id on run.ProviderChangedChannel, even
// when the client has gone: the change is saved either way. Workers drop
// their cached connection to the provider (its decrypted key included) at
// once, which is what lets a key be replaced with no restart. A failure is
// logged and returned.
func (a *api) announceProviderChange(ctx context.Context, id uuid.UUID) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueTimeout)
	defer cancel()
	if err := a.s.rdb.Publish(pctx, run.ProviderChangedChannel, id.String()).Err(); err != nil {
		a.s.log.WarnContext(ctx, "could not announce a provider change to the workers", "provider_id", id, "err", err)
		return err
	}
	return nil
}

// providerEndpoint loads a provider with its key decrypted and the client
// for its kind.
func (a *api) providerEndpoint(ctx context.Context, id uuid.UUID) (provider.Endpoint, provider.Client, error) {
	conn, err := a.s.store.ProviderConn(ctx, id)
	if err != nil {
		return provider.Endpoint{}, nil, err
	}
	client, ok := a.s.providers[conn.Kind]
	if !ok {
		return provider.Endpoint{}, nil, fmt.Errorf("no client for provider kind %q", conn.Kind)
	}
	return conn.Endpoint(), client, nil
}

// TestProvider calls a provider now and says what is wrong with it, if
// anything. Whatever the provider does, the answer is 200: a failed check
// is the result asked for, not an error of this request.
func (a *api) TestProvider(ctx context.Context, req oapi.TestProviderRequestObject) (oapi.TestProviderResponseObject, error) {
	model := ""
	if req.Body != nil && req.Body.Model != nil {
		model = *req.Body.Model
		if strings.TrimSpace(model) == "" {
			return nil, fault.Invalid("model", "must not be empty")
		}
	}
	ep, client, err := a.providerEndpoint(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, a.s.cfg.ProviderTimeout)
	defer cancel()
	res := provider.Probe(pctx, client, ep, model)
	out := oapi.TestProvider200JSONResponse{
		Ok:        res.OK,
		Stage:     oapi.ProviderTestStage(res.Stage),
		Message:   provider.Scrub(res.Message, ep.Secrets()...),
		LatencyMs: figure(res.LatencyMs),
	}
	if res.StatusCode != 0 {
		out.StatusCode = &res.StatusCode
	}
	return out, nil
}

// ListRemoteModels asks a provider which models it serves. A provider
// failure is a 502 with the provider's message, scrubbed of the key. A list
// longer than provider.MaxRemoteModels is cut there and says so; one list
// per provider is fetched at a time (see modelListGate).
func (a *api) ListRemoteModels(ctx context.Context, req oapi.ListRemoteModelsRequestObject) (oapi.ListRemoteModelsResponseObject, error) {
	ep, client, err := a.providerEndpoint(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	release, err := a.s.lists.enter(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	defer release()
	pctx, cancel := context.WithTimeout(ctx, a.s.cfg.ProviderTimeout)
	defer cancel()
	models, err := client.ListModels(pctx, ep)
	if err != nil {
		return nil, a.upstreamFault(ctx, pctx, err, ep.Secrets())
	}
	truncated := len(models) > provider.MaxRemoteModels
	models = models[:min(len(models), provider.MaxRemoteModels)]
	out := oapi.ListRemoteModels200JSONResponse{Items: make([]oapi.RemoteModel, 0, len(models)), Truncated: truncated}
	for _, m := range models {
		out.Items = append(out.Items, oapi.RemoteModel{Id: m.ID, Name: cmp.Or(m.Name, m.ID)})
	}
	return out, nil
}

// upstreamFault turns the failure of a call made on the client's behalf
// into a 502 that says what the provider did. When the client itself has
// gone, its context error is returned as is.
func (a *api) upstreamFault(ctx, callCtx context.Context, err error, secrets []string) error {
	if ctx.Err() != nil {
		return err
	}
	if pe, ok := errors.AsType[*provider.Error](err); ok {
		msg := pe.Message
		if pe.StatusCode != 0 {
			msg = fmt.Sprintf("provider answered HTTP %d: %s", pe.StatusCode, pe.Message)
		}
		return &UpstreamError{Message: provider.Scrub(msg, secrets...)}
	}
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return &UpstreamError{Message: fmt.Sprintf("provider did not answer within %s", a.s.cfg.ProviderTimeout)}
	}
	return &UpstreamError{Message: provider.Scrub(err.Error(), secrets...)}
}

// withCircuits sets each provider's circuit from the fleet's shared state,
// read for the whole page in one round trip (the same state a run's
// waiting_on shows). A provider held back two ways (an open circuit and a
// quota pause) shows the hold that lasts longer. When the state cannot be
// read the providers show closed and a warning is logged: the field is a
// hint, and listing providers must not fail with Redis.
func (a *api) withCircuits(ctx context.Context, ps ...oapi.Provider) []oapi.Provider {
	ids := make([]string, len(ps))
	at := make(map[string]int, len(ps))
	for i := range ps {
		ps[i].Circuit = oapi.ProviderCircuit{State: oapi.ProviderCircuitStateClosed}
		ids[i] = ps[i].Id.String()
		at[ids[i]] = i
	}
	holds, err := resilience.Holds(ctx, a.s.rdb, time.Now(), ids...)
	if err != nil {
		a.s.log.WarnContext(ctx, "read the fleet's provider state", "err", err)
		return ps
	}
	for _, h := range holds {
		c := &ps[at[h.Provider]].Circuit
		if c.State != oapi.ProviderCircuitStateClosed && !h.Until.After(*c.Until) {
			continue
		}
		until := h.Until.UTC()
		*c = oapi.ProviderCircuit{State: oapi.ProviderCircuitState(h.State), Since: holdSince(h), Until: &until, LastError: nonEmpty(h.LastError)}
	}
	return ps
}
