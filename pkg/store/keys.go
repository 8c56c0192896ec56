package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// DefaultRotateBatch is how many provider keys RotateKeys re-encrypts per
// transaction: small enough that the row locks it holds are brief.
const DefaultRotateBatch = 50

// KeyUsage returns, for each key id that seals at least one provider's API
// key or headers, how many providers use it. Ids absent from the map seal nothing.
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

// WebhookKeyUsage returns, for each key id that seals at least one
// webhook's signing secret (current or previous), how many webhooks use
// it. A key id absent from both this and KeyUsage seals nothing.
func (s *Store) WebhookKeyUsage(ctx context.Context) (map[string]int, error) {
	rows, err := s.q.WebhookKeyUsage(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhook key usage: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.KeyID] = int(r.Webhooks)
	}
	return out, nil
}

// RotateKeys re-encrypts every provider API key, every provider's headers
// and every webhook signing secret (current and previous) not sealed with
// the keyring's primary key under the primary, batch rows per
// transaction, and returns how many ciphertexts it re-encrypted. Headers not sealed yet (written before migration 00011)
// are sealed first. It can run while the system works: readers decrypt
// with whichever key id the row names (so every process must hold the new
// ring first), and each row is locked and changed by compare-and-set, so a
// key or header replaced concurrently (a PATCH) is kept, not overwritten
// with the re-encrypted old one. Each re-encryption writes a keys.rotate
// audit row (actor from ctx) in its batch's transaction. A ciphertext whose
// key id is not in the ring stops the rotation with an error naming the
// provider or webhook and the key id (wrapping secrets.ErrUnknownKey): it cannot be
// decrypted.
func (s *Store) RotateKeys(ctx context.Context, batch int) (int, error) {
	if s.keys == nil {
		return 0, errors.New("rotate keys: no keyring")
	}
	if batch <= 0 {
		batch = DefaultRotateBatch
	}
	if _, err := s.SealPlainHeaders(ctx, batch); err != nil {
		return 0, fmt.Errorf("rotate keys: %w", err)
	}
	primary := s.keys.Primary()
	keys, err := s.rotateBatches(ctx, func(q *dbsqlc.Queries) ([]sealedRow, error) {
		rows, err := q.ProvidersToRotate(ctx, dbsqlc.ProvidersToRotateParams{PrimaryID: primary, Lim: int32(batch)})
		out := make([]sealedRow, len(rows))
		for i, r := range rows {
			out[i] = sealedRow{id: r.ID, keyID: r.ApiKeyID, ciphertext: r.ApiKeyCiphertext}
		}
		return out, err
	})
	if err != nil {
		return keys, err
	}
	headers, err := s.rotateBatches(ctx, func(q *dbsqlc.Queries) ([]sealedRow, error) {
		rows, err := q.ProviderHeadersToRotate(ctx, dbsqlc.ProviderHeadersToRotateParams{PrimaryID: primary, Lim: int32(batch)})
		out := make([]sealedRow, len(rows))
		for i, r := range rows {
			out[i] = sealedRow{kind: kindHeaders, id: r.ID, keyID: r.HeadersKeyID, ciphertext: r.HeadersCiphertext}
		}
		return out, err
	})
	if err != nil {
		return keys + headers, err
	}
	webhookSecrets, err := s.rotateBatches(ctx, func(q *dbsqlc.Queries) ([]sealedRow, error) {
		rows, err := q.WebhookSecretsToRotate(ctx, dbsqlc.WebhookSecretsToRotateParams{PrimaryID: primary, Lim: int32(batch)})
		out := make([]sealedRow, len(rows))
		for i, r := range rows {
			out[i] = sealedRow{kind: kindWebhookSecret, id: r.ID, keyID: r.SecretKeyID, ciphertext: r.SecretCiphertext}
		}
		return out, err
	})
	if err != nil {
		return keys + headers + webhookSecrets, err
	}
	previous, err := s.rotateBatches(ctx, func(q *dbsqlc.Queries) ([]sealedRow, error) {
		rows, err := q.WebhookPreviousSecretsToRotate(ctx, dbsqlc.WebhookPreviousSecretsToRotateParams{PrimaryID: primary, Lim: int32(batch)})
		out := make([]sealedRow, len(rows))
		for i, r := range rows {
			out[i] = sealedRow{kind: kindWebhookPrevious, id: r.ID, keyID: r.PreviousSecretKeyID, ciphertext: r.PreviousSecretCiphertext}
		}
		return out, err
	})
	return keys + headers + webhookSecrets + previous, err
}

// sealedKind is which ciphertext of a row a sealedRow is.
type sealedKind int

const (
	kindAPIKey sealedKind = iota
	kindHeaders
	kindWebhookSecret
	kindWebhookPrevious
)

// sealedRow is one ciphertext to re-encrypt: a provider's API key or
// headers, or a webhook's signing secret (current or previous).
type sealedRow struct {
	kind       sealedKind
	id         uuid.UUID
	keyID      string
	ciphertext []byte
}

func (r sealedRow) what() string {
	switch r.kind {
	case kindHeaders:
		return "headers"
	case kindWebhookSecret:
		return "signing secret"
	case kindWebhookPrevious:
		return "previous signing secret"
	}
	return "api key"
}

// resource is the audit resource type of the row, which errors name too.
func (r sealedRow) resource() string {
	if r.kind == kindWebhookSecret || r.kind == kindWebhookPrevious {
		return audit.ResourceWebhook
	}
	return audit.ResourceProvider
}

func (r sealedRow) aad() []byte {
	switch r.kind {
	case kindHeaders:
		return headersAAD(r.id)
	case kindWebhookSecret, kindWebhookPrevious:
		return notify.SecretAAD(r.id)
	}
	return keyAAD(r.id)
}

// store replaces the ciphertext by compare-and-set and returns the rows
// changed: 0 when a concurrent change (a PATCH, a secret rotation) won.
func (r sealedRow) store(ctx context.Context, q *dbsqlc.Queries, keyID string, ct []byte) (int64, error) {
	switch r.kind {
	case kindHeaders:
		return q.ReencryptProviderHeaders(ctx, dbsqlc.ReencryptProviderHeadersParams{
			NewKeyID: keyID, NewCiphertext: ct, ID: r.id, OldKeyID: r.keyID, OldCiphertext: r.ciphertext,
		})
	case kindWebhookSecret:
		return q.ReencryptWebhookSecret(ctx, dbsqlc.ReencryptWebhookSecretParams{
			NewKeyID: keyID, NewCiphertext: ct, ID: r.id, OldKeyID: r.keyID, OldCiphertext: r.ciphertext,
		})
	case kindWebhookPrevious:
		return q.ReencryptWebhookPreviousSecret(ctx, dbsqlc.ReencryptWebhookPreviousSecretParams{
			NewKeyID: keyID, NewCiphertext: ct, ID: r.id, OldKeyID: r.keyID, OldCiphertext: r.ciphertext,
		})
	}
	return q.ReencryptProviderKey(ctx, dbsqlc.ReencryptProviderKeyParams{
		NewKeyID: keyID, NewCiphertext: ct, ID: r.id, OldKeyID: r.keyID, OldCiphertext: r.ciphertext,
	})
}

// rotateBatches re-encrypts what next returns, one transaction per batch,
// until nothing is left, and returns how many it re-encrypted.
func (s *Store) rotateBatches(ctx context.Context, next func(q *dbsqlc.Queries) ([]sealedRow, error)) (int, error) {
	total := 0
	for {
		seen, n := 0, 0
		err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
			rows, err := next(q)
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

// reencrypt moves one ciphertext under the primary key. It reports false
// when the row changed since it was read.
func (s *Store) reencrypt(ctx context.Context, q *dbsqlc.Queries, r sealedRow) (bool, error) {
	plain, err := s.keys.Decrypt(r.keyID, r.ciphertext, r.aad())
	if err != nil {
		return false, fmt.Errorf("decrypt %s of %s %s (key id %s): %w", r.what(), r.resource(), r.id, r.keyID, err)
	}
	keyID, ct, err := s.keys.Encrypt(plain, r.aad())
	clear(plain)
	if err != nil {
		return false, fmt.Errorf("encrypt %s of %s %s: %w", r.what(), r.resource(), r.id, err)
	}
	changed, err := r.store(ctx, q, keyID, ct)
	if err != nil {
		return false, fmt.Errorf("store %s of %s %s: %w", r.what(), r.resource(), r.id, err)
	}
	if changed == 0 {
		return false, nil
	}
	reason := fmt.Sprintf("%s re-encrypted from key id %s to %s", r.what(), r.keyID, keyID)
	if err := auditChange(ctx, q, audit.ActionKeysRotate, r.resource(), r.id.String(), reason); err != nil {
		return false, fmt.Errorf("audit key rotation of %s %s: %w", r.resource(), r.id, err)
	}
	return true, nil
}
