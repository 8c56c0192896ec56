package httpapi

import (
	"context"
	"time"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/store"
)

func toToken(t *apitoken.Token) oapi.Token {
	scopes := make([]oapi.TokenScope, len(t.Scopes))
	for i, sc := range t.Scopes {
		scopes[i] = oapi.TokenScope(sc)
	}
	return oapi.Token{
		Id: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: scopes, CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: utcPtr(t.ExpiresAt), RevokedAt: utcPtr(t.RevokedAt), LastUsedAt: utcPtr(t.LastUsedAt),
	}
}

// CreateToken makes an API token. Its secret is in this answer only: the
// store keeps nothing but its hash.
func (a *api) CreateToken(ctx context.Context, req oapi.CreateTokenRequestObject) (oapi.CreateTokenResponseObject, error) {
	if req.Body == nil {
		return nil, fault.BadRequest("body", "a JSON body is required")
	}
	if req.Body.ExpiresAt != nil && !req.Body.ExpiresAt.After(time.Now()) {
		return nil, fault.Invalid("expires_at", "must be in the future")
	}
	scopes := make([]string, len(req.Body.Scopes))
	for i, sc := range req.Body.Scopes {
		scopes[i] = string(sc)
	}
	secret, tok, err := a.s.store.CreateToken(ctx, req.Body.Name, scopes, utcPtr(req.Body.ExpiresAt))
	if err != nil {
		return nil, err
	}
	t := toToken(tok)
	return oapi.CreateToken201JSONResponse{
		Id: t.Id, Name: t.Name, Prefix: t.Prefix, Scopes: t.Scopes, CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt, Token: secret,
	}, nil
}

// ListTokens lists tokens without their secrets or hashes.
func (a *api) ListTokens(ctx context.Context, req oapi.ListTokensRequestObject) (oapi.ListTokensResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	page, err := a.s.store.ListTokens(ctx, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := oapi.ListTokens200JSONResponse{Items: make([]oapi.Token, 0, len(page.Items)), NextCursor: nextCursor(page.Next)}
	for _, t := range page.Items {
		out.Items = append(out.Items, toToken(t))
	}
	return out, nil
}

// RevokeToken revokes a token. Each replica reuses a token lookup for at
// most Config.TokenCacheTTL (5 s by default), so the token, and the
// sessions opened with it, stop working everywhere within that time.
func (a *api) RevokeToken(ctx context.Context, req oapi.RevokeTokenRequestObject) (oapi.RevokeTokenResponseObject, error) {
	if err := a.s.store.RevokeToken(ctx, req.Id); err != nil {
		return nil, err
	}
	return oapi.RevokeToken204Response{}, nil
}

// ListAudit lists the audit log, newest first, with the given filters.
func (a *api) ListAudit(ctx context.Context, req oapi.ListAuditRequestObject) (oapi.ListAuditResponseObject, error) {
	limit, cursor := pageArgs(req.Params.Limit, req.Params.Cursor)
	p := req.Params
	f := store.AuditFilter{TokenID: p.TokenId}
	if p.Action != nil {
		f.Action = *p.Action
	}
	if p.ResourceType != nil {
		f.ResourceType = *p.ResourceType
	}
	if p.ResourceId != nil {
		f.ResourceID = *p.ResourceId
	}
	if p.Outcome != nil {
		f.Outcome = string(*p.Outcome)
	}
	if p.From != nil {
		f.From = p.From.UTC()
	}
	if p.To != nil {
		f.To = p.To.UTC()
	}
	page, err := a.s.store.ListAudit(ctx, f, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := oapi.ListAudit200JSONResponse{Items: make([]oapi.AuditEvent, 0, len(page.Items)), NextCursor: nextCursor(page.Next)}
	for _, e := range page.Items {
		out.Items = append(out.Items, oapi.AuditEvent{
			Id: e.ID, Time: e.Time.UTC(), TokenId: e.Actor.TokenID, TokenName: e.Actor.TokenName,
			Action: e.Action, ResourceType: e.ResourceType, ResourceId: e.ResourceID,
			Outcome: oapi.AuditOutcome(e.Outcome), Reason: e.Reason, SourceIp: e.Actor.SourceIP,
			UserAgent: e.Actor.UserAgent, RequestId: e.Actor.RequestID,
		})
	}
	return out, nil
}
