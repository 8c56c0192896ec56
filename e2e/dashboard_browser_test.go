package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sabe-dev/sabe/internal/browser"
)

// stepTimeout bounds one browser step (a navigation, a wait), so a page
// that never becomes ready fails the test instead of hanging it. It is a
// guard, not a measurement.
const stepTimeout = 30 * time.Second

// tab is a browser tab on the dashboard under test, with what it has
// requested and logged since it opened.
type tab struct {
	ctx  context.Context
	base string
	rec  *recorder
}

// newTab records the tab's requests and console from now on.
func newTab(t *testing.T, ctx context.Context, base string) *tab {
	t.Helper()
	rec := &recorder{}
	if err := chromedp.Listen(ctx, rec.event); err != nil {
		t.Fatal(err)
	}
	return &tab{ctx: ctx, base: base, rec: rec}
}

// otherSession opens a tab in a new browser context: its own cookies, so a
// second session (another token) without logging the first one out.
func otherSession(t *testing.T, b *tab, opts browser.Options) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	nb := newTab(t, ctx, b.base)
	nb.do(t, browser.Emulate(opts))
	return nb
}

// do runs steps on the tab, failing the test on error.
func (b *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser at %s: %v", b.location(), err)
	}
}

// js evaluates expr in the page (awaiting a promise) and decodes its value.
func js[T any](t *testing.T, b *tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q at %s: %v", expr, b.location(), err)
	}
	return v
}

// location is the page's path and query ("" when it cannot be read).
func (b *tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	return v
}

// readySelector matches a page's main element once its primary data is shown.
func readySelector(page string) string {
	return fmt.Sprintf(`main[data-page=%q][aria-busy="false"]`, page)
}

// open navigates to path and waits until the page named page is ready.
func (b *tab) open(t *testing.T, path, page string) {
	t.Helper()
	b.do(t, chromedp.Navigate(b.base+path))
	b.ready(t, page)
}

// ready waits until the page named page is shown and not busy, and its
// charts (drawn after the page's data is shown, once ECharts has loaded)
// are drawn.
func (b *tab) ready(t *testing.T, page string) {
	t.Helper()
	b.waitVisible(t, "page "+page, readySelector(page))
	b.poll(t, "charts of "+page+" drawn", `document.querySelectorAll('[data-drawn="false"]').length === 0`, stepTimeout)
}

// waitVisible waits until an element matching the CSS selector sel is
// visible; failing, it says what the page shows instead.
func (b *tab) waitVisible(t *testing.T, what, sel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		shown := js[string](t, b, `(() => { const m = document.querySelector("main"); return m ? m.dataset.page + " busy=" + m.getAttribute("aria-busy") + ": " + m.innerText.slice(0, 300) : document.body.innerText.slice(0, 300); })()`)
		t.Fatalf("%s not shown at %s: %v; shown: %s", what, b.location(), err, shown)
	}
}

// poll waits until the JavaScript predicate is true. A navigation that
// replaces the document under the poll (a redirect to the login form)
// starts it again in the new one.
func (b *tab) poll(t *testing.T, what, predicate string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate))
		if err == nil {
			return
		}
		if ctx.Err() != nil || !navigatedAway(err) {
			t.Fatalf("waiting for %s at %s: %v", what, b.location(), err)
		}
	}
}

// navigatedAway reports whether err says the document a step ran in went
// away, as it does when the page navigates meanwhile.
func navigatedAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "navigated or closed") || strings.Contains(msg, "context was destroyed") ||
		strings.Contains(msg, "Cannot find context")
}

// clickMarked clicks, with the mouse, the element that the JavaScript
// expression find returns (null: the test fails saying what).
func (b *tab) clickMarked(t *testing.T, what, find string) {
	t.Helper()
	ok := js[bool](t, b, `(() => {
		document.querySelectorAll("[data-e2e-click]").forEach(e => e.removeAttribute("data-e2e-click"));
		const e = (`+find+`);
		if (!e) return false;
		e.setAttribute("data-e2e-click", "");
		return true;
	})()`)
	if !ok {
		t.Fatalf("no %s to click at %s", what, b.location())
	}
	b.do(t, chromedp.Click(chromedp.CSS("[data-e2e-click]")))
}

// login fills the login form the browser is on with token and submits it.
func (b *tab) login(t *testing.T, token string) {
	t.Helper()
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] input[name="token"]`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name="token"]`), token),
		chromedp.Submit(chromedp.CSS(`form[action="/login"]`)),
	)
}

// loginAgain expects the browser to be sent to the login form with next
// = path, logs in with token and expects to be back on path, showing page.
func (b *tab) loginAgain(t *testing.T, token, path, page string) {
	t.Helper()
	b.poll(t, "the login form", `location.pathname === "/login"`, stepTimeout)
	if got, want := b.location(), "/login?next="+url.QueryEscape(path); got != want {
		t.Errorf("sent to %s, want %s", got, want)
	}
	b.login(t, token)
	b.ready(t, page)
	if got := b.location(); got != path {
		t.Errorf("after logging in the browser is at %s, want %s", got, path)
	}
}

// cell is a table cell (data-col) as a test reads it: the data-value,
// data-low and data-high of the cell or of its first descendant that has
// them, and its text.
type cell struct {
	Value *string `json:"value"`
	Low   *string `json:"low"`
	High  *string `json:"high"`
	Text  string  `json:"text"`
}

// tableRows reads the rows (data-row-id, in the order shown) of the table
// with the data-testid testid, each a map of its cells by data-col.
func tableRows(t *testing.T, b *tab, testid string) (ids []string, rows map[string]map[string]cell) {
	t.Helper()
	type row struct {
		ID    string          `json:"id"`
		Cells map[string]cell `json:"cells"`
	}
	got := js[[]row](t, b, `(() => {
		const table = document.querySelector('table[data-testid="`+testid+`"]');
		if (!table) return null;
		const attr = (td, name) => {
			if (td.hasAttribute(name)) return td.getAttribute(name);
			const d = td.querySelector("[" + name + "]");
			return d ? d.getAttribute(name) : null;
		};
		return [...table.querySelectorAll("tbody tr[data-row-id]")].map(tr => ({
			id: tr.getAttribute("data-row-id"),
			cells: Object.fromEntries([...tr.querySelectorAll("[data-col]")].filter(td => td.closest("tr") === tr).map(td => [
				td.getAttribute("data-col"),
				{value: attr(td, "data-value"), low: attr(td, "data-low"), high: attr(td, "data-high"), text: td.textContent.trim()},
			])),
		}));
	})()`)
	if got == nil {
		t.Fatalf("no table[data-testid=%q] at %s", testid, b.location())
	}
	rows = map[string]map[string]cell{}
	for _, r := range got {
		ids = append(ids, r.ID)
		rows[r.ID] = r.Cells
	}
	return ids, rows
}

// shot writes a full-page PNG of the tab to dir/name.png.
func (b *tab) shot(t *testing.T, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// recorder keeps what a tab requested and logged, in order.
type recorder struct {
	mu       sync.Mutex
	requests []request
	console  []string
}

type request struct {
	Method, URL string
	Type        network.ResourceType
}

// event runs in the tab's event loop: it must return fast.
func (r *recorder) event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.requests = append(r.requests, request{Method: ev.Request.Method, URL: ev.Request.URL, Type: ev.Type})
	case *log.EventEntryAdded:
		r.console = append(r.console, fmt.Sprintf("%s %s: %s (%s)", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		r.console = append(r.console, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
	case *runtime.EventExceptionThrown:
		r.console = append(r.console, "exception: "+ev.ExceptionDetails.Text)
	}
}

// mark returns a position to count requests from.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// since returns the requests made after mark m.
func (r *recorder) since(m int) []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.requests[m:]...)
}

// messages returns the console messages so far.
func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.console...)
}
