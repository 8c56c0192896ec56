package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

func tokenFromRow(r dbsqlc.ApiToken) *apitoken.Token {
	return &apitoken.Token{
		ID: r.ID, Name: r.Name, Prefix: r.Prefix, Scopes: r.Scopes, CreatedAt: r.CreatedAt,
		ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt,
	}
}

// CreateToken makes a new API token and stores only its hash. The returned
// secret is shown once and never again.
func (s *Store) CreateToken(ctx context.Context, name string, scopes []string, expiresAt *time.Time) (string, *apitoken.Token, error) {
	if name == "" || len(name) > 200 {
		return "", nil, fault.Invalid("name", "must be 1 to 200 characters")
	}
	if len(scopes) == 0 {
		return "", nil, fault.Invalid("scopes", "at least one of read, write, admin")
	}
	for _, sc := range scopes {
		switch sc {
		case apitoken.ScopeRead, apitoken.ScopeWrite, apitoken.ScopeAdmin:
		default:
			return "", nil, fault.Invalid("scopes", "unknown scope %q", sc)
		}
	}
	secret, err := apitoken.Generate()
	if err != nil {
		return "", nil, err
	}
	var row dbsqlc.ApiToken
	err = s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		var err error
		row, err = q.CreateToken(ctx, dbsqlc.CreateTokenParams{
			ID: newID(), Name: name, Prefix: apitoken.DisplayPrefix(secret), TokenHash: apitoken.Hash(secret),
			Scopes: scopes, ExpiresAt: expiresAt,
		})
		if err != nil {
			return err
		}
		// Name and scopes only: the secret and its hash stay out of the log.
		return auditChange(ctx, q, audit.ActionTokenCreate, audit.ResourceToken, row.ID.String(),
			fmt.Sprintf("name %q, scopes %s", name, strings.Join(scopes, ",")))
	})
	if err != nil {
		return "", nil, err
	}
	return secret, tokenFromRow(row), nil
}

// TokenByHash returns the token with this hash; fault Unauthorized when
// there is none, so callers cannot tell a missing token from a bad one.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*apitoken.Token, error) {
	row, err := s.q.GetTokenByHash(ctx, hash)
	if err != nil {
		if notFound(err, "") != err {
			return nil, fault.Unauthorized("invalid token")
		}
		return nil, err
	}
	return tokenFromRow(row), nil
}

// TouchToken records that a token was used (at most once a minute).
func (s *Store) TouchToken(ctx context.Context, id uuid.UUID) error { return s.q.TouchToken(ctx, id) }

// ListTokens returns a page of tokens in creation order.
func (s *Store) ListTokens(ctx context.Context, limit int, cursor string) (Page[*apitoken.Token], error) {
	return listPage(cursor, limit, func(after *uuid.UUID, lim int32) ([]dbsqlc.ApiToken, error) {
		return s.q.ListTokens(ctx, dbsqlc.ListTokensParams{After: after, Lim: lim})
	}, tokenFromRow, func(r dbsqlc.ApiToken) uuid.UUID { return r.ID })
}

// RevokeToken revokes a token; NotFound when there is no such live token.
func (s *Store) RevokeToken(ctx context.Context, id uuid.UUID) error {
	return s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		n, err := q.RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.NotFound("token")
		}
		return auditChange(ctx, q, audit.ActionTokenRevoke, audit.ResourceToken, id.String(), "")
	})
}
