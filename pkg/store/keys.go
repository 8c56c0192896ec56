package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/pkg/audit"

	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// DefaultRotateBatch is how many provider keys RotateKeys re-encrypts per
// transaction: small enough that the row locks it holds are brief.
const DefaultRotateBatch = 50

// KeyUsage returns, for each key id that seals at least one provider's API
// key, how many providers use it. Ids absent from the map seal nothing.
func (s *Store) KeyUsage(ctx context.Context) (map[string]int, error) {
	rows, err := s.q.KeyUsage(ctx)
	if err != nil {
		return nil, fmt.Errorf("key usage: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.KeyID] = int(r.Providers)
	}
	return out, nil
}

// RotateKeys re-encrypts every provider API key not sealed with the
// keyring's primary key under the primary, batch keys per transaction, and
// returns how many it re-encrypted. It can run while the system works:
// readers decrypt with whichever key id the row names (so every process
// must hold the new ring first), and each row is locked and changed by
// compare-and-set, so a key replaced concurrently (a PATCH) is kept, not
// overwritten with the re-encrypted old one. Each re-encrypted key writes a
// keys.rotate audit row (actor from ctx) in its batch's transaction. A key
// whose id is not in the ring stops the rotation with an error naming the
// provider and the key id (wrapping secrets.ErrUnknownKey): it cannot be
// decrypted.
func (s *Store) RotateKeys(ctx context.Context, batch int) (int, error) {
	if s.keys == nil {
		return 0, errors.New("rotate keys: no keyring")
	}
	if batch <= 0 {
		batch = DefaultRotateBatch
	}
	primary := s.keys.Primary()
	total := 0
	for {
		seen, n := 0, 0
		err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
			rows, err := q.ProvidersToRotate(ctx, dbsqlc.ProvidersToRotateParams{PrimaryID: primary, Lim: int32(batch)})
			if err != nil {
				return err
			}
			seen = len(rows)
			for _, r := range rows {
				changed, err := s.reencrypt(ctx, q, r)
				if err != nil {
					return err
				}
				if changed {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("rotate keys: %w", err)
		}
		total += n
		// Done when nothing is left; also when a batch changed nothing,
		// which only rows changed under us can cause: looping on them
		// would not end.
		if seen == 0 || n == 0 {
			return total, nil
		}
	}
}

// reencrypt moves one provider's key under the primary key. It reports
// false when the row changed since it was read.
func (s *Store) reencrypt(ctx context.Context, q *dbsqlc.Queries, r dbsqlc.ProvidersToRotateRow) (bool, error) {
	aad := keyAAD(r.ID)
	plain, err := s.keys.Decrypt(r.ApiKeyID, r.ApiKeyCiphertext, aad)
	if err != nil {
		return false, fmt.Errorf("decrypt key of provider %s (key id %s): %w", r.ID, r.ApiKeyID, err)
	}
	keyID, ct, err := s.keys.Encrypt(plain, aad)
	clear(plain)
	if err != nil {
		return false, fmt.Errorf("encrypt key of provider %s: %w", r.ID, err)
	}
	changed, err := q.ReencryptProviderKey(ctx, dbsqlc.ReencryptProviderKeyParams{
		NewKeyID: keyID, NewCiphertext: ct, ID: r.ID, OldKeyID: r.ApiKeyID, OldCiphertext: r.ApiKeyCiphertext,
	})
	if err != nil {
		return false, fmt.Errorf("store key of provider %s: %w", r.ID, err)
	}
	if changed == 0 {
		return false, nil
	}
	reason := fmt.Sprintf("api key re-encrypted from key id %s to %s", r.ApiKeyID, keyID)
	if err := auditChange(ctx, q, audit.ActionKeysRotate, audit.ResourceProvider, r.ID.String(), reason); err != nil {
		return false, fmt.Errorf("audit key rotation of provider %s: %w", r.ID, err)
	}
	return true, nil
}
