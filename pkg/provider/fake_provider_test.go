package provider_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

const testKey = "sk-test-Zq7RkP2mXw9TnB4vLc8HyJ3sDf6GaE1u"

// fakeProvider is an OpenAI-compatible endpoint on loopback that records
// what it received and answers with handle.
type fakeProvider struct {
	srv    *httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	body   map[string]any
	header http.Header
	url    string // path and query of the last request
}

func newFakeProvider(t *testing.T, handle http.HandlerFunc) *fakeProvider {
	t.Helper()
	f := &fakeProvider{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		var body map[string]any
		if r.Method == http.MethodPost {
			data, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(data, &body)
			r.Body = io.NopCloser(bytes.NewReader(data))
		}
		f.mu.Lock()
		f.body, f.header, f.url = body, r.Header.Clone(), r.URL.RequestURI()
		f.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) baseURL() string { return f.srv.URL + "/v1" }

func (f *fakeProvider) received() (map[string]any, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body, f.header
}

// requestURI is the path and query of the last request.
func (f *fakeProvider) requestURI() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.url
}

func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func event(w http.ResponseWriter, data string) {
	_, _ = fmt.Fprintf(w, "data: %s\n\n", data)
	w.(http.Flusher).Flush()
}

func asError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var perr *provider.Error
	if !errors.As(err, &perr) {
		t.Fatalf("err = %v (%T), want *provider.Error", err, err)
	}
	return perr
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// assertNoKey fails when any of texts contains six or more characters of
// testKey, or its last four.
func assertNoKey(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for i := 0; i+6 <= len(testKey); i++ {
			if strings.Contains(s, testKey[i:i+6]) {
				t.Fatalf("%q contains key fragment %q", s, testKey[i:i+6])
			}
		}
		if strings.Contains(s, testKey[len(testKey)-4:]) {
			t.Errorf("%q contains the key's last four characters", s)
		}
	}
}
