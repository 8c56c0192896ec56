package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
)

// site is where a request says it was sent from.
type site int

const (
	// siteUnknown: nothing a browser sends with a form or a fetch, so not
	// a browser (curl, a script): no page can have made it send this.
	siteUnknown site = iota
	// siteSame: a page of this server.
	siteSame
	// siteCross: another site, or one that hides where it is (Origin
	// null, as sandboxed frames send).
	siteCross
)

// requestSite tells where a request comes from. Sec-Fetch-Site, which
// browsers set themselves and pages cannot change, decides when present;
// otherwise the Origin header, or when there is none the Referer (see
// sameOrigin). Only same-origin counts as this server: a sibling
// subdomain is another site.
func requestSite(req *http.Request) site {
	switch strings.ToLower(strings.TrimSpace(req.Header.Get("Sec-Fetch-Site"))) {
	case "same-origin", "none":
		return siteSame
	case "":
	default:
		return siteCross
	}
	if req.Header.Get("Origin") == "" && req.Header.Get("Referer") == "" {
		return siteUnknown
	}
	if sameOrigin(req) {
		return siteSame
	}
	return siteCross
}

// refuseCrossSite refuses a POST to the login or logout form that another
// site's page made: logging the browser in would plant the attacker's
// session (login CSRF), logging it out ends the victim's. A client that is
// not a browser (siteUnknown) is let through, as no page can drive it.
func (s *Server) refuseCrossSite(ctx context.Context, path string) error {
	c := echoContextFrom(ctx)
	if c == nil || requestSite(c.Request()) != siteCross {
		return nil
	}
	err := fault.Forbidden("cross-site request refused: %s takes only this server's own form", path)
	s.recordFailure(ctx, http.MethodPost, path, path, err)
	return err
}

// Per-address budgets in Redis (redis_rate adds its own "rate:" in front).
const (
	loginKeyPrefix    = "sabe:login:"
	authFailKeyPrefix = "sabe:authfail:"
)

// takeLoginAttempt counts a login attempt against the source address's
// budget (LoginRateLimit a minute, shared by every replica) and answers
// 429 past it. When Redis cannot be asked the attempt goes through, as
// for the per-token limit.
func (s *Server) takeLoginAttempt(ctx context.Context, addr string) error {
	if s.cfg.LoginRateLimit <= 0 {
		return nil
	}
	res, err := s.limiter.Allow(ctx, loginKeyPrefix+addr, redis_rate.PerMinute(s.cfg.LoginRateLimit))
	if err != nil {
		s.log.WarnContext(ctx, "login rate limit not checked: redis failed", "err", err)
		return nil
	}
	if res.Allowed == 0 {
		return tooMany(echoContextFrom(ctx), res.RetryAfter,
			fmt.Sprintf("too many login attempts from this address (at most %d a minute); retry later", s.cfg.LoginRateLimit))
	}
	return nil
}

// authFailuresExhausted answers 429 when the source address has no failed
// authentication left in its budget (AuthFailureLimit a minute), before its
// credential is checked: past the budget a guesser learns nothing, not
// even that a guess was right. It only looks; countAuthFailure takes.
func (s *Server) authFailuresExhausted(ctx context.Context, c echo.Context, addr string) error {
	if s.cfg.AuthFailureLimit <= 0 {
		return nil
	}
	res, err := s.limiter.AllowN(ctx, authFailKeyPrefix+addr, redis_rate.PerMinute(s.cfg.AuthFailureLimit), 0)
	if err != nil {
		s.log.WarnContext(ctx, "authentication failure limit not checked: redis failed", "err", err)
		return nil
	}
	// With a cost of 0, Remaining is how many failures the budget still
	// holds; one refills every minute/limit.
	if res.Remaining < 1 {
		return tooMany(c, time.Minute/time.Duration(s.cfg.AuthFailureLimit),
			fmt.Sprintf("too many failed authentications from this address (at most %d a minute); retry later", s.cfg.AuthFailureLimit))
	}
	return nil
}

// countAuthFailure takes one failed authentication from the source
// address's budget.
func (s *Server) countAuthFailure(ctx context.Context, addr string) {
	if s.cfg.AuthFailureLimit <= 0 {
		return
	}
	if _, err := s.limiter.AllowN(ctx, authFailKeyPrefix+addr, redis_rate.PerMinute(s.cfg.AuthFailureLimit), 1); err != nil {
		s.log.WarnContext(ctx, "authentication failure not counted: redis failed", "err", err)
	}
}

// sourceOf is the client address the audit actor on ctx carries.
func sourceOf(ctx context.Context) string {
	return audit.ActorFrom(ctx).SourceIP
}
