package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/pkg/dashboard"
)

// dashboardCSP is the Content-Security-Policy of the dashboard's page and
// files: scripts, styles, fonts and API calls from this server only,
// nothing inline, no frames. The app is built without inline scripts or
// styles (see pkg/dashboard/web/vite.config.ts) so it needs no exception.
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Routes of the dashboard. Page paths are everything else a GET may ask
// for (dashboardPagePath), which the app's own router tells apart.
const (
	dashboardAssets  = "/assets/*"
	dashboardFavicon = "/favicon.ico"
	dashboardIcon    = "/favicon.svg"
	dashboardRoot    = "/"
	dashboardPages   = "/*"
)

// reservedPrefixes are the paths that belong to the API and the system
// routes, never to the app: an unknown path under them is a JSON 404, not
// the app's page.
var reservedPrefixes = []string{"/v1", "/healthz", "/readyz", "/openapi.json", "/login", "/logout", monitorPath, "/assets"}

// dashboardPagePath reports whether a request path is one of the app's
// pages: any path outside the reserved ones.
func dashboardPagePath(p string) bool {
	for _, r := range reservedPrefixes {
		if p == r || strings.HasPrefix(p, r+"/") {
			return false
		}
	}
	return true
}

// mountDashboard routes the dashboard: its page for "/" and every page
// path (the app routes in the browser), its hashed files under /assets/
// and its icon. A GET for a path under a reserved prefix that no route
// matched lands on the page route too and is answered 404 there (after
// authentication, which treats it as the unknown route it is: see
// requestScope).
func mountDashboard(e *echo.Echo, d *dashboard.Dashboard) {
	page := func(c echo.Context) error {
		if !dashboardPagePath(c.Request().URL.Path) {
			return echo.ErrNotFound
		}
		return serveDashboardFile(c, d.Index())
	}
	e.GET(dashboardRoot, page)
	e.GET(dashboardPages, page)
	e.GET(dashboardAssets, func(c echo.Context) error {
		f, ok := d.Asset(c.Param("*"))
		if !ok {
			return echo.ErrNotFound
		}
		return serveDashboardFile(c, f)
	})
	icon := func(c echo.Context) error {
		if d.Favicon() == nil {
			return echo.ErrNotFound
		}
		return serveDashboardFile(c, d.Favicon())
	}
	e.GET(dashboardFavicon, icon)
	e.GET(dashboardIcon, icon)
}

// pagesAreGETOnly answers 404, not 405, to another method on a path only
// the page route matched: Echo would otherwise say that the unknown path
// allows GET. A known route's 405 (PUT /v1/providers) is left alone. It
// runs after authentication, so an unknown path is refused to whoever may
// not ask for one, as before the page route existed.
func pagesAreGETOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == dashboardPages && c.Request().Method != http.MethodGet {
			return echo.ErrNotFound
		}
		return next(c)
	}
}

// serveDashboardFile writes one of the dashboard's files under its
// Content-Security-Policy.
func serveDashboardFile(c echo.Context, f *dashboard.File) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentSecurityPolicy, dashboardCSP)
	h.Set(echo.HeaderXFrameOptions, "DENY")
	// same-origin rather than no-referrer, as for the login page: the
	// app's changes carry the session cookie, and the cross-site check
	// (requestSite) falls back on the Referer.
	h.Set(echo.HeaderReferrerPolicy, "same-origin")
	f.ServeHTTP(c.Response(), c.Request())
	return nil
}

// isDashboardRoute reports whether an Echo route path is one of the
// dashboard's, which the OpenAPI document does not describe.
func isDashboardRoute(p string) bool {
	switch p {
	case dashboardAssets, dashboardFavicon, dashboardIcon, dashboardRoot, dashboardPages:
		return true
	}
	return false
}

// wantsDashboardLogin reports whether a refused request is a browser
// navigating to a page that needs a session (the dashboard's pages or the
// queue monitor): it is sent to log in instead of getting a JSON 401.
func wantsDashboardLogin(req *http.Request) bool {
	return wantsPage(req) && (isMonitorPath(req.URL.Path) || dashboardPagePath(req.URL.Path))
}
