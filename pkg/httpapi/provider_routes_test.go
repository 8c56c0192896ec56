package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/provider"
)

// mock starts a mock provider for the test.
func mock(t *testing.T) *mockllm.Instance {
	t.Helper()
	inst, err := mockllm.Listen(context.Background(), "127.0.0.1:0", mockllm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inst.Stop() })
	return inst
}

// unreachable is a loopback address nothing listens on: a privileged port
// that no test can bind, unlike a port closed after use, which another
// test's listener may take.
const unreachable = "127.0.0.1:1"

// badKey is a key the mock refuses with 401, echoing a masked fragment of
// it the way OpenAI does (the mock treats keys starting "bad-key-" so).
const badKey = "bad-key-0123456789abcdefSECRET"

func TestServer_TestProvider(t *testing.T) {
	t.Parallel()
	m := mock(t)

	for _, tc := range []struct {
		name, baseURL, key, body string
		wantOK                   bool
		wantStage                string
		wantStatus               int
	}{
		{name: "OKModel", baseURL: m.URL + "/v1", body: `{"model":"mock-strong"}`, wantOK: true, wantStage: "ok"},
		{name: "OKModelList", baseURL: m.URL + "/v1", wantOK: true, wantStage: "ok"},
		{name: "OKEmptyBody", baseURL: m.URL + "/v1", body: `{}`, wantOK: true, wantStage: "ok"},
		{name: "ErrAuth", baseURL: m.URL + "/faults/require_key=true/v1", key: badKey, body: `{"model":"mock-strong"}`, wantStage: "auth", wantStatus: 401},
		{name: "ErrAuthNoKey", baseURL: m.URL + "/faults/require_key=true/v1", body: `{"model":"mock-strong"}`, wantStage: "auth", wantStatus: 401},
		{name: "ErrModel", baseURL: m.URL + "/v1", body: `{"model":"no-such-model"}`, wantStage: "model", wantStatus: 404},
		{name: "ErrConnect", baseURL: "http://" + unreachable + "/v1", body: `{"model":"mock-strong"}`, wantStage: "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := b.provider(t, map[string]any{"base_url": tc.baseURL, "api_key": tc.key})
			resp := b.do(t, "POST", "/v1/providers/"+p.Id.String()+"/test", tc.body)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			res := decode[oapi.ProviderTestResult](t, resp)
			if res.Ok != tc.wantOK || string(res.Stage) != tc.wantStage || res.Message == "" || res.LatencyMs < 0 {
				t.Errorf("result = %+v; want ok %t at stage %s with a message", res, tc.wantOK, tc.wantStage)
			}
			gotStatus := 0
			if res.StatusCode != nil {
				gotStatus = *res.StatusCode
			}
			if tc.wantStatus != 0 && gotStatus != tc.wantStatus {
				t.Errorf("status_code = %d, want %d", gotStatus, tc.wantStatus)
			}
			if strings.Contains(string(resp.body), "SECRET") || strings.Contains(string(resp.body), "0123456789") {
				t.Errorf("the response repeats the key: %s", resp.body)
			}
		})
	}

	for _, kind := range []string{"anthropic", "google"} {
		t.Run("OK_"+kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := b.provider(t, map[string]any{"kind": kind, "base_url": m.URL})
			for _, body := range []string{`{"model":"mock-strong"}`, ""} {
				res := call[oapi.ProviderTestResult](t, b, "POST", "/v1/providers/"+p.Id.String()+"/test", body, http.StatusOK)
				if !res.Ok || res.Stage != "ok" {
					t.Errorf("body %q: result = %+v; want ok", body, res)
				}
			}
			res := call[oapi.ProviderTestResult](t, b, "POST", "/v1/providers/"+p.Id.String()+"/test", `{"model":"no-such-model"}`, http.StatusOK)
			if res.Ok || res.Stage != "model" {
				t.Errorf("unknown model: result = %+v; want stage model", res)
			}
		})
	}

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wantError(t, b.do(t, "POST", "/v1/providers/"+uuid.NewString()+"/test", ""), http.StatusNotFound, "")
	})

	t.Run("ErrEmptyModel", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, map[string]any{"base_url": m.URL + "/v1"})
		wantError(t, b.do(t, "POST", "/v1/providers/"+p.Id.String()+"/test", `{"model":""}`), http.StatusUnprocessableEntity, "model")
		wantError(t, b.do(t, "POST", "/v1/providers/"+p.Id.String()+"/test", `{"model":"  "}`), http.StatusUnprocessableEntity, "model")
	})
}

func TestServer_RemoteModels(t *testing.T) {
	t.Parallel()
	m := mock(t)

	for _, kind := range []struct{ kind, suffix string }{{"openai", "/v1"}, {"anthropic", ""}, {"google", ""}} {
		t.Run("OK_"+kind.kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := b.provider(t, map[string]any{"kind": kind.kind, "base_url": m.URL + kind.suffix})
			list := call[oapi.RemoteModelList](t, b, "GET", "/v1/providers/"+p.Id.String()+"/remote-models", "", http.StatusOK)
			if list.Truncated {
				t.Error("a short list says it was truncated")
			}
			ids := make([]string, 0, len(list.Items))
			for _, it := range list.Items {
				ids = append(ids, it.Id)
				if it.Name == "" {
					t.Errorf("model %q has no name", it.Id)
				}
			}
			for _, want := range mockllm.Models() {
				if !slices.Contains(ids, want) {
					t.Errorf("remote models %v lack %s", ids, want)
				}
			}
		})
	}

	t.Run("Truncated", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var sb strings.Builder
			sb.WriteString(`{"object":"list","data":[`)
			for i := range 3 * provider.MaxRemoteModels {
				if i > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"id":"m-%d","object":"model"}`, i)
			}
			sb.WriteString(`]}`)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, sb.String())
		}))
		t.Cleanup(srv.Close)
		p := b.provider(t, map[string]any{"base_url": srv.URL + "/v1"})
		list := call[oapi.RemoteModelList](t, b, "GET", "/v1/providers/"+p.Id.String()+"/remote-models", "", http.StatusOK)
		if len(list.Items) != provider.MaxRemoteModels || !list.Truncated {
			t.Errorf("%d models, truncated %v; want %d, true", len(list.Items), list.Truncated, provider.MaxRemoteModels)
		}
	})

	t.Run("ErrBusy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		entered, release := make(chan struct{}, 8), make(chan struct{})
		answer := func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model"}]}`)
		}
		held := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
			answer(w)
		}))
		t.Cleanup(held.Close)
		quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w) }))
		t.Cleanup(quick.Close)
		pa := b.provider(t, map[string]any{"base_url": held.URL + "/v1"})
		pb := b.provider(t, map[string]any{"base_url": held.URL + "/v1"})
		pc := b.provider(t, map[string]any{"base_url": quick.URL + "/v1"})
		path := func(p oapi.Provider) string { return "/v1/providers/" + p.Id.String() + "/remote-models" }
		busy := func(p oapi.Provider) {
			t.Helper()
			resp := b.do(t, "GET", path(p), "")
			wantError(t, resp, http.StatusTooManyRequests, "")
			if resp.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
		done := make(chan response, 2)
		hold := func(p oapi.Provider) {
			go func() { done <- b.do(t, "GET", path(p), "") }()
			<-entered
		}

		hold(pa)
		// One list in flight: the same provider waits (the fleet-wide
		// marker), another provider does not.
		busy(pa)
		call[oapi.RemoteModelList](t, b, "GET", path(pc), "", http.StatusOK)
		hold(pb)
		// Two lists in flight: this process takes no third.
		busy(pc)
		close(release)
		for range 2 {
			if r := <-done; r.status != http.StatusOK {
				t.Errorf("held list: %d %s", r.status, r.body)
			}
		}
		// Both gates are open again.
		call[oapi.RemoteModelList](t, b, "GET", path(pa), "", http.StatusOK)
		call[oapi.RemoteModelList](t, b, "GET", path(pc), "", http.StatusOK)
	})

	t.Run("ErrProviderFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, map[string]any{"base_url": m.URL + "/faults/require_key=true/v1", "api_key": badKey})
		resp := b.do(t, "GET", "/v1/providers/"+p.Id.String()+"/remote-models", "")
		e := wantError(t, resp, http.StatusBadGateway, "")
		if e.Error.Code != "bad_gateway" || !strings.Contains(e.Error.Message, "401") {
			t.Errorf("error = %+v; want bad_gateway saying the provider answered 401", e.Error)
		}
		if strings.Contains(string(resp.body), "SECRET") || strings.Contains(string(resp.body), "0123456789") {
			t.Errorf("the response repeats the key: %s", resp.body)
		}
	})

	t.Run("ErrUnreachable", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, map[string]any{"base_url": "http://" + unreachable + "/v1"})
		e := wantError(t, b.do(t, "GET", "/v1/providers/"+p.Id.String()+"/remote-models", ""), http.StatusBadGateway, "")
		if e.Error.Code != "bad_gateway" {
			t.Errorf("code = %q, want bad_gateway", e.Error.Code)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wantError(t, b.do(t, "GET", "/v1/providers/"+uuid.NewString()+"/remote-models", ""), http.StatusNotFound, "")
	})
}

// decode decodes a response body into a T.
func decode[T any](t *testing.T, resp response) T {
	t.Helper()
	var out T
	if err := json.Unmarshal(resp.body, &out); err != nil {
		t.Fatalf("decode %s: %v", resp.body, err)
	}
	return out
}
