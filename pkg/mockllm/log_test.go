package mockllm_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

func TestServer_Log(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{})
	start := time.Now()

	type want struct {
		format, model, path string
		status              int
	}
	var wants []want
	for _, w := range wires {
		w.raw(t, f, "", false)
		wants = append(wants, want{w.name, faultModel, w.path(false), http.StatusOK})
	}
	f.post(t, "/faults/error_rate=1/v1/messages", wires[1].body(true), anthropicHeaders...)
	wants = append(wants, want{mockllm.FormatAnthropic, faultModel, "/faults/error_rate=1/v1/messages", http.StatusInternalServerError})
	f.post(t, "/v1beta/models/gemini-pro:generateContent", wires[2].body(false))
	wants = append(wants, want{mockllm.FormatGoogle, "gemini-pro", "/v1beta/models/gemini-pro:generateContent", http.StatusNotFound})
	f.post(t, "/v1/chat/completions", "{")
	wants = append(wants, want{mockllm.FormatOpenAI, "", "/v1/chat/completions", http.StatusBadRequest})
	f.get(t, "/v1/models", "anthropic-version", "2023-06-01")
	wants = append(wants, want{mockllm.FormatAnthropic, "", "/v1/models", http.StatusOK})
	f.get(t, "/v1beta/models")
	wants = append(wants, want{mockllm.FormatGoogle, "", "/v1beta/models", http.StatusOK})
	f.get(t, "/healthz") // not logged

	check := func(t *testing.T, log []mockllm.LogEntry) {
		t.Helper()
		if len(log) != len(wants) {
			t.Fatalf("log has %d entries, want %d: %+v", len(log), len(wants), log)
		}
		for i, e := range log {
			w := wants[i]
			if e.Format != w.format || e.Model != w.model || e.Path != w.path || e.Status != w.status {
				t.Errorf("entry %d = %+v, want %+v", i, e, w)
			}
			if e.Time.Before(start.Truncate(time.Millisecond)) || (i > 0 && e.Time.Before(log[i-1].Time)) {
				t.Errorf("entry %d time %v is before the test or the previous entry", i, e.Time)
			}
			if e.Finished.Before(e.Time) || (i > 0 && e.Finished.Before(log[i-1].Finished)) {
				t.Errorf("entry %d finished %v, before it arrived (%v) or before the previous entry finished", i, e.Finished, e.Time)
			}
		}
	}
	t.Run("Log", func(t *testing.T) {
		check(t, f.mock.Log())
	})
	t.Run("HTTP", func(t *testing.T) {
		resp, body := f.get(t, "/_mock/log")
		var log []mockllm.LogEntry
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &log) != nil {
			t.Fatalf("status %d body %.200s", resp.StatusCode, body)
		}
		check(t, log)
	})
}
