package mockllm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lateClock is a host on which every wait ends late by the same overshoot:
// it moves only when waited on, and records when each wait was due.
type lateClock struct {
	mu   sync.Mutex
	now  time.Time
	late time.Duration
	due  []time.Time
}

func (c *lateClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lateClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	due := c.now.Add(d)
	c.due = append(c.due, due)
	c.now = due.Add(c.late)
	return nil
}

var _ clock = (*lateClock)(nil)

func TestServer_Pacing(t *testing.T) {
	t.Parallel()

	const (
		prompt  = "What is 2 + 2?"
		latency = time.Second
		ttft    = 250 * time.Millisecond
		late    = 7 * time.Millisecond
	)
	words := countWords(Answer("mock-strong", prompt, 0))
	if words < 2 {
		t.Fatalf("the answer has %d words; the test wants several pieces", words)
	}
	chat := `{"model":"mock-strong","messages":[{"role":"user","content":"` + prompt + `"}]`
	gemini := `{"contents":[{"role":"user","parts":[{"text":"` + prompt + `"}]}]}`

	// dues are the waits an answer of the given gaps after its first piece
	// is due at, from the request's start: every piece but the last at
	// TTFT + i·step, whatever the waits before it overshot.
	dues := func(gaps int, lastAtEnd bool) []time.Duration {
		step := (latency - ttft) / time.Duration(gaps)
		var out []time.Duration
		for i := range gaps + 1 {
			out = append(out, ttft+time.Duration(i)*step)
		}
		if lastAtEnd {
			out[gaps] = latency
		}
		return out
	}
	for _, tc := range []struct {
		name, path, body string
		want             []time.Duration
	}{
		// OpenAI ends with a usage chunk and [DONE] at Latency.
		{"OpenAIStream", "/v1/chat/completions", chat + `,"stream":true}`, dues(words, true)},
		// Gemini's last piece is its end.
		{"GoogleStream", "/v1beta/models/mock-strong:streamGenerateContent?alt=sse", gemini, dues(words-1, false)},
		{"Whole", "/v1/chat/completions", chat + `}`, []time.Duration{latency}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New(Config{Latency: latency, TTFT: ttft})
			start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			clk := &lateClock{now: start, late: late}
			s.clock = clk
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body)))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if len(clk.due) != len(tc.want) {
				t.Fatalf("%d waits, want %d", len(clk.due), len(tc.want))
			}
			for i, due := range clk.due {
				if got := due.Sub(start); got != tc.want[i] {
					t.Errorf("wait %d due at start + %v, want + %v", i, got, tc.want[i])
				}
			}
			// The overshoots do not add up: the answer took Latency and the
			// last wait's overshoot.
			log := s.Log()
			if len(log) != 1 || log[0].Finished.Sub(log[0].Time) != latency+late {
				t.Errorf("log %+v; want one call of %v", log, latency+late)
			}
		})
	}

	t.Run("ZeroLatency", func(t *testing.T) {
		t.Parallel()
		s := New(Config{})
		clk := &lateClock{now: time.Now(), late: late}
		s.clock = clk
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chat+`,"stream":true}`)))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "[DONE]") || len(clk.due) != 0 {
			t.Errorf("status %d, %d waits; want a whole stream and no wait", rec.Code, len(clk.due))
		}
	})
}
