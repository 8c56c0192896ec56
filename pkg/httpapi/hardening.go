package httpapi

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/fault"
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
			s.log.WarnContext(c.Request().Context(), "rate limit not checked: redis failed", "token_id", tok.ID, "error", err)
			return next(c)
		}
		if res.Allowed == 0 {
			c.Response().Header().Set(echo.HeaderRetryAfter, retryAfter(res.RetryAfter))
			return echo.NewHTTPError(http.StatusTooManyRequests,
				fmt.Sprintf("this token is over its limit of %d requests a minute; retry later", s.cfg.RateLimit))
		}
		return next(c)
	}
}

// retryAfter renders a wait as whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// unitsKeyPrefix prefixes the per-token daily unit counters; the key ends
// with the token id and the UTC date.
const unitsKeyPrefix = "sabe:units:"

// reserveUnitsScript adds ARGV[1] units to the day's counter unless that
// takes it over ARGV[2], in one step so that two replicas cannot both take
// the last of the budget. It returns the new total, or -1 when refused.
// The key outlives its day by a day, for late readers; then it goes.
var reserveUnitsScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if cur + n > tonumber(ARGV[2]) then
  return -1
end
local v = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], 172800)
return v
`)

// unitBudget counts, per token and UTC day, the units of the runs a token
// started, shared by every api replica through Redis.
type unitBudget struct {
	rdb redis.UniversalClient
	max int
	now func() time.Time
}

func (b *unitBudget) key(tokenID string, day time.Time) string {
	return unitsKeyPrefix + tokenID + ":" + day.Format(time.DateOnly)
}

// reserve takes n units of the token's budget for today. It returns false
// and how long until the budget renews when there are not enough left.
func (b *unitBudget) reserve(ctx context.Context, tokenID string, n int) (bool, time.Duration, string, error) {
	now := b.now().UTC()
	key := b.key(tokenID, now)
	v, err := reserveUnitsScript.Run(ctx, b.rdb, []string{key}, n, b.max).Int64()
	if err != nil {
		return false, 0, key, fmt.Errorf("reserve units: %w", err)
	}
	if v < 0 {
		midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
		return false, midnight.Sub(now), key, nil
	}
	return true, 0, key, nil
}

// adjust corrects a reservation by delta units (negative to give some back)
// once the run's real size is known, or after it could not be created.
func (b *unitBudget) adjust(ctx context.Context, key string, delta int) error {
	if delta == 0 {
		return nil
	}
	return b.rdb.IncrBy(ctx, key, int64(delta)).Err()
}

// reservation is a part of a token's daily unit budget taken for a run
// about to be created.
type reservation struct {
	key   string
	units int
}

// reserveRunUnits takes a run's units (as the benchmark stands now) from
// the requesting token's daily budget, before the run exists, so that two
// requests racing for the last of the budget cannot both get it. A run
// bigger than the whole budget is invalid (422 on model_ids); one over
// what is left today is 429 with Retry-After until UTC midnight.
func (s *Server) reserveRunUnits(ctx context.Context, benchmarkID uuid.UUID) (reservation, error) {
	tok, ok := TokenFrom(ctx)
	if s.cfg.MaxUnitsPerTokenDay <= 0 || !ok {
		return reservation{}, nil
	}
	b, err := s.store.GetBenchmark(ctx, benchmarkID)
	if err != nil {
		return reservation{}, err
	}
	if b.UnitCount > s.cfg.MaxUnitsPerTokenDay {
		return reservation{}, fault.Invalid("model_ids", "a run of this benchmark has %d units, over the %d units a token may start per day",
			b.UnitCount, s.cfg.MaxUnitsPerTokenDay)
	}
	okay, wait, key, err := s.units.reserve(ctx, tok.ID.String(), b.UnitCount)
	if err != nil {
		s.log.WarnContext(ctx, "daily unit budget not checked: redis failed", "token_id", tok.ID, "error", err)
		return reservation{}, fault.Unavailable("the daily unit budget cannot be checked because Redis is unreachable; try again")
	}
	if !okay {
		if c := echoContextFrom(ctx); c != nil {
			c.Response().Header().Set(echo.HeaderRetryAfter, retryAfter(wait))
		}
		return reservation{}, echo.NewHTTPError(http.StatusTooManyRequests,
			fmt.Sprintf("this run's %d units would take this token over its %d units a day; retry after midnight UTC",
				b.UnitCount, s.cfg.MaxUnitsPerTokenDay))
	}
	return reservation{key: key, units: b.UnitCount}, nil
}

// settle corrects a reservation once the run is created with total units
// (the benchmark may have changed in between), or gives it back (total 0)
// when the run was not created.
func (s *Server) settle(ctx context.Context, r reservation, total int) {
	if r.key == "" {
		return
	}
	if err := s.units.adjust(context.WithoutCancel(ctx), r.key, total-r.units); err != nil {
		s.log.WarnContext(ctx, "correct a daily unit reservation", "key", r.key, "error", err)
	}
}
