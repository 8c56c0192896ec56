package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// headersAAD binds a provider's sealed headers to the provider and to the
// headers column: a ciphertext copied onto another row, or between the key
// and headers columns, does not decrypt.
func headersAAD(id uuid.UUID) []byte { return []byte("sabe:provider-headers:" + id.String()) }

// sealedHeaders is what the providers row stores for a set of headers:
// the names in the clear, the values sealed together under one key id.
type sealedHeaders struct {
	names      []string
	keyID      *string
	ciphertext []byte
}

// sealHeaders encrypts h under the keyring's primary key. No headers seal
// to no ciphertext at all.
func (s *Store) sealHeaders(id uuid.UUID, h map[string]string) (sealedHeaders, error) {
	out := sealedHeaders{names: slices.Sorted(maps.Keys(h))}
	if len(h) == 0 {
		out.names = []string{}
		return out, nil
	}
	plain, err := json.Marshal(h)
	if err != nil {
		return out, fmt.Errorf("seal provider headers: %w", err)
	}
	keyID, ct, err := s.keys.Encrypt(plain, headersAAD(id))
	clear(plain)
	if err != nil {
		return out, fmt.Errorf("seal provider headers: %w", err)
	}
	out.keyID, out.ciphertext = &keyID, ct
	return out, nil
}

// openHeaders returns a provider's headers in the clear: the sealed ones
// and any written before headers were sealed that no process has sealed
// yet. The error wraps the keyring's (secrets.ErrUnknownKey,
// secrets.ErrDecrypt) and never holds a value.
func (s *Store) openHeaders(r dbsqlc.Provider) (map[string]string, error) {
	h := map[string]string{}
	if len(r.PlainHeaders) > 0 {
		if err := json.Unmarshal(r.PlainHeaders, &h); err != nil {
			return nil, fmt.Errorf("provider %s: unsealed headers are not a JSON object", r.ID)
		}
	}
	if r.HeadersKeyID == nil {
		return h, nil
	}
	plain, err := s.keys.Decrypt(*r.HeadersKeyID, r.HeadersCiphertext, headersAAD(r.ID))
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	sealed := map[string]string{}
	if err := json.Unmarshal(plain, &sealed); err != nil {
		return nil, fmt.Errorf("provider %s: sealed headers are not a JSON object", r.ID)
	}
	maps.Copy(h, sealed)
	return h, nil
}

// patchHeaders applies a patch's header changes to the provider's current
// headers, read under the row's lock in q's transaction, and seals the
// result.
func (s *Store) patchHeaders(ctx context.Context, q *dbsqlc.Queries, id uuid.UUID, patch map[string]*string) (sealedHeaders, error) {
	row, err := q.GetProviderForUpdate(ctx, id)
	if err != nil {
		return sealedHeaders{}, notFound(err, "provider")
	}
	current, err := s.openHeaders(row)
	if err != nil {
		// Values that do not decrypt cannot be kept. A patch that sets or
		// removes every one of them needs none of them, which is how a
		// user recovers from a lost key.
		if !namesAll(patch, row.HeaderNames) {
			return sealedHeaders{}, fault.Conflict("%s: set (or remove with null) every stored header in one change",
				keyProblem("headers", deref(row.HeadersKeyID), err))
		}
		current = map[string]string{}
	}
	merged := catalog.MergeHeaders(current, patch)
	if len(merged) > catalog.MaxHeaders {
		return sealedHeaders{}, fault.Invalid("headers", "at most %d headers", catalog.MaxHeaders)
	}
	return s.sealHeaders(id, merged)
}

// namesAll reports whether patch sets or removes every header in names,
// so that none of their current values is needed.
func namesAll(patch map[string]*string, names []string) bool {
	for _, n := range names {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(patch)), func(k string) bool { return strings.EqualFold(k, n) }) {
			return false
		}
	}
	return true
}

// headerChanges names, for the audit log, the headers a patch sets and
// removes: names only, since the values are credentials.
func headerChanges(patch map[string]*string) string {
	parts := make([]string, 0, len(patch))
	for _, k := range slices.Sorted(maps.Keys(patch)) {
		if patch[k] == nil {
			parts = append(parts, k+" removed")
		} else {
			parts = append(parts, k+" set")
		}
	}
	return "headers (" + strings.Join(parts, ", ") + ")"
}

// DefaultSealBatch is how many providers SealPlainHeaders seals per
// transaction.
const DefaultSealBatch = 50

// SealPlainHeaders seals the headers of providers written before header
// values were encrypted (migration 00011), batch providers per
// transaction, empties their plain copy, and returns how many it sealed.
// The api and the worker call it at start, and `sabe keys rotate` before
// rotating; concurrent callers are safe (rows are locked, and a sealed row
// no longer matches). Each sealed provider writes a keys.rotate audit row
// naming the key id, never a value.
func (s *Store) SealPlainHeaders(ctx context.Context, batch int) (int, error) {
	if s.keys == nil {
		return 0, fmt.Errorf("seal provider headers: no keyring")
	}
	if batch <= 0 {
		batch = DefaultSealBatch
	}
	total := 0
	for {
		n := 0
		err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
			rows, err := q.ProvidersWithPlainHeaders(ctx, int32(batch))
			if err != nil {
				return err
			}
			for _, r := range rows {
				h, err := s.openHeaders(r)
				if err != nil {
					return fmt.Errorf("provider %s: %w", r.ID, err)
				}
				sealed, err := s.sealHeaders(r.ID, h)
				if err != nil {
					return err
				}
				if err := q.SealProviderHeaders(ctx, dbsqlc.SealProviderHeadersParams{
					ID: r.ID, HeaderNames: sealed.names, HeadersKeyID: sealed.keyID, HeadersCiphertext: sealed.ciphertext,
				}); err != nil {
					return err
				}
				reason := fmt.Sprintf("headers sealed under key id %s", deref(sealed.keyID))
				if err := auditChange(ctx, q, audit.ActionKeysRotate, audit.ResourceProvider, r.ID.String(), reason); err != nil {
					return err
				}
			}
			n = len(rows)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("seal provider headers: %w", err)
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}
