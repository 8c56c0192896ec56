package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/api"
	"github.com/sabe-dev/sabe/services/cli"
	"github.com/sabe-dev/sabe/services/scheduler"
	"github.com/sabe-dev/sabe/services/worker"
)

// system is a running SABE: api, two workers, the scheduler and mockllm.
type system struct {
	api   string
	token string
	// redis is the URL of the Redis database the services share.
	redis string
	mock  *mockllm.Instance
	pool  *pgxpool.Pool
	http  *http.Client
	// c is the API client with the admin token.
	c *client.Client
}

func start(t *testing.T) *system {
	t.Helper()
	return startOn(t, testenv.DatabaseURL(t))
}

// startOn is start on the database at dbURL; the variables in extra (if
// any) are added to every service's environment or override its defaults.
func startOn(t *testing.T, dbURL string, extra ...map[string]string) *system {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	redisURL, key := testenv.RedisURL(t), testenv.KeyEnv(t)
	mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{Latency: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SABE_DATABASE_URL": dbURL, "SABE_REDIS_URL": redisURL, "SABE_ENCRYPTION_KEY": key,
		"SABE_HTTP_ADDR": "127.0.0.1:0", "SABE_ALLOW_PRIVATE_PROVIDERS": "true",
		"SABE_WORKER_CONCURRENCY": "8", "SABE_LOG_FORMAT": "text", "SABE_LOG_LEVEL": "warn",
		"SABE_METRICS_ADDR": "127.0.0.1:0", // each worker its own listener
	}
	for _, e := range extra {
		maps.Copy(env, e)
	}
	t.Cleanup(cancel)
	// The api migrates the database; the others check its version.
	apiOut := testenv.StartService(t, "api", api.Run, env)
	apiOut.WaitFor(t, "api listening on ", 60*time.Second)
	testenv.StartService(t, "worker-1", worker.Run, env)
	testenv.StartService(t, "worker-2", worker.Run, env)
	testenv.StartService(t, "scheduler", scheduler.Run, env)
	line := apiOut.String()
	addr := strings.TrimSpace(strings.SplitN(line[strings.Index(line, "api listening on ")+len("api listening on "):], "\n", 2)[0])

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tok, _, err := store.New(pool, nil).CreateToken(ctx, "e2e", []string{"admin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &system{api: addr, token: tok, redis: env["SABE_REDIS_URL"], mock: mock, pool: pool, http: &http.Client{Timeout: 30 * time.Second}, c: client.New(addr, tok)}
}

// call sends a request with the token and decodes the JSON answer into out,
// failing the test unless the status is want.
func (s *system) call(t *testing.T, method, path, ctype string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, s.api+path, r)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

type idOnly struct {
	ID string `json:"id"`
}

// TestBenchmark_EndToEnd runs 3 models × 20 questions × 2 samples through
// the HTTP API on two workers and checks every unit is recorded exactly
// once, the scores are the mock's known answers, and the ranking's order:
// once on plain PostgreSQL and once on TimescaleDB (hypertables and
// continuous aggregates), where one is available.
func TestBenchmark_EndToEnd(t *testing.T) {
	t.Parallel()
	for _, storage := range []string{testenv.StoragePostgreSQL, testenv.StorageTimescaleDB} {
		t.Run(storage, func(t *testing.T) {
			t.Parallel()
			s := startOn(t, testenv.DatabaseURLOn(t, storage))
			if ts := testenv.UsesTimescaleDB(t, s.pool); ts != (storage == testenv.StorageTimescaleDB) {
				t.Fatalf("database migrated with TimescaleDB = %v on the %s path", ts, storage)
			}
			benchmarkEndToEnd(t, s)
		})
	}
}

func benchmarkEndToEnd(t *testing.T, s *system) {
	const questions, samples = 20, 2
	models := []string{"mock-medium", "mock-weak", "mock-strong"}

	ctx := context.Background()
	prov, err := s.c.CreateProvider(ctx, oapi.CreateProviderRequest{
		Name: "mock", Kind: oapi.Openai, BaseUrl: s.mock.URL + "/v1", ApiKey: "sk-e2e-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	modelIDs := map[string]string{}
	var ids []uuid.UUID
	for _, m := range models {
		out, err := s.c.CreateModel(ctx, oapi.CreateModelRequest{
			ProviderId: prov.Id, Name: m, ProviderModelId: m, InputCostPerMtok: 1, OutputCostPerMtok: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		modelIDs[out.Id.String()] = m
		ids = append(ids, out.Id)
	}
	description := "e2e"
	suite, err := s.c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: "arith", Description: &description})
	if err != nil {
		t.Fatal(err)
	}
	prompts := make([]string, questions)
	qs := make([]oapi.CreateQuestionRequest, questions)
	for i := range questions {
		p, a := mockllm.Question(i)
		prompts[i] = p
		category := []string{"a", "b"}[i%2]
		qs[i] = oapi.CreateQuestionRequest{Prompt: p, Category: &category, ExpectedAnswer: fmt.Sprint(a), Scoring: oapi.Scoring{Method: oapi.Numeric}}
	}
	if _, err := s.c.ImportQuestions(ctx, suite.Id, qs); err != nil {
		t.Fatal(err)
	}
	temperature, maxTokens, nSamples := 0.0, 32, samples
	bench, err := s.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
		Name: "e2e", SuiteIds: []uuid.UUID{suite.Id}, ModelIds: ids,
		Config: &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &nSamples},
	})
	if err != nil {
		t.Fatal(err)
	}

	r, err := s.c.StartRun(ctx, bench.Id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != oapi.RunStatusQueued || r.Progress.Total != 3*questions*samples {
		t.Fatalf("created run: %+v", r)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if r, err = s.c.WaitRun(wctx, r.Id, 100*time.Millisecond, nil); err != nil || r.Status != oapi.RunStatusCompleted {
		t.Fatalf("run ended or stalled as %+v: %v", r, err)
	}
	total := 3 * questions * samples
	if r.Progress.Succeeded != int64(total) {
		t.Errorf("progress %+v, want %d succeeded", r.Progress, total)
	}

	// Exactly one execution and one evaluation per unit.
	var execs, distinct, evals int
	if err := s.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT (model_id, question_id, sample)) FROM executions WHERE run_id = $1`, r.Id).Scan(&execs, &distinct); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM evaluations WHERE run_id = $1`, r.Id).Scan(&evals); err != nil {
		t.Fatal(err)
	}
	if execs != total || distinct != total || evals != total {
		t.Fatalf("executions=%d distinct=%d evaluations=%d, want %d each", execs, distinct, evals, total)
	}

	// Scores are the mock's known answers, and the order follows them.
	rk, err := s.c.Rankings(ctx, r.Id)
	if err != nil {
		t.Fatal(err)
	}
	if len(rk.Overall) != 3 || len(rk.ByCategory) != 2 {
		t.Fatalf("rankings: %+v", rk)
	}
	for i, e := range rk.Overall {
		correct := 0
		for _, p := range prompts {
			for smp := range samples {
				if mockllm.Correct(modelIDs[e.ModelId.String()], p, smp) {
					correct++
				}
			}
		}
		want := float64(correct) / float64(questions*samples)
		if e.N != questions*samples || e.Score != want || e.Rank != i+1 {
			t.Errorf("%s: rank %d score %v n %d, want score %v n %d", e.ModelName, e.Rank, e.Score, e.N, want, questions*samples)
		}
		if i > 0 && (e.Score > rk.Overall[i-1].Score || (e.Score == rk.Overall[i-1].Score && e.ModelName < rk.Overall[i-1].ModelName)) {
			t.Errorf("ranking out of order at %d: %+v", i, rk.Overall)
		}
	}

	// Results page through every unit, each with its evaluation.
	seen := 0
	cursor := ""
	for {
		var page struct {
			Items []struct {
				Status      string            `json:"status"`
				Evaluations []json.RawMessage `json:"evaluations"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		path := "/v1/runs/" + r.Id.String() + "/results?limit=50"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		s.call(t, "GET", path, "", nil, http.StatusOK, &page)
		for _, it := range page.Items {
			if it.Status != "succeeded" || len(it.Evaluations) != 1 {
				t.Fatalf("result %+v", it)
			}
		}
		seen += len(page.Items)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if seen != total {
		t.Errorf("results listed %d units, want %d", seen, total)
	}
	if got := s.mock.Server.Requests(); got != int64(total) {
		t.Errorf("provider calls = %d, want %d", got, total)
	}
}

// TestDev_Demo runs `sabe dev --exit` twice against one database: the
// leaderboard's order matches the mock models' accuracies, the first run
// writes the dashboard's synthetic history, and the second reuses the
// development key, the seeded demo and the history.
func TestDev_Demo(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SABE_DATABASE_URL": testenv.DatabaseURL(t), "SABE_REDIS_URL": testenv.RedisURL(t)}
	getenv := func(k string) string { return env[k] }
	dir := t.TempDir()
	svc := cli.Services{API: api.Run, Worker: worker.Run, Scheduler: scheduler.Run}
	for round := 1; round <= 2; round++ {
		var out testenv.Buffer
		args := []string{"dev", "--exit", "--state-dir", dir, "--http-addr", "127.0.0.1:0", "--mock-addr", "127.0.0.1:0", "--latency", "5ms"}
		if err := cli.Run(context.Background(), args, getenv, &out, svc); err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, out.String())
		}
		text := out.String()
		board := strings.Index(text, "Leaderboard")
		if board < 0 {
			t.Fatalf("round %d: no leaderboard:\n%s", round, text)
		}
		rows := text[board:]
		strong, medium, weak := strings.Index(rows, "mock-strong"), strings.Index(rows, "mock-medium"), strings.Index(rows, "mock-weak")
		if !(0 < strong && strong < medium && medium < weak) {
			t.Fatalf("round %d: leaderboard not in accuracy order:\n%s", round, text)
		}
		// The judged demo: a leaderboard with unscored counts, the judges'
		// cost apart from the models', and one verdict's reasoning.
		judged := strings.Index(text, "Judged leaderboard")
		if judged < 0 || !strings.Contains(text[judged:], "unscored") || !strings.Contains(text[judged:], "One verdict") ||
			!strings.Contains(text[judged:], "mock-judge") || strings.Contains(text[judged:], "judges $0.0000") {
			t.Errorf("round %d: no judged leaderboard with unscored counts, judge cost and a verdict:\n%s", round, text)
		}
		// --exit leaves: it must not promise what stays up.
		if strings.Contains(text, "stay up") || !strings.Contains(text, "Stopping (--exit)") {
			t.Errorf("round %d: --exit output does not say it stops:\n%s", round, text)
		}
		if round == 2 && (strings.Contains(text, "seeded") || strings.Contains(text, "synthetic history")) {
			t.Errorf("round 2 seeded the demo or the history again:\n%s", text)
		}
		// The dashboard's history is written once, by the first round.
		if i := strings.Index(text, "wrote a synthetic history"); round == 1 {
			if i < 0 {
				t.Errorf("round 1 wrote no synthetic history:\n%s", text)
			} else {
				line, _, _ := strings.Cut(text[i:], "\n")
				t.Log(line)
			}
		}
	}
}
