package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// bundle is a running API server over a fresh database and Redis database,
// with an admin token.
type bundle struct {
	srv       *httpapi.Server
	ts        *httptest.Server
	store     *store.Store
	rdb       *redis.Client
	inspector *asynq.Inspector
	token     string
	client    *http.Client
}

// setup starts a server for the test. The token cache is off so that
// revocation shows at once, and private provider addresses are allowed;
// mods adjust the dependencies before the server is built.
func setup(t *testing.T, mods ...func(*httpapi.Deps)) *bundle {
	t.Helper()
	st := store.New(testenv.Pool(t), testenv.Keyring(t))
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	conn := asynq.RedisClientOpt{Addr: opts.Addr, Username: opts.Username, Password: opts.Password, DB: opts.DB}
	inspector := asynq.NewInspector(conn)
	t.Cleanup(func() { _ = inspector.Close() })

	deps := httpapi.Deps{
		Store:        st,
		Queue:        asynq.NewClientFromRedisClient(rdb),
		Tracker:      run.NewTracker(rdb),
		Redis:        rdb,
		MonitorRedis: conn,
		Providers: provider.NewClients(provider.ClientConfig{
			HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true}),
		}),
		Log:    slog.New(slog.DiscardHandler),
		Config: httpapi.Config{AllowPrivateProviders: true, TokenCacheTTL: -1, ProviderTimeout: 10 * time.Second},
	}
	for _, m := range mods {
		m(&deps)
	}
	srv, err := httpapi.New(deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	b := &bundle{
		srv: srv, ts: ts, store: st, rdb: rdb, inspector: inspector,
		// Redirects are part of what is tested, so they are not followed.
		client: &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	b.token = b.newToken(t, apitoken.ScopeAdmin)
	return b
}

// newToken stores a token with the given scopes and returns its secret.
func (b *bundle) newToken(t *testing.T, scopes ...string) string {
	t.Helper()
	secret, _, err := b.store.CreateToken(context.Background(), "test", scopes, nil)
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	return secret
}

// reqOpt adjusts a request before it is sent.
type reqOpt func(*http.Request)

// as replaces the bundle's token; an empty token sends no credential.
func as(token string) reqOpt {
	return func(r *http.Request) {
		if token == "" {
			r.Header.Del("Authorization")
			return
		}
		r.Header.Set("Authorization", "Bearer "+token)
	}
}

func header(name, value string) reqOpt {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

func withCookie(c *http.Cookie) reqOpt {
	return func(r *http.Request) { r.AddCookie(c) }
}

// response is a finished exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request as the bundle's admin token; a non-empty body is
// JSON unless an option sets another Content-Type.
func (b *bundle) do(t *testing.T, method, path, body string, opts ...reqOpt) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	for _, o := range opts {
		o(req)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// call sends a request, checks the status and decodes the answer into a T.
func call[T any](t *testing.T, b *bundle, method, path, body string, want int, opts ...reqOpt) T {
	t.Helper()
	resp := b.do(t, method, path, body, opts...)
	if resp.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.status, want, resp.body)
	}
	var out T
	if err := json.Unmarshal(resp.body, &out); err != nil {
		t.Fatalf("%s %s: decode %s: %v", method, path, resp.body, err)
	}
	return out
}

// wantError checks an error response's status, code and field.
func wantError(t *testing.T, resp response, status int, field string) oapi.Error {
	t.Helper()
	if resp.status != status {
		t.Fatalf("status %d, want %d: %s", resp.status, status, resp.body)
	}
	var e oapi.Error
	if err := json.Unmarshal(resp.body, &e); err != nil {
		t.Fatalf("error body %s: %v", resp.body, err)
	}
	got := ""
	if e.Error.Field != nil {
		got = *e.Error.Field
	}
	if got != field {
		t.Errorf("field = %q, want %q (message %q)", got, field, e.Error.Message)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("error without code or message: %s", resp.body)
	}
	return e
}

// mustJSON encodes v for a request body.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Factories: each creates one resource through the API with defaults for
// every field, adjusted by the caller's map.

func (b *bundle) provider(t *testing.T, over map[string]any) oapi.Provider {
	t.Helper()
	body := map[string]any{"name": fmt.Sprintf("provider-%d", time.Now().UnixNano()), "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-test"}
	for k, v := range over {
		body[k] = v
	}
	return call[oapi.Provider](t, b, "POST", "/v1/providers", mustJSON(t, body), http.StatusCreated)
}

func (b *bundle) model(t *testing.T, providerID string, over map[string]any) oapi.Model {
	t.Helper()
	body := map[string]any{"provider_id": providerID, "name": fmt.Sprintf("model-%d", time.Now().UnixNano()), "provider_model_id": "mock-strong", "input_cost_per_mtok": 1.5, "output_cost_per_mtok": 2}
	for k, v := range over {
		body[k] = v
	}
	return call[oapi.Model](t, b, "POST", "/v1/models", mustJSON(t, body), http.StatusCreated)
}

func (b *bundle) suite(t *testing.T) oapi.Suite {
	t.Helper()
	body := map[string]any{"name": fmt.Sprintf("suite-%d", time.Now().UnixNano()), "description": "arithmetic"}
	return call[oapi.Suite](t, b, "POST", "/v1/suites", mustJSON(t, body), http.StatusCreated)
}

func (b *bundle) question(t *testing.T, suiteID string, n int) oapi.Question {
	t.Helper()
	body := map[string]any{"prompt": fmt.Sprintf("What is %d + %d?", n, n), "category": "math", "expected_answer": fmt.Sprint(2 * n), "scoring": map[string]any{"method": "numeric"}}
	return call[oapi.Question](t, b, "POST", "/v1/suites/"+suiteID+"/questions", mustJSON(t, body), http.StatusCreated)
}

// world is a benchmark ready to run: models × questions with samples.
type world struct {
	provider  oapi.Provider
	models    []oapi.Model
	suite     oapi.Suite
	benchmark oapi.Benchmark
}

func (b *bundle) world(t *testing.T, models, questions, samples int) world {
	t.Helper()
	w := world{provider: b.provider(t, nil), suite: b.suite(t)}
	modelIDs := make([]string, models)
	for i := range models {
		m := b.model(t, w.provider.Id.String(), nil)
		w.models = append(w.models, m)
		modelIDs[i] = m.Id.String()
	}
	for i := range questions {
		b.question(t, w.suite.Id.String(), i)
	}
	body := map[string]any{
		"name": fmt.Sprintf("bench-%d", time.Now().UnixNano()), "suite_ids": []string{w.suite.Id.String()}, "model_ids": modelIDs,
		"config": map[string]any{"temperature": 0, "max_tokens": 64, "samples": samples},
	}
	w.benchmark = call[oapi.Benchmark](t, b, "POST", "/v1/benchmarks", mustJSON(t, body), http.StatusCreated)
	return w
}

// fakeQueue is an Enqueuer whose behavior the test chooses.
type fakeQueue struct {
	enqueue func(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

func (q *fakeQueue) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	return q.enqueue(ctx, task, opts...)
}

var _ run.Enqueuer = (*fakeQueue)(nil)

// listPage is the shape of every list response, for tests that only look
// at paging.
type listPage struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

// checkPaging creates nothing: it lists path with limit 2 over exactly
// three items and checks the two pages and their cursors.
func checkPaging(t *testing.T, b *bundle, path string) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	first := call[listPage](t, b, "GET", path+sep+"limit=2", "", http.StatusOK)
	if len(first.Items) != 2 || first.NextCursor == nil || *first.NextCursor == "" {
		t.Fatalf("first page: %d items, next %v; want 2 and a cursor", len(first.Items), first.NextCursor)
	}
	resp := b.do(t, "GET", path+sep+"limit=2&cursor="+*first.NextCursor, "")
	if resp.status != http.StatusOK {
		t.Fatalf("second page: status %d: %s", resp.status, resp.body)
	}
	var second listPage
	if err := json.Unmarshal(resp.body, &second); err != nil {
		t.Fatal(err)
	}
	if len(second.Items) != 1 || second.NextCursor != nil {
		t.Fatalf("second page: %d items, next %v; want 1 and null", len(second.Items), second.NextCursor)
	}
	if !bytes.Contains(resp.body, []byte(`"next_cursor":null`)) {
		t.Errorf("last page does not say next_cursor null: %s", resp.body)
	}
	if bytes.Equal(first.Items[0], second.Items[0]) || bytes.Equal(first.Items[1], second.Items[0]) {
		t.Errorf("second page repeats an item of the first")
	}
}
