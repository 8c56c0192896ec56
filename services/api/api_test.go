package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/api"
)

// env is a fake getenv over a map.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// output collects what Run prints and hands the test the address from the
// "api listening on" line as soon as it is written.
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
	addr chan string
}

func newOutput() *output { return &output{addr: make(chan string, 1)} }

// startRun runs api.Run with vars until ctx ends, and returns the address
// it printed, its output, and where Run's result arrives; the test fails
// when Run returns before listening.
func startRun(t *testing.T, ctx context.Context, vars map[string]string) (base string, out *output, done <-chan error) {
	t.Helper()
	out = newOutput()
	ch := make(chan error, 1)
	go func() { ch <- api.Run(ctx, nil, env(vars), out) }()
	select {
	case base = <-out.addr:
	case err := <-ch:
		t.Fatalf("Run returned before listening: %v\n%s", err, out.String())
	}
	return base, out, ch
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.buf.Write(p)
	o.mu.Unlock()
	for _, line := range strings.Split(string(p), "\n") {
		if rest, ok := strings.CutPrefix(line, "api listening on "); ok {
			o.once.Do(func() { o.addr <- rest })
		}
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// testEnv is a complete, valid environment on the test's own databases.
func testEnv(t *testing.T) map[string]string {
	return map[string]string{
		"SABE_DATABASE_URL":   testenv.DatabaseURL(t),
		"SABE_REDIS_URL":      testenv.RedisURL(t),
		"SABE_ENCRYPTION_KEY": testenv.KeyEnv(t),
		"SABE_HTTP_ADDR":      "127.0.0.1:0",
		"SABE_METRICS_ADDR":   "127.0.0.1:0",
		"SABE_LOG_FORMAT":     "text",
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestRun(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name    string
		migrate string
	}{
		{"OK", ""},
		{"OKWithoutAutoMigrate", "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := testEnv(t)
			vars["SABE_AUTO_MIGRATE"] = tc.migrate
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			base, out, done := startRun(t, ctx, vars)
			if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
				t.Fatalf("printed address %q; want the bound one", base)
			}

			if status, body := get(t, base+"/healthz"); status != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
				t.Errorf("/healthz: %d %s", status, body)
			}
			if status, body := get(t, base+"/readyz"); status != http.StatusOK {
				t.Errorf("/readyz: %d %s", status, body)
			}
			status, body := get(t, base+"/openapi.json")
			var doc struct {
				OpenAPI string         `json:"openapi"`
				Paths   map[string]any `json:"paths"`
			}
			if status != http.StatusOK || json.Unmarshal(body, &doc) != nil || !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Paths["/v1/runs/{id}"] == nil {
				t.Errorf("/openapi.json: %d %.200s", status, body)
			}
			if status, _ := get(t, base+"/v1/providers"); status != http.StatusUnauthorized {
				t.Errorf("/v1/providers without a token: %d, want 401", status)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run returned %v after cancel, want nil", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return within 30s of cancel")
			}
			if n := strings.Count(out.String(), "api listening on "); n != 1 {
				t.Errorf("printed the listening line %d times, want once", n)
			}
		})
	}

	t.Run("ErrArgs", func(t *testing.T) {
		t.Parallel()
		err := api.Run(t.Context(), []string{"--port", "80"}, env(map[string]string{}), io.Discard)
		var ue *command.UsageError
		if !errors.As(err, &ue) || !strings.Contains(ue.Usage, "SABE_*") {
			t.Errorf("Run with arguments = %v, want a usage error", err)
		}
	})

	t.Run("ErrAddrInUse", func(t *testing.T) {
		t.Parallel()
		vars := testEnv(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		base, _, done := startRun(t, ctx, vars)
		vars["SABE_HTTP_ADDR"] = strings.TrimPrefix(base, "http://")
		err := api.Run(t.Context(), nil, env(vars), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "SABE_HTTP_ADDR") {
			t.Errorf("second Run on the same address = %v, want an error naming SABE_HTTP_ADDR", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("first Run returned %v", err)
		}
	})
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	key := testenv.KeyEnv(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		// SABE_PROVIDER_TIMEOUT is the workers' call timeout: the api's own
		// provider calls keep theirs.
		c, err := api.LoadConfig(env(map[string]string{"SABE_ENCRYPTION_KEY": key, "SABE_PROVIDER_TIMEOUT": "5m"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.TokenRateLimit != 600 || c.LoginRateLimit != 10 || c.AuthFailureLimit != 30 || c.Limits.MaxUnitsPerTokenDay != 1_000_000 || len(c.CORSOrigins) != 0 ||
			len(c.TrustedProxies) != 0 || c.MetricsAddr != "127.0.0.1:9091" {
			t.Errorf("hardening defaults = %+v", c)
		}
		if c.HTTPAddr != "127.0.0.1:8080" || !c.AutoMigrate || c.Limits.MaxUnits != 100000 || c.ShutdownTimeout != 15*time.Second ||
			c.SessionTTL != time.Hour || c.AllowPrivateProviders || c.CookieSecure || c.Keyring == nil ||
			c.ProviderTimeout != 30*time.Second || len(c.ProviderAllow) != 0 || c.EventsInterval != 500*time.Millisecond ||
			!strings.Contains(c.Database.URL, "127.0.0.1:5432/sabe") || !strings.Contains(c.RedisURL, "127.0.0.1:6379") {
			t.Errorf("defaults = %+v", c)
		}
	})

	t.Run("OKSet", func(t *testing.T) {
		t.Parallel()
		c, err := api.LoadConfig(env(map[string]string{
			"SABE_ENCRYPTION_KEY": key, "SABE_HTTP_ADDR": ":9000", "SABE_AUTO_MIGRATE": "false", "SABE_MAX_RUN_UNITS": "500",
			"SABE_ALLOW_PRIVATE_PROVIDERS": "true", "SABE_COOKIE_SECURE": "yes", "SABE_SESSION_TTL": "2h", "SABE_SHUTDOWN_TIMEOUT": "3s",
			"SABE_API_PROVIDER_TIMEOUT": "5s", "SABE_PROVIDER_ALLOW": "vllm.internal, 10.0.0.0/8", "SABE_EVENTS_INTERVAL": "2s",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.HTTPAddr != ":9000" || c.AutoMigrate || c.Limits.MaxUnits != 500 || !c.AllowPrivateProviders || !c.CookieSecure ||
			c.SessionTTL != 2*time.Hour || c.ShutdownTimeout != 3*time.Second || c.ProviderTimeout != 5*time.Second || c.EventsInterval != 2*time.Second {
			t.Errorf("config = %+v", c)
		}
		if len(c.ProviderAllow) != 2 {
			t.Errorf("ProviderAllow = %q, want the two entries", c.ProviderAllow)
		}
	})

	t.Run("OKTransactionPooler", func(t *testing.T) {
		t.Parallel()
		// Without auto-migration nothing needs a session of its own.
		c, err := api.LoadConfig(env(map[string]string{"SABE_ENCRYPTION_KEY": key, "SABE_DATABASE_POOLER": "transaction", "SABE_AUTO_MIGRATE": "false"}))
		if err != nil || c.Database.Pooler != "transaction" {
			t.Fatalf("pooler without auto-migration: %+v, %v", c.Database, err)
		}
		c, err = api.LoadConfig(env(map[string]string{"SABE_ENCRYPTION_KEY": key, "SABE_DATABASE_POOLER": "Transaction",
			"SABE_DATABASE_DIRECT_URL": "postgres://sabe@db.internal:5432/sabe"}))
		if err != nil || c.Database.Pooler != "transaction" || c.Database.DirectURL == "" {
			t.Fatalf("pooler with a direct URL: %+v, %v", c.Database, err)
		}
	})

	t.Run("OKHardening", func(t *testing.T) {
		t.Parallel()
		c, err := api.LoadConfig(env(map[string]string{
			"SABE_ENCRYPTION_KEY": key, "SABE_TOKEN_RATE_LIMIT": "0", "SABE_MAX_UNITS_PER_TOKEN_DAY": "5000",
			"SABE_LOGIN_RATE_LIMIT": "0", "SABE_AUTH_FAILURE_LIMIT": "7",
			"SABE_CORS_ORIGINS": "https://App.example.com, http://localhost:3000/", "SABE_TRUSTED_PROXIES": "10.0.0.0/8,192.168.0.1",
			"SABE_METRICS_ADDR": "off",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.TokenRateLimit != 0 || c.LoginRateLimit != 0 || c.AuthFailureLimit != 7 || c.Limits.MaxUnitsPerTokenDay != 5000 || c.MetricsAddr != "" || len(c.TrustedProxies) != 2 ||
			strings.Join(c.CORSOrigins, " ") != "https://app.example.com http://localhost:3000" {
			t.Errorf("config = %+v", c)
		}
	})

	for _, tc := range []struct {
		name, variable, value string
	}{
		{"ErrMaxRunUnits", "SABE_MAX_RUN_UNITS", "lots"},
		{"ErrMaxRunUnitsZero", "SABE_MAX_RUN_UNITS", "0"},
		{"ErrHTTPAddr", "SABE_HTTP_ADDR", "8080"},
		{"ErrAutoMigrate", "SABE_AUTO_MIGRATE", "maybe"},
		{"ErrSessionTTL", "SABE_SESSION_TTL", "forever"},
		{"ErrEventsInterval", "SABE_EVENTS_INTERVAL", "1ms"},
		{"ErrEncryptionKey", "SABE_ENCRYPTION_KEY", "not-a-key"},
		{"ErrProviderTimeout", "SABE_API_PROVIDER_TIMEOUT", "soon"},
		{"ErrProviderTimeoutZero", "SABE_API_PROVIDER_TIMEOUT", "0s"},
		{"ErrProviderAllow", "SABE_PROVIDER_ALLOW", "10.0.0.0/99"},
		{"ErrTokenRateLimit", "SABE_TOKEN_RATE_LIMIT", "-1"},
		{"ErrLoginRateLimit", "SABE_LOGIN_RATE_LIMIT", "-1"},
		{"ErrAuthFailureLimit", "SABE_AUTH_FAILURE_LIMIT", "x"},
		{"ErrMaxUnitsPerTokenDay", "SABE_MAX_UNITS_PER_TOKEN_DAY", "many"},
		{"ErrCORSOriginsWildcard", "SABE_CORS_ORIGINS", "*"},
		{"ErrCORSOriginsPath", "SABE_CORS_ORIGINS", "https://app.example.com/ui"},
		{"ErrTrustedProxies", "SABE_TRUSTED_PROXIES", "10.0.0.0/40"},
		{"ErrMetricsAddr", "SABE_METRICS_ADDR", "9091"},
		{"ErrDatabasePooler", "SABE_DATABASE_POOLER", "statement"},
		// Auto-migration through a transaction pooler needs a direct URL.
		{"ErrDatabaseDirectURL", "SABE_DATABASE_POOLER", "transaction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"SABE_ENCRYPTION_KEY": key, tc.variable: tc.value}
			_, err := api.LoadConfig(env(vars))
			want := tc.variable
			if tc.name == "ErrDatabaseDirectURL" {
				want = "SABE_DATABASE_DIRECT_URL"
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("LoadConfig with %s=%q = %v, want an error naming it", tc.variable, tc.value, err)
			}
		})
	}

	t.Run("ErrMissingKey", func(t *testing.T) {
		t.Parallel()
		_, err := api.LoadConfig(env(map[string]string{}))
		if err == nil || !strings.Contains(err.Error(), "SABE_ENCRYPTION_KEY") {
			t.Errorf("LoadConfig without a key = %v", err)
		}
	})

	t.Run("ErrEveryVariable", func(t *testing.T) {
		t.Parallel()
		_, err := api.LoadConfig(env(map[string]string{"SABE_MAX_RUN_UNITS": "x", "SABE_COOKIE_SECURE": "x"}))
		for _, v := range []string{"SABE_MAX_RUN_UNITS", "SABE_COOKIE_SECURE", "SABE_ENCRYPTION_KEY"} {
			if err == nil || !strings.Contains(err.Error(), v) {
				t.Errorf("error %v does not name %s", err, v)
			}
		}
	})

	t.Run("ErrRunReportsConfig", func(t *testing.T) {
		t.Parallel()
		err := api.Run(t.Context(), nil, env(map[string]string{"SABE_MAX_RUN_UNITS": "x", "SABE_ENCRYPTION_KEY": key}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "SABE_MAX_RUN_UNITS") {
			t.Errorf("Run = %v", err)
		}
	})
}

// TestRun_ProviderRoutes runs the API with the address guard on and only
// the mock's address allowed, as an operator with one self-hosted server
// would: the provider is accepted and the API's own provider client reaches
// it, while another private address stays refused.
func TestRun_ProviderRoutes(t *testing.T) {
	t.Parallel()
	mock, err := mockllm.Listen(t.Context(), "127.0.0.1:0", mockllm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mock.Stop() })
	vars := testEnv(t)
	vars["SABE_PROVIDER_ALLOW"] = "127.0.0.1"
	vars["SABE_API_PROVIDER_TIMEOUT"] = "10s"
	out := testenv.StartService(t, "api", api.Run, vars)
	out.WaitFor(t, "api listening on ", 30*time.Second)
	_, base, _ := strings.Cut(out.String(), "api listening on ")
	base, _, _ = strings.Cut(base, "\n")

	pool, err := pgxpool.New(t.Context(), vars["SABE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	token, _, err := store.New(pool, nil).CreateToken(t.Context(), "test", []string{apitoken.ScopeWrite}, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, data
	}

	status, body := send("POST", "/v1/providers", `{"name":"local","kind":"openai","base_url":"`+mock.URL+`/v1","api_key":"k"}`)
	var p struct {
		ID string `json:"id"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &p) != nil {
		t.Fatalf("create an allowed provider: %d %s", status, body)
	}
	status, body = send("POST", "/v1/providers/"+p.ID+"/test", `{"model":"mock-strong"}`)
	if status != http.StatusOK || !strings.Contains(string(body), `"ok":true`) {
		t.Errorf("test the allowed provider: %d %s", status, body)
	}
	if status, body = send("POST", "/v1/providers", `{"name":"other","kind":"openai","base_url":"http://10.0.0.1/v1","api_key":"k"}`); status != http.StatusUnprocessableEntity {
		t.Errorf("create a provider on an address not allowed: %d %s, want 422", status, body)
	}
}

// TestRun_Metrics checks that /metrics is served on its own listener,
// counts the API's requests by route, and is not on the API's listener.
func TestRun_Metrics(t *testing.T) {
	t.Parallel()
	vars := testEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	base, out, done := startRun(t, ctx, vars)
	// The metrics line is printed before the API's.
	_, rest, ok := strings.Cut(out.String(), "metrics listening on ")
	if !ok {
		t.Fatalf("no metrics line in %s", out.String())
	}
	metricsURL := strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0])
	if metricsURL == strings.TrimPrefix(base, "http://") || !strings.HasPrefix(metricsURL, "http://127.0.0.1:") {
		t.Fatalf("metrics address %q (api %q)", metricsURL, base)
	}

	if status, _ := get(t, base+"/healthz"); status != http.StatusOK {
		t.Fatalf("/healthz: %d", status)
	}
	if status, _ := get(t, base+"/v1/providers"); status != http.StatusUnauthorized {
		t.Fatalf("/v1/providers: %d", status)
	}
	// A task waiting in a queue shows in asynq's queue metrics.
	opt, err := asynq.ParseRedisURI(vars["SABE_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	queue := asynq.NewClient(opt)
	defer queue.Close()
	if _, err := queue.Enqueue(asynq.NewTask("metrics:test", nil), asynq.Queue("metrics-test")); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, metricsURL+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		`asynq_tasks_enqueued_total{queue="metrics-test",state="pending"} 1`,
		`asynq_queue_size{queue="metrics-test"} 1`,
		`sabe_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`sabe_http_requests_total{method="GET",route="/v1/providers",status="401"} 1`,
		`sabe_http_request_duration_seconds_count{method="GET",route="/healthz"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if status, body := get(t, base+"/metrics"); status == http.StatusOK || strings.Contains(string(body), "sabe_http_requests_total") {
		t.Errorf("/metrics on the API listener: %d %.200s", status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestRun_SealsPlainHeaders starts the api on a database that still holds
// provider headers in plain text, as migration 00011 leaves them, and
// checks that they are sealed before it serves.
func TestRun_SealsPlainHeaders(t *testing.T) {
	t.Parallel()
	vars := testEnv(t)
	pool, err := pgxpool.New(t.Context(), vars["SABE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const secret = "hdr-legacy-secret-8c7b"
	if _, err := pool.Exec(t.Context(), `INSERT INTO providers (id, name, kind, base_url, plain_headers, header_names)
		VALUES (gen_random_uuid(), 'legacy', 'openai', 'https://x.example/v1', $1, '{api-key}')`, `{"api-key": "`+secret+`"}`); err != nil {
		t.Fatal(err)
	}
	out := testenv.StartService(t, "api", api.Run, vars)
	out.WaitFor(t, "api listening on ", 30*time.Second)
	var raw string
	if err := pool.QueryRow(t.Context(), `SELECT row_to_json(p)::text FROM providers p WHERE name = 'legacy'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, secret) || !strings.Contains(raw, `"plain_headers":{}`) || strings.Contains(raw, `"headers_ciphertext":null`) {
		t.Errorf("after the api started, the row is %s; want the header sealed", raw)
	}
	if !strings.Contains(out.String(), "provider headers sealed") {
		t.Errorf("the api did not say it sealed headers:\n%s", out.String())
	}
}
