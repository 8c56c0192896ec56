package provider

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

const (
	// DefaultTimeout bounds a whole call when ClientOptions.Timeout is 0.
	DefaultTimeout = 120 * time.Second
	// DefaultIdleTimeout bounds the silence between two pieces of a
	// streamed answer when neither the Request nor ClientOptions say.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxResponseBytes caps a response body when
	// ClientOptions.MaxResponseBytes is 0.
	DefaultMaxResponseBytes = 1 << 20
)

// modelListMaxBytes is the byte budget of one ListModels call, all its
// pages together: a model list can be far larger than an answer
// (OpenRouter describes hundreds of models in about a megabyte), but the
// SDKs decode a page into many times its size, and a per-page cap let 20
// pages of 32 MiB each through.
const modelListMaxBytes = 8 << 20

// maxModelPages bounds the pages ListModels follows.
const maxModelPages = 20

// MaxRemoteModels is the most models a ListModels call keeps. An adapter
// returns at most one more, which tells the caller that the list was cut
// (and stops following pages there).
const MaxRemoteModels = 2000

// addModel appends m to out unless out already holds MaxRemoteModels+1
// models, and reports whether there is room for more.
func addModel(out []RemoteModel, m RemoteModel) ([]RemoteModel, bool) {
	if len(out) <= MaxRemoteModels {
		out = append(out, m)
	}
	return out, len(out) <= MaxRemoteModels
}

// errorBodyLimit bounds how much of an error response is read; the message
// keeps 500 bytes of it anyway.
const errorBodyLimit = 64 << 10

// drainLimit and drainWait bound the read-to-EOF of a body closed early, see
// exchange.drain.
const (
	drainLimit = 64 << 10
	drainWait  = time.Second
)

// errCallTimeout and errIdleTimeout are the causes of a call's own
// deadlines, which tell them apart from a deadline the caller put on the
// context.
var (
	errCallTimeout = errors.New("provider call timed out")
	errIdleTimeout = errors.New("provider stream idle")
)

// ClientOptions configures the adapters (NewOpenAI, NewAnthropic,
// NewGoogle, NewClients). Zero values take the defaults.
type ClientOptions struct {
	// HTTPClient carries every call; nil means NewHTTPClient(HTTPOptions{}),
	// which refuses private addresses.
	HTTPClient *http.Client
	// Timeout bounds a whole call, from sending to the last byte of the
	// answer (default 120s).
	Timeout time.Duration
	// IdleTimeout is the default for Request.IdleTimeout (default 60s).
	IdleTimeout time.Duration
	// MaxResponseBytes caps the response body read per call (default 1 MiB).
	MaxResponseBytes int64
}

// OpenAIOptions configures NewOpenAI; it is ClientOptions under the name
// the OpenAI adapter started with.
type OpenAIOptions = ClientOptions

// NewClients returns one Client per provider kind, keyed KindOpenAI,
// KindAnthropic and KindGoogle, all sharing one HTTP client.
func NewClients(opts ClientOptions) map[string]Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = NewHTTPClient(HTTPOptions{})
	}
	return map[string]Client{
		KindOpenAI:    NewOpenAI(opts),
		KindAnthropic: NewAnthropic(opts),
		KindGoogle:    NewGoogle(opts),
	}
}

// limits is what every adapter shares: the HTTP client and the bounds on a
// call.
type limits struct {
	httpClient *http.Client
	timeout    time.Duration
	idle       time.Duration
	maxBytes   int64
}

func newLimits(opts ClientOptions) limits {
	l := limits{httpClient: opts.HTTPClient, timeout: opts.Timeout, idle: opts.IdleTimeout, maxBytes: opts.MaxResponseBytes}
	if l.httpClient == nil {
		l.httpClient = NewHTTPClient(HTTPOptions{})
	}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	if l.idle <= 0 {
		l.idle = DefaultIdleTimeout
	}
	if l.maxBytes <= 0 {
		l.maxBytes = DefaultMaxResponseBytes
	}
	return l
}

// call is one call's state: its contexts, what the HTTP response looked
// like, and what Scrub must remove from its errors.
type call struct {
	ctx     context.Context // the caller's
	reqCtx  context.Context // ends at the call's timeout or an idle stream
	timeout time.Duration
	idle    time.Duration
	ex      *exchange
	secrets []string
}

// begin starts a call: a stream answer (stream) has its JSON answer kept
// for the adapter; maxBytes caps each response body.
func (l *limits) begin(ctx context.Context, ep Endpoint, idle time.Duration, maxBytes int64, stream bool) *call {
	idle = cmp.Or(max(idle, 0), l.idle)
	callCtx, cancelCall := context.WithTimeoutCause(ctx, l.timeout, errCallTimeout)
	reqCtx, cancelReq := context.WithCancelCause(callCtx)
	ex := &exchange{
		limit:       maxBytes,
		cancel:      func() { cancelReq(nil); cancelCall() },
		captureJSON: stream,
		idle:        idle,
		onIdle:      func() { cancelReq(errIdleTimeout) },
	}
	return &call{ctx: ctx, reqCtx: reqCtx, timeout: l.timeout, idle: idle, ex: ex, secrets: ep.Secrets()}
}

// end releases the call's context (unless a drain still needs it).
func (c *call) end() { c.ex.release() }

// failure turns whatever ended a call into the error the adapter returns.
// sdkError classifies errors only the adapter's SDK knows (an error event
// in a stream); it returns nil for anything else.
func (c *call) failure(err error, sdkError func(error) *Error) error {
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("provider call: %w", ctxErr)
	}
	switch cause := context.Cause(c.reqCtx); {
	case errors.Is(cause, errCallTimeout):
		return newError(0, true, fmt.Sprintf("no complete answer within %s", c.timeout), nil)
	case errors.Is(cause, errIdleTimeout):
		return newError(0, true, fmt.Sprintf("stream idle for %s", c.idle), nil)
	}
	if c.ex.status >= 300 {
		return statusError(c.ex.status, c.ex.header, c.ex.errBody, c.secrets)
	}
	// A body that failed mid-read says more than the SDK's complaint about
	// the partial event it was left with.
	if c.ex.readErr != nil {
		err = c.ex.readErr
	}
	var perr *Error
	if errors.As(err, &perr) {
		return perr
	}
	if err == nil {
		return newError(0, false, "provider call failed without an error", c.secrets)
	}
	if sdkError != nil {
		if e := sdkError(err); e != nil {
			return e
		}
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) {
		return newError(0, false, "malformed stream event: "+err.Error(), c.secrets)
	}
	return transportError(err, c.secrets)
}

// notEventStream is the failure of a stream that delivered nothing usable
// and no finish reason: a body of the wrong type means a base URL that
// points at something else; an event stream cut short between events is a
// dropped connection.
func (c *call) notEventStream(events int) *Error {
	if ct := c.ex.header.Get("Content-Type"); events == 0 && !strings.HasPrefix(strings.ToLower(ct), "text/event-stream") {
		return newError(0, false, fmt.Sprintf("provider answered with Content-Type %q, not an event stream", ct), c.secrets)
	}
	return newError(0, true, fmt.Sprintf("stream ended without a finish reason after %d events", events), c.secrets)
}

// minHeaderSecret is the length from which any header value counts as a
// secret for Scrub.
const minHeaderSecret = minFragment

// Secrets lists what Scrub must remove from any message about a call to
// ep: the key and the header values. Header values are credentials as
// often as not (Azure's api-key, Proxy-Authorization, cookies), so every
// one counts, whatever its header's name, except a value shorter than six
// bytes of a header whose name does not look like a credential's: too
// short to be one, and scrubbing it ("1", "true") would cut up every
// message it occurs in.
func (e Endpoint) Secrets() []string {
	secrets := []string{e.APIKey}
	for k, v := range e.Headers {
		if len(v) >= minHeaderSecret || credentialName(k) {
			secrets = append(secrets, v)
		}
	}
	return secrets
}

// Secrets is the Secrets of r's endpoint.
func (r Request) Secrets() []string { return r.endpoint().Secrets() }

// credentialName reports whether a header's name says it carries a
// credential.
func credentialName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "key", "token", "secret", "cookie", "session", "pass", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// validateEndpoint checks what every adapter needs before a call goes out.
func validateEndpoint(ep Endpoint) *Error {
	if err := ValidateBaseURL(ep.BaseURL, true); err != nil {
		return &Error{Message: err.Error()}
	}
	return nil
}

// validateRequest checks the fields every adapter needs.
func validateRequest(req Request) *Error {
	if err := validateEndpoint(req.endpoint()); err != nil {
		return err
	}
	if req.Model == "" {
		return &Error{Message: "model is required"}
	}
	if req.MaxTokens < 0 {
		return &Error{Message: "max_tokens must not be negative"}
	}
	return nil
}

// jsonKeyPath escapes a top-level key for sjson (behind the SDKs'
// WithJSONSet), whose paths treat '.', '*', '?' and a few others as syntax.
func jsonKeyPath(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '.', '*', '?', '|', '#', '@', '\\', ':', '!', '=', '<', '>', '%':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// exchange records what one call's HTTP response looked like, below the
// SDK: status and headers for classification, the error body (which the SDK
// would otherwise consume), and a JSON answer to a streaming request, which
// the SDKs' stream decoders cannot read. It also puts the size cap and the
// idle timer on the body. The middleware runs on the calling goroutine, so
// no locking.
type exchange struct {
	limit       int64
	shared      *int64             // non-nil: what is left of a budget every body of the call shares
	cancel      context.CancelFunc // ends the call's context
	draining    bool               // a drain goroutine owns cancel
	captureJSON bool               // keep a JSON answer to a streaming request
	quiet       bool               // hand the SDK io.EOF instead of a read error
	readErr     error              // the first failed body read
	idle        time.Duration      // 0: no idle timer
	onIdle      func()             // cuts the call when the body stays silent
	timer       *time.Timer
	status      int
	header      http.Header
	errBody     []byte
	json        []byte
	jsonAt      time.Time
}

// drain takes over closing a body that was closed before EOF without a read
// error: typically a stream read stopping at "data: [DONE]" while the chunked
// terminator is still in flight. Closing such a body drops the connection,
// and at thousands of calls per second that means a TCP (and TLS) setup per
// call and a pile of TIME_WAIT sockets. So the rest is read in the
// background, bounded in bytes and time, and the connection goes back to
// the pool. The call's context stays alive until then.
func (ex *exchange) drain(rc io.ReadCloser) {
	ex.stopIdle()
	ex.draining = true
	go func() {
		timer := time.AfterFunc(drainWait, ex.cancel)
		_, _ = io.CopyN(io.Discard, rc, drainLimit)
		timer.Stop()
		_ = rc.Close()
		ex.cancel()
	}()
}

// release ends the call's context unless a drain still needs it.
func (ex *exchange) release() {
	ex.stopIdle()
	if !ex.draining {
		ex.cancel()
	}
}

// startIdle arms the idle timer once a response has started: the wait for
// the headers is bounded by the transport and the call's timeout instead,
// since a model may think for a while before its first byte.
func (ex *exchange) startIdle() {
	ex.stopIdle()
	if ex.idle > 0 && ex.onIdle != nil {
		ex.timer = time.AfterFunc(ex.idle, ex.onIdle)
	}
}

// touch restarts the idle timer: the body just delivered something.
func (ex *exchange) touch() {
	if ex.timer != nil {
		ex.timer.Reset(ex.idle)
	}
}

func (ex *exchange) stopIdle() {
	if ex.timer != nil {
		ex.timer.Stop()
		ex.timer = nil
	}
}

// middleware wraps the sending of a request: called directly by the OpenAI
// adapter's Complete, as the SDK's middleware by ListModels and Anthropic,
// and through exchangeTransport as a RoundTripper (Google).
func (ex *exchange) middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	res, err := next(req)
	if err != nil || res == nil {
		return res, err
	}
	ex.status, ex.header = res.StatusCode, res.Header
	left := ex.shared
	if left == nil {
		own := ex.limit
		left = &own
	}
	if res.ContentLength > *left {
		_ = res.Body.Close()
		return nil, ex.tooLarge()
	}
	ex.startIdle()
	body := &cappedBody{rc: res.Body, left: left, tooLarge: ex.tooLarge, drain: ex.drain, touch: ex.touch, fail: ex.readFailed}
	res.Body = body
	switch {
	case res.StatusCode >= 300:
		// The cap still applies, but an oversized error body is cut, not
		// failed: its status already says what happened.
		ex.errBody, _ = io.ReadAll(io.LimitReader(body, min(*left, errorBodyLimit)))
		_ = body.Close()
		res.Body = io.NopCloser(bytes.NewReader(ex.errBody))
	case ex.captureJSON && isJSON(res.Header.Get("Content-Type")):
		data, err := io.ReadAll(body)
		_ = body.Close()
		if err != nil {
			return nil, err
		}
		ex.json, ex.jsonAt = data, time.Now()
		// An empty body ends the SDK's stream at once; the adapter decodes
		// ex.json.
		res.Body = http.NoBody
	}
	return res, nil
}

// readFailed records the first failed body read. A quiet exchange (genai)
// hands the SDK a clean end instead, since genai logs every read error
// through the standard logger; its adapter checks readErr itself.
func (ex *exchange) readFailed(err error) error {
	if ex.readErr == nil {
		ex.readErr = err
	}
	if ex.quiet {
		return io.EOF
	}
	return err
}

func (ex *exchange) tooLarge() error {
	if ex.shared != nil {
		return &Error{Message: fmt.Sprintf("responses larger than %d bytes in all pages together", ex.limit)}
	}
	return &Error{Message: fmt.Sprintf("response larger than %d bytes", ex.limit)}
}

// shareBudget makes every response of the call draw on one budget of
// ex.limit bytes, for a call that follows pages.
func (ex *exchange) shareBudget() {
	left := ex.limit
	ex.shared = &left
}

// exchangeTransport puts an exchange under an SDK that takes an
// *http.Client but no middleware (genai). It also owns the key header, so
// that nothing the SDK found elsewhere (its environment) is ever sent.
type exchangeTransport struct {
	next      http.RoundTripper
	ex        *exchange
	keyHeader string
	key       string
}

func (t *exchangeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if t.key != "" {
		req.Header.Set(t.keyHeader, t.key)
	} else {
		req.Header.Del(t.keyHeader)
	}
	return t.ex.middleware(req, t.next.RoundTrip)
}

// withExchange returns a copy of hc whose transport runs ex.
func withExchange(hc *http.Client, ex *exchange, keyHeader, key string) *http.Client {
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *hc
	c.Transport = &exchangeTransport{next: next, ex: ex, keyHeader: keyHeader, key: key}
	return &c
}

func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"))
}

// cappedBody fails the read that would go past the cap instead of cutting
// the body short, so an oversized answer is an error, never a silently
// truncated answer. A body closed early but healthy is handed to drain.
// Every read that delivers bytes calls touch (the idle timer); a failed
// read goes through fail, which may replace the error.
type cappedBody struct {
	rc       io.ReadCloser
	left     *int64 // shared by the bodies of a paged call
	tooLarge func() error
	drain    func(io.ReadCloser)
	touch    func()
	fail     func(error) error
	eof      bool // the body was read to its end
	failed   bool // a read failed; the connection is not worth keeping
	closed   bool
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.read(p)
	if n > 0 && b.touch != nil {
		b.touch()
	}
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		b.failed = true
		if b.fail != nil {
			err = b.fail(err)
		}
	}
	return n, err
}

func (b *cappedBody) read(p []byte) (int, error) {
	if *b.left <= 0 {
		// At the cap: one more byte means over it, EOF means exactly at it.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, b.tooLarge()
		}
		return 0, err
	}
	if int64(len(p)) > *b.left {
		p = p[:*b.left]
	}
	n, err := b.rc.Read(p)
	*b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.eof || b.failed || b.drain == nil {
		return b.rc.Close()
	}
	b.drain(b.rc)
	return nil
}
