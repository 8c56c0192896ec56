package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// headerSecret stands for a credential a user puts in a provider header
// (Azure OpenAI's api-key, Proxy-Authorization, a cookie).
const headerSecret = "hdr-secret-value-7d1e5c"

// rawRow returns every column of a provider's row as text, as anyone who
// reads the database (or a backup of it) sees it.
func rawRow(t *testing.T, s *store.Store, id fmt.Stringer) string {
	t.Helper()
	var raw string
	if err := s.Pool().QueryRow(context.Background(), `SELECT row_to_json(p)::text FROM providers p WHERE id = $1`, id.String()).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestStore_ProviderHeadersSealed(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{TokenName: "t"})
	p, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: "azure", Kind: catalog.KindOpenAI, BaseURL: "https://x.example/v1",
		Headers: map[string]string{"api-key": headerSecret, "X-Title": "sabe-title"}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("NotInTheRow", func(t *testing.T) {
		if raw := rawRow(t, s, p.ID); strings.Contains(raw, headerSecret) || strings.Contains(raw, "sabe-title") {
			t.Errorf("the row holds a header value in plain text: %s", raw)
		}
	})
	t.Run("NamesOnly", func(t *testing.T) {
		got, err := s.GetProvider(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.HeaderNames, []string{"X-Title", "api-key"}) || !slices.Equal(p.HeaderNames, got.HeaderNames) {
			t.Errorf("names = %v (create: %v), want [X-Title api-key]", got.HeaderNames, p.HeaderNames)
		}
		if s := fmt.Sprintf("%+v", *got); strings.Contains(s, headerSecret) {
			t.Errorf("provider holds the value: %s", s)
		}
	})
	t.Run("ConnDecrypts", func(t *testing.T) {
		c, err := s.ProviderConn(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"api-key": headerSecret, "X-Title": "sabe-title"}; !maps.Equal(c.Headers, want) {
			t.Errorf("conn headers = %v, want %v", c.Headers, want)
		}
	})
	t.Run("PatchKeepsReplacesRemoves", func(t *testing.T) {
		q, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: "patched", Kind: catalog.KindOpenAI, BaseURL: "https://x.example/v1",
			Headers: map[string]string{"api-key": headerSecret, "X-Title": "sabe-title", "X-Kept": "kept-value"}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.UpdateProvider(ctx, q.ID, catalog.ProviderPatch{Headers: map[string]*string{
			"API-KEY": ptr("hdr-replaced-4455"), "x-title": nil, "X-New": ptr("new-value"),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.HeaderNames, []string{"API-KEY", "X-Kept", "X-New"}) {
			t.Errorf("names = %v", out.HeaderNames)
		}
		c, err := s.ProviderConn(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"API-KEY": "hdr-replaced-4455", "X-Kept": "kept-value", "X-New": "new-value"}; !maps.Equal(c.Headers, want) {
			t.Errorf("conn headers = %v, want %v", c.Headers, want)
		}
		// A patch of other fields keeps the headers.
		name := "patched-2"
		if _, err := s.UpdateProvider(ctx, q.ID, catalog.ProviderPatch{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if c2, err := s.ProviderConn(ctx, q.ID); err != nil || !maps.Equal(c2.Headers, c.Headers) {
			t.Errorf("after a rename: %v, %v; want %v", c2, err, c.Headers)
		}
		// The audit log names the headers changed, never a value.
		events, err := s.ListAudit(ctx, store.AuditFilter{ResourceID: q.ID.String()}, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range events.Items {
			if strings.Contains(e.Reason, "hdr-") || strings.Contains(e.Reason, "value") {
				t.Errorf("audit reason holds a value: %q", e.Reason)
			}
			found = found || strings.Contains(e.Reason, "API-KEY set") && strings.Contains(e.Reason, "x-title removed")
		}
		if !found {
			t.Errorf("no audit row names the header changes: %+v", events.Items)
		}
	})
	t.Run("ErrTooMany", func(t *testing.T) {
		h := map[string]*string{}
		for i := range catalog.MaxHeaders - 1 {
			h[fmt.Sprint("X-", i)] = ptr("v")
		}
		_, err := s.UpdateProvider(ctx, p.ID, catalog.ProviderPatch{Headers: h})
		if fault.KindOf(err) != fault.KindInvalid {
			t.Fatalf("%d headers after the patch: %v, want invalid", catalog.MaxHeaders+1, err)
		}
		if got, _ := s.GetProvider(ctx, p.ID); len(got.HeaderNames) != 2 {
			t.Errorf("a refused patch changed the headers: %v", got.HeaderNames)
		}
	})
	t.Run("ErrKeyLost", func(t *testing.T) {
		// A ring without the key id "test" the headers were sealed with.
		_, _, lost := rings(t)
		other := store.New(s.Pool(), lost)
		_, err := other.ProviderConn(ctx, p.ID)
		if !errors.Is(err, secrets.ErrUnknownKey) || !strings.Contains(err.Error(), "headers sealed with key id") {
			t.Fatalf("conn with a ring that lost the key: %v", err)
		}
		// Keeping some headers needs them decrypted: refused.
		if _, err := other.UpdateProvider(ctx, p.ID, catalog.ProviderPatch{Headers: map[string]*string{"X-Title": nil}}); fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("patch keeping undecryptable headers: %v, want conflict", err)
		}
		// Setting or removing them all is how to recover.
		if _, err := other.UpdateProvider(ctx, p.ID, catalog.ProviderPatch{Headers: map[string]*string{"X-Title": nil, "API-KEY": ptr("hdr-again")}}); err != nil {
			t.Fatalf("patch removing every undecryptable header: %v", err)
		}
		if c, err := other.ProviderConn(ctx, p.ID); err != nil || !maps.Equal(c.Headers, map[string]string{"API-KEY": "hdr-again"}) {
			t.Errorf("after recovery: %v, %v", c, err)
		}
	})
}

// TestStore_SealPlainHeaders checks that headers written before they were
// sealed keep working, and are sealed (and gone from the plain column) by
// the first process that starts with the keyring.
func TestStore_SealPlainHeaders(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	var ids []uuid.UUID
	for i := range 3 {
		p, err := s.CreateProvider(ctx, catalog.ProviderInput{Name: fmt.Sprint("legacy", i), Kind: catalog.KindOpenAI, BaseURL: "https://x.example/v1"})
		if err != nil {
			t.Fatal(err)
		}
		// What migration 00011 leaves of a provider written before it.
		if _, err := s.Pool().Exec(ctx, `UPDATE providers SET plain_headers = $2, header_names = '{api-key}' WHERE id = $1`,
			p.ID, fmt.Sprintf(`{"api-key": "%s-%d"}`, headerSecret, i)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		if i == 0 {
			c, err := s.ProviderConn(ctx, p.ID)
			if err != nil || c.Headers["api-key"] != headerSecret+"-0" {
				t.Fatalf("before sealing: %v, %v", c, err)
			}
		}
	}
	n, err := s.SealPlainHeaders(ctx, 2)
	if err != nil || n != 3 {
		t.Fatalf("SealPlainHeaders = %d, %v; want 3", n, err)
	}
	for i, id := range ids {
		p, err := s.GetProvider(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if raw := rawRow(t, s, p.ID); strings.Contains(raw, headerSecret) {
			t.Errorf("provider %d still holds the value in plain text: %s", i, raw)
		}
		c, err := s.ProviderConn(ctx, p.ID)
		if err != nil || c.Headers["api-key"] != fmt.Sprintf("%s-%d", headerSecret, i) || !slices.Equal(p.HeaderNames, []string{"api-key"}) {
			t.Errorf("provider %d after sealing: %v, %v, names %v", i, c, err, p.HeaderNames)
		}
	}
	if n, err := s.SealPlainHeaders(ctx, 2); err != nil || n != 0 {
		t.Errorf("second SealPlainHeaders = %d, %v; want 0", n, err)
	}
}

// TestStore_RotateKeysHeaders checks that rotation moves sealed headers to
// the new key, and that key usage counts a key that seals only headers.
func TestStore_RotateKeysHeaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	oldRing, both, newOnly := rings(t)
	p, err := store.New(pool, oldRing).CreateProvider(ctx, catalog.ProviderInput{Name: "h", Kind: catalog.KindOpenAI, BaseURL: "https://x.example/v1",
		Headers: map[string]string{"api-key": headerSecret}})
	if err != nil {
		t.Fatal(err)
	}
	after := store.New(pool, both)
	if u, err := after.KeyUsage(ctx); err != nil || len(u) != 1 || u["old"] != 1 {
		t.Fatalf("usage before = %v, %v; want old:1 (headers only)", u, err)
	}
	if n, err := after.RotateKeys(ctx, 10); err != nil || n != 1 {
		t.Fatalf("RotateKeys = %d, %v; want 1", n, err)
	}
	if u, err := after.KeyUsage(ctx); err != nil || len(u) != 1 || u["new"] != 1 {
		t.Errorf("usage after = %v, %v; want new:1", u, err)
	}
	c, err := store.New(pool, newOnly).ProviderConn(ctx, p.ID)
	if err != nil || c.Headers["api-key"] != headerSecret {
		t.Errorf("with the new key only: %v, %v", c, err)
	}
}
