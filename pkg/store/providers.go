package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// keyAAD binds a provider's encrypted key to the provider, so a ciphertext
// copied onto another row does not decrypt.
func keyAAD(id uuid.UUID) []byte { return []byte("sabe:provider:" + id.String()) }

func providerFromRow(r dbsqlc.Provider) catalog.Provider {
	p := catalog.Provider{
		ID: r.ID, Name: r.Name, Kind: catalog.ProviderKind(r.Kind), BaseURL: r.BaseUrl,
		HeaderNames: r.HeaderNames, HasAPIKey: r.ApiKeyID != nil, KeyFingerprint: deref(r.ApiKeyFingerprint),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if p.HeaderNames == nil {
		p.HeaderNames = []string{}
	}
	p.Limits = catalog.ProviderLimits{
		RequestsPerMinute: int(deref(r.RequestsPerMinute)), TokensPerMinute: int(deref(r.TokensPerMinute)),
		MaxConcurrency: int(deref(r.MaxConcurrency)), QuotaPauseSeconds: int(deref(r.QuotaPauseSeconds)),
	}
	return p
}

// limitCol stores a limit: 0 (no limit) as NULL.
func limitCol(v int) *int32 {
	if v <= 0 {
		return nil
	}
	n := int32(v)
	return &n
}

// sealedKey is a provider key as the providers table stores it: the id
// of the keyring entry that sealed it, the ciphertext, and the key's
// fingerprint; all nil for no key.
type sealedKey struct {
	keyID       *string
	ciphertext  []byte
	fingerprint *string
}

func (s *Store) encryptKey(id uuid.UUID, key string) (sealedKey, error) {
	if key == "" {
		return sealedKey{}, nil
	}
	keyID, ct, err := s.keys.Encrypt([]byte(key), keyAAD(id))
	if err != nil {
		return sealedKey{}, fmt.Errorf("encrypt provider key: %w", err)
	}
	fp := secrets.KeyFingerprint(key)
	return sealedKey{keyID: &keyID, ciphertext: ct, fingerprint: &fp}, nil
}

// CreateProvider stores a provider with its key encrypted under the
// keyring's primary key.
func (s *Store) CreateProvider(ctx context.Context, in catalog.ProviderInput) (*catalog.Provider, error) {
	id := newID()
	key, err := s.encryptKey(id, in.APIKey)
	if err != nil {
		return nil, err
	}
	h, err := s.sealHeaders(id, in.Headers)
	if err != nil {
		return nil, err
	}
	var row dbsqlc.Provider
	err = s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		var err error
		row, err = q.CreateProvider(ctx, dbsqlc.CreateProviderParams{
			ID: id, Name: in.Name, Kind: string(in.Kind), BaseUrl: in.BaseURL,
			HeaderNames: h.names, HeadersKeyID: h.keyID, HeadersCiphertext: h.ciphertext,
			ApiKeyID: key.keyID, ApiKeyCiphertext: key.ciphertext, ApiKeyFingerprint: key.fingerprint,
			RequestsPerMinute: limitCol(in.Limits.RequestsPerMinute), TokensPerMinute: limitCol(in.Limits.TokensPerMinute),
			MaxConcurrency: limitCol(in.Limits.MaxConcurrency), QuotaPauseSeconds: limitCol(in.Limits.QuotaPauseSeconds),
		})
		if err != nil {
			return conflict(err, "a provider with this name")
		}
		return auditChange(ctx, q, audit.ActionProviderCreate, audit.ResourceProvider, id.String(), "")
	})
	if err != nil {
		return nil, err
	}
	p := providerFromRow(row)
	return &p, nil
}

// GetProvider returns a provider.
func (s *Store) GetProvider(ctx context.Context, id uuid.UUID) (*catalog.Provider, error) {
	row, err := s.q.GetProvider(ctx, id)
	if err != nil {
		return nil, notFound(err, "provider")
	}
	p := providerFromRow(row)
	return &p, nil
}

// ListProviders returns a page of providers in creation order.
func (s *Store) ListProviders(ctx context.Context, limit int, cursor string) (Page[catalog.Provider], error) {
	return listPage(cursor, limit, func(after *uuid.UUID, lim int32) ([]dbsqlc.Provider, error) {
		return s.q.ListProviders(ctx, dbsqlc.ListProvidersParams{After: after, Lim: lim})
	}, providerFromRow, func(r dbsqlc.Provider) uuid.UUID { return r.ID })
}

// UpdateProvider changes a provider. A new key is encrypted under the
// primary key; an empty string removes the key.
func (s *Store) UpdateProvider(ctx context.Context, id uuid.UUID, p catalog.ProviderPatch) (*catalog.Provider, error) {
	arg := dbsqlc.UpdateProviderParams{ID: id, Name: p.Name, BaseUrl: p.BaseURL, HeaderNames: []string{}}
	if l := p.Limits; l != nil {
		arg.SetLimits = true
		arg.RequestsPerMinute, arg.TokensPerMinute = limitCol(l.RequestsPerMinute), limitCol(l.TokensPerMinute)
		arg.MaxConcurrency, arg.QuotaPauseSeconds = limitCol(l.MaxConcurrency), limitCol(l.QuotaPauseSeconds)
	}
	if p.APIKey != nil {
		key, err := s.encryptKey(id, *p.APIKey)
		if err != nil {
			return nil, err
		}
		arg.SetKey, arg.ApiKeyID, arg.ApiKeyCiphertext, arg.ApiKeyFingerprint = true, key.keyID, key.ciphertext, key.fingerprint
	}
	// The reason names the fields and the headers changed, never a value:
	// api_key and headers hold credentials.
	reason := changedFields("name", setIf(p.Name != nil), "base_url", setIf(p.BaseURL != nil),
		headerChanges(p.Headers), setIf(len(p.Headers) > 0), "limits", setIf(p.Limits != nil), "api_key", setIf(p.APIKey != nil))
	var row dbsqlc.Provider
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if len(p.Headers) > 0 {
			h, err := s.patchHeaders(ctx, q, id, p.Headers)
			if err != nil {
				return err
			}
			arg.SetHeaders, arg.HeaderNames, arg.HeadersKeyID, arg.HeadersCiphertext = true, h.names, h.keyID, h.ciphertext
		}
		var err error
		row, err = q.UpdateProvider(ctx, arg)
		if err != nil {
			return conflict(notFound(err, "provider"), "a provider with this name")
		}
		return auditChange(ctx, q, audit.ActionProviderUpdate, audit.ResourceProvider, id.String(), reason)
	})
	if err != nil {
		return nil, err
	}
	out := providerFromRow(row)
	return &out, nil
}

// DeleteProvider deletes a provider no model uses; otherwise Conflict.
func (s *Store) DeleteProvider(ctx context.Context, id uuid.UUID) error {
	return s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if _, err := q.GetProvider(ctx, id); err != nil {
			return notFound(err, "provider")
		}
		used, err := q.ProviderInUse(ctx, id)
		if err != nil {
			return err
		}
		if used {
			return fault.Conflict("provider is used by models; delete them first")
		}
		if _, err := q.DeleteProvider(ctx, id); err != nil {
			return fault.Conflict("provider is still referenced")
		}
		return auditChange(ctx, q, audit.ActionProviderDelete, audit.ResourceProvider, id.String(), "")
	})
}

// ProviderConn returns a provider's endpoint with its key and headers
// decrypted, for a process about to call it; they stay in its memory.
func (s *Store) ProviderConn(ctx context.Context, id uuid.UUID) (*run.ProviderConn, error) {
	row, err := s.q.GetProvider(ctx, id)
	if err != nil {
		return nil, notFound(err, "provider")
	}
	p := providerFromRow(row)
	headers, err := s.openHeaders(row)
	if err != nil {
		return nil, &run.UnusableError{ProviderID: id, ProviderName: p.Name, Reason: keyProblem("headers", deref(row.HeadersKeyID), err), Err: err}
	}
	c := &run.ProviderConn{ID: id, Name: p.Name, Kind: p.Kind, BaseURL: p.BaseURL, Headers: headers, Limits: p.Limits, UpdatedAt: p.UpdatedAt}
	if row.ApiKeyID != nil {
		key, err := s.keys.Decrypt(*row.ApiKeyID, row.ApiKeyCiphertext, keyAAD(id))
		if err != nil {
			return nil, &run.UnusableError{ProviderID: id, ProviderName: p.Name, Reason: keyProblem("API key", *row.ApiKeyID, err), Err: err}
		}
		c.APIKey = string(key)
	}
	return c, nil
}

// keyProblem says why a provider's key (or headers) does not decrypt, in words an
// operator can act on. No restart or retry mends it: the keyring (or the
// key) has to change.
func keyProblem(what, keyID string, err error) string {
	if errors.Is(err, secrets.ErrUnknownKey) {
		return fmt.Sprintf("%s sealed with key id %q, which SABE_ENCRYPTION_KEY does not hold", what, keyID)
	}
	if errors.Is(err, secrets.ErrDecrypt) {
		return fmt.Sprintf("%s sealed with key id %q does not decrypt with that key (corrupted, or copied from another provider); set the %s again", what, keyID, what)
	}
	return fmt.Sprintf("%s do not decode (%v); set the %s again", what, err, what)
}
