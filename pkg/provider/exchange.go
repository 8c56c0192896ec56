package provider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// errorBodyLimit bounds how much of an error response is read; the message
// keeps 500 bytes of it anyway.
const errorBodyLimit = 64 << 10

// drainLimit and drainWait bound the read-to-EOF of a body closed early, see
// exchange.drain.
const (
	drainLimit = 64 << 10
	drainWait  = time.Second
)

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
