package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

func TestServer_Auth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	unknown, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	// The same token with its last checksum character changed.
	swap := "A"
	if strings.HasSuffix(b.token, swap) {
		swap = "B"
	}
	wrongSum := b.token[:len(b.token)-1] + swap
	past := time.Now().Add(-time.Hour)
	expired, _, err := b.store.CreateToken(ctx, "expired", []string{apitoken.ScopeAdmin}, &past)
	if err != nil {
		t.Fatal(err)
	}
	revokedSecret, revokedTok, err := b.store.CreateToken(ctx, "revoked", []string{apitoken.ScopeAdmin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.RevokeToken(ctx, revokedTok.ID); err != nil {
		t.Fatal(err)
	}
	reader := b.newToken(t, apitoken.ScopeRead)
	writer := b.newToken(t, apitoken.ScopeWrite)

	for _, tc := range []struct {
		name   string
		opts   []reqOpt
		path   string
		status int
	}{
		{"ErrNoCredential", []reqOpt{as("")}, "/v1/providers", http.StatusUnauthorized},
		{"ErrMalformed", []reqOpt{as("not-a-token")}, "/v1/providers", http.StatusUnauthorized},
		{"ErrWrongPrefix", []reqOpt{as("sk_" + b.token[3:])}, "/v1/providers", http.StatusUnauthorized},
		{"ErrChecksum", []reqOpt{as(wrongSum)}, "/v1/providers", http.StatusUnauthorized},
		{"ErrUnknown", []reqOpt{as(unknown)}, "/v1/providers", http.StatusUnauthorized},
		{"ErrRevoked", []reqOpt{as(revokedSecret)}, "/v1/providers", http.StatusUnauthorized},
		{"ErrExpired", []reqOpt{as(expired)}, "/v1/providers", http.StatusUnauthorized},
		{"ErrBasicScheme", []reqOpt{header("Authorization", "Basic "+b.token)}, "/v1/providers", http.StatusUnauthorized},
		{"ErrTokenInQuery", []reqOpt{as("")}, "/v1/providers?token=" + b.token, http.StatusUnauthorized},
		{"ErrAccessTokenInQuery", nil, "/v1/providers?access_token=" + b.token, http.StatusUnauthorized},
		{"ErrUnknownRouteNeedsAuth", []reqOpt{as("")}, "/v1/secret-stuff", http.StatusUnauthorized},
		{"OKBearer", nil, "/v1/providers", http.StatusOK},
		{"OKSchemeCase", []reqOpt{header("Authorization", "bearer "+b.token)}, "/v1/providers", http.StatusOK},
		{"OKReadScope", []reqOpt{as(reader)}, "/v1/providers", http.StatusOK},
		{"OKWriteImpliesRead", []reqOpt{as(writer)}, "/v1/providers", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := b.do(t, "GET", tc.path, "", tc.opts...)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tc.status, resp.body)
			}
			if tc.status == http.StatusUnauthorized {
				e := wantError(t, resp, http.StatusUnauthorized, "")
				if e.Error.Code != "unauthorized" || resp.header.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("code %q, WWW-Authenticate %q", e.Error.Code, resp.header.Get("WWW-Authenticate"))
				}
			}
		})
	}

	t.Run("ErrReadOnlyWrites", func(t *testing.T) {
		t.Parallel()
		r := b.do(t, "POST", "/v1/suites", `{"name":"ro"}`, as(reader))
		e := wantError(t, r, http.StatusForbidden, "")
		if e.Error.Code != "forbidden" {
			t.Errorf("code %q", e.Error.Code)
		}
	})

	t.Run("ErrNoScopes", func(t *testing.T) {
		t.Parallel()
		// A token that could do nothing is refused when it is made.
		_, _, err := b.store.CreateToken(context.Background(), "no-scopes", []string{}, nil)
		if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != "scopes" {
			t.Fatalf("token without scopes: %v, want invalid scopes", err)
		}
	})

	t.Run("OKWriterWrites", func(t *testing.T) {
		t.Parallel()
		call[oapi.Suite](t, b, "POST", "/v1/suites", `{"name":"by-writer"}`, http.StatusCreated, as(writer))
	})

	t.Run("PublicRoutes", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/login"} {
			if r := b.do(t, "GET", path, "", as("")); r.status != http.StatusOK {
				t.Errorf("GET %s without a token: %d %s", path, r.status, r.body)
			}
		}
		if r := b.do(t, "POST", "/logout", "", as("")); r.status != http.StatusSeeOther {
			t.Errorf("POST /logout without a token: %d %s", r.status, r.body)
		}
	})
}

func TestServer_RevokedAfterUse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	secret, tok, err := b.store.CreateToken(ctx, "soon-revoked", []string{apitoken.ScopeRead}, nil)
	if err != nil {
		t.Fatal(err)
	}
	call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK, as(secret))
	if err := b.store.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	wantError(t, b.do(t, "GET", "/v1/providers", "", as(secret)), http.StatusUnauthorized, "")
}

func TestServer_TokenUseRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK)
	// Close waits for the background write.
	if err := b.srv.Close(); err != nil {
		t.Fatal(err)
	}
	page, err := b.store.ListTokens(context.Background(), 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].LastUsedAt == nil {
		t.Fatalf("tokens = %+v; want the bundle's token with last_used_at set", page.Items)
	}
}

// login posts the login form and returns the response.
func (b *bundle) login(t *testing.T, token string) response {
	t.Helper()
	form := url.Values{"token": {token}}.Encode()
	return b.do(t, "POST", "/login", form, as(""), header("Content-Type", "application/x-www-form-urlencoded"))
}

// sessionCookie returns the session cookie a response sets.
func sessionCookie(t *testing.T, resp response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: resp.header}).Cookies() {
		if c.Name == "sabe_session" {
			return c
		}
	}
	t.Fatalf("no sabe_session cookie in %v", resp.header.Values("Set-Cookie"))
	return nil
}

func TestServer_Login(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.CookieSecure = true; d.Config.SessionTTL = 30 * time.Minute })
		page := b.do(t, "GET", "/login", "", as(""))
		if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(page.body), `name="token"`) || !strings.Contains(string(page.body), `action="/login"`) {
			t.Fatalf("login page: %d %s", page.status, page.body)
		}
		for _, external := range []string{"src=", "<link", "<script", "@import", "url("} {
			if strings.Contains(string(page.body), external) {
				t.Errorf("login page loads something (%s)", external)
			}
		}

		resp := b.login(t, b.token)
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/" {
			t.Fatalf("login: %d, Location %q: %s", resp.status, resp.header.Get("Location"), resp.body)
		}
		c := sessionCookie(t, resp)
		raw := resp.header.Get("Set-Cookie")
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || !c.Secure || c.MaxAge != 1800 {
			t.Errorf("cookie %q; want HttpOnly, SameSite=Strict, Path=/, Secure, Max-Age=1800", raw)
		}
		if strings.Contains(raw, b.token) {
			t.Errorf("the cookie carries the token itself")
		}
		// The session is in Redis under the hash of its id, not the id.
		keys, err := b.rdb.Keys(context.Background(), "sabe:session:*").Result()
		if err != nil || len(keys) != 1 || strings.Contains(keys[0], c.Value) {
			t.Errorf("session keys = %v, %v", keys, err)
		}

		// The cookie authenticates reads without a Bearer header.
		cookie := &http.Cookie{Name: c.Name, Value: c.Value}
		call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK, as(""), withCookie(cookie))

		// Changes with the cookie need the request to come from this origin.
		body := `{"name":"from-browser"}`
		wantError(t, b.do(t, "POST", "/v1/suites", body, as(""), withCookie(cookie)), http.StatusForbidden, "")
		wantError(t, b.do(t, "POST", "/v1/suites", body, as(""), withCookie(cookie), header("Origin", "https://evil.example")), http.StatusForbidden, "")
		wantError(t, b.do(t, "POST", "/v1/suites", body, as(""), withCookie(cookie), header("Referer", "https://evil.example/page")), http.StatusForbidden, "")
		call[oapi.Suite](t, b, "POST", "/v1/suites", body, http.StatusCreated, as(""), withCookie(cookie), header("Origin", b.ts.URL))

		// Logging out ends the session on the server, not only in the browser.
		out := b.do(t, "POST", "/logout", "", as(""), withCookie(cookie))
		if out.status != http.StatusSeeOther || out.header.Get("Location") != "/login" {
			t.Fatalf("logout: %d %s", out.status, out.body)
		}
		if cleared := sessionCookie(t, out); cleared.MaxAge >= 0 || cleared.Value != "" {
			t.Errorf("logout cookie %q does not clear the session", out.header.Get("Set-Cookie"))
		}
		wantError(t, b.do(t, "GET", "/v1/providers", "", as(""), withCookie(cookie)), http.StatusUnauthorized, "")
	})

	t.Run("ErrBadToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// A changed last character: "x", or "y" when the token already
		// ends in "x" (one token in 62 does).
		last := "x"
		if strings.HasSuffix(b.token, "x") {
			last = "y"
		}
		for _, tok := range []string{"garbage", b.token[:len(b.token)-1] + last} {
			resp := b.login(t, tok)
			if resp.status != http.StatusUnauthorized || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(resp.body), "not accepted") || !strings.Contains(string(resp.body), `name="token"`) {
				t.Errorf("login with %q: %d %s", tok, resp.status, resp.body)
			}
			if len(resp.header.Values("Set-Cookie")) != 0 {
				t.Errorf("a failed login set a cookie")
			}
		}
		form := header("Content-Type", "application/x-www-form-urlencoded")
		wantError(t, b.do(t, "POST", "/login", "other=1", as(""), form), http.StatusBadRequest, "token")
		wantError(t, b.do(t, "POST", "/login", "token=", as(""), form), http.StatusUnprocessableEntity, "token")
	})

	t.Run("ErrRevokedEndsSession", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		secret, tok, err := b.store.CreateToken(context.Background(), "browser", []string{apitoken.ScopeAdmin}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := sessionCookie(t, b.login(t, secret))
		cookie := &http.Cookie{Name: c.Name, Value: c.Value}
		call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK, as(""), withCookie(cookie))
		if err := b.store.RevokeToken(context.Background(), tok.ID); err != nil {
			t.Fatal(err)
		}
		wantError(t, b.do(t, "GET", "/v1/providers", "", as(""), withCookie(cookie)), http.StatusUnauthorized, "")
	})

	t.Run("ErrForgedCookie", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, v := range []string{"x", strings.Repeat("A", 43)} {
			wantError(t, b.do(t, "GET", "/v1/providers", "", as(""), withCookie(&http.Cookie{Name: "sabe_session", Value: v})), http.StatusUnauthorized, "")
		}
	})
}

func TestServer_Monitoring(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("ErrNoCredential", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/monitoring", "/monitoring/", "/monitoring/api/queues"} {
			wantError(t, b.do(t, "GET", path, "", as("")), http.StatusUnauthorized, "")
		}
	})

	t.Run("ErrNotAdmin", func(t *testing.T) {
		t.Parallel()
		writer := b.newToken(t, apitoken.ScopeWrite)
		wantError(t, b.do(t, "GET", "/monitoring/", "", as(writer)), http.StatusForbidden, "")
	})

	t.Run("BrowserGoesToLoginAndBack", func(t *testing.T) {
		t.Parallel()
		html := header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		r := b.do(t, "GET", "/monitoring/queues/default?tab=active", "", as(""), html)
		want := "/login?next=" + url.QueryEscape("/monitoring/queues/default?tab=active")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
			t.Fatalf("browser without a session: %d, Location %q; want 303 to %s", r.status, r.header.Get("Location"), want)
		}
		// An expired or forged session is sent to log in again too.
		forged := withCookie(&http.Cookie{Name: "sabe_session", Value: strings.Repeat("A", 43)})
		if r := b.do(t, "GET", "/monitoring/", "", as(""), html, forged); r.status != http.StatusSeeOther {
			t.Errorf("browser with a dead session: %d, want 303", r.status)
		}
		page := b.do(t, "GET", want, "", as(""), html)
		if page.status != http.StatusOK || !strings.Contains(string(page.body), `name="next" value="/monitoring/queues/default?tab=active"`) {
			t.Fatalf("login page does not carry next: %d %s", page.status, page.body)
		}
		form := url.Values{"token": {b.token}, "next": {"/monitoring/queues/default?tab=active"}}.Encode()
		resp := b.do(t, "POST", "/login", form, as(""), header("Content-Type", "application/x-www-form-urlencoded"))
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/monitoring/queues/default?tab=active" {
			t.Fatalf("login: %d, Location %q", resp.status, resp.header.Get("Location"))
		}
		// API clients (no text/html) keep the JSON 401.
		wantError(t, b.do(t, "GET", "/monitoring/api/queues", "", as(""), header("Accept", "application/json")), http.StatusUnauthorized, "")
	})

	t.Run("ErrOpenRedirect", func(t *testing.T) {
		t.Parallel()
		for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "evil.example", "javascript:alert(1)", "/\tx"} {
			form := url.Values{"token": {b.token}, "next": {next}}.Encode()
			resp := b.do(t, "POST", "/login", form, as(""), header("Content-Type", "application/x-www-form-urlencoded"))
			if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/" {
				t.Errorf("login with next %q: %d, Location %q; want /", next, resp.status, resp.header.Get("Location"))
			}
			page := b.do(t, "GET", "/login?next="+url.QueryEscape(next), "", as(""))
			if strings.Contains(string(page.body), "evil") || strings.Contains(string(page.body), "javascript") {
				t.Errorf("login page carries next %q: %s", next, page.body)
			}
		}
	})

	t.Run("ErrReadSessionNotAdmin", func(t *testing.T) {
		t.Parallel()
		// A read token logs in (for the dashboard), but its session does
		// not open the queue monitor.
		reader := b.newToken(t, apitoken.ScopeRead)
		resp := b.login(t, reader)
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/" {
			t.Fatalf("login with a read-only token: %d, Location %q: %s", resp.status, resp.header.Get("Location"), resp.body)
		}
		c := sessionCookie(t, resp)
		wantError(t, b.do(t, "GET", "/monitoring/", "", as(""), withCookie(&http.Cookie{Name: c.Name, Value: c.Value})), http.StatusForbidden, "")
	})

	t.Run("OKAdmin", func(t *testing.T) {
		t.Parallel()
		page := b.do(t, "GET", "/monitoring/", "")
		if page.status != http.StatusOK || !strings.Contains(string(page.body), "<html") {
			t.Fatalf("GET /monitoring/: %d %.200s", page.status, page.body)
		}
		if r := b.do(t, "GET", "/monitoring", ""); r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/monitoring/" {
			t.Errorf("GET /monitoring: %d, Location %q", r.status, r.header.Get("Location"))
		}
		api := b.do(t, "GET", "/monitoring/api/queues", "")
		if api.status != http.StatusOK || !json.Valid(api.body) {
			t.Errorf("GET /monitoring/api/queues: %d %s", api.status, api.body)
		}
	})

	t.Run("PayloadIDsOnly", func(t *testing.T) {
		t.Parallel()
		w := b.world(t, 1, 1, 1)
		r := call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "", http.StatusAccepted)
		resp := b.do(t, "GET", "/monitoring/api/queues/control/pending_tasks", "")
		var page struct {
			Tasks []struct {
				ID      string `json:"id"`
				Payload string `json:"payload"`
			} `json:"tasks"`
		}
		if resp.status != http.StatusOK || json.Unmarshal(resp.body, &page) != nil {
			t.Fatalf("pending tasks: %d %s", resp.status, resp.body)
		}
		want := "run_id=" + r.Id.String()
		for _, task := range page.Tasks {
			if task.ID == "run:"+r.Id.String() {
				if task.Payload != want {
					t.Errorf("payload shown as %q, want %q", task.Payload, want)
				}
				return
			}
		}
		t.Errorf("run:start task of run %s not listed: %s", r.Id, resp.body)
	})

	t.Run("OKSession", func(t *testing.T) {
		t.Parallel()
		c := sessionCookie(t, b.login(t, b.token))
		page := b.do(t, "GET", "/monitoring/", "", as(""), withCookie(&http.Cookie{Name: c.Name, Value: c.Value}))
		if page.status != http.StatusOK {
			t.Errorf("GET /monitoring/ with the session: %d", page.status)
		}
	})
}

func TestServer_System(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		health := call[oapi.Health](t, b, "GET", "/healthz", "", http.StatusOK, as(""))
		if health.Status != "ok" {
			t.Errorf("healthz = %+v", health)
		}
		ready := call[oapi.Readiness](t, b, "GET", "/readyz", "", http.StatusOK, as(""))
		if ready.Status != "ok" || ready.Checks.Postgres != "ok" || ready.Checks.Redis != "ok" {
			t.Errorf("readyz = %+v", ready)
		}
		doc := b.do(t, "GET", "/openapi.json", "", as(""))
		want, err := httpapi.SpecJSON()
		if err != nil {
			t.Fatal(err)
		}
		if doc.status != http.StatusOK || string(doc.body) != string(want) || doc.header.Get("Content-Type") != "application/json" {
			t.Errorf("openapi.json: %d %s, %d bytes", doc.status, doc.header.Get("Content-Type"), len(doc.body))
		}
	})

	t.Run("RequestID", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, r := range []response{b.do(t, "GET", "/healthz", ""), b.do(t, "GET", "/v1/nope", "", as(""))} {
			if id := r.header.Get("X-Request-Id"); len(id) != 32 {
				t.Errorf("X-Request-Id = %q, want a generated id", id)
			}
		}
		if id := b.do(t, "GET", "/healthz", "", header("X-Request-Id", "lb-123")).header.Get("X-Request-Id"); id != "lb-123" {
			t.Errorf("a well-formed incoming id was replaced by %q", id)
		}
		for _, bad := range []string{"bad id with spaces", strings.Repeat("a", 65)} {
			if id := b.do(t, "GET", "/healthz", "", header("X-Request-Id", bad)).header.Get("X-Request-Id"); len(id) != 32 {
				t.Errorf("a malformed incoming id was kept: %q", id)
			}
		}
	})

	t.Run("ErrRedisDown", func(t *testing.T) {
		t.Parallel()
		// Nothing listens on port 1 of this machine.
		down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		t.Cleanup(func() { _ = down.Close() })
		b := setup(t, func(d *httpapi.Deps) { d.Redis = down })
		resp := b.do(t, "GET", "/readyz", "", as(""))
		if resp.status != http.StatusServiceUnavailable {
			t.Fatalf("readyz with Redis down: %d %s", resp.status, resp.body)
		}
		var ready oapi.Readiness
		if err := json.Unmarshal(resp.body, &ready); err != nil {
			t.Fatal(err)
		}
		if ready.Status != "unavailable" || ready.Checks.Redis != "unavailable" || ready.Checks.Postgres != "ok" {
			t.Errorf("readyz = %+v", ready)
		}
	})
}
