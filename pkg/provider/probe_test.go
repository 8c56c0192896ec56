package provider_test

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

// probe runs Probe against a fake OpenAI-compatible provider answering
// with handle.
func probe(t *testing.T, handle http.HandlerFunc, model string) (provider.ProbeResult, *fakeProvider) {
	t.Helper()
	f := newFakeProvider(t, handle)
	res := provider.Probe(t.Context(), newClient(provider.ClientConfig{}), provider.Endpoint{BaseURL: f.baseURL(), APIKey: testKey}, model)
	return res, f
}

func assertStage(t *testing.T, res provider.ProbeResult, stage string, status int, msg string) {
	t.Helper()
	if res.OK || res.Stage != stage || res.StatusCode != status || !strings.Contains(res.Message, msg) {
		t.Errorf("Probe = %+v, want stage %q, status %d, message containing %q", res, stage, status, msg)
	}
	assertNoKey(t, res.Message)
}

// resolverAddr matches the " on host:port" net.DNSError adds for the DNS
// server it asked.
var resolverAddr = regexp.MustCompile(` on \[?[0-9A-Fa-f.:]+\]?:\d+`)

func TestProbe(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		res, f := probe(t, streamOK(0), "gpt-test")
		if !res.OK || res.Stage != provider.StageOK || res.LatencyMs <= 0 || !strings.Contains(res.Message, "gpt-test") {
			t.Errorf("Probe = %+v, want ok", res)
		}
		body, _ := f.received()
		if body["max_tokens"] != 1.0 || body["model"] != "gpt-test" {
			t.Errorf("probe body = %v, want a one-token call to gpt-test", body)
		}
	})

	t.Run("OKModelList", func(t *testing.T) {
		t.Parallel()
		res, f := probe(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, `{"object":"list","data":[{"id":"a"},{"id":"b"}]}`)
		}, "")
		if !res.OK || res.Stage != provider.StageOK || !strings.Contains(res.Message, "2 models") {
			t.Errorf("Probe = %+v, want ok with 2 models", res)
		}
		if got := f.requestURI(); got != "/v1/models" {
			t.Errorf("probe asked %q, want the model list", got)
		}
	})

	t.Run("OKMaxCompletionTokens", func(t *testing.T) {
		t.Parallel()
		res, f := probe(t, func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(readBody(r), "max_completion_tokens") {
				writeJSON(w, http.StatusBadRequest, `{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."}}`)
				return
			}
			streamOK(0)(w, r)
		}, "o-test")
		if !res.OK || f.hits.Load() != 2 {
			t.Errorf("Probe = %+v after %d calls, want ok on the second", res, f.hits.Load())
		}
	})

	t.Run("ErrAuth", func(t *testing.T) {
		t.Parallel()
		res, _ := probe(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusUnauthorized, `{"error":{"message":"Incorrect API key provided: `+testKey+`","code":"invalid_api_key"}}`)
		}, "gpt-test")
		assertStage(t, res, provider.StageAuth, 401, "rejected the credentials")
	})

	t.Run("ErrModel", func(t *testing.T) {
		t.Parallel()
		res, _ := probe(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusNotFound, `{"error":{"message":"The model 'gpt-nope' does not exist","code":"model_not_found"}}`)
		}, "gpt-nope")
		assertStage(t, res, provider.StageModel, 404, `does not know model "gpt-nope"`)
	})

	t.Run("ErrWrongBaseURL", func(t *testing.T) {
		t.Parallel()
		res, _ := probe(t, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "404 page not found", http.StatusNotFound)
		}, "gpt-test")
		assertStage(t, res, provider.StageRequest, 404, "404 page not found")
	})

	t.Run("ErrServer", func(t *testing.T) {
		t.Parallel()
		res, _ := probe(t, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream down", http.StatusBadGateway)
		}, "")
		assertStage(t, res, provider.StageRequest, 502, "upstream down")
	})

	t.Run("ErrDNS", func(t *testing.T) {
		t.Parallel()
		client := provider.NewOpenAI(provider.ClientConfig{HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{Resolver: newResolver(t, nil)})})
		res := provider.Probe(t.Context(), client, provider.Endpoint{BaseURL: "https://api.sabe-probe.invalid/v1", APIKey: testKey}, "gpt-test")
		assertStage(t, res, provider.StageDNS, 0, "does not resolve")
		// Go names the resolver it asked ("lookup x on 127.0.0.53:53: no
		// such host"): an address inside the operator's network, which is
		// none of a token holder's business.
		if resolverAddr.MatchString(res.Message) {
			t.Errorf("message %q reveals the resolver's address", res.Message)
		}
	})

	t.Run("ErrConnect", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		res := provider.Probe(t.Context(), newClient(provider.ClientConfig{}), provider.Endpoint{BaseURL: "http://" + addr + "/v1", APIKey: testKey}, "gpt-test")
		assertStage(t, res, provider.StageConnect, 0, "could not connect")
	})

	t.Run("ErrGuard", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		res := provider.Probe(t.Context(), provider.NewOpenAI(provider.ClientConfig{}), provider.Endpoint{BaseURL: f.baseURL(), APIKey: testKey}, "gpt-test")
		assertStage(t, res, provider.StageConnect, 0, "127.0.0.1 is loopback")
	})

	t.Run("ErrTLS", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		base := strings.Replace(f.baseURL(), "http://", "https://", 1)
		res := provider.Probe(t.Context(), newClient(provider.ClientConfig{}), provider.Endpoint{BaseURL: base, APIKey: testKey}, "gpt-test")
		assertStage(t, res, provider.StageTLS, 0, "TLS handshake failed")
	})

	t.Run("ErrAuthAnthropic", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusUnauthorized, anthropicErrorBody("authentication_error", "invalid x-api-key"))
		})
		res := provider.Probe(t.Context(), newAnthropic(provider.ClientConfig{}), provider.Endpoint{BaseURL: f.srv.URL, APIKey: testKey}, "claude-test")
		assertStage(t, res, provider.StageAuth, 401, "invalid x-api-key")
	})

	t.Run("ErrAuthGoogle", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusBadRequest, googleErrorBody(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
				`{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}`))
		})
		res := provider.Probe(t.Context(), newGoogle(provider.ClientConfig{}), provider.Endpoint{BaseURL: f.srv.URL, APIKey: testKey}, "")
		assertStage(t, res, provider.StageAuth, 400, "API key not valid")
	})

	t.Run("ErrModelGoogle", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusNotFound, googleErrorBody(404, "NOT_FOUND", "models/gemini-nope is not found for API version v1beta"))
		})
		res := provider.Probe(t.Context(), newGoogle(provider.ClientConfig{}), provider.Endpoint{BaseURL: f.srv.URL, APIKey: testKey}, "gemini-nope")
		assertStage(t, res, provider.StageModel, 404, "is not found")
	})
}

func readBody(r *http.Request) string {
	data, _ := io.ReadAll(r.Body)
	return string(data)
}
