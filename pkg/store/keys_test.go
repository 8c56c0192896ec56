package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// rings returns the entries of two keys and the rings "old" and "new,old".
func rings(t *testing.T) (oldRing, both, newOnly *secrets.Keyring) {
	t.Helper()
	oldE, err := secrets.GenerateEntry("old")
	if err != nil {
		t.Fatal(err)
	}
	newE, err := secrets.GenerateEntry("new")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) *secrets.Keyring {
		k, err := secrets.ParseKeyring(s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return parse(oldE), parse(newE + "," + oldE), parse(newE)
}

func TestStore_RotateKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	oldRing, both, newOnly := rings(t)
	before := store.New(pool, oldRing)
	keys := map[uuid.UUID]string{}
	for i := range 7 {
		key := fmt.Sprintf("sk-rotate-%d", i)
		p := testfactory.Provider(ctx, t, before, &testfactory.ProviderOpts{Name: fmt.Sprint("p", i), APIKey: key})
		keys[p.ID] = key
	}
	testfactory.Provider(ctx, t, before, &testfactory.ProviderOpts{Name: "keyless"})
	// Webhook secrets are sealed under the same ring: one webhook with a
	// secret, one rotated (a current and a previous secret), 3 ciphertexts.
	hookSecrets := map[uuid.UUID][2]string{}
	s1, w1 := newWebhook(ctx, t, before, "plain", time.Time{})
	hookSecrets[w1.ID] = [2]string{s1, ""}
	s2, w2 := newWebhook(ctx, t, before, "rotated", time.Time{})
	s3, _, err := before.RotateWebhookSecret(ctx, w2.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	hookSecrets[w2.ID] = [2]string{s3, s2}
	after := store.New(pool, both)

	t.Run("KeyUsageBefore", func(t *testing.T) {
		u, err := after.KeyUsage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(u) != 1 || u["old"] != 7 {
			t.Errorf("usage = %v, want old:7", u)
		}
		if h, err := after.WebhookKeyUsage(ctx); err != nil || len(h) != 1 || h["old"] != 2 {
			t.Errorf("webhook usage = %v, %v; want old:2", h, err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		n, err := after.RotateKeys(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if n != 7+3 {
			t.Errorf("rotated %d, want 10 (7 provider keys, 3 webhook secrets)", n)
		}
		u, err := after.KeyUsage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(u) != 1 || u["new"] != 7 {
			t.Errorf("usage after rotation = %v, want new:7", u)
		}
		// The old key can go: a ring without it decrypts every provider.
		final := store.New(pool, newOnly)
		for id, want := range keys {
			c, err := final.ProviderConn(ctx, id)
			if err != nil {
				t.Fatalf("provider %s after rotation: %v", id, err)
			}
			if c.APIKey != want {
				t.Errorf("provider %s key = %q, want %q", id, c.APIKey, want)
			}
		}
		if h, err := after.WebhookKeyUsage(ctx); err != nil || len(h) != 1 || h["new"] != 2 {
			t.Errorf("webhook usage after rotation = %v, %v; want new:2", h, err)
		}
		for id, want := range hookSecrets {
			cur, prev := webhookSecrets(ctx, t, pool, newOnly, id)
			if cur != want[0] || prev != want[1] {
				t.Errorf("webhook %s secrets changed in rotation", id)
			}
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		n, err := after.RotateKeys(ctx, 3)
		if err != nil || n != 0 {
			t.Errorf("second rotation = %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		// The old ring does not know "new": nothing can be re-encrypted.
		_, err := store.New(pool, oldRing).RotateKeys(ctx, 3)
		if !errors.Is(err, secrets.ErrUnknownKey) {
			t.Errorf("err = %v, want ErrUnknownKey", err)
		}
	})
}

// TestStore_RotateKeysKeepsConcurrentPatch changes keys while a rotation
// runs, and checks every key ends up as the last PATCH set it.
func TestStore_RotateKeysKeepsConcurrentPatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	oldRing, both, _ := rings(t)
	before := store.New(pool, oldRing)
	after := store.New(pool, both)
	var ids []uuid.UUID
	for i := range 40 {
		p := testfactory.Provider(ctx, t, before, &testfactory.ProviderOpts{Name: fmt.Sprint("p", i), APIKey: "sk-old"})
		ids = append(ids, p.ID)
	}
	done := make(chan error, 1)
	go func() {
		_, err := after.RotateKeys(ctx, 1)
		done <- err
	}()
	for _, id := range ids {
		k := "sk-patched-" + id.String()
		if _, err := after.UpdateProvider(ctx, id, catalog.ProviderPatch{APIKey: &k}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		c, err := after.ProviderConn(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.APIKey != "sk-patched-"+id.String() {
			t.Errorf("provider %s key = %q: a concurrent PATCH was lost", id, c.APIKey)
		}
	}
	u, err := after.KeyUsage(ctx)
	if err != nil || u["old"] != 0 {
		t.Errorf("usage = %v, %v; want nothing under old", u, err)
	}
}
