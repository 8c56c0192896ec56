package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
	"github.com/sabe-dev/sabe/services/worker"
)

func TestLoadConfig_Maintenance(t *testing.T) {
	t.Parallel()
	t.Run("Defaults", func(t *testing.T) {
		env := map[string]string{"SABE_ENCRYPTION_KEY": testenv.KeyEnv(t)}
		c, err := worker.LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.ReconcileInterval != 30*time.Second || c.ReconcileStall != 2*time.Minute || c.Retention != 0 ||
			c.RetentionBatch != 5000 || c.RetentionInterval != time.Hour || c.AuditRetention != 8760*time.Hour {
			t.Errorf("defaults: %+v", c)
		}
	})
	t.Run("Settings", func(t *testing.T) {
		env := map[string]string{
			"SABE_ENCRYPTION_KEY": testenv.KeyEnv(t), "SABE_RECONCILE_INTERVAL": "1s", "SABE_RECONCILE_STALL": "3s",
			"SABE_RETENTION": "2160h", "SABE_RETENTION_BATCH": "100", "SABE_RETENTION_INTERVAL": "10m",
			"SABE_AUDIT_RETENTION": "0",
		}
		c, err := worker.LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.ReconcileInterval != time.Second || c.ReconcileStall != 3*time.Second || c.Retention != 90*24*time.Hour ||
			c.RetentionBatch != 100 || c.RetentionInterval != 10*time.Minute || c.AuditRetention != 0 {
			t.Errorf("settings: %+v", c)
		}
	})
	for _, tc := range []struct{ name, variable, value string }{
		{"ErrReconcileInterval", "SABE_RECONCILE_INTERVAL", "10ms"},
		{"ErrReconcileStall", "SABE_RECONCILE_STALL", "soon"},
		{"ErrRetention", "SABE_RETENTION", "-1h"},
		{"ErrRetentionShorterThanAMonth", "SABE_RETENTION", "720h"},
		{"ErrRetentionBatch", "SABE_RETENTION_BATCH", "0"},
		{"ErrRetentionInterval", "SABE_RETENTION_INTERVAL", "1us"},
		{"ErrAuditRetention", "SABE_AUDIT_RETENTION", "-1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SABE_ENCRYPTION_KEY": testenv.KeyEnv(t), tc.variable: tc.value}
			_, err := worker.LoadConfig(func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.variable) {
				t.Fatalf("err = %v, want one naming %s", err, tc.variable)
			}
		})
	}
}

// TestRun_ReconcilesAndStopsGracefully runs the worker as production wires
// it: its reconciler starts a run committed with no task, and a stop in
// the middle of the unit's provider call lets the call finish and record.
func TestRun_ReconcilesAndStopsGracefully(t *testing.T) {
	t.Parallel()
	env := baseEnv(t)
	env["SABE_METRICS_ADDR"] = "off"
	env["SABE_ALLOW_PRIVATE_PROVIDERS"] = "true"
	env["SABE_RECONCILE_INTERVAL"] = "100ms"
	env["SABE_SHUTDOWN_TIMEOUT"] = "20s"
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, env["SABE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	keys, err := secrets.ParseKeyring(env["SABE_ENCRYPTION_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(pool, keys)
	mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{Latency: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mock.Stop() })
	r := commitRun(t, st, mock.URL+"/v1")

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &testenv.Buffer{}
	done := make(chan error, 1)
	go func() { done <- worker.Run(wctx, nil, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker output:\n%s", out.String())
		}
	})
	testenv.WaitFor(t, "the reconciler to start the run", 30*time.Second, func() bool { return mock.Server.Requests() > 0 })
	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker returned %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop within 30s")
	}
	var status string
	if err := pool.QueryRow(ctx, `SELECT status FROM executions WHERE run_id = $1`, r.ID).Scan(&status); err != nil {
		t.Fatalf("the unit in flight at the stop was not recorded: %v\n%s", err, out.String())
	}
	if status != string(run.ExecSucceeded) || mock.Server.Requests() != 1 {
		t.Errorf("unit %s after %d calls, want succeeded after 1", status, mock.Server.Requests())
	}
}

// commitRun seeds a one-unit benchmark on the mock at baseURL and commits a
// run of it with no task in Redis.
func commitRun(t *testing.T, st *store.Store, baseURL string) *run.Run {
	t.Helper()
	ctx := context.Background()
	p := testfactory.Provider(ctx, t, st, &testfactory.ProviderOpts{BaseURL: baseURL})
	m := testfactory.Model(ctx, t, st, &testfactory.ModelOpts{ProviderID: p.ID})
	b := testfactory.Benchmark(ctx, t, st, &testfactory.BenchmarkOpts{ModelIDs: []uuid.UUID{m.ID}})
	return testfactory.Run(ctx, t, st, &testfactory.RunOpts{BenchmarkID: b.ID})
}
