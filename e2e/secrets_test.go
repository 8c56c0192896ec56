package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
	"github.com/sabe-dev/sabe/services/api"
	"github.com/sabe-dev/sabe/services/cli"
	"github.com/sabe-dev/sabe/services/scheduler"
	"github.com/sabe-dev/sabe/services/worker"
)

// observed is a running SABE like start's, which also keeps what tests
// look at for leaks: each service's output, and the Redis URL for asynq's
// Inspector.
type observed struct {
	*system
	redisURL string
	dbURL    string
	logs     map[string]*testenv.Buffer

	mu        sync.Mutex
	responses []string // every response's status line, headers and body
}

// startObserved starts api, two workers and the scheduler at debug level
// with the keyring keyEnv on a fresh database, in which seed (if any) runs
// before the services start; the variables in extra (if any) are added to
// every service's environment.
func startObserved(t *testing.T, keyEnv string, latency time.Duration, seed func(ctx context.Context, pool *pgxpool.Pool), extra ...map[string]string) *observed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dbURL, redisURL := testenv.DatabaseURL(t), testenv.RedisURL(t)
	mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if seed != nil {
		seed(ctx, pool)
	}
	env := map[string]string{
		"SABE_DATABASE_URL": dbURL, "SABE_REDIS_URL": redisURL, "SABE_ENCRYPTION_KEY": keyEnv,
		"SABE_HTTP_ADDR": "127.0.0.1:0", "SABE_ALLOW_PRIVATE_PROVIDERS": "true",
		"SABE_WORKER_CONCURRENCY": "8", "SABE_METRICS_ADDR": "127.0.0.1:0",
		// Everything the services can say, so that the leak check reads it.
		"SABE_LOG_FORMAT": "json", "SABE_LOG_LEVEL": "debug",
		"SABE_TOKEN_RATE_LIMIT": "100000",
	}
	for _, e := range extra {
		maps.Copy(env, e)
	}
	o := &observed{redisURL: redisURL, dbURL: dbURL, logs: map[string]*testenv.Buffer{}}
	o.logs["api"] = testenv.StartService(t, "api", api.Run, env)
	o.logs["api"].WaitFor(t, "api listening on ", 60*time.Second)
	o.logs["worker-1"] = testenv.StartService(t, "worker-1", worker.Run, env)
	o.logs["worker-2"] = testenv.StartService(t, "worker-2", worker.Run, env)
	o.logs["scheduler"] = testenv.StartService(t, "scheduler", scheduler.Run, env)
	addr := regexp.MustCompile(`api listening on (http://[0-9.:]+)`).FindStringSubmatch(o.logs["api"].String())
	if addr == nil {
		t.Fatalf("no api address in %s", o.logs["api"])
	}
	tok, _, err := store.New(pool, nil).CreateToken(ctx, "e2e-secrets", []string{"admin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.system = &system{api: addr[1], token: tok, mock: mock, pool: pool, http: &http.Client{Timeout: 30 * time.Second}, c: client.New(addr[1], tok)}
	return o
}

// do sends a request with token (none when empty), records the whole
// response unless record is false, and returns its status and body.
func (o *observed) do(t *testing.T, method, path, token string, body any, record bool) (int, []byte) {
	t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		r, ctype = strings.NewReader(b), "application/x-ndjson"
	default:
		r, ctype = bytes.NewReader(mustMarshal(t, b)), "application/json"
	}
	req, err := http.NewRequest(method, o.api+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := o.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if record {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s -> %s\n", method, path, resp.Status)
		_ = resp.Header.Write(&b)
		b.Write(raw)
		o.mu.Lock()
		o.responses = append(o.responses, b.String())
		o.mu.Unlock()
	}
	return resp.StatusCode, raw
}

// must is do with the token, failing unless the status is want; it
// decodes the body into out when out is not nil.
func (o *observed) must(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	code, raw := o.do(t, method, path, o.token, body, true)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, raw)
	}
	if out != nil {
		mustUnmarshal(t, raw, out)
	}
}

// tasks lists every task asynq's Inspector (and so asynqmon) shows, in
// every queue and state, as its type, payload, last error and result.
func (o *observed) tasks(t *testing.T) []string {
	t.Helper()
	opts, err := asynq.ParseRedisURI(o.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opts)
	defer insp.Close()
	queues, err := insp.Queues()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	add := func(list func(...asynq.ListOption) ([]*asynq.TaskInfo, error)) {
		for page := 1; ; page++ {
			infos, err := list(asynq.PageSize(500), asynq.Page(page))
			if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
				t.Fatal(err)
			}
			for _, ti := range infos {
				out = append(out, fmt.Sprintf("%s %s %s payload=%s lasterr=%s result=%s", ti.Queue, ti.State, ti.Type, ti.Payload, ti.LastErr, ti.Result))
			}
			if len(infos) < 500 {
				return
			}
		}
	}
	for _, q := range queues {
		add(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return insp.ListPendingTasks(q, o...) })
		add(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return insp.ListActiveTasks(q, o...) })
		add(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return insp.ListScheduledTasks(q, o...) })
		add(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return insp.ListRetryTasks(q, o...) })
		add(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return insp.ListArchivedTasks(q, o...) })
		add(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return insp.ListCompletedTasks(q, o...) })
		groups, err := insp.Groups(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			add(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) {
				return insp.ListAggregatingTasks(q, g.Group, o...)
			})
		}
	}
	entries, err := insp.SchedulerEntries()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		out = append(out, fmt.Sprintf("scheduler entry %s %s payload=%s", e.Spec, e.Task.Type(), e.Task.Payload()))
	}
	return out
}

// secretLetters are the characters of the random part of the test's
// secrets: no hex digit and no digit at all, so that no UUID, request id
// or hash in the output can contain a fragment by chance.
const secretLetters = "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ"

func secretPart(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(secretLetters))))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = secretLetters[v.Int64()]
	}
	return string(b)
}

// fragments returns every 6-byte piece of the secret part of a key.
func fragments(secret string) []string {
	var out []string
	for i := 0; i+6 <= len(secret); i++ {
		out = append(out, secret[i:i+6])
	}
	return out
}

// encodings returns the forms a stored ciphertext could be printed in.
func encodings(ct []byte) []string {
	return []string{
		hex.EncodeToString(ct), strings.ToUpper(hex.EncodeToString(ct)),
		base64.StdEncoding.EncodeToString(ct), base64.RawStdEncoding.EncodeToString(ct),
		base64.URLEncoding.EncodeToString(ct), base64.RawURLEncoding.EncodeToString(ct),
	}
}

// TestSecrets_NeverLeak runs a benchmark through the whole system with
// distinctive provider keys (one the mock rejects, echoing part of it),
// tokens and a webhook whose signing secret is rotated while deliveries
// go out, then reads every response, log line and task asynqmon can
// show, and the audit log, events and delivery records in the database,
// and finds no key, secret, fragment of either, ciphertext or token in
// them. The only responses allowed to hold a webhook's secret are its
// creation and its rotation.
func TestSecrets_NeverLeak(t *testing.T) {
	t.Parallel()
	o := startObserved(t, testenv.KeyEnv(t), 5*time.Millisecond, nil,
		map[string]string{"SABE_ALLOW_PRIVATE_WEBHOOKS": "true", "SABE_WEBHOOK_BACKOFF": "200ms"})
	ctx := context.Background()

	goodSecret, badSecret, patchedSecret := secretPart(t, 24), secretPart(t, 24), secretPart(t, 24)
	// Header values are credentials too (Azure's api-key, a gateway's
	// Proxy-Authorization, a cookie).
	headerSecret, patchedHeaderSecret := secretPart(t, 24), secretPart(t, 24)
	goodKey, badKey, patchedKey := "sk-leak-"+goodSecret, "bad-key-"+badSecret, "sk-patched-"+patchedSecret
	wrongToken := "sabe_" + secretPart(t, 38)
	forbidden := map[string]string{
		goodKey: "provider key", badKey: "provider key (echoed by the mock)", patchedKey: "patched provider key",
		o.token: "token", strings.TrimPrefix(o.token, "sabe_"): "token body", wrongToken: "rejected token",
	}
	for name, s := range map[string]string{"good": goodSecret, "bad": badSecret, "patched": patchedSecret,
		"header": headerSecret, "patched header": patchedHeaderSecret} {
		for _, f := range fragments(s) {
			forbidden[f] = "fragment of the " + name + " key"
		}
	}

	// A token made through the API is the one response allowed to hold it.
	if code, raw := o.do(t, "POST", "/v1/tokens", o.token, map[string]any{"name": "leak-check", "scopes": []string{"read", "write", "admin"}}, false); code == http.StatusCreated {
		var created struct {
			Token string `json:"token"`
		}
		mustUnmarshal(t, raw, &created)
		token := created.Token
		if !strings.HasPrefix(token, "sabe_") {
			t.Fatalf("token create response has no token: %s", raw)
		}
		forbidden[token] = "API-created token"
		forbidden[strings.TrimPrefix(token, "sabe_")] = "API-created token body"
		o.token = token
	}

	// Refused credentials must not be repeated either.
	for _, tok := range []string{wrongToken, goodKey} {
		if code, _ := o.do(t, "GET", "/v1/providers", tok, nil, true); code != http.StatusUnauthorized {
			t.Errorf("GET /v1/providers with a wrong token: %d, want 401", code)
		}
	}
	// A provider body that fails validation still carries a key.
	o.do(t, "POST", "/v1/providers", o.token, map[string]any{"name": "", "kind": "openai", "base_url": "not a url", "api_key": goodKey}, true)

	var good, bad, patched idOnly
	o.must(t, "POST", "/v1/providers", map[string]any{"name": "good", "kind": "openai", "base_url": o.mock.URL + "/v1", "api_key": goodKey,
		"headers": map[string]string{"Cookie": "session=" + headerSecret}}, http.StatusCreated, &good)
	o.must(t, "POST", "/v1/providers", map[string]any{"name": "bad", "kind": "openai", "base_url": o.mock.URL + "/v1", "api_key": badKey}, http.StatusCreated, &bad)
	o.must(t, "POST", "/v1/providers", map[string]any{"name": "patched", "kind": "openai", "base_url": o.mock.URL + "/v1", "api_key": "sk-before-patch"}, http.StatusCreated, &patched)
	o.must(t, "PATCH", "/v1/providers/"+patched.ID, map[string]any{"api_key": patchedKey, "headers": map[string]any{"api-key": patchedHeaderSecret}}, http.StatusOK, nil)
	var modelIDs []string
	for _, p := range []idOnly{good, bad, patched} {
		var m idOnly
		o.must(t, "POST", "/v1/models", map[string]any{"provider_id": p.ID, "name": "strong-" + p.ID, "provider_model_id": "mock-strong",
			"input_cost_per_mtok": 1, "output_cost_per_mtok": 2}, http.StatusCreated, &m)
		modelIDs = append(modelIDs, m.ID)
	}
	var suite idOnly
	o.must(t, "POST", "/v1/suites", map[string]any{"name": "leak"}, http.StatusCreated, &suite)
	var jsonl strings.Builder
	for i := range 4 {
		p, a := mockllm.Question(200 + i)
		jsonl.Write(mustMarshal(t, map[string]any{"prompt": p, "expected_answer": fmt.Sprint(a), "scoring": map[string]any{"method": "numeric"}}))
		jsonl.WriteByte('\n')
	}
	o.must(t, "POST", "/v1/suites/"+suite.ID+"/questions:import", jsonl.String(), http.StatusCreated, nil)
	var bench idOnly
	o.must(t, "POST", "/v1/benchmarks", map[string]any{"name": "leak", "suite_ids": []string{suite.ID}, "model_ids": modelIDs,
		"config": map[string]any{"temperature": 0, "max_tokens": 32, "samples": 2}}, http.StatusCreated, &bench)

	// Watch asynq while the run goes: finished tasks leave the queues.
	var (
		taskMu sync.Mutex
		seen   []string
	)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watchCtx.Err() == nil {
			ts := o.tasks(t)
			taskMu.Lock()
			seen = append(seen, ts...)
			taskMu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	hook, webhookSecrets := leakWebhook(t, o)
	for _, secret := range webhookSecrets {
		for _, f := range webhookSecretForms(secret) {
			forbidden[f] = "webhook signing secret"
		}
	}
	var r struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	o.must(t, "POST", "/v1/benchmarks/"+bench.ID+"/runs", nil, http.StatusAccepted, &r)
	testenv.WaitFor(t, "the run to finish", 2*time.Minute, func() bool {
		o.must(t, "GET", "/v1/runs/"+r.ID, nil, http.StatusOK, &r)
		return r.Status != "queued" && r.Status != "running"
	})
	// Its run.partial event goes out signed with both secrets.
	testenv.WaitFor(t, "the run's event to be delivered", time.Minute, func() bool {
		var pending int
		if err := o.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0 && len(hook.receipts(t, "run.partial")) > 0
	})
	stopWatch()
	<-watched
	if r.Status != "partial" {
		t.Errorf("run ended %s, want partial (the bad key's units fail)", r.Status)
	}
	// Every view of the outcome, errors included.
	var results struct {
		Items []struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		} `json:"items"`
	}
	o.must(t, "GET", "/v1/runs/"+r.ID+"/results?limit=200", nil, http.StatusOK, &results)
	failed := 0
	for _, it := range results.Items {
		if it.Status == "failed" {
			failed++
		}
	}
	if failed != 8 {
		t.Errorf("%d failed units, want the bad key's 8", failed)
	}
	var webhooks struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	o.must(t, "GET", "/v1/webhooks", nil, http.StatusOK, &webhooks)
	paths := []string{"/v1/runs/" + r.ID + "/rankings", "/v1/runs?limit=200", "/v1/providers", "/v1/providers/" + bad.ID, "/v1/providers/" + good.ID, "/v1/models", "/v1/audit?limit=200"}
	for _, w := range webhooks.Items {
		paths = append(paths, "/v1/webhooks/"+w.ID, "/v1/webhooks/"+w.ID+"/deliveries?limit=200")
	}
	for _, path := range paths {
		o.do(t, "GET", path, o.token, nil, true)
	}
	if o.mock.Server.StatusCount(http.StatusUnauthorized) == 0 {
		t.Fatal("the mock never rejected the bad key: the echo path was not exercised")
	}

	// The stored ciphertexts, in every printable form.
	rows, err := o.pool.Query(ctx, `SELECT api_key_ciphertext FROM providers WHERE api_key_ciphertext IS NOT NULL
		UNION ALL SELECT headers_ciphertext FROM providers WHERE headers_ciphertext IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var ct []byte
		if err := rows.Scan(&ct); err != nil {
			t.Fatal(err)
		}
		n++
		for _, e := range encodings(ct) {
			forbidden[e] = "stored ciphertext"
		}
	}
	if err := rows.Err(); err != nil || n != 5 {
		t.Fatalf("read %d ciphertexts: %v", n, err)
	}
	// The webhook's sealed secrets: the current one and the one before
	// the rotation.
	var sealed, previous []byte
	if err := o.pool.QueryRow(ctx, `SELECT secret_ciphertext, previous_secret_ciphertext FROM webhooks`).Scan(&sealed, &previous); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || len(previous) == 0 {
		t.Fatalf("webhook ciphertexts: %d and %d bytes, want both after a rotation", len(sealed), len(previous))
	}
	for _, ct := range [][]byte{sealed, previous} {
		for _, e := range encodings(ct) {
			forbidden[e] = "stored webhook secret ciphertext"
		}
	}

	sources := map[string]string{}
	o.mu.Lock()
	for i, resp := range o.responses {
		sources[fmt.Sprintf("response %d", i)] = resp
	}
	o.mu.Unlock()
	for name, b := range o.logs {
		sources["log of "+name] = b.String()
	}
	seen = append(seen, o.tasks(t)...)
	for i, ts := range seen {
		sources[fmt.Sprintf("task %d", i)] = ts
	}
	if !slices.ContainsFunc(seen, func(s string) bool { return strings.Contains(s, " webhook:deliver ") }) {
		t.Error("the Inspector never listed a webhook:deliver task: the deliveries' payloads were not checked")
	}
	// What the database keeps in the clear about webhooks and who did what.
	for name, query := range map[string]string{
		"audit log":          `SELECT row_to_json(a)::text FROM audit_log a`,
		"events":             `SELECT row_to_json(e)::text FROM events e`,
		"webhook deliveries": `SELECT row_to_json(d)::text FROM webhook_deliveries d`,
		"webhook attempts":   `SELECT row_to_json(a)::text FROM webhook_attempts a`,
	} {
		rows, err := o.pool.Query(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			b.WriteString(line + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		sources["database "+name] = b.String()
	}
	if !strings.Contains(sources["database audit log"], "webhook.rotate_secret") {
		t.Error("the audit log has no webhook.rotate_secret entry: the rotation was not audited")
	}
	if len(seen) == 0 {
		t.Error("the Inspector never listed a task: nothing was checked there")
	}
	for name, text := range sources {
		for secret, what := range forbidden {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains the %s", name, what)
			}
		}
	}
}

// leakWebhook creates a webhook on a signing receiver through the API,
// sends it a test event, rotates its secret and sends another, renames it,
// and returns the receiver (which from then on requires both signatures)
// and the two secrets. Only the creation's and the rotation's answers may
// hold a secret: they are not recorded; everything else is.
func leakWebhook(t *testing.T, o *observed) (*receiver, []string) {
	t.Helper()
	rc := newReceiver(t, true)
	// A URL the validation refuses is answered without a secret.
	o.do(t, "POST", "/v1/webhooks", o.token, map[string]any{"name": "x", "url": "ftp://nowhere", "events": []string{"run.partial"}}, true)
	code, raw := o.do(t, "POST", "/v1/webhooks", o.token, map[string]any{"name": "leak", "url": rc.srv.URL,
		"events": []string{"run.partial", "run.completed"}}, false)
	if code != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", code, raw)
	}
	var created struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	mustUnmarshal(t, raw, &created)
	if !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("webhook create response has no secret: %s", raw)
	}
	rc.setSecrets(created.Secret)
	base := "/v1/webhooks/" + created.ID
	sendTest := func() {
		var d struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		o.must(t, "POST", base+"/test", nil, http.StatusAccepted, &d)
		testenv.WaitFor(t, "the test delivery", time.Minute, func() bool {
			o.must(t, "GET", base+"/deliveries/"+d.ID, nil, http.StatusOK, &d)
			return d.Status != "pending"
		})
		if d.Status != "succeeded" {
			t.Fatalf("test delivery %s", d.Status)
		}
	}
	sendTest()

	code, raw = o.do(t, "POST", base+"/rotate-secret", o.token, nil, false)
	if code != http.StatusOK {
		t.Fatalf("rotate webhook secret: %d %s", code, raw)
	}
	var rotated struct {
		Secret                  string     `json:"secret"`
		PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	}
	mustUnmarshal(t, raw, &rotated)
	if !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == created.Secret || strings.Contains(string(raw), created.Secret) {
		t.Fatalf("rotation answered %s: want the new secret alone", raw)
	}
	if rotated.PreviousSecretExpiresAt == nil {
		t.Errorf("rotation answered no previous_secret_expires_at: %s", raw)
	}
	// For a while deliveries carry a signature for each secret.
	rc.setSecrets(rotated.Secret, created.Secret)
	sendTest()
	o.must(t, "PATCH", base, map[string]any{"name": "leak renamed"}, http.StatusOK, nil)
	if got := rc.receipts(t, "webhook.test"); len(got) != 2 {
		t.Errorf("the receiver got %d test events, want 2", len(got))
	}
	return rc, []string{created.Secret, rotated.Secret}
}

// webhookSecretForms are the forms of a webhook signing secret (whsec_
// and base64) that must not appear anywhere: the secret, its base64 part
// and every 8-character piece of it, and the key it decodes to in other
// encodings. A piece made only of hexadecimal digits is left out: SABE
// generates the secret, so unlike the test's own keys it may hold runs
// that a UUID or hash could contain by chance.
func webhookSecretForms(secret string) []string {
	body := strings.TrimPrefix(secret, "whsec_")
	forms := []string{secret, body}
	for i := 0; i+8 <= len(body); i++ {
		piece := body[i : i+8]
		if strings.Trim(piece, "0123456789abcdefABCDEF") != "" {
			forms = append(forms, piece)
		}
	}
	if key, err := base64.StdEncoding.DecodeString(body); err == nil {
		forms = append(forms, encodings(key)...)
	}
	return forms
}

// TestSecrets_RotateDuringRun rotates every provider key to a new primary
// while a run is in flight, as an operator would: the new ring is rolled
// out to every process first, then `sabe keys rotate` runs. The run
// completes, every key decrypts under the new key alone, and `sabe keys
// status` reports the old key unused.
func TestSecrets_RotateDuringRun(t *testing.T) {
	t.Parallel()
	oldE, err := secrets.GenerateEntry("old")
	if err != nil {
		t.Fatal(err)
	}
	newE, err := secrets.GenerateEntry("new")
	if err != nil {
		t.Fatal(err)
	}
	oldRing, err := secrets.ParseKeyring(oldE)
	if err != nil {
		t.Fatal(err)
	}
	newRing, err := secrets.ParseKeyring(newE)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[uuid.UUID]string{}
	// The providers were written before the rotation began, under the old key.
	seed := func(ctx context.Context, pool *pgxpool.Pool) {
		for i := range 3 {
			key := fmt.Sprintf("sk-rotate-%d-%s", i, secretPart(t, 16))
			p := testfactory.Provider(ctx, t, store.New(pool, oldRing), &testfactory.ProviderOpts{Name: fmt.Sprint("p", i), APIKey: key})
			keys[p.ID] = key
		}
	}
	// Slow answers while the rotation runs, so the run is surely in flight.
	o := startObserved(t, newE+","+oldE, time.Second, seed)
	ctx := context.Background()
	var modelIDs []string
	for id := range keys {
		o.must(t, "PATCH", "/v1/providers/"+id.String(), map[string]any{"base_url": o.mock.URL + "/v1"}, http.StatusOK, nil)
		var m idOnly
		o.must(t, "POST", "/v1/models", map[string]any{"provider_id": id.String(), "name": "m-" + id.String(), "provider_model_id": "mock-strong",
			"input_cost_per_mtok": 1, "output_cost_per_mtok": 2}, http.StatusCreated, &m)
		modelIDs = append(modelIDs, m.ID)
	}
	var suite idOnly
	o.must(t, "POST", "/v1/suites", map[string]any{"name": "rotate"}, http.StatusCreated, &suite)
	var jsonl strings.Builder
	for i := range 6 {
		p, a := mockllm.Question(300 + i)
		jsonl.Write(mustMarshal(t, map[string]any{"prompt": p, "expected_answer": fmt.Sprint(a), "scoring": map[string]any{"method": "numeric"}}))
		jsonl.WriteByte('\n')
	}
	o.must(t, "POST", "/v1/suites/"+suite.ID+"/questions:import", jsonl.String(), http.StatusCreated, nil)
	var bench idOnly
	o.must(t, "POST", "/v1/benchmarks", map[string]any{"name": "rotate", "suite_ids": []string{suite.ID}, "model_ids": modelIDs,
		"config": map[string]any{"temperature": 0, "max_tokens": 16, "samples": 2}}, http.StatusCreated, &bench)
	var r struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Progress struct {
			Total, Succeeded, Failed int
		} `json:"progress"`
	}
	o.must(t, "POST", "/v1/benchmarks/"+bench.ID+"/runs", nil, http.StatusAccepted, &r)
	testenv.WaitFor(t, "the first provider calls", time.Minute, func() bool { return o.mock.Server.Requests() > 0 })

	cliEnv := func(ring string) func(string) string {
		return func(k string) string {
			return map[string]string{"SABE_DATABASE_URL": o.dbURL, secrets.EnvVar: ring}[k]
		}
	}
	var out bytes.Buffer
	if err := cli.Run(ctx, []string{"keys", "rotate", "--batch", "2"}, cliEnv(newE+","+oldE), &out, cli.Services{}); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "re-encrypted 3 provider keys") {
		t.Errorf("rotate printed %q", out.String())
	}
	o.must(t, "GET", "/v1/runs/"+r.ID, nil, http.StatusOK, &r)
	if r.Status != "running" {
		t.Fatalf("run was %s by the end of the rotation, want running", r.Status)
	}
	o.mock.Server.SetConfig(mockllm.Config{Latency: 5 * time.Millisecond})
	testenv.WaitFor(t, "the run to finish", 2*time.Minute, func() bool {
		o.must(t, "GET", "/v1/runs/"+r.ID, nil, http.StatusOK, &r)
		return r.Status != "queued" && r.Status != "running"
	})
	if r.Status != "completed" || r.Progress.Succeeded != r.Progress.Total {
		t.Errorf("run after rotation: %+v, want completed with every unit succeeded", r)
	}

	out.Reset()
	if err := cli.Run(ctx, []string{"keys", "status"}, cliEnv(newE+","+oldE), &out, cli.Services{}); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^new +3 providers +\(primary\)$`).MatchString(out.String()) ||
		!regexp.MustCompile(`(?m)^old +0 providers +\(unused`).MatchString(out.String()) {
		t.Errorf("keys status after rotation:\n%s", out.String())
	}
	final := store.New(o.pool, newRing)
	for id, want := range keys {
		c, err := final.ProviderConn(ctx, id)
		if err != nil {
			t.Fatalf("provider %s under the new key alone: %v", id, err)
		}
		if c.APIKey != want {
			t.Errorf("provider %s key changed in rotation", id)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustUnmarshal(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}
