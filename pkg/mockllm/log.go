package mockllm

import (
	"sync"
	"time"
)

// Wire formats, as LogEntry.Format names them. They match SABE's provider
// kinds.
const (
	// FormatOpenAI is OpenAI chat completions (and the model list).
	FormatOpenAI = "openai"
	// FormatAnthropic is Anthropic Messages (and its model list).
	FormatAnthropic = "anthropic"
	// FormatGoogle is Gemini generateContent (and its model list).
	FormatGoogle = "google"
)

// LogCapacity is how many requests the log keeps; older entries are
// dropped first.
const LogCapacity = 200_000

// LogEntry is one API request the mock answered: a generation call or a
// model list in any wire format (health checks and the log itself are not
// logged). Tests in other processes read the log through GET /_mock/log to
// check what reached the provider and when.
type LogEntry struct {
	// Time is when the request arrived, which is when the call started as
	// far as rate limits and circuit breakers are concerned.
	Time time.Time `json:"time"`
	// Finished is when the handler returned, its answer written (or the
	// call cut): with Time it tells how many calls were in flight at once.
	Finished time.Time `json:"finished"`
	// Format is FormatOpenAI, FormatAnthropic or FormatGoogle.
	Format string `json:"format"`
	// Model is the model the request named; empty when the body could not
	// be read or named none, and always empty for model lists.
	Model string `json:"model"`
	// Status is the HTTP status sent: 200 for every stream once its headers
	// are out (hung, malformed and cut-short ones included), and
	// StatusClientClosed for a non-streaming request whose client left
	// before the answer.
	Status int `json:"status"`
	// Path is the request path as sent, /faults/<spec> prefix included.
	Path string `json:"path"`
}

// requestLog is a bounded ring of entries in the order their requests
// finished. A mutex is cheap next to an HTTP request and keeps Log simple;
// the slice grows on demand so that the many short-lived servers of a test
// run do not each reserve the whole capacity.
type requestLog struct {
	mu      sync.Mutex
	entries []LogEntry
	next    int // where the oldest entry is once the ring is full
}

func (l *requestLog) add(e LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) < LogCapacity {
		if len(l.entries) == cap(l.entries) {
			grown := make([]LogEntry, len(l.entries), min(LogCapacity, max(64, 2*cap(l.entries))))
			copy(grown, l.entries)
			l.entries = grown
		}
		l.entries = append(l.entries, e)
		return
	}
	l.entries[l.next] = e
	l.next = (l.next + 1) % LogCapacity
}

// snapshot returns the entries oldest first.
func (l *requestLog) snapshot() []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LogEntry, 0, len(l.entries))
	out = append(out, l.entries[l.next:]...)
	return append(out, l.entries[:l.next]...)
}
