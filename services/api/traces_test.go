package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestRun_Traces: with an OTLP endpoint the api traces its requests, and
// the spans still buffered reach the collector when it stops.
func TestRun_Traces(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var received bytes.Buffer
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			mu.Lock()
			received.Write(body)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(collector.Close)

	vars := testEnv(t)
	vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.URL
	vars["OTEL_SERVICE_NAME"] = "sabe-api-traced"
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	base, _, done := startRun(t, ctx, vars)
	if status, _ := get(t, base+"/v1/providers?secret-filter=1"); status != http.StatusUnauthorized {
		t.Fatalf("/v1/providers: %d", status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	// OTLP/HTTP sends protobuf, whose strings are their UTF-8 bytes.
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"GET /v1/providers", "sabe-api-traced"} {
		if !bytes.Contains(received.Bytes(), []byte(want)) {
			t.Errorf("the collector did not receive %q after the api stopped (%d bytes)", want, received.Len())
		}
	}
	if bytes.Contains(received.Bytes(), []byte("secret-filter")) {
		t.Error("a span holds the request's query string")
	}
}
