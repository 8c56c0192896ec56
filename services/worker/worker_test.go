package worker_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/worker"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	t.Run("ErrMissingKey", func(t *testing.T) {
		_, err := worker.LoadConfig(func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "SABE_ENCRYPTION_KEY") {
			t.Fatalf("err = %v, want one naming SABE_ENCRYPTION_KEY", err)
		}
	})
	t.Run("ErrBadKeyNotEchoed", func(t *testing.T) {
		env := map[string]string{"SABE_ENCRYPTION_KEY": "k1:c2hvcnQ="}
		_, err := worker.LoadConfig(func(k string) string { return env[k] })
		if err == nil || strings.Contains(err.Error(), "c2hvcnQ") {
			t.Fatalf("err = %v: must fail without repeating the key", err)
		}
	})
	t.Run("Defaults", func(t *testing.T) {
		env := map[string]string{"SABE_ENCRYPTION_KEY": testenv.KeyEnv(t)}
		c, err := worker.LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.MetricsAddr != envconf.WorkerMetricsAddr.Default || c.IdleTimeout != time.Minute || c.BreakerFailures != 5 ||
			c.BreakerOpenTimeout != 30*time.Second || len(c.ProviderAllow) != 0 || c.TaskCheckInterval != 100*time.Millisecond || c.Pprof || c.DatabaseMaxConns != 20 || c.Fetchers != 4 ||
			c.RecordWriters != 2 || c.RecordMaxBatch != 64 || c.RecordLinger != 2*time.Millisecond || c.BreakerMaxWait != 5*time.Minute ||
			c.ControlConcurrency != 8 || c.NotifyConcurrency != 8 {
			t.Errorf("defaults: %+v", c)
		}
		if c.WebhookTimeout != 10*time.Second || c.WebhookRetryFor != 24*time.Hour || c.WebhookBackoff != 5*time.Second ||
			c.WebhookDisableAfter != 50 || c.PublicURL != "" || c.AllowPrivateWebhooks || c.EventRetention != 720*time.Hour {
			t.Errorf("webhook defaults: %+v", c)
		}
	})
	t.Run("Settings", func(t *testing.T) {
		env := map[string]string{
			"SABE_ENCRYPTION_KEY": testenv.KeyEnv(t), "SABE_METRICS_ADDR": "off", "SABE_PROVIDER_IDLE_TIMEOUT": "5s",
			"SABE_PROVIDER_ALLOW": "vllm.internal, 10.0.0.0/8", "SABE_BREAKER_FAILURES": "3", "SABE_BREAKER_OPEN_TIMEOUT": "2m",
			"SABE_TASK_CHECK_INTERVAL": "250ms", "SABE_PPROF": "true", "SABE_DATABASE_MAX_CONNS": "8", "SABE_WORKER_FETCHERS": "8",
			"SABE_RECORD_WRITERS": "3", "SABE_RECORD_MAX_BATCH": "16", "SABE_RECORD_LINGER": "0", "SABE_BREAKER_MAX_WAIT": "90s",
			"SABE_WEBHOOK_TIMEOUT": "3s", "SABE_WEBHOOK_RETRY_FOR": "2h", "SABE_WEBHOOK_BACKOFF": "1s", "SABE_WEBHOOK_DISABLE_AFTER": "7",
			"SABE_PUBLIC_URL": "https://sabe.example.com", "SABE_ALLOW_PRIVATE_WEBHOOKS": "true", "SABE_EVENT_RETENTION": "0",
			"SABE_WORKER_CONTROL_CONCURRENCY": "3", "SABE_WORKER_NOTIFY_CONCURRENCY": "5",
		}
		c, err := worker.LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.MetricsAddr != "" || c.IdleTimeout != 5*time.Second || c.BreakerFailures != 3 || c.BreakerOpenTimeout != 2*time.Minute ||
			c.TaskCheckInterval != 250*time.Millisecond || !c.Pprof || c.DatabaseMaxConns != 8 || c.Fetchers != 8 ||
			c.RecordWriters != 3 || c.RecordMaxBatch != 16 || c.RecordLinger != 0 || c.BreakerMaxWait != 90*time.Second || strings.Join(c.ProviderAllow, " ") != "vllm.internal 10.0.0.0/8" ||
			c.ControlConcurrency != 3 || c.NotifyConcurrency != 5 {
			t.Errorf("settings: %+v", c)
		}
		if c.WebhookTimeout != 3*time.Second || c.WebhookRetryFor != 2*time.Hour || c.WebhookBackoff != time.Second ||
			c.WebhookDisableAfter != 7 || c.PublicURL != "https://sabe.example.com" || !c.AllowPrivateWebhooks || c.EventRetention != 0 {
			t.Errorf("webhook settings: %+v", c)
		}
	})
	for _, tc := range []struct{ name, variable, value string }{
		{"ErrBadConcurrency", "SABE_WORKER_CONCURRENCY", "lots"},
		{"ErrMetricsAddr", "SABE_METRICS_ADDR", "9090"},
		{"ErrIdleTimeout", "SABE_PROVIDER_IDLE_TIMEOUT", "forever"},
		{"ErrProviderAllow", "SABE_PROVIDER_ALLOW", "10.0.0.0/99"},
		{"ErrBreakerFailures", "SABE_BREAKER_FAILURES", "0"},
		{"ErrBreakerOpenTimeout", "SABE_BREAKER_OPEN_TIMEOUT", "1ms"},
		{"ErrBreakerMaxWait", "SABE_BREAKER_MAX_WAIT", "soon"},
		{"ErrTaskCheckInterval", "SABE_TASK_CHECK_INTERVAL", "1ms"},
		{"ErrDatabaseMaxConns", "SABE_DATABASE_MAX_CONNS", "0"},
		{"ErrDatabasePooler", "SABE_DATABASE_POOLER", "session"},
		{"ErrFetchers", "SABE_WORKER_FETCHERS", "0"},
		{"ErrRecordWriters", "SABE_RECORD_WRITERS", "0"},
		{"ErrRecordMaxBatch", "SABE_RECORD_MAX_BATCH", "5000"},
		{"ErrRecordLinger", "SABE_RECORD_LINGER", "2s"},
		{"ErrWebhookTimeout", "SABE_WEBHOOK_TIMEOUT", "5m"},
		{"ErrWebhookRetryFor", "SABE_WEBHOOK_RETRY_FOR", "30d"},
		{"ErrWebhookBackoff", "SABE_WEBHOOK_BACKOFF", "2h"},
		{"ErrWebhookDisableAfter", "SABE_WEBHOOK_DISABLE_AFTER", "0"},
		{"ErrPublicURL", "SABE_PUBLIC_URL", "sabe.example.com"},
		{"ErrAllowPrivateWebhooks", "SABE_ALLOW_PRIVATE_WEBHOOKS", "maybe"},
		{"ErrEventRetention", "SABE_EVENT_RETENTION", "-1h"},
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

func baseEnv(t *testing.T) map[string]string {
	return map[string]string{
		"SABE_DATABASE_URL":   testenv.DatabaseURL(t),
		"SABE_REDIS_URL":      testenv.RedisURL(t),
		"SABE_ENCRYPTION_KEY": testenv.KeyEnv(t),
		"SABE_LOG_FORMAT":     "text",
	}
}

func TestRun_StartsAndStops(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		env := baseEnv(t)
		env["SABE_METRICS_ADDR"] = "127.0.0.1:0"
		// StartService checks, when the test ends, that the worker stops
		// cleanly on cancel.
		out := testenv.StartService(t, "worker", worker.Run, env)
		out.WaitFor(t, "worker started", 20*time.Second)
		text := out.String()
		i := strings.Index(text, "metrics listening on http://")
		if i < 0 {
			t.Fatalf("no metrics address in:\n%s", text)
		}
		addr := strings.TrimSpace(strings.SplitN(text[i+len("metrics listening on http://"):], "\n", 2)[0])
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "go_goroutines") {
			t.Errorf("GET /metrics: %d\n%.300s", resp.StatusCode, body)
		}
	})
	t.Run("MetricsOff", func(t *testing.T) {
		t.Parallel()
		env := baseEnv(t)
		env["SABE_METRICS_ADDR"] = "off"
		out := testenv.StartService(t, "worker", worker.Run, env)
		out.WaitFor(t, "worker started", 20*time.Second)
		if strings.Contains(out.String(), "metrics listening") {
			t.Errorf("metrics served although off:\n%s", out.String())
		}
	})
	t.Run("ErrMetricsAddrTaken", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		env := baseEnv(t)
		env["SABE_METRICS_ADDR"] = ln.Addr().String()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = worker.Run(ctx, nil, func(k string) string { return env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "SABE_METRICS_ADDR") {
			t.Fatalf("err = %v, want one naming SABE_METRICS_ADDR", err)
		}
	})
}
