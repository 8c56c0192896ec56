package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// TestServer_Session: GET /v1/session says which token calls, with its
// scopes, how (bearer or session cookie) and when that ends.
func TestServer_Session(t *testing.T) {
	t.Parallel()
	const ttl = 30 * time.Minute

	t.Run("OKBearer", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		secret, tok, err := b.store.CreateToken(context.Background(), "reader", []string{apitoken.ScopeRead}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := call[oapi.Session](t, b, "GET", "/v1/session", "", http.StatusOK, as(secret))
		if got.TokenId != tok.ID || got.TokenName != "reader" || got.Via != oapi.SessionViaBearer || got.ExpiresAt != nil ||
			!slices.Equal(got.Scopes, []oapi.SessionScopes{oapi.SessionScopes(apitoken.ScopeRead)}) {
			t.Errorf("session = %+v, want the read token via bearer, never expiring", got)
		}
	})

	t.Run("OKBearerExpiring", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ends := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		secret, _, err := b.store.CreateToken(context.Background(), "ci", []string{apitoken.ScopeWrite}, &ends)
		if err != nil {
			t.Fatal(err)
		}
		got := call[oapi.Session](t, b, "GET", "/v1/session", "", http.StatusOK, as(secret))
		if got.ExpiresAt == nil || !got.ExpiresAt.Equal(ends) || got.Via != oapi.SessionViaBearer {
			t.Errorf("session = %+v, want expires_at %s (the token's)", got, ends)
		}
	})

	t.Run("OKCookie", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.SessionTTL = ttl })
		before := time.Now().UTC().Truncate(time.Second)
		ck := sessionCookie(t, b.login(t, b.token))
		after := time.Now().UTC()
		got := call[oapi.Session](t, b, "GET", "/v1/session", "", http.StatusOK, as(""), withCookie(ck))
		if got.Via != oapi.SessionViaSession || got.TokenName != "test" ||
			!slices.Equal(got.Scopes, []oapi.SessionScopes{oapi.SessionScopes(apitoken.ScopeAdmin)}) {
			t.Errorf("session = %+v, want the admin token via session", got)
		}
		// The session's end comes from its TTL in Redis, set at login.
		if got.ExpiresAt == nil || got.ExpiresAt.Before(before.Add(ttl-time.Second)) || got.ExpiresAt.After(after.Add(ttl)) {
			t.Errorf("expires_at = %v, want the login time + %s", got.ExpiresAt, ttl)
		}
		// A bearer header wins over the cookie.
		if got := call[oapi.Session](t, b, "GET", "/v1/session", "", http.StatusOK, withCookie(ck)); got.Via != oapi.SessionViaBearer {
			t.Errorf("with both: via %s, want bearer", got.Via)
		}
	})

	t.Run("OKCookieTokenEndsFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.SessionTTL = ttl })
		ends := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
		secret, _, err := b.store.CreateToken(context.Background(), "short", []string{apitoken.ScopeAdmin}, &ends)
		if err != nil {
			t.Fatal(err)
		}
		ck := sessionCookie(t, b.login(t, secret))
		got := call[oapi.Session](t, b, "GET", "/v1/session", "", http.StatusOK, as(""), withCookie(ck))
		if got.ExpiresAt == nil || !got.ExpiresAt.Equal(ends) {
			t.Errorf("expires_at = %v, want the token's %s (before the session's)", got.ExpiresAt, ends)
		}
	})

	t.Run("ErrNoCredential", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wantError(t, b.do(t, "GET", "/v1/session", "", as("")), http.StatusUnauthorized, "")
		wantError(t, b.do(t, "GET", "/v1/session", "", as(""), withCookie(&http.Cookie{Name: "sabe_session", Value: "gone"})), http.StatusUnauthorized, "")
	})
}
