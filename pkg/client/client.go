// Package client is a Go client of SABE's HTTP API, as any user drives it:
// a base URL, a bearer token, a context on every call and the request and
// response types generated from the OpenAPI document (package oapi).
// `sabe dev`, the bench harness and the end-to-end tests all call the API
// through it; an error the API answers carries its
// {"error": {"code", "message", "field"}} as an *Error.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// DefaultTimeout bounds one HTTP exchange of a Client made without
// WithHTTPClient or WithTimeout.
const DefaultTimeout = 30 * time.Second

// maxBody bounds what the client reads of one response.
const maxBody = 8 << 20

// Client calls one SABE API with one token. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Option adjusts a Client made by New.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc (its
// timeout, transport and redirects) instead of a client of its own.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithTimeout bounds each HTTP exchange (DefaultTimeout unless set); 0
// means none, leaving the bound to each call's context.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.http = &http.Client{Timeout: d} }
}

// New returns a client of the API at baseURL (scheme, host and port, such
// as "http://127.0.0.1:8080", without /v1) that authenticates with token.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		base:  strings.TrimRight(baseURL, "/"),
		token: token,
		http:  &http.Client{Timeout: DefaultTimeout},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL is the API's base URL, as given to New without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Error is an answer of the API with a status of 300 or more. Code,
// Message and Field are those of the body's "error" object; Code and
// Message are empty when the body had none (a proxy's page, say), and
// Body then holds the start of what came.
type Error struct {
	Method string
	Path   string
	Status int
	// Code is machine-readable: "not_found", "invalid", "conflict", ….
	Code    string
	Message string
	// Field names the offending value ("config.samples", "limit",
	// "line 3: prompt"); empty when the error is not about one.
	Field string
	Body  string
	// raw is the whole body read, for answers with more than the error
	// object (an import's line errors).
	raw []byte
}

func (e *Error) Error() string {
	switch {
	case e.Code == "" && e.Message == "":
		return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
	case e.Field != "":
		return fmt.Sprintf("%s %s: %d %s: %s: %s", e.Method, e.Path, e.Status, e.Code, e.Field, e.Message)
	default:
		return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
	}
}

// StatusOf is the HTTP status of an *Error in err's chain, or 0 when err
// is nil or did not come from an API answer.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Do sends a request with in (when not nil) as its JSON body and decodes
// the JSON answer into out (when not nil). path starts with "/" and may
// carry a query. Typed methods cover what SABE's own callers use; Do is
// for the rest of the API.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.DoRaw(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s %s: encode: %w", method, path, err)
	}
	return c.DoRaw(ctx, method, path, "application/json", bytes.NewReader(b), out)
}

// DoRaw is Do with a body already encoded as contentType (such as the
// JSON Lines of a question import).
func (c *Client) DoRaw(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return apiError(method, path, resp.StatusCode, b)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// stream sends a GET of path asking for accept and returns the answer
// with its body open, for bodies that last as long as they must (an event
// stream, an export): the client's timeout, which bounds a whole
// exchange, does not apply; ctx bounds it. An answer of 300 or more is an
// *Error, its body read and closed.
func (c *Client) stream(ctx context.Context, path, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", accept)
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		return nil, apiError(http.MethodGet, path, resp.StatusCode, b)
	}
	return resp, nil
}

// apiError reads the API's error body into an *Error.
func apiError(method, path string, status int, body []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status, raw: body}
	var wire oapi.Error
	if json.Unmarshal(body, &wire) == nil && (wire.Error.Code != "" || wire.Error.Message != "") {
		e.Code, e.Message = wire.Error.Code, wire.Error.Message
		if wire.Error.Field != nil {
			e.Field = *wire.Error.Field
		}
		return e
	}
	b := bytes.TrimSpace(body)
	if len(b) > 512 {
		b = b[:512]
	}
	e.Body = string(b)
	return e
}
