package httpapi

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/pkg/apitoken"
)

// scopePublic marks a route that answers without a credential.
const scopePublic = "public"

// anyMethod stands for every method in routeScopes, for routes Echo
// registers with Any (asynqmon's).
const anyMethod = "*"

// routeKey is a route as Echo registers it: the method and the path
// pattern (":id" parameters, "*" wildcards), not the request's path.
type routeKey struct{ method, path string }

// routeScopes is the scope every route needs, declared one by one rather
// than derived from the method, so that a new route is a decision: the
// authentication middleware refuses a route missing from it (New refuses
// to build a server with one), and a test checks the table against the
// routes Echo registers and the OpenAPI document.
var routeScopes = map[routeKey]string{
	{http.MethodGet, "/healthz"}:      scopePublic,
	{http.MethodGet, "/readyz"}:       scopePublic,
	{http.MethodGet, "/openapi.json"}: scopePublic,
	{http.MethodGet, "/login"}:        scopePublic,
	{http.MethodPost, "/login"}:       scopePublic,
	{http.MethodPost, "/logout"}:      scopePublic,

	// The dashboard's pages need a session (or token) like the API they
	// call, so that a browser without one is sent to log in. Its files and
	// icon are public: they are the open-source build, hold no data, may
	// be cached by anyone, and a chunk loaded after the session expired
	// must still load so that the app can send the browser to log in.
	{http.MethodGet, dashboardRoot}:    apitoken.ScopeRead,
	{http.MethodGet, dashboardPages}:   apitoken.ScopeRead,
	{http.MethodGet, dashboardAssets}:  scopePublic,
	{http.MethodGet, dashboardFavicon}: scopePublic,
	{http.MethodGet, dashboardIcon}:    scopePublic,

	{http.MethodGet, "/v1/providers"}:                   apitoken.ScopeRead,
	{http.MethodPost, "/v1/providers"}:                  apitoken.ScopeWrite,
	{http.MethodGet, "/v1/providers/:id"}:               apitoken.ScopeRead,
	{http.MethodPatch, "/v1/providers/:id"}:             apitoken.ScopeWrite,
	{http.MethodDelete, "/v1/providers/:id"}:            apitoken.ScopeWrite,
	{http.MethodPost, "/v1/providers/:id/test"}:         apitoken.ScopeWrite,
	{http.MethodGet, "/v1/providers/:id/remote-models"}: apitoken.ScopeRead,

	{http.MethodGet, "/v1/models"}:        apitoken.ScopeRead,
	{http.MethodPost, "/v1/models"}:       apitoken.ScopeWrite,
	{http.MethodGet, "/v1/models/:id"}:    apitoken.ScopeRead,
	{http.MethodPatch, "/v1/models/:id"}:  apitoken.ScopeWrite,
	{http.MethodDelete, "/v1/models/:id"}: apitoken.ScopeWrite,

	{http.MethodGet, "/v1/suites"}:                         apitoken.ScopeRead,
	{http.MethodPost, "/v1/suites"}:                        apitoken.ScopeWrite,
	{http.MethodGet, "/v1/suites/:id"}:                     apitoken.ScopeRead,
	{http.MethodPatch, "/v1/suites/:id"}:                   apitoken.ScopeWrite,
	{http.MethodDelete, "/v1/suites/:id"}:                  apitoken.ScopeWrite,
	{http.MethodGet, "/v1/suites/:id/questions"}:           apitoken.ScopeRead,
	{http.MethodPost, "/v1/suites/:id/questions"}:          apitoken.ScopeWrite,
	{http.MethodPost, "/v1/suites/:id/questions\\:import"}: apitoken.ScopeWrite,

	{http.MethodGet, "/v1/questions/:id"}:    apitoken.ScopeRead,
	{http.MethodPatch, "/v1/questions/:id"}:  apitoken.ScopeWrite,
	{http.MethodDelete, "/v1/questions/:id"}: apitoken.ScopeWrite,

	{http.MethodGet, "/v1/benchmarks"}:                 apitoken.ScopeRead,
	{http.MethodPost, "/v1/benchmarks"}:                apitoken.ScopeWrite,
	{http.MethodGet, "/v1/benchmarks/:id"}:             apitoken.ScopeRead,
	{http.MethodPatch, "/v1/benchmarks/:id"}:           apitoken.ScopeWrite,
	{http.MethodDelete, "/v1/benchmarks/:id"}:          apitoken.ScopeWrite,
	{http.MethodGet, "/v1/benchmarks/:id/estimate"}:    apitoken.ScopeRead,
	{http.MethodPost, "/v1/benchmarks/:id/runs"}:       apitoken.ScopeWrite,
	{http.MethodGet, "/v1/runs"}:                       apitoken.ScopeRead,
	{http.MethodGet, "/v1/runs/:id"}:                   apitoken.ScopeRead,
	{http.MethodGet, "/v1/runs/:id/events"}:            apitoken.ScopeRead,
	{http.MethodGet, "/v1/runs/:id/results"}:           apitoken.ScopeRead,
	{http.MethodGet, "/v1/runs/:id/rankings"}:          apitoken.ScopeRead,
	{http.MethodPost, "/v1/runs/:id/cancel"}:           apitoken.ScopeWrite,
	{http.MethodPost, "/v1/runs/:id/rescore"}:          apitoken.ScopeWrite,
	{http.MethodGet, "/v1/runs/:id/rescores"}:          apitoken.ScopeRead,
	{http.MethodGet, "/v1/runs/:id/rescores/:version"}: apitoken.ScopeRead,
	{http.MethodPost, "/v1/runs/:id/retry-failed"}:     apitoken.ScopeWrite,
	{http.MethodGet, "/v1/runs/:id/agreement"}:         apitoken.ScopeRead,
	{http.MethodGet, "/v1/session"}:                    apitoken.ScopeRead,
	{http.MethodPut, "/v1/executions/:id/review"}:      apitoken.ScopeWrite,

	{http.MethodGet, "/v1/analytics/timeseries"}: apitoken.ScopeRead,
	{http.MethodGet, "/v1/analytics/compare"}:    apitoken.ScopeRead,
	{http.MethodGet, "/v1/leaderboard"}:          apitoken.ScopeRead,
	{http.MethodGet, "/v1/models/:id/drift"}:     apitoken.ScopeRead,
	{http.MethodGet, "/v1/alerts"}:               apitoken.ScopeRead,
	{http.MethodGet, "/v1/alerts/:id"}:           apitoken.ScopeRead,

	// Tokens grant access, and the audit log tells who did what: both are
	// for admins only.
	{http.MethodGet, "/v1/tokens"}:        apitoken.ScopeAdmin,
	{http.MethodPost, "/v1/tokens"}:       apitoken.ScopeAdmin,
	{http.MethodDelete, "/v1/tokens/:id"}: apitoken.ScopeAdmin,
	{http.MethodGet, "/v1/audit"}:         apitoken.ScopeAdmin,
	// A benchmark's budget is what its schedule spends instead of the
	// budget of the token that set it.
	{http.MethodPut, "/v1/benchmarks/:id/budget"}: apitoken.ScopeAdmin,

	// asynqmon can delete and run tasks.
	{anyMethod, monitorPath}:        apitoken.ScopeAdmin,
	{anyMethod, monitorPath + "/*"}: apitoken.ScopeAdmin,
}

// scopeFor returns the scope the route (method, Echo path) needs, and
// false when the table does not know it.
func scopeFor(method, path string) (string, bool) {
	if sc, ok := routeScopes[routeKey{method, path}]; ok {
		return sc, true
	}
	sc, ok := routeScopes[routeKey{anyMethod, path}]
	return sc, ok
}

// requestScope returns the scope a request needs, routed by Echo to the
// route path: its declared scope, except that a path under /v1 or a system
// route that only the dashboard's catch-all page route matched is an
// unknown route, which needs admin like any other.
func requestScope(req *http.Request, route string) (string, bool) {
	if route == dashboardPages && !dashboardPagePath(req.URL.Path) {
		return "", false
	}
	return scopeFor(req.Method, route)
}

// checkScopes returns an error naming every registered route without a
// declared scope, so that a server missing one never starts.
func checkScopes(routes []*echo.Route) error {
	var missing []string
	for _, r := range routes {
		if _, ok := scopeFor(r.Method, r.Path); !ok {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("httpapi: routes without a declared scope: %v", missing)
	}
	return nil
}
