package httpapi

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// ParseTrustedProxies parses a comma-separated list of CIDRs or single
// addresses (SABE_TRUSTED_PROXIES) into prefixes.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR or an IP address", part)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or an IP address", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// proxies decides which peers may speak for the client through
// forwarding headers (X-Forwarded-For, X-Real-IP, X-Forwarded-Proto). A
// header from anyone else is a claim the client made about itself and is
// ignored.
type proxies []netip.Prefix

func (p proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// peer is the address the request's connection came from.
func peer(req *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// sourceIP is the client's address: the peer's, unless the peer is a
// trusted proxy, in which case the right-most X-Forwarded-For entry that is
// not itself a trusted proxy (the left part of the list is whatever the
// client wrote), or X-Real-IP.
func (p proxies) sourceIP(req *http.Request) string {
	a, ok := peer(req)
	if !ok {
		return req.RemoteAddr
	}
	if !p.trusted(a) {
		return a.String()
	}
	if xff := req.Header.Values(echo.HeaderXForwardedFor); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			h = h.Unmap()
			if !p.trusted(h) || i == 0 {
				return h.String()
			}
		}
	}
	if xr, err := netip.ParseAddr(strings.TrimSpace(req.Header.Get(echo.HeaderXRealIP))); err == nil {
		return xr.Unmap().String()
	}
	return a.String()
}

// overTLS reports whether the client reached us over HTTPS: directly, or
// through a trusted proxy that says so.
func (p proxies) overTLS(req *http.Request) bool {
	if req.TLS != nil {
		return true
	}
	a, ok := peer(req)
	return ok && p.trusted(a) && strings.EqualFold(strings.TrimSpace(req.Header.Get(echo.HeaderXForwardedProto)), "https")
}

// apiCSP is the Content-Security-Policy of every response that does not
// set its own (JSON answers): nothing may load, nothing may frame it.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

// hstsValue asks browsers to use HTTPS only for a year.
const hstsValue = "max-age=31536000; includeSubDomains"

// securityHeaders sets the headers every response carries. The pages
// (login, monitoring) replace the CSP with their own. HSTS is only sent
// when the request came over HTTPS: sent over plain HTTP it is ignored by
// browsers anyway, and it would be wrong on a development server.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		h.Set(echo.HeaderXFrameOptions, "DENY")
		h.Set(echo.HeaderReferrerPolicy, "no-referrer")
		h.Set(echo.HeaderContentSecurityPolicy, apiCSP)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.proxies.overTLS(c.Request()) {
			h.Set(echo.HeaderStrictTransportSecurity, hstsValue)
		}
		return next(c)
	}
}

// cors answers cross-origin requests from the configured origins only. With
// no origins configured it is not installed at all, so no response carries
// a CORS header. Credentials (cookies) are not allowed cross-origin: API
// clients authenticate with a Bearer token, and the session cookie is for
// this server's own pages.
func cors(origins []string) echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:     origins,
		AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID},
		ExposeHeaders:    []string{echo.HeaderXRequestID, echo.HeaderRetryAfter},
		AllowCredentials: false,
		MaxAge:           600,
	})
}

// rateKeyPrefix prefixes the per-token rate limit keys in Redis (redis_rate
// adds its own "rate:" in front).
const rateKeyPrefix = "sabe:token:"

// rateLimit allows each token RateLimit requests a minute, counted in Redis
// so that every api replica shares the budget (GCRA, so a burst up to the
// per-minute figure is allowed). It runs after authentication: requests
// without a token are either public or already refused. When Redis cannot
// be asked the request goes through: the limit protects against a runaway
// client, and refusing every request while Redis is away would turn a
// degraded queue into a full outage.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := TokenFrom(c.Request().Context())
		if !ok || s.cfg.RateLimit <= 0 {
			return next(c)
		}
		res, err := s.limiter.Allow(c.Request().Context(), rateKeyPrefix+tok.ID.String(), redis_rate.PerMinute(s.cfg.RateLimit))
		if err != nil {
			s.log.WarnContext(c.Request().Context(), "rate limit not checked: redis failed", "token_id", tok.ID, "err", err)
			return next(c)
		}
		if res.Allowed == 0 {
			return tooMany(c, res.RetryAfter,
				fmt.Sprintf("this token is over its limit of %d requests a minute; retry later", s.cfg.RateLimit))
		}
		return next(c)
	}
}

// tooMany is a 429 with its Retry-After: the one way the API says "not
// now" (per-token and per-address limits, busy model lists).
func tooMany(c echo.Context, wait time.Duration, msg string) error {
	setRetryAfter(c, wait)
	return echo.NewHTTPError(http.StatusTooManyRequests, msg)
}

// setRetryAfter says on the response when to try again; c is nil for a
// handler called outside Echo.
func setRetryAfter(c echo.Context, wait time.Duration) {
	if c != nil {
		c.Response().Header().Set(echo.HeaderRetryAfter, retryAfter(wait))
	}
}

// retryAfter renders a wait as whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
