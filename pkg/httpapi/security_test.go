package httpapi_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestServer_Tokens(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		created := call[oapi.CreatedToken](t, b, "POST", "/v1/tokens",
			`{"name": "ci", "scopes": ["read", "write"], "expires_at": "2999-01-01T00:00:00Z"}`, http.StatusCreated)
		if apitoken.Check(created.Token) != nil || created.Name != "ci" || len(created.Scopes) != 2 ||
			created.ExpiresAt == nil || !strings.HasPrefix(created.Token, created.Prefix) {
			t.Fatalf("created = %+v", created)
		}
		// The new token works with its scopes.
		call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK, as(created.Token))
		wantError(t, b.do(t, "GET", "/v1/tokens", "", as(created.Token)), http.StatusForbidden, "")

		resp := b.do(t, "GET", "/v1/tokens", "")
		if resp.status != http.StatusOK {
			t.Fatalf("list: %d %s", resp.status, resp.body)
		}
		if strings.Contains(string(resp.body), created.Token) || strings.Contains(string(resp.body), `"token"`) ||
			strings.Contains(string(resp.body), "hash") {
			t.Errorf("the list shows a secret or a hash: %s", resp.body)
		}
		list := decode[oapi.TokenList](t, resp)
		found := false
		for _, tok := range list.Items {
			if tok.Id == created.Id {
				found = tok.RevokedAt == nil && tok.Prefix == created.Prefix
			}
		}
		if !found {
			t.Errorf("the new token is not listed as live: %s", resp.body)
		}

		if r := b.do(t, "DELETE", "/v1/tokens/"+created.Id.String(), ""); r.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantError(t, b.do(t, "GET", "/v1/providers", "", as(created.Token)), http.StatusUnauthorized, "")
		wantError(t, b.do(t, "DELETE", "/v1/tokens/"+created.Id.String(), ""), http.StatusNotFound, "")
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		wantError(t, b.do(t, "POST", "/v1/tokens", `{"name": "x", "scopes": ["root"]}`), http.StatusUnprocessableEntity, "scopes[0]")
		wantError(t, b.do(t, "POST", "/v1/tokens", `{"name": "x", "scopes": []}`), http.StatusUnprocessableEntity, "scopes")
		wantError(t, b.do(t, "POST", "/v1/tokens", `{"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}`),
			http.StatusUnprocessableEntity, "expires_at")
	})
}

// auditFailures returns the auth.failure events by request id.
func auditFailures(t *testing.T, st *store.Store) map[string]audit.Event {
	t.Helper()
	page, err := st.ListAudit(context.Background(), store.AuditFilter{Action: audit.ActionAuthFailure}, 200, "")
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	out := map[string]audit.Event{}
	for _, e := range page.Items {
		out[e.Actor.RequestID] = e
	}
	return out
}

func TestServer_BrokenAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	read := b.newToken(t, apitoken.ScopeRead)
	write := b.newToken(t, apitoken.ScopeRead, apitoken.ScopeWrite)
	past := time.Now().Add(-time.Hour)
	expired, _, err := b.store.CreateToken(ctx, "expired", []string{apitoken.ScopeAdmin}, &past)
	if err != nil {
		t.Fatal(err)
	}
	revoked, revokedTok, err := b.store.CreateToken(ctx, "revoked", []string{apitoken.ScopeAdmin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.RevokeToken(ctx, revokedTok.ID); err != nil {
		t.Fatal(err)
	}
	// Same random part, another checksum.
	last := b.token[len(b.token)-1]
	wrongSum := b.token[:len(b.token)-1] + map[bool]string{true: "A", false: "B"}[last != 'A']

	cases := []struct {
		name, method, path, token string
		want                      int
	}{
		{"Missing", "GET", "/v1/providers", "", http.StatusUnauthorized},
		{"Malformed", "GET", "/v1/providers", "sabe_nope", http.StatusUnauthorized},
		{"WrongChecksum", "GET", "/v1/providers", wrongSum, http.StatusUnauthorized},
		{"Expired", "GET", "/v1/providers", expired, http.StatusUnauthorized},
		{"Revoked", "GET", "/v1/providers", revoked, http.StatusUnauthorized},
		{"QueryString", "GET", "/v1/providers?token=" + b.token, "", http.StatusUnauthorized},
		{"ReadOnWrite", "POST", "/v1/suites", read, http.StatusForbidden},
		{"WriteOnTokens", "GET", "/v1/tokens", write, http.StatusForbidden},
		{"WriteOnAudit", "GET", "/v1/audit", write, http.StatusForbidden},
		{"WriteOnMonitoring", "GET", "/monitoring/", write, http.StatusForbidden},
		{"ReadOnUnknownRoute", "GET", "/v1/nothing", read, http.StatusForbidden},
	}
	ids := map[string]string{}
	for i, tc := range cases {
		id := fmt.Sprintf("broken-auth-%d", i)
		ids[tc.name] = id
		body := ""
		if tc.method == "POST" {
			body = `{"name": "s"}`
		}
		resp := b.do(t, tc.method, tc.path, body, as(tc.token), header("X-Request-Id", id), header("User-Agent", "matrix/1"))
		if resp.status != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.status, tc.want, resp.body)
		}
	}

	var events map[string]audit.Event
	testenv.WaitFor(t, "every failure in the audit log", 10*time.Second, func() bool {
		events = auditFailures(t, b.store)
		for _, id := range ids {
			if _, ok := events[id]; !ok {
				return false
			}
		}
		return true
	})
	for _, tc := range cases {
		e := events[ids[tc.name]]
		if e.Outcome != audit.OutcomeDenied || e.ResourceType != audit.ResourceRoute || e.Actor.UserAgent != "matrix/1" ||
			e.Actor.SourceIP != "127.0.0.1" || e.Reason == "" {
			t.Errorf("%s: event %+v", tc.name, e)
		}
		if strings.Contains(e.Reason, b.token) || strings.Contains(e.ResourceID, b.token) {
			t.Errorf("%s: the event holds a token: %+v", tc.name, e)
		}
		if tc.want == http.StatusForbidden && (e.Actor.TokenID == nil || e.Actor.TokenName != "test") {
			t.Errorf("%s: a refusal of a known token names no token: %+v", tc.name, e.Actor)
		}
	}
	if got := events[ids["ReadOnWrite"]].ResourceID; got != "POST /v1/suites" {
		t.Errorf("resource of ReadOnWrite = %q, want the route", got)
	}

	// The same events through the API, filtered.
	list := call[oapi.AuditEventList](t, b, "GET", "/v1/audit?action=auth.failure&outcome=denied&limit=200", "", http.StatusOK)
	seen := 0
	for _, e := range list.Items {
		if strings.HasPrefix(e.RequestId, "broken-auth-") {
			seen++
		}
	}
	if seen != len(cases) {
		t.Errorf("GET /v1/audit shows %d of the %d failures", seen, len(cases))
	}
	empty := call[oapi.AuditEventList](t, b, "GET", "/v1/audit?action=auth.failure&from=2999-01-01T00:00:00Z", "", http.StatusOK)
	if len(empty.Items) != 0 {
		t.Errorf("from in the future returned %d events", len(empty.Items))
	}
	page := call[oapi.AuditEventList](t, b, "GET", "/v1/audit?action=auth.failure&limit=2", "", http.StatusOK)
	if len(page.Items) != 2 || page.NextCursor == nil {
		t.Fatalf("first page: %d items, cursor %v", len(page.Items), page.NextCursor)
	}
	next := call[oapi.AuditEventList](t, b, "GET", "/v1/audit?action=auth.failure&limit=2&cursor="+*page.NextCursor, "", http.StatusOK)
	if len(next.Items) == 0 || next.Items[0].Id == page.Items[0].Id || next.Items[0].Id == page.Items[1].Id {
		t.Errorf("second page repeats the first: %+v", next.Items)
	}
}

func TestServer_RateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *httpapi.Deps) { d.Config.RateLimit = 3 })
	other := b.newToken(t, apitoken.ScopeRead)

	for i := range 3 {
		if r := b.do(t, "GET", "/v1/providers", ""); r.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	resp := b.do(t, "GET", "/v1/providers", "")
	e := wantError(t, resp, http.StatusTooManyRequests, "")
	if e.Error.Code != "too_many_requests" {
		t.Errorf("code = %q", e.Error.Code)
	}
	if n, err := strconv.Atoi(resp.header.Get("Retry-After")); err != nil || n < 1 || n > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds", resp.header.Get("Retry-After"))
	}
	// The budget is the token's, not the server's.
	if r := b.do(t, "GET", "/v1/providers", "", as(other)); r.status != http.StatusOK {
		t.Errorf("another token: %d %s", r.status, r.body)
	}
	// Public routes have no token to count against.
	if r := b.do(t, "GET", "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("healthz: %d", r.status)
	}
}

func TestServer_DailyUnits(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *httpapi.Deps) { d.Config.Limits.MaxUnitsPerTokenDay = 6 })
	w := b.world(t, 2, 2, 1) // 4 units a run
	path := "/v1/benchmarks/" + w.benchmark.Id.String() + "/runs"

	t.Run("OK", func(t *testing.T) {
		call[oapi.Run](t, b, "POST", path, "", http.StatusAccepted)
	})
	t.Run("ErrOverToday", func(t *testing.T) {
		resp := b.do(t, "POST", path, "")
		wantError(t, resp, http.StatusTooManyRequests, "")
		n, err := strconv.Atoi(resp.header.Get("Retry-After"))
		if err != nil || n < 1 || n > 24*3600 {
			t.Errorf("Retry-After = %q, want seconds until midnight UTC", resp.header.Get("Retry-After"))
		}
		// Another token has a budget of its own.
		call[oapi.Run](t, b, "POST", path, "", http.StatusAccepted, as(b.newToken(t, apitoken.ScopeWrite)))
	})
	t.Run("ErrOverWholeBudget", func(t *testing.T) {
		big := b.world(t, 2, 4, 1) // 8 units
		wantError(t, b.do(t, "POST", "/v1/benchmarks/"+big.benchmark.Id.String()+"/runs", "", as(b.newToken(t, apitoken.ScopeWrite))),
			http.StatusUnprocessableEntity, "model_ids")
	})
}

func TestServer_CORS(t *testing.T) {
	t.Parallel()
	const allowed = "https://app.example.com"

	t.Run("OKAllowed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.CORSOrigins = []string{allowed} })
		pre := b.do(t, "OPTIONS", "/v1/providers", "", as(""), header("Origin", allowed),
			header("Access-Control-Request-Method", "POST"), header("Access-Control-Request-Headers", "authorization,content-type"))
		if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != allowed {
			t.Errorf("preflight: %d %v", pre.status, pre.header)
		}
		if pre.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight allows credentials: %v", pre.header)
		}
		get := b.do(t, "GET", "/v1/providers", "", header("Origin", allowed))
		if get.status != http.StatusOK || get.header.Get("Access-Control-Allow-Origin") != allowed {
			t.Errorf("GET: %d %v", get.status, get.header)
		}
	})

	t.Run("ErrOtherOrigin", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.CORSOrigins = []string{allowed} })
		for _, origin := range []string{"https://evil.example.com", "https://app.example.com.evil.com", "null"} {
			pre := b.do(t, "OPTIONS", "/v1/providers", "", as(""), header("Origin", origin), header("Access-Control-Request-Method", "POST"))
			get := b.do(t, "GET", "/v1/providers", "", header("Origin", origin))
			if v := pre.header.Get("Access-Control-Allow-Origin") + get.header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("origin %s allowed: %q", origin, v)
			}
		}
	})

	t.Run("ErrNoneConfigured", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		get := b.do(t, "GET", "/v1/providers", "", header("Origin", allowed))
		pre := b.do(t, "OPTIONS", "/v1/providers", "", as(""), header("Origin", allowed), header("Access-Control-Request-Method", "GET"))
		for _, r := range []response{get, pre} {
			for k := range r.header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("CORS header %s with no origins configured", k)
				}
			}
		}
	})
}

func TestServer_SecurityHeaders(t *testing.T) {
	t.Parallel()

	t.Run("OKEveryResponse", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, r := range []response{
			b.do(t, "GET", "/healthz", ""),
			b.do(t, "GET", "/v1/providers", ""),
			b.do(t, "GET", "/v1/providers", "", as("")),
			b.do(t, "GET", "/v1/nothing", ""),
			b.do(t, "GET", "/login", "", as("")),
		} {
			h := r.header
			// The login page sends its referrer to itself only, so that its
			// form's POST carries a real Origin rather than "null".
			policy := "no-referrer"
			if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				policy = "same-origin"
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
				h.Get("Referrer-Policy") != policy || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
				h.Get("X-Request-Id") == "" {
				t.Errorf("status %d: headers %v", r.status, h)
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Errorf("HSTS over plain HTTP: %v", h)
			}
		}
	})

	t.Run("OKHSTS", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) {
			d.Config.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		})
		if r := b.do(t, "GET", "/healthz", "", header("X-Forwarded-Proto", "https")); !strings.HasPrefix(r.header.Get("Strict-Transport-Security"), "max-age=") {
			t.Errorf("trusted proxy over https: no HSTS: %v", r.header)
		}
		if r := b.do(t, "GET", "/healthz", "", header("X-Forwarded-Proto", "http")); r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("trusted proxy over http: HSTS")
		}

		tlsSrv := httptest.NewTLSServer(b.srv.Handler())
		t.Cleanup(tlsSrv.Close)
		client := tlsSrv.Client()
		client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		resp, err := client.Get(tlsSrv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
			t.Errorf("over TLS: no HSTS: %v", resp.Header)
		}
	})

	t.Run("ErrUntrustedProxy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		if r := b.do(t, "GET", "/healthz", "", header("X-Forwarded-Proto", "https")); r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("untrusted X-Forwarded-Proto gave HSTS: %v", r.header)
		}
	})
}

var scriptSrc = regexp.MustCompile(`script-src ([^;]*)`)

func TestServer_MonitoringCSP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp := b.do(t, "GET", "/monitoring/", "")
	if resp.status != http.StatusOK || !strings.Contains(string(resp.body), "<script") {
		t.Fatalf("monitoring page: %d %.200s", resp.status, resp.body)
	}
	csp := resp.header.Get("Content-Security-Policy")
	m := scriptSrc.FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("no script-src in %q", csp)
	}
	hashes := httpapi.InlineScriptHashes(resp.body)
	if len(hashes) == 0 {
		t.Fatal("asynqmon's page has no inline script; the test sees the wrong page")
	}
	want := append([]string{"'self'"}, hashes...)
	if got := strings.Fields(m[1]); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("script-src = %v, want exactly %v", got, want)
	}
	for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "img-src 'self' data:"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(m[1], "unsafe") {
		t.Errorf("script-src allows unsafe sources: %q", m[1])
	}

	login := b.do(t, "GET", "/login", "", as(""))
	lcsp := login.header.Get("Content-Security-Policy")
	if !strings.Contains(lcsp, "default-src 'none'") || strings.Contains(lcsp, "script-src") || strings.Contains(string(login.body), "<script") {
		t.Errorf("login page CSP %q allows scripts, or the page has one", lcsp)
	}
}
