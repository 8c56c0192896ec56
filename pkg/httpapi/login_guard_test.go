package httpapi_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi"
)

// fromAddress makes a request seem to come from addr through a trusted
// proxy (the test server's loopback peer), so that per-address limits of
// parallel tests sharing Redis do not meet.
func fromAddress(addr string) reqOpt { return header("X-Forwarded-For", addr) }

// randomAddress is a documentation-range address unique enough per test.
func randomAddress() string {
	return fmt.Sprintf("198.18.%d.%d", rand.IntN(256), rand.IntN(254)+1)
}

func trustLoopback(d *httpapi.Deps) {
	d.Config.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// TestServer_LoginCSRF: a page of another site cannot log the browser in
// (planting the attacker's session) or out: both forms refuse cross-site
// POSTs by Sec-Fetch-Site, Origin or Referer, while the login page's own
// form (same-origin) and non-browser clients (no such header) work.
func TestServer_LoginCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	host := strings.TrimPrefix(b.ts.URL, "http://")
	form := func(opts ...reqOpt) response {
		return b.do(t, "POST", "/login", url.Values{"token": {b.token}}.Encode(),
			append([]reqOpt{as(""), header("Content-Type", "application/x-www-form-urlencoded")}, opts...)...)
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
	}{
		{"SecFetchCrossSite", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"SecFetchSameSite", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://other." + host}},
		{"ForeignOrigin", map[string]string{"Origin": "https://evil.example"}},
		{"NullOrigin", map[string]string{"Origin": "null"}},
		{"ForeignReferer", map[string]string{"Referer": "https://evil.example/page"}},
		{"SecFetchBeatsOrigin", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://" + host}},
	} {
		t.Run("Login"+tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []reqOpt
			for k, v := range tc.headers {
				opts = append(opts, header(k, v))
			}
			resp := form(opts...)
			wantError(t, resp, http.StatusForbidden, "")
			if strings.Contains(strings.Join(resp.header.Values("Set-Cookie"), ";"), "sabe_session=") {
				t.Errorf("a cross-site login set a session cookie")
			}
		})
	}
	t.Run("LoginSameOrigin", func(t *testing.T) {
		t.Parallel()
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "same-origin", "Origin": "null"}, // the form, under Referrer-Policy no-referrer
			{"Origin": "http://" + host},
			{}, // curl
		} {
			var opts []reqOpt
			for k, v := range h {
				opts = append(opts, header(k, v))
			}
			if resp := form(opts...); resp.status != http.StatusSeeOther {
				t.Errorf("login with %v: %d %s", h, resp.status, resp.body)
			}
		}
	})
	t.Run("Logout", func(t *testing.T) {
		t.Parallel()
		c := sessionCookie(t, b.login(t, b.token))
		resp := b.do(t, "POST", "/logout", "", as(""), withCookie(c), header("Sec-Fetch-Site", "cross-site"))
		wantError(t, resp, http.StatusForbidden, "")
		// The session survived the cross-site attempt.
		if r := b.do(t, "GET", "/v1/providers", "", as(""), withCookie(c)); r.status != http.StatusOK {
			t.Fatalf("session ended by a cross-site logout: %d %s", r.status, r.body)
		}
		if r := b.do(t, "POST", "/logout", "", as(""), withCookie(c), header("Sec-Fetch-Site", "same-origin")); r.status != http.StatusSeeOther {
			t.Fatalf("same-origin logout: %d %s", r.status, r.body)
		}
		if r := b.do(t, "GET", "/v1/providers", "", as(""), withCookie(c)); r.status != http.StatusUnauthorized {
			t.Errorf("session still works after logout: %d", r.status)
		}
	})
}

// TestServer_SessionCookieSecure: the cookie is Secure whenever the login
// arrived over HTTPS, here through a trusted proxy's X-Forwarded-Proto,
// without SABE_COOKIE_SECURE; a client's own claim is not believed.
func TestServer_SessionCookieSecure(t *testing.T) {
	t.Parallel()
	t.Run("TrustedProxyHTTPS", func(t *testing.T) {
		t.Parallel()
		b := setup(t, trustLoopback)
		c := sessionCookie(t, b.do(t, "POST", "/login", url.Values{"token": {b.token}}.Encode(), as(""),
			header("Content-Type", "application/x-www-form-urlencoded"), header("X-Forwarded-Proto", "https")))
		if !c.Secure {
			t.Errorf("cookie over HTTPS (trusted proxy) is not Secure")
		}
		if r := b.do(t, "POST", "/logout", "", as(""), withCookie(c), header("X-Forwarded-Proto", "https")); !strings.Contains(strings.ToLower(r.header.Get("Set-Cookie")), "secure") {
			t.Errorf("logout over HTTPS clears the cookie without Secure: %q", r.header.Get("Set-Cookie"))
		}
	})
	t.Run("UntrustedClaim", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := sessionCookie(t, b.do(t, "POST", "/login", url.Values{"token": {b.token}}.Encode(), as(""),
			header("Content-Type", "application/x-www-form-urlencoded"), header("X-Forwarded-Proto", "https")))
		if c.Secure {
			t.Errorf("cookie marked Secure on a plain HTTP request claiming HTTPS")
		}
	})
}

// TestServer_LoginRateLimit: each source address gets a few login attempts
// a minute; past them it gets 429 with Retry-After, whatever it sends,
// while another address still logs in.
func TestServer_LoginRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, trustLoopback, func(d *httpapi.Deps) { d.Config.LoginRateLimit = 3 })
	addr := randomAddress()
	for i := range 3 {
		if r := b.do(t, "POST", "/login", url.Values{"token": {"sabe_wrong"}}.Encode(), as(""),
			header("Content-Type", "application/x-www-form-urlencoded"), fromAddress(addr)); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
		}
	}
	resp := b.do(t, "POST", "/login", url.Values{"token": {b.token}}.Encode(), as(""),
		header("Content-Type", "application/x-www-form-urlencoded"), fromAddress(addr))
	wantError(t, resp, http.StatusTooManyRequests, "")
	if resp.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	if r := b.do(t, "POST", "/login", url.Values{"token": {b.token}}.Encode(), as(""),
		header("Content-Type", "application/x-www-form-urlencoded"), fromAddress(randomAddress())); r.status != http.StatusSeeOther {
		t.Errorf("another address: %d %s", r.status, r.body)
	}
}

// TestServer_AuthFailureLimit: an address that keeps failing to
// authenticate (guessing tokens) is refused with 429 before its next
// credential is even checked, and only that address.
func TestServer_AuthFailureLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, trustLoopback, func(d *httpapi.Deps) { d.Config.AuthFailureLimit = 3 })
	addr := randomAddress()
	for i := range 3 {
		r := b.do(t, "GET", "/v1/providers", "", as("sabe_guess"+fmt.Sprint(i)), fromAddress(addr))
		if r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, r.status, r.body)
		}
	}
	resp := b.do(t, "GET", "/v1/providers", "", fromAddress(addr))
	wantError(t, resp, http.StatusTooManyRequests, "")
	if resp.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	// Failed logins count too.
	if r := b.do(t, "POST", "/login", url.Values{"token": {b.token}}.Encode(), as(""),
		header("Content-Type", "application/x-www-form-urlencoded"), fromAddress(addr)); r.status != http.StatusTooManyRequests {
		t.Errorf("login from the blocked address: %d %s", r.status, r.body)
	}
	if r := b.do(t, "GET", "/v1/providers", "", fromAddress(randomAddress())); r.status != http.StatusOK {
		t.Errorf("another address: %d %s", r.status, r.body)
	}
}
