package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/labstack/echo/v4"
)

// newMonitor builds asynqmon for /monitoring. It shows task payloads and
// results through formatters that print only identifiers, so that nothing
// a task carries can leak through the UI even if a payload ever held more
// than the ids SABE puts there.
func newMonitor(conn asynq.RedisConnOpt) *asynqmon.HTTPHandler {
	return asynqmon.New(asynqmon.Options{
		RootPath:         monitorPath,
		RedisConnOpt:     conn,
		PayloadFormatter: asynqmon.PayloadFormatterFunc(formatPayload),
		ResultFormatter:  asynqmon.ResultFormatterFunc(formatResult),
	})
}

// mountMonitor routes /monitoring and everything under it to asynqmon,
// under the Content-Security-Policy csp. Authentication (admin scope) is
// the server-wide middleware's job.
func (s *Server) mountMonitor(e *echo.Echo, csp string) {
	e.Any(monitorPath, func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, monitorPath+"/")
	})
	e.Any(monitorPath+"/*", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentSecurityPolicy, csp)
		c.Response().Header().Set("Cache-Control", "no-store")
		s.monitor.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}

// inlineScript matches a <script> element and its attributes and body.
var inlineScript = regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)

// InlineScriptHashes returns the CSP source expressions ('sha256-...') of
// the inline scripts of an HTML page, in page order; scripts with a src
// attribute load from the server and need none.
func InlineScriptHashes(page []byte) []string {
	var out []string
	for _, m := range inlineScript.FindAllSubmatch(page, -1) {
		if bytes.Contains(bytes.ToLower(m[1]), []byte("src=")) {
			continue
		}
		sum := sha256.Sum256(m[2])
		out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return out
}

// monitorCSP builds the monitoring page's Content-Security-Policy from the
// page asynqmon serves: its inline scripts (the root path and flags it
// writes into the page, and webpack's loader) are allowed by hash, and
// nothing else inline. The page is rendered in process, as a browser would
// get it, because asynqmon fills in a template. Styles stay
// 'unsafe-inline': asynqmon's Material UI (JSS) inserts <style> elements
// at run time, and without them the page is unusable. Google Fonts, which
// asynqmon's page links, are not allowed: the page falls back to the
// system's fonts rather than reach a third party.
func monitorCSP(h http.Handler) (string, error) {
	req, err := http.NewRequest(http.MethodGet, monitorPath+"/", nil)
	if err != nil {
		return "", err
	}
	rec := &pageRecorder{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(rec, req)
	if rec.status != http.StatusOK {
		return "", fmt.Errorf("httpapi: asynqmon's index page: status %d", rec.status)
	}
	hashes := InlineScriptHashes(rec.body.Bytes())
	scripts := "'self'"
	if len(hashes) > 0 {
		scripts += " " + strings.Join(hashes, " ")
	}
	return "default-src 'self'; script-src " + scripts +
		"; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'" +
		"; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'", nil
}

// formatPayload shows the identifiers in a task's JSON payload: members
// named id or ending in _id whose value is a UUID, and the integer unit
// index, which identifies a unit within its run. Anything else, and any
// payload that is not a JSON object, is withheld.
func formatPayload(_ string, payload []byte) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil {
		return fmt.Sprintf("(%d bytes withheld)", len(payload))
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	withheld := 0
	for _, k := range keys {
		if v, ok := idValue(k, obj[k]); ok {
			parts = append(parts, k+"="+v)
		} else {
			withheld++
		}
	}
	if withheld > 0 {
		parts = append(parts, fmt.Sprintf("(%d other fields withheld)", withheld))
	}
	if len(parts) == 0 {
		return "(no identifiers)"
	}
	return strings.Join(parts, " ")
}

// idValue returns the printable form of an identifier member.
func idValue(key string, raw json.RawMessage) (string, bool) {
	if key == "unit" {
		var n int64
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		return strconv.FormatInt(n, 10), true
	}
	if key != "id" && !strings.HasSuffix(key, "_id") {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return id.String(), true
}

// formatResult withholds task results: SABE's tasks write none, and a
// result written by anything else is not for the UI.
func formatResult(_ string, result []byte) string {
	if len(result) == 0 {
		return ""
	}
	return fmt.Sprintf("(%d bytes withheld)", len(result))
}

// pageRecorder keeps what a handler writes, to read a page in process
// (net/http/httptest would register its flags in the binary).
type pageRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *pageRecorder) Header() http.Header         { return r.header }
func (r *pageRecorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *pageRecorder) WriteHeader(code int)        { r.status = code }
