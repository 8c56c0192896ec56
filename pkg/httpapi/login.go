package httpapi

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/fault"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// afterLogin is where a browser goes once logged in.
const afterLogin = monitorPath + "/"

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
<p>Paste an API token to open the queue monitor. Create one with <code>sabe token create --name NAME</code>.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required maxlength="512" placeholder="sabe_..." autofocus>
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
`))

func renderLogin(errMsg string) []byte {
	var buf bytes.Buffer
	// The template and its one string field cannot fail to render.
	_ = loginPage.Execute(&buf, struct{ Error string }{errMsg})
	return buf.Bytes()
}

type echoContextKey struct{}

// withEchoContext hands the Echo context to the handlers that need more of
// the request or response than the strict interface gives them (cookies,
// headers): the login page, the session routes, and run creation (its
// Retry-After).
func withEchoContext(f oapi.StrictHandlerFunc, operationID string) oapi.StrictHandlerFunc {
	switch operationID {
	case "LoginPage", "Login", "Logout", "CreateRun":
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
	h.Set("Referrer-Policy", "no-referrer")
}

// LoginPage serves the login form.
func (a *api) LoginPage(ctx context.Context, _ oapi.LoginPageRequestObject) (oapi.LoginPageResponseObject, error) {
	setPageHeaders(ctx)
	page := renderLogin("")
	return oapi.LoginPage200TexthtmlResponse{Body: bytes.NewReader(page), ContentLength: int64(len(page))}, nil
}

// Login exchanges a token for a session cookie. The token is checked like
// a Bearer token; a bad one gets the form again with a message.
func (a *api) Login(ctx context.Context, req oapi.LoginRequestObject) (oapi.LoginResponseObject, error) {
	setPageHeaders(ctx)
	var secret string
	if req.Body != nil {
		secret = strings.TrimSpace(req.Body.Token)
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
		page := renderLogin("That token was not accepted: it is mistyped, unknown, revoked or expired.")
		return oapi.Login401TexthtmlResponse{Body: bytes.NewReader(page), ContentLength: int64(len(page))}, nil
	}
	id, err := a.s.sessions.create(ctx, tok, apitoken.Hash(secret))
	if err != nil {
		return nil, err
	}
	a.s.touches.touch(tok.ID)
	location, cookie := afterLogin, a.s.sessionCookieFor(id).String()
	return oapi.Login303Response{Headers: oapi.Login303ResponseHeaders{Location: &location, SetCookie: &cookie}}, nil
}

// Logout ends the browser's session, if it has one, and clears the cookie.
func (a *api) Logout(ctx context.Context, _ oapi.LogoutRequestObject) (oapi.LogoutResponseObject, error) {
	if c := echoContextFrom(ctx); c != nil {
		if ck, err := c.Cookie(sessionCookie); err == nil {
			if err := a.s.sessions.remove(ctx, ck.Value); err != nil {
				return nil, err
			}
		}
	}
	location, cookie := "/login", a.s.expiredSessionCookie().String()
	return oapi.Logout303Response{Headers: oapi.Logout303ResponseHeaders{Location: &location, SetCookie: &cookie}}, nil
}
