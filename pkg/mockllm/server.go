package mockllm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// MaxBodyBytes is the largest request body the server reads; a larger one
// gets 413.
const MaxBodyBytes = 1 << 20

// StatusClientClosed is the status counted, never sent, for a non-streaming
// request whose client went away while the mock was still "thinking"
// (nginx's convention).
const StatusClientClosed = 499

// badKeyPrefix marks API keys the mock rejects with a message that echoes
// part of the key, as real providers do; tests use it to prove that SABE
// scrubs key material from stored errors.
const badKeyPrefix = "bad-key-"

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
	cl := call{start: time.Now()}
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
	s.log.add(LogEntry{Time: cl.start, Format: f.String(), Model: cl.model, Status: cl.status, Path: r.URL.Path})
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

// chatCompletions answers one completion request and returns the status it
// sent. The order mirrors a real provider's: route and auth, then the body,
// then the model, then capacity (injected faults), then the answer.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, spec string, cl *call) int {
	if r.Method != http.MethodPost {
		return methodNotAllowed(w, r, "POST")
	}
	cfg, err := s.config(spec)
	if err != nil {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "invalid_fault_spec", "", err.Error())
	}
	if status := authorize(w, r, cfg); status != 0 {
		return status
	}

	sc := s.scratch.Get().(*scratch)
	defer s.release(sc)
	var req chatRequest
	if status, msg := readJSON(w, r, &sc.in, &req); status != 0 {
		code := ""
		if status == http.StatusRequestEntityTooLarge {
			code = "request_too_large"
		}
		return writeError(w, status, typeInvalidRequest, code, "", msg)
	}
	cl.model = logModel(req.Model)
	if req.Model == "" {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "", "model", "you must provide a model parameter")
	}
	if len(req.Messages) == 0 {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "empty_array", "messages", "messages must contain at least one message")
	}
	maxTokens, param := req.MaxTokens, "max_tokens"
	if req.MaxCompletionTokens != nil {
		maxTokens, param = req.MaxCompletionTokens, "max_completion_tokens"
	}
	if maxTokens != nil && *maxTokens < 1 {
		return writeError(w, http.StatusBadRequest, typeInvalidRequest, "integer_below_min_value", param, param+" must be at least 1")
	}
	mi, ok := models.index[req.Model]
	if !ok {
		return writeError(w, http.StatusNotFound, typeInvalidRequest, "model_not_found", "",
			"The model `"+req.Model+"` does not exist or you do not have access to it.")
	}
	cl.model = models.names[mi]
	s.calls[mi].Add(1)

	out, draw := s.decide(cfg)
	switch out {
	case answerQuota:
		w.Header().Set("x-ratelimit-reset-requests", cfg.QuotaReset.String())
		return writeError(w, http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", "", "You exceeded your current quota")
	case answerError:
		return writeError(w, http.StatusInternalServerError, typeServer, "", "", "mock internal error")
	case answerRateLimit:
		return rateLimited(w, cfg.RetryAfter)
	}

	u := unit{model: req.Model}
	for i := range req.Messages {
		m := &req.Messages[i]
		u.chars += utf8.RuneCountInString(m.Content.text)
		if m.Role == "user" {
			u.prompt = m.Content.text
		}
	}
	if req.Seed != nil {
		u.sample = int(*req.Seed)
	}
	if maxTokens != nil {
		u.maxTokens = *maxTokens
	}
	c := newCompletion(wireOpenAI, &u, draw, cfg.OversizeBytes)
	c.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return s.respond(w, r, cfg, sc, &c, req.Stream, out == answerMalformed, cl)
}

// respond sends c, whole or streamed, applying the latency and the
// answer-shaping faults (malformed, hang), and returns the status sent.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, cfg *Config, sc *scratch, c *completion, stream, malformed bool, cl *call) int {
	if stream {
		return s.stream(r.Context(), w, cfg, sc, c, malformed, cl)
	}
	if err := sleep(r.Context(), nil, max(cfg.Latency, cfg.TTFT)); err != nil {
		return StatusClientClosed
	}
	sc.out = c.appendBody(sc.out[:0])
	body := sc.out
	hang := cfg.HangAfterFirstToken && !malformed
	if malformed || hang {
		// A strict prefix of a JSON object never parses.
		body = body[:len(body)/2]
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if hang {
		cl.abort = s.hang(r.Context(), http.NewResponseController(w))
	}
	return http.StatusOK
}

func (s *Server) release(sc *scratch) {
	if sc.in.Cap() > maxPooledBuffer || cap(sc.out) > maxPooledBuffer {
		return
	}
	sc.in.Reset()
	s.scratch.Put(sc)
}

// stream sends c as server-sent events: the first content piece (after
// the format's opening events) after TTFT, the remaining pieces and the
// closing events sharing the rest of Latency. Once the headers are out the
// status is 200 whatever happens, so that is what it returns. A malformed
// answer stops after a first event whose JSON is cut in half; a hanging one
// stops after the first piece and waits for the client or Close.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, cfg *Config, sc *scratch, c *completion, malformed bool, cl *call) int {
	h := w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	w.WriteHeader(http.StatusOK)

	ttft := cfg.ttft()
	pieces := max(1, (countWords(c.content)+cfg.ChunkWords-1)/cfg.ChunkWords)
	gaps := pieces - 1
	if c.hasStreamEnd() {
		gaps++
	}
	var step time.Duration
	if gaps > 0 {
		step = (max(cfg.Latency, ttft) - ttft) / time.Duration(gaps)
	}
	hang := cfg.HangAfterFirstToken && !malformed
	var flusher *http.ResponseController
	if ttft > 0 || step > 0 || hang {
		flusher = http.NewResponseController(w)
	}

	if sleep(ctx, flusher, ttft) != nil {
		return http.StatusOK
	}
	rest := c.content
	for i := range pieces {
		if i > 0 && sleep(ctx, flusher, step) != nil {
			return http.StatusOK
		}
		piece := rest
		if i < pieces-1 {
			n := endOfWords(rest, cfg.ChunkWords)
			piece, rest = rest[:n], rest[n:]
		}
		b := sc.out[:0]
		if i == 0 {
			b = c.appendStreamStart(b)
		}
		sc.out = c.appendStreamPiece(b, i == 0, i == pieces-1, piece)
		if malformed {
			_, _ = w.Write(cutFirstEvent(sc.out))
			return http.StatusOK
		}
		if _, err := w.Write(sc.out); err != nil {
			return http.StatusOK
		}
		if hang {
			cl.abort = s.hang(ctx, flusher)
			return http.StatusOK
		}
	}
	if !c.hasStreamEnd() {
		return http.StatusOK
	}
	if sleep(ctx, flusher, step) != nil {
		return http.StatusOK
	}
	sc.out = c.appendStreamEnd(sc.out[:0])
	_, _ = w.Write(sc.out)
	return http.StatusOK
}

// cutFirstEvent keeps the events in b up to the first data line, whose
// JSON it cuts in half, and ends that event there: a stream whose first
// event does not parse.
func cutFirstEvent(b []byte) []byte {
	const data = "data: "
	i := bytes.Index(b, []byte(data))
	if i < 0 {
		return b
	}
	i += len(data)
	end := bytes.IndexByte(b[i:], '\n')
	if end < 0 {
		end = len(b) - i
	}
	b = b[:i+end/2]
	return append(b, "\n\n"...)
}

// hang waits until the client goes away (false) or Close is called (true:
// the caller must abort the connection), after flushing what was written so
// that the client sees the first token.
func (s *Server) hang(ctx context.Context, flusher *http.ResponseController) bool {
	_ = flusher.Flush()
	select {
	case <-ctx.Done():
		return false
	case <-s.closing:
		return true
	}
}

// sleep waits d unless ctx ends first. Before waiting it flushes what was
// written, so the client sees each chunk when it is "generated"; with no
// wait it neither flushes nor touches a timer, which keeps a zero-latency
// mock fast.
func sleep(ctx context.Context, flusher *http.ResponseController, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if flusher != nil {
		// A writer that cannot flush still gets the whole stream at the end.
		_ = flusher.Flush()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// countWords counts whitespace-separated words without allocating, the way
// the mock counts completion tokens.
func countWords(s string) int {
	n, inWord := 0, false
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			inWord = false
		} else if !inWord {
			inWord, n = true, n+1
		}
	}
	return n
}

// endOfWords returns the index just past the n-th word of s, leading
// whitespace included, so consecutive pieces concatenate back to s.
func endOfWords(s string, n int) int {
	i := 0
	for range n {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
	}
	return i
}

// authorize answers 401 and returns its status when the request's key is
// missing (and required) or is a known bad key; it returns 0 otherwise.
func authorize(w http.ResponseWriter, r *http.Request, cfg *Config) int {
	key, ok := bearerKey(r.Header.Get("Authorization"))
	switch {
	case ok && strings.HasPrefix(key, badKeyPrefix):
		return writeError(w, http.StatusUnauthorized, typeInvalidRequest, "invalid_api_key", "",
			"Incorrect API key provided: "+maskKey(key)+". You can find your API key at https://platform.openai.com/account/api-keys.")
	case !ok && cfg.RequireKey:
		return writeError(w, http.StatusUnauthorized, typeInvalidRequest, "", "",
			"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
	}
	return 0
}

func bearerKey(header string) (string, bool) {
	const prefix = "Bearer "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	key := strings.TrimSpace(header[len(prefix):])
	return key, key != ""
}

// maskKey shows a key the way OpenAI's 401 message does: the first five
// characters, stars, and the last four when the key is long enough for that
// to hide something.
func maskKey(key string) string {
	if len(key) < 12 {
		return key[:min(5, len(key))] + "****"
	}
	return key[:5] + "****" + key[len(key)-4:]
}

// tooLarge is the 413 message, built once: readJSON runs on every request.
var tooLarge = "Request body exceeds " + strconv.Itoa(MaxBodyBytes) + " bytes."

// readJSON reads at most MaxBodyBytes into buf and decodes it into v. On
// failure it returns the status to answer (413 or 400) and a message, which
// the caller sends in its wire format; 0 means success.
func readJSON(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer, v any) (int, string) {
	if r.ContentLength > MaxBodyBytes {
		return http.StatusRequestEntityTooLarge, tooLarge
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, tooLarge
		}
		return http.StatusBadRequest, "could not read the request body"
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return http.StatusBadRequest, "We could not parse the JSON body of your request: " + err.Error()
	}
	return 0, ""
}

// setRetryAfter sets Retry-After in whole seconds (rounded up, as the
// header requires integers) and Retry-After-Ms with the exact wait, which
// the OpenAI and Anthropic SDKs prefer.
func setRetryAfter(h http.Header, retryAfter time.Duration) {
	h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(retryAfter.Seconds())), 10))
	h.Set("Retry-After-Ms", strconv.FormatInt(retryAfter.Milliseconds(), 10))
}

// rateLimited answers 429 in OpenAI's shape.
func rateLimited(w http.ResponseWriter, retryAfter time.Duration) int {
	setRetryAfter(w.Header(), retryAfter)
	return writeError(w, http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded", "",
		"Rate limit reached for requests. Please try again in "+retryAfter.String()+".")
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

// modelsCreated is a fixed creation time for the listed models, so the list
// is the same on every start.
const modelsCreated = 1735689600 // 2025-01-01T00:00:00Z

func modelsListBody() []byte {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, name := range Models() {
		list.Data = append(list.Data, model{ID: name, Object: "model", Created: modelsCreated, OwnedBy: "sabe-mockllm"})
	}
	return mustMarshal(list)
}

// mustMarshal encodes a fixed value built at start; failing is a bug.
func mustMarshal(v any) []byte {
	body, err := json.Marshal(v)
	if err != nil {
		panic("mockllm: marshal: " + err.Error())
	}
	return append(body, '\n')
}

func notFound(w http.ResponseWriter, r *http.Request) int {
	return writeError(w, http.StatusNotFound, typeInvalidRequest, "", "", "Invalid URL ("+r.Method+" "+r.URL.Path+")")
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) int {
	w.Header().Set("Allow", allow)
	return writeError(w, http.StatusMethodNotAllowed, typeInvalidRequest, "", "", "Method "+r.Method+" is not allowed here; use "+allow+".")
}
