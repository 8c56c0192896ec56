package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// newServer builds the real server, as New wires it, for tests that look
// at its routes.

// echoParam is a path parameter as Echo spells it ("/:version").
var echoParam = regexp.MustCompile(`/:([a-z_]+)`)

func newServer(t *testing.T) *Server {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := New(Deps{
		Store:        store.New(testenv.Pool(t), testenv.Keyring(t)),
		Queue:        asynq.NewClientFromRedisClient(rdb),
		Tracker:      run.NewTracker(rdb),
		Redis:        rdb,
		MonitorRedis: asynq.RedisClientOpt{Addr: opts.Addr, Password: opts.Password, DB: opts.DB},
		Providers:    provider.NewClients(provider.ClientConfig{HTTPClient: http.DefaultClient}),
		Log:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRoutes_Inventory walks every route Echo registers and checks that it
// is in the OpenAPI document (asynqmon's and the dashboard's excepted) and has a declared
// scope, that exactly the intended routes are public, and that the scope
// table names no route that does not exist.
func TestRoutes_Inventory(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	public := map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "GET /openapi.json": true,
		"GET /login": true, "POST /login": true, "POST /logout": true,
		"GET /assets/*": true, "GET /favicon.ico": true, "GET /favicon.svg": true,
	}
	registered := map[routeKey]bool{}
	gotPublic := map[string]bool{}
	for _, r := range s.echo.Routes() {
		name := r.Method + " " + r.Path
		scope, ok := scopeFor(r.Method, r.Path)
		if !ok {
			t.Errorf("%s: no declared scope", name)
			continue
		}
		registered[routeKey{r.Method, r.Path}] = true
		if r.Path == monitorPath || strings.HasPrefix(r.Path, monitorPath+"/") {
			registered[routeKey{anyMethod, r.Path}] = true
			if scope != apitoken.ScopeAdmin {
				t.Errorf("%s: scope %q, want admin", name, scope)
			}
			continue
		}
		if scope == scopePublic {
			gotPublic[name] = true
		}
		if isDashboardRoute(r.Path) {
			continue
		}
		// Echo spells parameters ":id" and escapes a literal colon.
		path := echoParam.ReplaceAllString(strings.ReplaceAll(r.Path, `\:`, ":"), "/{$1}")
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s: not in the OpenAPI document (as %s %s)", name, r.Method, path)
		}
	}
	for name := range public {
		if !gotPublic[name] {
			t.Errorf("%s should be public", name)
		}
	}
	for name := range gotPublic {
		if !public[name] {
			t.Errorf("%s is public but should not be", name)
		}
	}
	for k := range routeScopes {
		if !registered[k] {
			t.Errorf("scope table names %s %s, which is not registered", k.method, k.path)
		}
	}
	if len(registered) < 40 {
		t.Errorf("only %d routes registered; the walk is not seeing the server's routes", len(registered))
	}
}

func TestCheckScopes(t *testing.T) {
	t.Parallel()

	t.Run("ErrUndeclared", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		s.echo.GET("/v1/secret", func(echo.Context) error { return nil })
		err := checkScopes(s.echo.Routes())
		if err == nil || !strings.Contains(err.Error(), "GET /v1/secret") {
			t.Fatalf("checkScopes = %v, want an error naming GET /v1/secret", err)
		}
	})
}

func TestProxies(t *testing.T) {
	t.Parallel()
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	p := proxies(trusted)
	for _, tc := range []struct {
		name, remote, xff, xreal, proto string
		wantIP                          string
		wantTLS                         bool
	}{
		{"OKDirect", "203.0.113.9:1234", "", "", "", "203.0.113.9", false},
		{"OKUntrustedHeadersIgnored", "203.0.113.9:1234", "1.2.3.4", "5.6.7.8", "https", "203.0.113.9", false},
		{"OKTrustedXFF", "10.1.2.3:80", "198.51.100.7, 10.0.0.5", "", "https", "198.51.100.7", true},
		{"OKTrustedSpoofedLeft", "10.1.2.3:80", "6.6.6.6, 198.51.100.7", "", "", "198.51.100.7", false},
		{"OKTrustedRealIP", "192.168.1.1:80", "", "198.51.100.8", "http", "198.51.100.8", false},
		{"OKTrustedNoHeader", "192.168.1.1:80", "", "", "", "192.168.1.1", false},
		{"OKBadXFFFallsBack", "10.1.2.3:80", "garbage", "", "", "10.1.2.3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remote
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.xreal != "" {
				req.Header.Set("X-Real-IP", tc.xreal)
			}
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if got := p.sourceIP(req); got != tc.wantIP {
				t.Errorf("sourceIP = %q, want %q", got, tc.wantIP)
			}
			if got := p.overTLS(req); got != tc.wantTLS {
				t.Errorf("overTLS = %v, want %v", got, tc.wantTLS)
			}
		})
	}

	t.Run("ErrBadCIDR", func(t *testing.T) {
		t.Parallel()
		if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
			t.Error("ParseTrustedProxies accepted 10.0.0.0/33")
		}
		if got, err := ParseTrustedProxies(""); err != nil || len(got) != 0 {
			t.Errorf("empty list = %v, %v", got, err)
		}
		want := netip.MustParsePrefix("192.168.1.1/32")
		if trusted[1] != want {
			t.Errorf("single address = %v, want %v", trusted[1], want)
		}
	})
}

func TestInlineScriptHashes(t *testing.T) {
	t.Parallel()
	page := []byte(`<html><script>alert(1)</script><script src="/x.js"></script><SCRIPT type="text/javascript">b()</SCRIPT></html>`)
	got := InlineScriptHashes(page)
	// echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
	want := []string{"'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='", "'sha256-cf242PFc/kb7xD0Qzhsmd9vvRkc+cWFmbi+k+YvtdKc='"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("hashes = %v, want %v", got, want)
	}
}
