package mockllm_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	pkgmock "github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/services/mockllm"
)

// env is a fake getenv over a map.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// lineWriter hands each write to the test through a channel, so the test
// can wait for the "listening" line without polling.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		out := make(lineWriter, 1)
		done := make(chan error, 1)
		go func() {
			done <- mockllm.Run(ctx, nil, env(map[string]string{
				"SABE_MOCK_ADDR":        "127.0.0.1:0",
				"SABE_MOCK_REQUIRE_KEY": "true",
			}), out)
		}()

		var url string
		select {
		case line := <-out:
			var ok bool
			url, ok = strings.CutPrefix(strings.TrimSpace(line), "mockllm listening on ")
			if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
				t.Fatalf("printed %q; want the bound address", line)
			}
		case err := <-done:
			t.Fatalf("Run returned before listening: %v", err)
		}

		body := `{"model":"mock-perfect","messages":[{"role":"user","content":"What is 6 * 7?"}]}`
		for _, tc := range []struct {
			key    string
			status int
		}{{"", http.StatusUnauthorized}, {"sk-test", http.StatusOK}} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || (tc.status == http.StatusOK && !strings.Contains(string(got), "The answer is 42.")) {
				t.Errorf("key %q: status %d body %s; want %d", tc.key, resp.StatusCode, got, tc.status)
			}
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		if _, err := http.Get(url + "/healthz"); err == nil {
			t.Error("mockllm still answers after Run returned")
		}
	})

	t.Run("SlowResponseAtStop", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		out := make(lineWriter, 4)
		done := make(chan error, 1)
		go func() {
			done <- mockllm.Run(ctx, nil, env(map[string]string{
				"SABE_MOCK_ADDR":    "127.0.0.1:0",
				"SABE_MOCK_LATENCY": "20s",
				"SABE_MOCK_TTFT":    "10ms",
			}), out)
		}()
		url := strings.TrimPrefix(strings.TrimSpace(<-out), "mockllm listening on ")
		// A streamed answer has sent its headers and is still running when
		// the stop comes, and runs past the shutdown timeout.
		body := `{"model":"mock-perfect","stream":true,"messages":[{"role":"user","content":"What is 6 * 7?"}]}`
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel with a response running = %v, want nil", err)
		}
	})

	t.Run("Faults", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		out := make(lineWriter, 1)
		done := make(chan error, 1)
		go func() {
			done <- mockllm.Run(ctx, nil, env(map[string]string{
				"SABE_MOCK_ADDR":        "127.0.0.1:0",
				"SABE_MOCK_QUOTA":       "true",
				"SABE_MOCK_QUOTA_RESET": "30s",
			}), out)
		}()
		var url string
		select {
		case line := <-out:
			url = strings.TrimPrefix(strings.TrimSpace(line), "mockllm listening on ")
		case err := <-done:
			t.Fatalf("Run returned before listening: %v", err)
		}

		resp, err := http.Post(url+"/v1beta/models/mock-strong:generateContent", "application/json",
			strings.NewReader(`{"contents":[{"parts":[{"text":"What is 1 + 1?"}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"retryDelay":"30s"`) {
			t.Errorf("status %d body %s; want the quota answer resetting in 30s", resp.StatusCode, body)
		}

		resp, err = http.Get(url + "/_mock/log")
		if err != nil {
			t.Fatal(err)
		}
		var log []pkgmock.LogEntry
		err = json.NewDecoder(resp.Body).Decode(&log)
		resp.Body.Close()
		if err != nil || len(log) != 1 || log[0].Format != pkgmock.FormatGoogle || log[0].Model != "mock-strong" || log[0].Status != http.StatusTooManyRequests {
			t.Errorf("log %+v (%v); want the one quota answer", log, err)
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	})

	t.Run("ErrConfig", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			vars map[string]string
			want string
		}{
			{map[string]string{"SABE_MOCK_LATENCY": "fast"}, "SABE_MOCK_LATENCY"},
			{map[string]string{"SABE_MOCK_TTFT": "-1s"}, "SABE_MOCK_TTFT"},
			{map[string]string{"SABE_MOCK_ERROR_RATE": "1.5"}, "SABE_MOCK_ERROR_RATE"},
			{map[string]string{"SABE_MOCK_RATE_LIMIT_RATE": "NaN"}, "SABE_MOCK_RATE_LIMIT_RATE"},
			{map[string]string{"SABE_MOCK_SEED": "-3"}, "SABE_MOCK_SEED"},
			{map[string]string{"SABE_MOCK_REQUIRE_KEY": "maybe"}, "SABE_MOCK_REQUIRE_KEY"},
			{map[string]string{"SABE_MOCK_ERROR_RATE": "0.6", "SABE_MOCK_RATE_LIMIT_RATE": "0.6"}, "SABE_MOCK_ERROR_RATE + SABE_MOCK_RATE_LIMIT_RATE"},
			{map[string]string{"SABE_MOCK_ERROR_RATE": "0.5", "SABE_MOCK_MALFORMED_RATE": "0.6"}, "SABE_MOCK_MALFORMED_RATE must not exceed 1"},
			{map[string]string{"SABE_MOCK_MALFORMED_RATE": "-0.1"}, "SABE_MOCK_MALFORMED_RATE"},
			{map[string]string{"SABE_MOCK_HANG_AFTER_FIRST_TOKEN": "yes please"}, "SABE_MOCK_HANG_AFTER_FIRST_TOKEN"},
			{map[string]string{"SABE_MOCK_OVERSIZE_BYTES": "-1"}, "SABE_MOCK_OVERSIZE_BYTES"},
			{map[string]string{"SABE_MOCK_OVERSIZE_BYTES": "1000000000"}, "SABE_MOCK_OVERSIZE_BYTES"},
			{map[string]string{"SABE_MOCK_OVERSIZE_BYTES": "1MB"}, "SABE_MOCK_OVERSIZE_BYTES"},
			{map[string]string{"SABE_MOCK_QUOTA": "sometimes"}, "SABE_MOCK_QUOTA"},
			{map[string]string{"SABE_MOCK_QUOTA_RESET": "tomorrow"}, "SABE_MOCK_QUOTA_RESET"},
			{map[string]string{"SABE_MOCK_QUOTA_RESET": "-1h"}, "SABE_MOCK_QUOTA_RESET"},
			{map[string]string{"SABE_MOCK_JUDGE_ERROR_RATE": "2"}, "SABE_MOCK_JUDGE_ERROR_RATE"},
			{map[string]string{"SABE_MOCK_JUDGE_REFUSAL_RATE": "0.5", "SABE_MOCK_JUDGE_MALFORMED_RATE": "0.6"}, "SABE_MOCK_JUDGE_MALFORMED_RATE must not exceed 1"},
			{map[string]string{"SABE_MOCK_JUDGE_MALFORMED_KIND": "garbled"}, "SABE_MOCK_JUDGE_MALFORMED_KIND"},
			{map[string]string{"SABE_MOCK_NO_STRUCTURED_OUTPUT": "nope"}, "SABE_MOCK_NO_STRUCTURED_OUTPUT"},
		} {
			err := mockllm.Run(t.Context(), nil, env(tc.vars), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: err = %v; want one naming %s", tc.vars, err, tc.want)
			}
		}
	})

	t.Run("ErrArgs", func(t *testing.T) {
		t.Parallel()
		if err := mockllm.Run(t.Context(), []string{"-addr=:0"}, env(nil), io.Discard); err == nil {
			t.Error("Run accepted arguments")
		}
	})

	t.Run("ErrAddrInUse", func(t *testing.T) {
		t.Parallel()
		url, stop, err := mockllm.Listen(t.Context(), "127.0.0.1:0", pkgmock.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		addr := strings.TrimPrefix(url, "http://")
		if err := mockllm.Run(t.Context(), nil, env(map[string]string{"SABE_MOCK_ADDR": addr}), io.Discard); err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("Run on a taken address = %v; want an error naming %s", err, addr)
		}
	})
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		cfg, err := mockllm.LoadConfig(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:8090" || cfg.Mock != (pkgmock.Config{}) {
			t.Errorf("defaults = %+v", cfg)
		}
	})

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		cfg, err := mockllm.LoadConfig(env(map[string]string{
			"SABE_MOCK_ADDR":            ":0",
			"SABE_MOCK_LATENCY":         "1s",
			"SABE_MOCK_TTFT":            "200ms",
			"SABE_MOCK_ERROR_RATE":      "0.1",
			"SABE_MOCK_RATE_LIMIT_RATE": "0.2",
			"SABE_MOCK_SEED":            "9",
			"SABE_MOCK_REQUIRE_KEY":     "true",

			"SABE_MOCK_MALFORMED_RATE":         "0.3",
			"SABE_MOCK_HANG_AFTER_FIRST_TOKEN": "true",
			"SABE_MOCK_OVERSIZE_BYTES":         "2048",
			"SABE_MOCK_QUOTA":                  "true",
			"SABE_MOCK_QUOTA_RESET":            "30s",

			"SABE_MOCK_JUDGE_ERROR_RATE":     "0.1",
			"SABE_MOCK_JUDGE_REFUSAL_RATE":   "0.2",
			"SABE_MOCK_JUDGE_MALFORMED_RATE": "0.3",
			"SABE_MOCK_JUDGE_MALFORMED_KIND": "truncated",
			"SABE_MOCK_NO_STRUCTURED_OUTPUT": "true",
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := pkgmock.Config{
			Latency: 1e9, TTFT: 2e8, ErrorRate: 0.1, RateLimitRate: 0.2, Seed: 9, RequireKey: true,
			MalformedRate: 0.3, HangAfterFirstToken: true, OversizeBytes: 2048, Quota: true, QuotaReset: 30 * time.Second,
			JudgeErrorRate: 0.1, JudgeRefusalRate: 0.2, JudgeMalformedRate: 0.3, JudgeMalformedKind: "truncated", NoStructuredOutput: true,
		}
		if cfg.Addr != ":0" || cfg.Mock != want {
			t.Errorf("got %+v, want :0 and %+v", cfg, want)
		}
	})
}

func TestListen(t *testing.T) {
	t.Parallel()
	url, stop, err := mockllm.Listen(t.Context(), "127.0.0.1:0", pkgmock.Config{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/models: status %d, want 200", resp.StatusCode)
	}
	stop()
	stop()
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("still answering after stop")
	}
}
