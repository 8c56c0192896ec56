package provider_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

func TestOpenAI_RequestShape(t *testing.T) {
	t.Parallel()

	t.Run("Overrides", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		seed := int64(3)
		req.Seed = &seed
		req.MaxTokensField = "max_completion_tokens"
		req.MaxTokens = 256
		req.OmitTemperature = true
		req.Headers = map[string]string{"HTTP-Referer": "https://sabe.dev", "X-Title": "SABE"}
		req.ExtraBody = map[string]any{
			"top_k":    40,
			"provider": map[string]any{"order": []string{"groq"}},
			"odd.key":  true,
			"w*rd?|#@": "x",
			":colon":   1,
		}
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		if _, ok := body["temperature"]; ok {
			t.Errorf("temperature sent despite OmitTemperature: %v", body["temperature"])
		}
		if _, ok := body["max_tokens"]; ok {
			t.Error("max_tokens sent, want only max_completion_tokens")
		}
		checks := map[string]any{
			"max_completion_tokens": 256.0,
			"seed":                  3.0,
			"top_k":                 40.0,
			"odd.key":               true,
			"w*rd?|#@":              "x",
			":colon":                1.0,
			"model":                 "gpt-test",
			"stream":                true,
		}
		for k, want := range checks {
			if body[k] != want {
				t.Errorf("body[%q] = %v, want %v", k, body[k], want)
			}
		}
		if order := fmt.Sprint(body["provider"]); order != "map[order:[groq]]" {
			t.Errorf("body[provider] = %s", order)
		}
		if so := fmt.Sprint(body["stream_options"]); so != "map[include_usage:true]" {
			t.Errorf("stream_options = %s", so)
		}
		if got := header.Get("HTTP-Referer"); got != "https://sabe.dev" {
			t.Errorf("HTTP-Referer = %q", got)
		}
		if got := header.Get("X-Title"); got != "SABE" {
			t.Errorf("X-Title = %q", got)
		}
		if got := header.Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("Authorization = %q", got)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		req.APIKey = ""
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		if body["temperature"] != 0.5 || body["max_tokens"] != 100.0 {
			t.Errorf("temperature = %v, max_tokens = %v, want 0.5 and 100", body["temperature"], body["max_tokens"])
		}
		for _, k := range []string{"seed", "max_completion_tokens"} {
			if _, ok := body[k]; ok {
				t.Errorf("%s sent, want it left out", k)
			}
		}
		msgs, _ := json.Marshal(body["messages"])
		if want := `[{"content":"Answer briefly.","role":"system"},{"content":"What is 2+2?","role":"user"}]`; string(msgs) != want {
			t.Errorf("messages = %s, want %s", msgs, want)
		}
		if got := header.Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none without a key", got)
		}
	})

	t.Run("ExtraBodyOverSABE", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		req.ExtraBody = map[string]any{
			"temperature":    0.9,
			"stream_options": map[string]any{"include_usage": false},
			"stream":         false,
			"stop":           nil,
		}
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, _ := f.received()
		if body["temperature"] != 0.9 || body["stream"] != true || fmt.Sprint(body["stream_options"]) != "map[include_usage:false]" {
			t.Errorf("temperature = %v, stream = %v, stream_options = %v; want 0.9, true (always), include_usage false",
				body["temperature"], body["stream"], body["stream_options"])
		}
		if v, ok := body["stop"]; !ok || v != nil {
			t.Errorf("stop = %v (present %t), want null", v, ok)
		}
	})

	t.Run("Headers", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL())); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		_, header := f.received()
		for k, want := range map[string]string{"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "SABE"} {
			if got := header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if got := f.requestURI(); got != "/v1/chat/completions" {
			t.Errorf("request to %s, want /v1/chat/completions", got)
		}
	})

	t.Run("CustomAuthorization", func(t *testing.T) {
		t.Parallel()
		// An endpoint's own Authorization header wins over the key, as it
		// did with the SDK.
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		req.Headers = map[string]string{"authorization": "Token abc", "User-Agent": "custom"}
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		_, header := f.received()
		if got := header.Values("Authorization"); len(got) != 1 || got[0] != "Token abc" {
			t.Errorf("Authorization = %q, want only the endpoint's header", got)
		}
		if got := header.Get("User-Agent"); got != "custom" {
			t.Errorf("User-Agent = %q, want the endpoint's", got)
		}
	})

	t.Run("BaseURLPaths", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		client := newClient(provider.ClientConfig{})
		for base, want := range map[string]string{
			f.srv.URL:                  "/chat/completions",
			f.srv.URL + "/":            "/chat/completions",
			f.srv.URL + "/v1/":         "/v1/chat/completions",
			f.srv.URL + "/api/v1":      "/api/v1/chat/completions",
			f.srv.URL + "/x/../openai": "/openai/chat/completions",
		} {
			if _, err := client.Complete(t.Context(), request(base)); err != nil {
				t.Fatalf("Complete(%s): %v", base, err)
			}
			if got := f.requestURI(); got != want {
				t.Errorf("base %s: request to %s, want %s", base, got, want)
			}
		}
	})

	t.Run("NoMaxTokens", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		req.MaxTokens = 0
		req.System = ""
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, _ := f.received()
		if _, ok := body["max_tokens"]; ok {
			t.Error("max_tokens sent with MaxTokens 0")
		}
		if msgs := body["messages"].([]any); len(msgs) != 1 {
			t.Errorf("messages = %v, want only the user message", msgs)
		}
	})
}
