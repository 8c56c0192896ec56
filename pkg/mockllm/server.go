package mockllm

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StatusClientClosed is the status counted, never sent, for a non-streaming
// request whose client went away while the mock was still "thinking"
// (nginx's convention).
const StatusClientClosed = 499

// Server is the mock provider: an http.Handler speaking three wire
// formats, with counters and a request log that tests read to learn which
// provider calls happened. Routes (each also under a /faults/<spec> prefix,
// see Config):
//
//   - POST /v1/chat/completions and GET /v1/models: OpenAI.
//   - POST /v1/messages, and GET /v1/models with an anthropic-version
//     header: Anthropic.
//   - POST /v1beta/models/{model}:generateContent,
//     POST /v1beta/models/{model}:streamGenerateContent?alt=sse and
//     GET /v1beta/models: Gemini.
//   - GET /healthz, and GET /_mock/log (the request log as a JSON array of
//     LogEntry, oldest first).
//
// It is safe for concurrent use.
type Server struct {
	// cfg is swapped whole by SetConfig, so a request sees one consistent
	// configuration without a lock.
	cfg             atomic.Pointer[Config]
	openaiModels    []byte
	anthropicModels []byte
	googleModels    []byte

	// seq numbers completion requests; hashed with the seed it decides
	// fault injection, so a run of N requests sees the same faults every
	// time without a lock.
	seq      atomic.Uint64
	requests atomic.Int64
	calls    []atomic.Int64 // by index in the model table
	statuses [600]atomic.Int64
	log      requestLog

	// closing is closed by Close and releases the responses that hang on
	// purpose.
	closing   chan struct{}
	closeOnce sync.Once

	scratch sync.Pool // *scratch

	// clock paces the answers and times the log; tests replace it.
	clock clock
}

// scratch holds one request's buffers so that a busy mock allocates little.
type scratch struct {
	in  bytes.Buffer
	out []byte
}

// maxPooledBuffer keeps a rare huge request from pinning its buffer in the
// pool forever.
const maxPooledBuffer = 64 << 10

// New returns a Server for cfg. It panics if cfg.Validate fails: services
// validate their configuration before they get here, so a bad Config is a
// programming error.
func New(cfg Config) *Server {
	s := &Server{
		openaiModels:    modelsListBody(),
		anthropicModels: anthropicModelsBody(),
		googleModels:    googleModelsBody(),
		calls:           make([]atomic.Int64, len(models.accuracy)),
		closing:         make(chan struct{}),
		clock:           wallClock{},
	}
	s.SetConfig(cfg)
	s.scratch.New = func() any { return &scratch{out: make([]byte, 0, 1024)} }
	return s
}

// NewServer returns New(cfg) as a plain http.Handler.
func NewServer(cfg Config) http.Handler {
	return New(cfg)
}

// SetConfig replaces the server's configuration atomically: requests that
// arrive afterwards see cfg, requests in flight keep the one they started
// with. Tests use it to make a provider fail for a while and then recover.
// Like New, it panics if cfg.Validate fails.
func (s *Server) SetConfig(cfg Config) {
	if err := cfg.Validate(); err != nil {
		panic("mockllm: invalid Config: " + err.Error())
	}
	c := cfg.withDefaults()
	s.cfg.Store(&c)
}

// Close releases every response held open by HangAfterFirstToken by
// aborting its connection, as a provider going down would, and makes later
// ones abort as soon as their first chunk is out. Without it such a response
// would keep http.Server.Shutdown waiting until the client gives up.
// Instance.Stop calls it; a test serving the Server through httptest calls
// it before closing that server. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// Requests returns how many completion requests arrived, in any wire
// format and whatever their outcome.
func (s *Server) Requests() int64 {
	return s.requests.Load()
}

// CallsFor returns how many well-formed completion requests named model,
// in any wire format, including those answered with an injected fault; 0
// for an unknown model.
func (s *Server) CallsFor(model string) int64 {
	i, ok := models.index[model]
	if !ok {
		return 0
	}
	return s.calls[i].Load()
}

// StatusCount returns how many completion requests were answered with
// status (StatusClientClosed for those abandoned by their client).
func (s *Server) StatusCount(status int) int64 {
	if status < 0 || status >= len(s.statuses) {
		return 0
	}
	return s.statuses[status].Load()
}

// Log returns the request log, oldest first: up to the last LogCapacity
// requests, each added when its answer ended (so a response still hanging
// is not there yet). See LogEntry.
func (s *Server) Log() []LogEntry {
	return s.log.snapshot()
}

// call is what ServeHTTP learns from a handler about the request it
// answered, for the counters and the log.
type call struct {
	start  time.Time
	model  string
	status int
	// abort asks ServeHTTP to cut the connection once the call is counted.
	abort bool
}

// ServeHTTP routes a request, after peeling off an optional /faults/<spec>
// prefix whose settings then apply to it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, spec := r.URL.Path, ""
	if rest, ok := strings.CutPrefix(path, "/faults/"); ok {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			notFound(w, r)
			return
		}
		spec, path = rest[:i], rest[i:]
	}
	cl := call{start: s.clock.Now()}
	switch {
	case path == "/v1/chat/completions":
		s.requests.Add(1)
		cl.status = s.chatCompletions(w, r, spec, &cl)
		s.finish(r, wireOpenAI, &cl, true)
	case path == "/v1/messages":
		s.requests.Add(1)
		cl.status = s.messages(w, r, spec, &cl)
		s.finish(r, wireAnthropic, &cl, true)
	case strings.HasPrefix(path, geminiPrefix+"/"):
		s.requests.Add(1)
		cl.status = s.generateContent(w, r, spec, path[len(geminiPrefix)+1:], &cl)
		s.finish(r, wireGoogle, &cl, true)
	case path == "/v1/models" && r.Header.Get("anthropic-version") != "":
		cl.status = s.listModels(w, r, wireAnthropic, spec)
		s.finish(r, wireAnthropic, &cl, false)
	case path == "/v1/models":
		cl.status = s.listModels(w, r, wireOpenAI, spec)
		s.finish(r, wireOpenAI, &cl, false)
	case path == geminiPrefix:
		cl.status = s.listModels(w, r, wireGoogle, spec)
		s.finish(r, wireGoogle, &cl, false)
	case path == "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, r, "GET")
			return
		}
		w.Header()["Content-Type"] = jsonContentType
		_, _ = w.Write([]byte("{\"status\":\"ok\"}\n"))
	case path == "/_mock/log" && spec == "":
		s.serveLog(w, r)
	case strings.HasPrefix(path, "/v1beta/"):
		googleError(w, http.StatusNotFound, "Method not found: "+r.Method+" "+r.URL.Path, nil)
	default:
		notFound(w, r)
	}
}

// finish counts and logs a call, then aborts its connection if the handler
// asked for that. http.ErrAbortHandler is net/http's way to drop a
// connection mid-response without logging a panic.
func (s *Server) finish(r *http.Request, f wireFormat, cl *call, completion bool) {
	if completion {
		s.statuses[cl.status].Add(1)
	}
	s.log.add(LogEntry{Time: cl.start, Finished: s.clock.Now(), Format: f.String(), Model: cl.model, Status: cl.status, Path: r.URL.Path})
	if cl.abort {
		panic(http.ErrAbortHandler)
	}
}

// logModel is a requested model name as the log keeps it: bounded, so that
// a client cannot make the log hold megabytes per entry.
func logModel(name string) string {
	const maxLen = 256
	if len(name) > maxLen {
		return strings.Clone(name[:maxLen])
	}
	return name
}

func (s *Server) serveLog(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "GET")
		return
	}
	body, err := json.Marshal(s.Log())
	if err != nil {
		writeError(w, http.StatusInternalServerError, typeServer, "", "", "could not encode the log: "+err.Error())
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(append(body, '\n'))
}

// config returns the settings for one request: the server's, or a copy
// overridden by the path's fault spec.
func (s *Server) config(spec string) (*Config, error) {
	base := s.cfg.Load()
	if spec == "" {
		return base, nil
	}
	c, err := base.applySpec(spec)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// outcome is what the injected faults make of an accepted request.
type outcome uint8

const (
	answerOK outcome = iota
	answerError
	answerRateLimit
	answerMalformed
	answerQuota
)

// decide draws the request's fault. One uniform draw against the stacked
// rates keeps the rates exact and independent of the answer; the draw is
// returned because it also names the answer.
func (s *Server) decide(cfg *Config) (outcome, uint64) {
	draw := mix64(cfg.Seed + s.seq.Add(1)*0x9e3779b97f4a7c15)
	if cfg.Quota {
		return answerQuota, draw
	}
	switch u := uniform(draw); {
	case u < cfg.ErrorRate:
		return answerError, draw
	case u < cfg.ErrorRate+cfg.RateLimitRate:
		return answerRateLimit, draw
	case u < cfg.ErrorRate+cfg.RateLimitRate+cfg.MalformedRate:
		return answerMalformed, draw
	}
	return answerOK, draw
}

// judgeOutcome is what the judge faults make of a judge request that the
// other faults let through.
type judgeOutcome uint8

const (
	judgeOK judgeOutcome = iota
	judgeFail
	judgeRefuse
	judgeMalformed
)

// saltJudge keeps the judge fault draw independent of the request's other
// fault draw.
const saltJudge = 0x6a75646765 // "judge"

// drawJudgeFault draws a judge request's judge fault from the request's
// draw when the other faults (out) let it through, and returns the
// request's outcome: answerError for a judge that fails.
func (u *unit) drawJudgeFault(cfg *Config, out outcome, draw uint64) outcome {
	if out != answerOK || !u.judge {
		return out
	}
	h := mix64(draw ^ saltJudge)
	switch r := uniform(h); {
	case r < cfg.JudgeErrorRate:
		u.judgeFault = judgeFail
		return answerError
	case r < cfg.JudgeErrorRate+cfg.JudgeRefusalRate:
		u.judgeFault = judgeRefuse
	case r < cfg.JudgeErrorRate+cfg.JudgeRefusalRate+cfg.JudgeMalformedRate:
		u.judgeFault, u.malformedKind = judgeMalformed, cfg.JudgeMalformedKind
		if u.malformedKind == "" {
			u.malformedKind = malformedKinds[mix64(h)%uint64(len(malformedKinds))]
		}
	}
	return out
}

// listModels answers a model list in format f and returns the status.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request, f wireFormat, spec string) int {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		switch f {
		case wireAnthropic:
			w.Header().Set("Allow", http.MethodGet)
			return anthropicError(w, http.StatusMethodNotAllowed, anthInvalidRequest, "Method "+r.Method+" is not allowed here; use GET.")
		case wireGoogle:
			w.Header().Set("Allow", http.MethodGet)
			return googleError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed here; use GET.", nil)
		}
		return methodNotAllowed(w, r, "GET")
	}
	cfg, err := s.config(spec)
	var status int
	switch f {
	case wireAnthropic:
		if err != nil {
			return anthropicError(w, http.StatusBadRequest, anthInvalidRequest, err.Error())
		}
		status = authorizeAnthropic(w, r, cfg)
	case wireGoogle:
		if err != nil {
			return googleError(w, http.StatusBadRequest, err.Error(), nil)
		}
		status = authorizeGoogle(w, r, cfg)
	default:
		if err != nil {
			return writeError(w, http.StatusBadRequest, typeInvalidRequest, "invalid_fault_spec", "", err.Error())
		}
		status = authorize(w, r, cfg)
	}
	if status != 0 {
		return status
	}
	body := s.openaiModels
	switch f {
	case wireAnthropic:
		body = s.anthropicModels
	case wireGoogle:
		body = s.googleModels
	}
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(body)
	return http.StatusOK
}
