package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// bundle is the real API server over a fresh database, and a client of
// it with an admin token.
type bundle struct {
	url  string
	pool *pgxpool.Pool
	st   *store.Store
	c    *client.Client
}

func setup(t *testing.T) *bundle {
	t.Helper()
	pool := testenv.Pool(t)
	st := store.New(pool, testenv.Keyring(t))
	rdb := testenv.Redis(t)
	o := rdb.Options()
	srv, err := httpapi.New(httpapi.Deps{
		Store:        st,
		Queue:        asynq.NewClientFromRedisClient(rdb),
		Tracker:      run.NewTracker(rdb),
		Redis:        rdb,
		MonitorRedis: asynq.RedisClientOpt{Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB},
		Providers: provider.NewClients(provider.ClientConfig{
			HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true}),
		}),
		Log:    slog.New(slog.DiscardHandler),
		Config: httpapi.Config{AllowPrivateProviders: true, AllowPrivateWebhooks: true, TokenCacheTTL: -1, ProviderTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	token, _, err := st.CreateToken(context.Background(), "client test", []string{apitoken.ScopeAdmin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{url: ts.URL, pool: pool, st: st, c: client.New(ts.URL+"/", token)}
}

// benchmark creates a provider, a model, a suite of two questions and a
// benchmark of them through the client.
func (b *bundle) benchmark(t *testing.T) oapi.Benchmark {
	t.Helper()
	ctx := context.Background()
	prov, err := b.c.CreateProvider(ctx, oapi.CreateProviderRequest{Name: "p", Kind: oapi.Openai, BaseUrl: "http://127.0.0.1:1/v1", ApiKey: "k"})
	if err != nil {
		t.Fatalf("CreateProvider: %v", err)
	}
	model, err := b.c.CreateModel(ctx, oapi.CreateModelRequest{ProviderId: prov.Id, Name: "m", ProviderModelId: "m-1", InputCostPerMtok: 1, OutputCostPerMtok: 2})
	if err != nil {
		t.Fatalf("CreateModel: %v", err)
	}
	suite, err := b.c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: "s"})
	if err != nil {
		t.Fatalf("CreateSuite: %v", err)
	}
	imported, err := b.c.ImportQuestions(ctx, suite.Id, []oapi.CreateQuestionRequest{
		{Prompt: "1+1?", ExpectedAnswer: "2", Scoring: oapi.Scoring{Method: oapi.Numeric}},
		{Prompt: "2+2?", ExpectedAnswer: "4", Scoring: oapi.Scoring{Method: oapi.Numeric}},
	})
	if err != nil || imported.Imported != 2 {
		t.Fatalf("ImportQuestions: %+v, %v", imported, err)
	}
	if got, err := b.c.GetSuite(ctx, suite.Id); err != nil || got.QuestionCount != 2 {
		t.Fatalf("GetSuite: %+v, %v", got, err)
	}
	samples := 3
	bench, err := b.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
		Name: "b", SuiteIds: []uuid.UUID{suite.Id}, ModelIds: []uuid.UUID{model.Id},
		Config: &oapi.BenchmarkConfigInput{Samples: &samples},
	})
	if err != nil {
		t.Fatalf("CreateBenchmark: %v", err)
	}
	if bench.UnitCount != 6 {
		t.Fatalf("benchmark of %d units, want 6", bench.UnitCount)
	}
	return bench
}

// startedRun starts a run of a new benchmark; no worker runs it.
func (b *bundle) startedRun(t *testing.T) (oapi.Benchmark, oapi.Run) {
	t.Helper()
	bench := b.benchmark(t)
	r, err := b.c.StartRun(context.Background(), bench.Id)
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	return bench, r
}

func TestClient_Resources(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	bench := b.benchmark(t)

	id, found, err := b.c.FindByName(ctx, "/v1/benchmarks", "b")
	if err != nil || !found || id != bench.Id {
		t.Errorf("FindByName(b) = %v, %v, %v; want %v", id, found, err, bench.Id)
	}
	if _, found, err := b.c.FindByName(ctx, "/v1/benchmarks", "none"); err != nil || found {
		t.Errorf("FindByName(none) = %v, %v; want not found", found, err)
	}
	prov, _, err := b.c.FindByName(ctx, "/v1/providers", "p")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:2/v1"
	if p, err := b.c.UpdateProvider(ctx, prov, oapi.UpdateProviderRequest{BaseUrl: &url}); err != nil || p.BaseUrl != url {
		t.Errorf("UpdateProvider: %+v, %v", p, err)
	}
}

func TestClient_WaitRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	bench := b.benchmark(t)

	r, err := b.c.StartRun(ctx, bench.Id)
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	if r.Status != oapi.RunStatusQueued || r.Progress.Total != 6 || client.Final(r) {
		t.Fatalf("started run: %+v", r)
	}
	// No worker runs here: the first read sees the run queued, and the
	// test ends it by hand, so the next read is final.
	reads := 0
	got, err := b.c.WaitRun(ctx, r.Id, time.Millisecond, func(r oapi.Run) error {
		reads++
		_, err := b.pool.Exec(ctx, `UPDATE runs SET status = 'cancelled', finished_at = now() WHERE id = $1`, r.Id)
		return err
	})
	if err != nil {
		t.Fatalf("WaitRun: %v", err)
	}
	if got.Status != oapi.RunStatusCancelled || !client.Final(got) || reads != 1 {
		t.Errorf("WaitRun = %s after %d reads, want cancelled after 1", got.Status, reads)
	}

	t.Run("ErrFromEach", func(t *testing.T) {
		r, err := b.c.StartRun(ctx, bench.Id)
		if err != nil {
			t.Fatal(err)
		}
		stop := errors.New("stop")
		if _, err := b.c.WaitRun(ctx, r.Id, time.Millisecond, func(oapi.Run) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("WaitRun = %v, want %v", err, stop)
		}
	})
	t.Run("ErrContext", func(t *testing.T) {
		r, err := b.c.StartRun(ctx, bench.Id)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		_, err = b.c.WaitRun(cctx, r.Id, time.Hour, func(oapi.Run) error {
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("WaitRun = %v, want context.Canceled", err)
		}
	})
}

func TestClient_Errors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("Field", func(t *testing.T) {
		samples := 0
		_, err := b.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
			Name: "x", SuiteIds: []uuid.UUID{uuid.New()}, ModelIds: []uuid.UUID{uuid.New()},
			Config: &oapi.BenchmarkConfigInput{Samples: &samples},
		})
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || e.Code != "invalid" || e.Field != "config.samples" || e.Message == "" {
			t.Fatalf("err = %#v, want a 422 invalid on config.samples", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		_, err := b.c.GetRun(ctx, uuid.New())
		if client.StatusOf(err) != http.StatusNotFound {
			t.Fatalf("err = %v, want 404", err)
		}
	})
	t.Run("Unauthorized", func(t *testing.T) {
		_, err := client.New(b.url, "wrong").GetRun(ctx, uuid.New())
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != "unauthorized" {
			t.Fatalf("err = %v, want 401 unauthorized", err)
		}
	})
	t.Run("NotTheAPI", func(t *testing.T) {
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream down", http.StatusBadGateway)
		}))
		defer proxy.Close()
		_, err := client.New(proxy.URL, "t").GetRun(ctx, uuid.New())
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Code != "" || e.Body != "upstream down" {
			t.Fatalf("err = %#v, want a 502 with the body", err)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
		defer slow.Close()
		defer close(release)
		_, err := client.New(slow.URL, "t", client.WithTimeout(time.Millisecond)).GetRun(ctx, uuid.New())
		if err == nil || client.StatusOf(err) != 0 {
			t.Fatalf("err = %v, want a timeout", err)
		}
	})
}

func TestClient_FollowRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, r := b.startedRun(t)
	// No worker runs here: the stream's first event shows the run queued,
	// and the test ends it by hand, so the next is final.
	events := 0
	got, err := b.c.FollowRun(ctx, r.Id, func(r oapi.Run) error {
		events++
		_, err := b.pool.Exec(ctx, `UPDATE runs SET status = 'cancelled', finished_at = now() WHERE id = $1`, r.Id)
		return err
	})
	if err != nil {
		t.Fatalf("FollowRun: %v", err)
	}
	if got.Status != oapi.RunStatusCancelled || got.Id != r.Id || events != 1 {
		t.Errorf("FollowRun = %s after %d events, want cancelled after 1", got.Status, events)
	}
	if _, err := b.c.FollowRun(ctx, uuid.New(), nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("FollowRun(unknown) = %v, want a 404", err)
	}
}

// TestClient_Dashboard: the reads the dashboard's routes added, through
// the client: the session, run and result filters, a provider's circuit.
func TestClient_Dashboard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	bench, r := b.startedRun(t)

	if s, err := b.c.Session(ctx); err != nil || s.TokenName != "client test" || s.Via != oapi.SessionViaBearer {
		t.Errorf("Session = %+v, %v", s, err)
	}
	api, sched := oapi.RunTrigger("api"), oapi.RunTrigger("schedule")
	if page, err := b.c.ListRuns(ctx, client.RunFilter{BenchmarkID: &bench.Id, Trigger: &api}, 10, ""); err != nil || len(page.Items) != 1 || page.Items[0].Id != r.Id {
		t.Errorf("ListRuns(trigger api) = %+v, %v; want the started run", page.Items, err)
	}
	if page, err := b.c.ListRuns(ctx, client.RunFilter{Trigger: &sched}, 10, ""); err != nil || len(page.Items) != 0 {
		t.Errorf("ListRuns(trigger schedule) = %+v, %v; want none", page.Items, err)
	}
	failed := oapi.ExecutionStatusFailed
	if page, err := b.c.ResultsPage(ctx, r.Id, client.ResultFilter{Status: &failed}, 0, ""); err != nil || len(page.Items) != 0 {
		t.Errorf("ResultsPage(failed) = %+v, %v; want an empty page", page.Items, err)
	}
	provs, err := b.c.ListProviders(ctx, 10, "")
	if err != nil || len(provs.Items) != 1 || provs.Items[0].Circuit.State != oapi.ProviderCircuitStateClosed {
		t.Fatalf("ListProviders = %+v, %v; want one closed provider", provs.Items, err)
	}
	if p, err := b.c.GetProvider(ctx, provs.Items[0].Id); err != nil || p.Circuit.State != oapi.ProviderCircuitStateClosed {
		t.Errorf("GetProvider = %+v, %v", p, err)
	}
	if got, err := b.c.GetBenchmark(ctx, bench.Id); err != nil || got.Id != bench.Id || got.Schedule != nil {
		t.Errorf("GetBenchmark = %+v, %v", got, err)
	}
}
