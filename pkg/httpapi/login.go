package httpapi

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// afterLogin is where a browser goes once logged in when the login link
// named nowhere else: the dashboard.
const afterLogin = dashboardRoot

// loginPage is the login form: one self-contained page with no external
// assets, so that it works offline and its Content-Security-Policy can
// forbid everything but its own inline style.
var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SABE · Log in</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f4f5f7; color: #1d2330; margin: 0; }
  main { max-width: 26rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
  h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
  p { line-height: 1.4; }
  label { display: block; font-weight: 600; margin: 1rem 0 .3rem; }
  input { width: 100%; box-sizing: border-box; padding: .55rem; font: inherit; font-family: ui-monospace, monospace; border: 1px solid #b8bfcc; border-radius: 4px; }
  button { margin-top: 1rem; padding: .55rem 1.2rem; font: inherit; background: #2b5fd9; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
  .error { background: #fdecec; color: #8a1c1c; padding: .6rem .8rem; border-radius: 4px; }
  code { background: #eef0f4; padding: 0 .25rem; border-radius: 3px; }
</style>
</head>
<body>
<main>
<h1>SABE</h1>
<p>Paste an API token to open SABE's dashboard. Create one with <code>sabe token create --name NAME</code>; a token with the read scope shows every page, and the write scope its actions.</p>
<p>Admin tokens also open the queue monitor at <code>/monitoring</code>.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
{{if .Next}}<input type="hidden" name="next" value="{{.Next}}">{{end}}
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required maxlength="512" placeholder="sabe_..." autofocus>
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
`))

// renderLogin renders the form with an error message (if any) and where to
// go after logging in (next, already checked by safeNext).
func renderLogin(errMsg, next string) []byte {
	var buf bytes.Buffer
	// The template and its string fields cannot fail to render.
	_ = loginPage.Execute(&buf, struct{ Error, Next string }{errMsg, next})
	return buf.Bytes()
}

// safeNext returns next when it is a path on this server, else
// afterLogin: a login link must not be able to send the browser to
// another site (an open redirect), so "//host", "/\\host", schemes and
// anything unparsable are refused.
func safeNext(next *string) string {
	if next == nil {
		return afterLogin
	}
	n := *next
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.ContainsAny(n, "\\\x00\r\n\t") {
		return afterLogin
	}
	u, err := url.Parse(n)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return afterLogin
	}
	return n
}

// loginRedirect sends a browser that asked for a page needing a session
// to the login form, which brings it back there afterwards.
func loginRedirect(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
}

// wantsPage reports whether a request is a browser's navigation (it
// accepts HTML and carries no API credential), which should get the login
// form rather than a JSON 401.
func wantsPage(req *http.Request) bool {
	return safeMethod(req.Method) && req.Header.Get(echo.HeaderAuthorization) == "" &&
		strings.Contains(req.Header.Get(echo.HeaderAccept), "text/html")
}

type echoContextKey struct{}

// withEchoContext hands the Echo context to the handlers that need more of
// the request or response than the strict interface gives them (cookies,
// headers): the login page, the session routes, run creation and remote
// model lists (their Retry-After), run results (their Accept picks an
// export) and benchmark updates (whose alerts may be an explicit null).
func withEchoContext(f oapi.StrictHandlerFunc, operationID string) oapi.StrictHandlerFunc {
	switch operationID {
	case "LoginPage", "Login", "Logout", "GetSession", "CreateRun", "ListRemoteModels", "ListRunResults", "UpdateBenchmark":
	default:
		return f
	}
	return func(c echo.Context, req any) (any, error) {
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), echoContextKey{}, c)))
		return f(c, req)
	}
}

func echoContextFrom(ctx context.Context) echo.Context {
	c, _ := ctx.Value(echoContextKey{}).(echo.Context)
	return c
}

// setPageHeaders keeps the login page out of caches and frames, and lets
// it load nothing but itself.
func setPageHeaders(ctx context.Context) {
	c := echoContextFrom(ctx)
	if c == nil {
		return
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	// same-origin rather than no-referrer: under no-referrer the form's
	// POST carries "Origin: null", which cannot be told from a sandboxed
	// page of another site.
	h.Set("Referrer-Policy", "same-origin")
}

// LoginPage serves the login form.
func (a *api) LoginPage(ctx context.Context, req oapi.LoginPageRequestObject) (oapi.LoginPageResponseObject, error) {
	setPageHeaders(ctx)
	page := renderLogin("", safeNext(req.Params.Next))
	return oapi.LoginPage200TexthtmlResponse{Body: bytes.NewReader(page), ContentLength: int64(len(page))}, nil
}

// Login exchanges a token for a session cookie. The token is checked like
// a Bearer token; a bad one gets the form again with a message, and so
// does one without the read scope, which no page of the dashboard would
// accept. The session has the token's scopes: the dashboard hides the
// actions it may not take, and the queue monitor needs admin.
func (a *api) Login(ctx context.Context, req oapi.LoginRequestObject) (oapi.LoginResponseObject, error) {
	setPageHeaders(ctx)
	if err := a.s.refuseCrossSite(ctx, "/login"); err != nil {
		return nil, err
	}
	addr := sourceOf(ctx)
	if err := a.s.takeLoginAttempt(ctx, addr); err != nil {
		return nil, err
	}
	if err := a.s.authFailuresExhausted(ctx, echoContextFrom(ctx), addr); err != nil {
		return nil, err
	}
	var secret string
	next := afterLogin
	if req.Body != nil {
		secret = strings.TrimSpace(req.Body.Token)
		next = safeNext(req.Body.Next)
	}
	tok, err := a.s.tokenFor(ctx, secret)
	if err == nil && !tok.Usable(time.Now()) {
		err = fault.Unauthorized("token is revoked or expired")
	}
	if err != nil {
		if fault.KindOf(err) != fault.KindUnauthorized {
			return nil, err
		}
		a.s.recordFailure(ctx, http.MethodPost, "/login", "/login", err)
		a.s.countAuthFailure(ctx, addr)
		page := renderLogin("That token was not accepted: it is mistyped, unknown, revoked or expired.", next)
		return oapi.Login401TexthtmlResponse{Body: bytes.NewReader(page), ContentLength: int64(len(page))}, nil
	}
	if !tok.Has(apitoken.ScopeRead) {
		err := fault.Forbidden("this token lacks the %s scope", apitoken.ScopeRead)
		actor := audit.ActorFrom(ctx)
		actor.TokenID, actor.TokenName = &tok.ID, tok.Name
		a.s.recordFailure(audit.WithActor(ctx, actor), http.MethodPost, "/login", "/login", err)
		page := renderLogin("That token has the scopes "+strings.Join(tok.Scopes, ", ")+
			"; the dashboard needs one with the read scope (sabe token create --name NAME --scope read).", next)
		return oapi.Login403TexthtmlResponse{Body: bytes.NewReader(page), ContentLength: int64(len(page))}, nil
	}
	id, err := a.s.sessions.create(ctx, tok, apitoken.Hash(secret))
	if err != nil {
		return nil, err
	}
	a.s.touches.touch(tok.ID)
	location, cookie := next, a.s.sessionCookieFor(echoContextFrom(ctx).Request(), id).String()
	return oapi.Login303Response{Headers: oapi.Login303ResponseHeaders{Location: &location, SetCookie: &cookie}}, nil
}

// Logout ends the browser's session, if it has one, and clears the cookie.
func (a *api) Logout(ctx context.Context, _ oapi.LogoutRequestObject) (oapi.LogoutResponseObject, error) {
	if err := a.s.refuseCrossSite(ctx, "/logout"); err != nil {
		return nil, err
	}
	c := echoContextFrom(ctx)
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := a.s.sessions.remove(ctx, ck.Value); err != nil {
			return nil, err
		}
	}
	location, cookie := "/login", a.s.expiredSessionCookie(c.Request()).String()
	return oapi.Logout303Response{Headers: oapi.Logout303ResponseHeaders{Location: &location, SetCookie: &cookie}}, nil
}
