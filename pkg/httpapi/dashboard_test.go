package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/dashboard"
)

// wantDashboardCSP is the dashboard's Content-Security-Policy, spelled out
// so that any loosening shows in review.
const wantDashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// browser is what a browser's navigation sends.
var browser = header("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")

// entryScript finds the app's entry script in its page.
var entryScript = regexp.MustCompile(`<script type="module" crossorigin src="/assets/([^"]+)"`)

func TestServer_Dashboard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	board, err := dashboard.New()
	if err != nil {
		t.Fatal(err)
	}
	index := board.Index().Body()

	t.Run("PagePaths", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"/", "/runs", "/runs/123?x=1", "/benchmarks/x/leaderboard?period=week", "/admin/tokens", "/no/such/page"} {
			r := b.do(t, "GET", p, "", browser)
			if r.status != http.StatusOK || !bytes.Equal(r.body, index) {
				t.Errorf("GET %s: %d %.100s; want the app's index.html", p, r.status, r.body)
				continue
			}
			h := r.header
			if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q", p, got)
			}
			if got := h.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("GET %s: Cache-Control %q, want no-cache", p, got)
			}
			if got := h.Get("Content-Security-Policy"); got != wantDashboardCSP {
				t.Errorf("GET %s: CSP %q", p, got)
			}
			for name, want := range map[string]string{
				"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
				"X-Content-Type-Options": "nosniff", "Cross-Origin-Opener-Policy": "same-origin",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("GET %s: %s %q, want %q", p, name, got, want)
				}
			}
			if h.Get("ETag") == "" {
				t.Errorf("GET %s: no ETag", p)
			}
		}
		r := b.do(t, "GET", "/", "", browser)
		if again := b.do(t, "GET", "/", "", browser, header("If-None-Match", r.header.Get("ETag"))); again.status != http.StatusNotModified {
			t.Errorf("GET / with its ETag: %d, want 304", again.status)
		}
	})

	t.Run("Assets", func(t *testing.T) {
		t.Parallel()
		m := entryScript.FindSubmatch(index)
		if m == nil {
			t.Fatalf("no entry script in index.html: %s", index)
		}
		path := "/assets/" + string(m[1])
		// Assets are public: no credential.
		plain := b.do(t, "GET", path, "", as(""), header("Accept-Encoding", "identity"))
		if plain.status != http.StatusOK || plain.header.Get("Content-Encoding") != "" {
			t.Fatalf("GET %s: %d, Content-Encoding %q", path, plain.status, plain.header.Get("Content-Encoding"))
		}
		if got := plain.header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("asset Cache-Control %q", got)
		}
		if got := plain.header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
			t.Errorf("asset Content-Type %q", got)
		}
		if got := plain.header.Get("Content-Security-Policy"); got != wantDashboardCSP {
			t.Errorf("asset CSP %q", got)
		}
		zipped := b.do(t, "GET", path, "", as(""), header("Accept-Encoding", "gzip, deflate, br"))
		if zipped.status != http.StatusOK || zipped.header.Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("GET %s accepting gzip: %d, Content-Encoding %q, Vary %q", path, zipped.status, zipped.header.Get("Content-Encoding"), zipped.header.Get("Vary"))
		}
		if len(zipped.body) >= len(plain.body) {
			t.Errorf("gzipped %d bytes, plain %d", len(zipped.body), len(plain.body))
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped.body))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(unzipped, plain.body) {
			t.Errorf("gzipped body does not unzip to the file (%v)", err)
		}

		css := b.do(t, "GET", "/favicon.ico", "", as(""))
		if css.status != http.StatusOK || css.header.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("GET /favicon.ico: %d %s", css.status, css.header.Get("Content-Type"))
		}
	})

	t.Run("ErrUnknownAsset", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"/assets/nope-123.js", "/assets/", "/assets/../index.html"} {
			wantError(t, b.do(t, "GET", p, "", as(""), browser), http.StatusNotFound, "")
		}
		wantError(t, b.do(t, "GET", "/assets", "", browser), http.StatusNotFound, "")
	})

	t.Run("ErrUnknownAPIPath", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"/v1/unknown", "/v1/runs/x/y/z", "/v1", "/healthz/x", "/login/x", "/openapi.json/x"} {
			r := b.do(t, "GET", p, "", browser)
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("GET %s: Content-Type %q, want JSON", p, r.header.Get("Content-Type"))
			}
			wantError(t, r, http.StatusNotFound, "")
		}
		// Other methods on unknown paths are 404 too, not 405: the page
		// route is GET only.
		wantError(t, b.do(t, "POST", "/v1/unknown", `{}`), http.StatusNotFound, "")
		wantError(t, b.do(t, "DELETE", "/runs/1", ""), http.StatusNotFound, "")
		// Without a credential an unknown API path is still a JSON 401,
		// not a redirect to the login page.
		wantError(t, b.do(t, "GET", "/v1/unknown", "", as(""), browser), http.StatusUnauthorized, "")
	})

	t.Run("BrowserGoesToLoginAndBack", func(t *testing.T) {
		t.Parallel()
		target := "/benchmarks/abc/leaderboard?period=week&category=math"
		r := b.do(t, "GET", target, "", as(""), browser)
		want := "/login?next=" + url.QueryEscape(target)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
			t.Fatalf("browser without a session: %d, Location %q; want 303 to %s", r.status, r.header.Get("Location"), want)
		}
		if r := b.do(t, "GET", "/", "", as(""), browser); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2F" {
			t.Errorf("GET / without a session: %d, Location %q", r.status, r.header.Get("Location"))
		}
		// A script's fetch (no text/html) gets the JSON 401.
		wantError(t, b.do(t, "GET", "/runs", "", as(""), header("Accept", "application/json")), http.StatusUnauthorized, "")

		page := b.do(t, "GET", want, "", as(""), browser)
		if page.status != http.StatusOK || !strings.Contains(string(page.body), "Paste an API token to open SABE's dashboard") ||
			!strings.Contains(string(page.body), "/monitoring") {
			t.Fatalf("login page: %d %s", page.status, page.body)
		}
		// A read token is enough for the dashboard; login sends it back.
		reader := b.newToken(t, apitoken.ScopeRead)
		form := url.Values{"token": {reader}, "next": {target}}.Encode()
		resp := b.do(t, "POST", "/login", form, as(""), header("Content-Type", "application/x-www-form-urlencoded"))
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != target {
			t.Fatalf("login: %d, Location %q", resp.status, resp.header.Get("Location"))
		}
		c := sessionCookie(t, resp)
		cookie := withCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		if got := b.do(t, "GET", target, "", as(""), browser, cookie); got.status != http.StatusOK || !bytes.Equal(got.body, index) {
			t.Errorf("page with a read session: %d %.100s", got.status, got.body)
		}
		// Without next the browser lands on the dashboard.
		resp = b.login(t, reader)
		if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/" {
			t.Errorf("login without next: %d, Location %q; want /", resp.status, resp.header.Get("Location"))
		}
	})

	t.Run("ErrOpenRedirect", func(t *testing.T) {
		t.Parallel()
		for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "evil.example", "javascript:alert(1)"} {
			form := url.Values{"token": {b.token}, "next": {next}}.Encode()
			resp := b.do(t, "POST", "/login", form, as(""), header("Content-Type", "application/x-www-form-urlencoded"))
			if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/" {
				t.Errorf("login with next %q: %d, Location %q; want /", next, resp.status, resp.header.Get("Location"))
			}
		}
		// A page path that looks like another host stays on this one.
		r := b.do(t, "GET", "//evil.example/x", "", as(""), browser)
		if loc := r.header.Get("Location"); r.status == http.StatusSeeOther && !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("GET //evil.example/x: Location %q", loc)
		}
	})

	t.Run("Logout", func(t *testing.T) {
		t.Parallel()
		c := sessionCookie(t, b.login(t, b.token))
		out := b.do(t, "POST", "/logout", "", as(""), withCookie(&http.Cookie{Name: c.Name, Value: c.Value}), header("Origin", b.ts.URL))
		if out.status != http.StatusSeeOther || out.header.Get("Location") != "/login" {
			t.Errorf("logout: %d, Location %q; want 303 to /login", out.status, out.header.Get("Location"))
		}
	})
}
