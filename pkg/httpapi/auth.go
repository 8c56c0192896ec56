package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/audit"
)

// monitorPath is where asynqmon is mounted; it needs the admin scope.
const monitorPath = "/monitoring"

// maxUserAgentLen bounds the user agent kept in the audit log.
const maxUserAgentLen = 256

type tokenKey struct{}

// WithToken returns ctx carrying the token that authenticated the request.
func WithToken(ctx context.Context, t *apitoken.Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// TokenFrom returns the token that authenticated the request, if any.
// Handlers behind authentication always have one.
func TokenFrom(ctx context.Context) (*apitoken.Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(*apitoken.Token)
	return t, ok
}

// authenticate is the middleware in front of every route: it looks up the
// scope the route needs in routeScopes (a route missing there needs admin,
// so a forgotten entry fails closed), accepts a Bearer token or the
// session cookie, checks that the token is usable and holds that scope,
// refuses cross-origin changes made with the cookie, and puts the token
// and the audit actor (token, source address, user agent, request id) on
// the request's context. Every refusal is recorded in the audit log,
// asynchronously and rate-limited per source address.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		ua := req.UserAgent()
		if len(ua) > maxUserAgentLen {
			ua = ua[:maxUserAgentLen]
		}
		actor := audit.Actor{
			SourceIP:  s.proxies.sourceIP(req),
			UserAgent: ua,
			RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
		}
		scope, known := requestScope(req, c.Path())
		if !known {
			scope = apitoken.ScopeAdmin
		}
		if scope == scopePublic {
			c.SetRequest(req.WithContext(audit.WithActor(req.Context(), actor)))
			return next(c)
		}
		if err := s.authFailuresExhausted(req.Context(), c, actor.SourceIP); err != nil {
			return err
		}
		tok, err := s.authorize(c, scope)
		if tok != nil {
			actor.TokenID, actor.TokenName = &tok.ID, tok.Name
		}
		ctx := audit.WithActor(req.Context(), actor)
		if err != nil {
			k := fault.KindOf(err)
			if k == fault.KindUnauthorized || k == fault.KindForbidden {
				s.recordFailure(ctx, req.Method, c.Path(), req.URL.Path, err)
			}
			if k == fault.KindUnauthorized {
				s.countAuthFailure(ctx, actor.SourceIP)
			}
			if k == fault.KindUnauthorized && wantsDashboardLogin(req) {
				return loginRedirect(c)
			}
			return err
		}
		s.touches.touch(tok.ID)
		c.SetRequest(req.WithContext(WithToken(ctx, tok)))
		return next(c)
	}
}

// recordFailure queues an auth.failure audit event for a refused request.
// The resource is the route pattern (the path for unknown routes), so the
// log never holds what a client put in a URL beyond the path.
func (s *Server) recordFailure(ctx context.Context, method, route, path string, err error) {
	if route == "" {
		route = path
	}
	if len(route) > 200 {
		route = route[:200]
	}
	reason := "forbidden: "
	if fault.KindOf(err) == fault.KindUnauthorized {
		reason = "unauthorized: "
	}
	if fe, ok := errors.AsType[*fault.Error](err); ok {
		reason += fe.Message
	}
	s.audit.Failure(ctx, audit.Event{
		Actor:        audit.ActorFrom(ctx),
		Action:       audit.ActionAuthFailure,
		ResourceType: audit.ResourceRoute,
		ResourceID:   method + " " + route,
		Outcome:      audit.OutcomeDenied,
		Reason:       reason,
	})
}

// authorize finds the request's credential and checks it against scope.
// It returns the token whenever one was identified, even when refusing
// it, so that the refusal is audited under its name.
func (s *Server) authorize(c echo.Context, scope string) (*apitoken.Token, error) {
	req := c.Request()
	ctx := req.Context()
	// A token in a URL ends up in proxy logs and browser history;
	// refusing it teaches clients not to send one.
	if q := req.URL.Query(); q.Has("token") || q.Has("access_token") {
		return nil, fault.Unauthorized("tokens are not accepted in the URL; send Authorization: Bearer <token>")
	}
	var (
		tok       *apitoken.Token
		err       error
		bySession bool
	)
	if h := req.Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, secret, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, fault.Unauthorized("the Authorization header must be Bearer <token>")
		}
		tok, err = s.tokenFor(ctx, strings.TrimSpace(secret))
	} else if ck, cerr := req.Cookie(sessionCookie); cerr == nil && ck.Value != "" {
		bySession = true
		tok, err = s.sessionToken(ctx, ck.Value)
	} else {
		msg := "missing credential: send Authorization: Bearer <token>"
		if isMonitorPath(req.URL.Path) || dashboardPagePath(req.URL.Path) {
			msg = "missing credential: log in at /login"
		}
		return nil, fault.Unauthorized("%s", msg)
	}
	if err != nil {
		return nil, err
	}
	if !tok.Usable(time.Now()) {
		return tok, fault.Unauthorized("token is revoked or expired")
	}
	if !tok.Has(scope) {
		return tok, fault.Forbidden("this token lacks the %s scope", scope)
	}
	if bySession && !safeMethod(req.Method) && requestSite(req) != siteSame {
		return tok, fault.Forbidden("cross-origin request refused: Origin or Referer must match %s", req.Host)
	}
	return tok, nil
}

// tokenFor resolves a secret to its stored token. The format check comes
// first so that garbage never reaches the database; a well-formed unknown
// token is fault.Unauthorized like a malformed one, so callers learn
// nothing from the difference.
func (s *Server) tokenFor(ctx context.Context, secret string) (*apitoken.Token, error) {
	if err := apitoken.Check(secret); err != nil {
		return nil, fault.Unauthorized("invalid token")
	}
	tok, err := s.tokens.get(ctx, apitoken.Hash(secret))
	if err != nil {
		if fault.KindOf(err) == fault.KindUnauthorized {
			return nil, err
		}
		return nil, fmt.Errorf("look up token: %w", err)
	}
	return tok, nil
}

func isMonitorPath(p string) bool {
	return p == monitorPath || strings.HasPrefix(p, monitorPath+"/")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether a request comes from a page of this server:
// its Origin header, or when there is none its Referer, names the host the
// request was sent to. A browser always sends one of them with a
// cross-site change, so their absence is refused too.
func sameOrigin(req *http.Request) bool {
	src := req.Header.Get("Origin")
	if src == "" || src == "null" {
		src = req.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, req.Host)
}

// Bounds of the in-process token bookkeeping: enough for every live token
// of a deployment, small enough that a flood of distinct tokens cannot
// grow memory without bound.
const (
	maxCachedTokens  = 10_000
	maxTouchedTokens = 10_000
	touchInterval    = time.Minute
	touchTimeout     = 5 * time.Second
)

// tokenCache remembers token lookups for a few seconds, so that a client
// sending many requests costs one database query per TTL. Unknown tokens
// are remembered too, so repeating one does not reach the database either.
type tokenCache struct {
	lookup func(ctx context.Context, hash []byte) (*apitoken.Token, error)
	ttl    time.Duration

	mu      sync.Mutex
	entries map[string]tokenEntry
}

type tokenEntry struct {
	tok     *apitoken.Token
	err     error
	expires time.Time
}

func newTokenCache(lookup func(context.Context, []byte) (*apitoken.Token, error), ttl time.Duration) *tokenCache {
	return &tokenCache{lookup: lookup, ttl: ttl, entries: map[string]tokenEntry{}}
}

// get returns the token with this hash, from the cache while fresh.
func (c *tokenCache) get(ctx context.Context, hash []byte) (*apitoken.Token, error) {
	if c.ttl < 0 {
		return c.lookup(ctx, hash)
	}
	key := string(hash)
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.tok, e.err
	}
	tok, err := c.lookup(ctx, hash)
	if err != nil && fault.KindOf(err) != fault.KindUnauthorized {
		return nil, err // a database failure is not an answer worth keeping
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		for k, old := range c.entries {
			if !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedTokens {
			clear(c.entries)
		}
	}
	c.entries[key] = tokenEntry{tok: tok, err: err, expires: now.Add(c.ttl)}
	return tok, err
}

// toucher records that tokens were used, at most once a minute per token
// and off the request path: last_used_at is for people auditing tokens,
// not worth a write per request or a slower response.
type toucher struct {
	touchFn func(ctx context.Context, id uuid.UUID) error
	log     *slog.Logger

	mu     sync.Mutex
	last   map[uuid.UUID]time.Time
	closed bool
	wg     sync.WaitGroup
}

func newToucher(fn func(context.Context, uuid.UUID) error, log *slog.Logger) *toucher {
	return &toucher{touchFn: fn, log: log, last: map[uuid.UUID]time.Time{}}
}

func (t *toucher) touch(id uuid.UUID) {
	now := time.Now()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	if last, ok := t.last[id]; ok && now.Sub(last) < touchInterval {
		t.mu.Unlock()
		return
	}
	if len(t.last) >= maxTouchedTokens {
		for k, v := range t.last {
			if now.Sub(v) >= touchInterval {
				delete(t.last, k)
			}
		}
		if len(t.last) >= maxTouchedTokens {
			clear(t.last)
		}
	}
	t.last[id] = now
	t.wg.Add(1)
	t.mu.Unlock()

	go func() {
		defer t.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), touchTimeout)
		defer cancel()
		if err := t.touchFn(ctx, id); err != nil {
			t.log.Warn("record token use", "token_id", id, "err", err)
		}
	}()
}

// close stops new touches and waits for those in flight.
func (t *toucher) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}
