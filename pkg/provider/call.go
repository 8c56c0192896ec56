package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// errCallTimeout and errIdleTimeout are the causes of a call's own
// deadlines, which tell them apart from a deadline the caller put on the
// context.
var (
	errCallTimeout = errors.New("provider call timed out")
	errIdleTimeout = errors.New("provider stream idle")
)

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
