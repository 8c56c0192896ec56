package provider

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Stages say which part of talking to a provider failed; they are
// ProbeResult.Stage's values.
const (
	// StageOK means the provider answered.
	StageOK = "ok"
	// StageDNS means the base URL's host name did not resolve.
	StageDNS = "dns"
	// StageConnect means no connection could be made: refused, timed out,
	// unreachable, or refused by SABE's own address guard.
	StageConnect = "connect"
	// StageTLS means the TLS handshake failed (bad certificate, plain HTTP
	// on an https URL, ...).
	StageTLS = "tls"
	// StageAuth means the provider rejected the credentials (401, 403, or a
	// provider's own "invalid API key" answer).
	StageAuth = "auth"
	// StageModel means the provider does not know the model.
	StageModel = "model"
	// StageRequest is any other failure.
	StageRequest = "request"
)

// maxMessageBytes bounds Error.Message, which ends up in the database for
// every failed execution.
const maxMessageBytes = 500

// scrubWindow bounds how much of a provider's error text is scrubbed at all;
// only the first maxMessageBytes survive, the rest just gives a secret that
// straddles the cut a chance to be recognised.
const scrubWindow = 8 << 10

// quotaHorizon separates a quota from a rate limit when a provider only
// says when its limit resets (Anthropic): per-minute limits reset within
// a minute, so a reset further away than this means a daily or monthly
// quota.
const quotaHorizon = 10 * time.Minute

// Error is a failed provider call, classified for SABE's retry policy.
type Error struct {
	// StatusCode is the provider's HTTP status, 0 when there was none (a
	// connection failure, a timeout, a refusal by SABE itself).
	StatusCode int
	// Retryable says whether trying again later can succeed: rate limits,
	// server errors, timeouts, dropped connections, an open circuit.
	Retryable bool
	// RetryAfter is how long to wait before retrying when the provider (or
	// the circuit breaker) said so, 0 otherwise.
	RetryAfter time.Duration
	// Quota says the provider's quota is used up (OpenAI's
	// insufficient_quota, Anthropic's daily limits, Google's QuotaFailure):
	// every call to this provider fails the same way until ResetAt, so the
	// provider should be paused instead of the unit failed.
	Quota bool
	// ResetAt is when the exhausted quota resets, as the provider said;
	// zero when it did not say.
	ResetAt time.Time
	// Message says what went wrong, scrubbed of credentials and at most 500
	// bytes, so it can be stored and shown.
	Message string

	// stage is which part of the call failed (StageDNS, ...), for Probe;
	// empty means StageRequest.
	stage string
}

// Error implements error.
func (e *Error) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("provider: HTTP %d: %s", e.StatusCode, e.Message)
	}
	return "provider: " + e.Message
}

// Stage says which part of the call failed: StageAuth when the provider
// rejected the credentials, StageModel when it does not know the model,
// StageRequest for any other answer, or a transport stage. Callers use it
// to tell a failure of one request from one that every call to the
// provider (or model) would meet.
func (e *Error) Stage() string { return cmp.Or(e.stage, StageRequest) }

// IsRetryable reports whether err is a *Error that a later attempt may
// not hit again. Context errors from the caller are not retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// newError builds an *Error whose message is scrubbed of secrets and cut to
// size.
func newError(status int, retryable bool, msg string, secrets []string) *Error {
	msg = strings.TrimSpace(truncate(msg, scrubWindow))
	msg = truncate(Scrub(msg, secrets...), maxMessageBytes)
	if msg == "" {
		msg = "provider call failed"
	}
	return &Error{StatusCode: status, Retryable: retryable, Message: msg}
}

// retryableStatus says whether an HTTP status is worth retrying: timeouts,
// rate limits and server errors (including Anthropic's 529 overloaded).
func retryableStatus(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// statusError classifies an HTTP error response: 408, 429 and 5xx are
// worth retrying, any other status means the request itself is wrong. The
// body says more: a used-up quota and when it resets, a retry delay, and
// whether the key or the model was rejected.
func statusError(status int, header http.Header, body []byte, secrets []string) *Error {
	e := newError(status, retryableStatus(status), errorBodyMessage(status, body), secrets)
	annotate(e, header, parseErrorBody(body), time.Now())
	return e
}

// errorInfo is what the error bodies of the three wire formats carry:
// OpenAI {"error": {"message", "type", "code"}}, Anthropic {"type":
// "error", "error": {"type", "message"}}, Google {"error": {"code",
// "message", "status", "details"}}.
type errorInfo struct {
	Type, Code, Message, Status string
	Details                     []json.RawMessage
}

func parseErrorBody(body []byte) errorInfo {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	var info errorInfo
	if json.Unmarshal(body, &env) != nil {
		return info
	}
	var inner struct {
		Type    string            `json:"type"`
		Code    json.RawMessage   `json:"code"`
		Message string            `json:"message"`
		Status  string            `json:"status"`
		Details []json.RawMessage `json:"details"`
	}
	if json.Unmarshal(env.Error, &inner) != nil {
		return info
	}
	return errorInfo{
		Type: inner.Type, Code: strings.Trim(string(inner.Code), `"`), Message: inner.Message,
		Status: inner.Status, Details: inner.Details,
	}
}

// annotate adds what an error body says beyond its status: quota, reset
// time, retry delay and the rejected stage.
func annotate(e *Error, header http.Header, info errorInfo, now time.Time) {
	e.RetryAfter = retryAfter(header, now)
	if e.RetryAfter == 0 {
		e.RetryAfter = googleRetryDelay(info.Details)
	}
	e.Quota, e.ResetAt = quotaReset(e.StatusCode, header, info, now)
	if e.Quota && e.RetryAfter == 0 && e.ResetAt.After(now) {
		e.RetryAfter = e.ResetAt.Sub(now)
	}
	e.stage = rejectionStage(e.StatusCode, info, e.Message)
}

// quotaReset recognises each provider's quota-exhausted answer and when the
// quota resets (zero when the provider does not say).
func quotaReset(status int, h http.Header, info errorInfo, now time.Time) (bool, time.Time) {
	if status != http.StatusTooManyRequests {
		return false, time.Time{}
	}
	switch {
	case info.Type == "insufficient_quota" || info.Code == "insufficient_quota":
		// OpenAI: the request limit's reset is the only hint it gives.
		if d, err := time.ParseDuration(strings.TrimSpace(h.Get("X-Ratelimit-Reset-Requests"))); err == nil && d > 0 {
			return true, now.Add(d)
		}
		return true, time.Time{}
	case info.Status == "RESOURCE_EXHAUSTED" && hasDetail(info.Details, "google.rpc.QuotaFailure"):
		if d := googleRetryDelay(info.Details); d > 0 {
			return true, now.Add(d)
		}
		return true, time.Time{}
	case info.Type == "rate_limit_error":
		// Anthropic says only when each limit resets; a reset far away, or
		// a message about a quota, is a quota rather than a rate limit.
		var reset time.Time
		for _, name := range []string{"Anthropic-Ratelimit-Requests-Reset", "Anthropic-Ratelimit-Tokens-Reset",
			"Anthropic-Ratelimit-Input-Tokens-Reset", "Anthropic-Ratelimit-Output-Tokens-Reset"} {
			if t, err := time.Parse(time.RFC3339, strings.TrimSpace(h.Get(name))); err == nil && t.After(reset) {
				reset = t
			}
		}
		if strings.Contains(strings.ToLower(info.Message), "quota") || reset.Sub(now) > quotaHorizon {
			if !reset.After(now) {
				reset = time.Time{}
			}
			return true, reset
		}
	}
	return false, time.Time{}
}

func hasDetail(details []json.RawMessage, typeSuffix string) bool {
	for _, d := range details {
		var t struct {
			Type string `json:"@type"`
		}
		if json.Unmarshal(d, &t) == nil && strings.HasSuffix(t.Type, typeSuffix) {
			return true
		}
	}
	return false
}

// googleRetryDelay reads google.rpc.RetryInfo's retryDelay ("30s", "13.5s"),
// 0 when there is none.
func googleRetryDelay(details []json.RawMessage) time.Duration {
	for _, d := range details {
		var ri struct {
			Type       string `json:"@type"`
			RetryDelay string `json:"retryDelay"`
		}
		if json.Unmarshal(d, &ri) != nil || !strings.HasSuffix(ri.Type, "google.rpc.RetryInfo") {
			continue
		}
		if delay, err := time.ParseDuration(ri.RetryDelay); err == nil && delay > 0 {
			return delay
		}
	}
	return 0
}

// rejectionStage says whether an error answer rejected the credentials or
// the model; anything else is StageRequest.
func rejectionStage(status int, info errorInfo, msg string) string {
	var details strings.Builder
	for _, d := range info.Details {
		details.Write(d)
	}
	hay := strings.ToLower(strings.Join([]string{msg, info.Type, info.Code, info.Status, details.String()}, " "))
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return StageAuth
	case status >= 400 && status < 500 && containsAny(hay, "api_key_invalid", "api key not valid", "invalid_api_key",
		"invalid api key", "incorrect api key", "authentication_error", "unauthenticated", "permission_denied", "permission_error"):
		return StageAuth
	case status == http.StatusNotFound && strings.Contains(hay, "model"):
		return StageModel
	case status == http.StatusBadRequest && containsAny(hay, "model_not_found", "not a valid model", "unknown model", "no such model",
		"model not found", "model does not exist"):
		return StageModel
	}
	return StageRequest
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// errorBodyMessage finds the human-readable part of an error body in the
// shapes OpenAI-compatible servers use: {"error": {"message": ...}},
// {"error": "..."}, {"message": ...} or {"detail": ...}.
func errorBodyMessage(status int, body []byte) string {
	text := strings.TrimSpace(string(body))
	var shaped struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &shaped) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(shaped.Error, &inner) == nil && inner.Message != "":
			return inner.Message
		case json.Unmarshal(shaped.Error, &s) == nil && s != "":
			return s
		case shaped.Message != "":
			return shaped.Message
		case json.Unmarshal(shaped.Detail, &s) == nil && s != "":
			return s
		}
	}
	switch {
	case text == "":
		return http.StatusText(status)
	case strings.HasPrefix(text, "<"):
		// An HTML error page from a proxy says nothing a person needs.
		return http.StatusText(status) + " (HTML error page)"
	}
	return text
}

// retryAfter reads the provider's hint: OpenAI's retry-after-ms first (it
// is more precise), then Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// streamError classifies an error event inside a 200 response (OpenRouter
// and others report upstream failures this way). Its code, when it is an
// HTTP status, decides like statusError; without one the failure is most
// likely upstream and transient, so it is retryable.
func streamError(data []byte, secrets []string) *Error {
	var ev struct {
		Error json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal(data, &ev)
	var inner struct {
		Message string          `json:"message"`
		Code    json.RawMessage `json:"code"`
	}
	msg := string(ev.Error)
	code := 0
	if json.Unmarshal(ev.Error, &inner) == nil {
		if inner.Message != "" {
			msg = inner.Message
		}
		c := strings.Trim(string(inner.Code), `"`)
		if n, err := strconv.Atoi(c); err == nil && n >= 400 && n <= 599 {
			code = n
		}
	} else {
		var s string
		if json.Unmarshal(ev.Error, &s) == nil {
			msg = s
		}
	}
	e := newError(code, code == 0 || retryableStatus(code), "error in response: "+msg, secrets)
	annotate(e, nil, parseErrorBody(data), time.Now())
	return e
}

// transportError classifies a failure below HTTP: anything that says the
// network or the server hiccupped is retryable; TLS failures, unknown
// hosts, malformed responses and the like are not, since they will not go
// away by themselves.
func transportError(err error, secrets []string) *Error {
	// A client built without NewHTTPClient's dialer reaches here with the
	// resolver's address still in the message.
	hideResolver(err)
	var dnsErr *net.DNSError
	var netErr net.Error
	retryable := false
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		retryable = true
	case errors.As(err, &dnsErr):
		retryable = !dnsErr.IsNotFound
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		retryable = true
	case errors.As(err, &netErr) && netErr.Timeout():
		retryable = true
	default:
		// HTTP/2 reports connection loss with its own unexported error
		// types; their text is stable.
		msg := err.Error()
		retryable = strings.Contains(msg, "GOAWAY") || strings.Contains(msg, "stream error") ||
			strings.Contains(msg, "connection reset") || strings.Contains(msg, "server closed idle connection")
	}
	e := newError(0, retryable, err.Error(), secrets)
	e.stage = transportStage(err)
	return e
}

// transportStage says where below HTTP a call failed.
func transportStage(err error) string {
	var (
		dnsErr     *net.DNSError
		recordErr  tls.RecordHeaderError
		alertErr   tls.AlertError
		verifyErr  *tls.CertificateVerificationError
		authErr    x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		opErr      *net.OpError
	)
	switch {
	case errors.As(err, &dnsErr):
		return StageDNS
	case errors.As(err, &recordErr), errors.As(err, &alertErr), errors.As(err, &verifyErr),
		errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invalidErr),
		// net/http reports plain HTTP on an https URL only in words.
		strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return StageTLS
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return StageConnect
	}
	return StageRequest
}
