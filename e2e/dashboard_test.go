package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/browser"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// dashboard is the browser suite's shared state: one stack, one browser
// tab logged in as admin, and the benchmark the subtests look at.
type dashboard struct {
	s   *system
	tab *tab
	fx  dashFixture
	// runs are the finished runs of the fixture's benchmark, oldest first.
	runs []uuid.UUID
	// history is the seeded benchmark (SABE_DOCS_SCREENSHOTS), else uuid.Nil.
	history uuid.UUID
}

// TestDashboard drives the web dashboard in headless Chromium against the
// full stack (api, workers, scheduler, mock provider, PostgreSQL, Redis):
// every figure a page shows is checked against the API's answer.
func TestDashboard(t *testing.T) {
	t.Parallel()
	d := startDashboard(t)
	b := d.tab

	if !t.Run("Login", func(t *testing.T) {
		b.do(t, chromedp.Navigate(b.base+"/"))
		b.loginAgain(t, d.s.token, "/", "overview")
	}) {
		t.FailNow()
	}

	t.Run("StartRun", func(t *testing.T) {
		b.open(t, "/", "overview")
		card := fmt.Sprintf(`article[data-testid="benchmark-card"][data-row-id=%q]`, d.fx.bench.String())
		m := b.rec.mark()
		b.clickMarked(t, `"Start run" on the benchmark's card`,
			`[...document.querySelectorAll('`+card+` button')].find(e => e.textContent.trim() === "Start run")`)
		b.poll(t, "the new run's page", `/^\/runs\/[0-9a-f-]{36}$/.test(location.pathname)`, stepTimeout)
		id, err := uuid.Parse(strings.TrimPrefix(b.location(), "/runs/"))
		if err != nil {
			t.Fatal(err)
		}
		b.ready(t, "run-detail")
		b.poll(t, "the run to complete on the page", `(() => {
			const p = document.querySelector('[role="progressbar"][data-testid="run-progress"]');
			const s = document.querySelector('[data-testid="run-status"]');
			return !!p && !!s && p.getAttribute("aria-valuenow") === "100" && p.getAttribute("aria-valuemax") === "100" &&
				s.textContent.trim() === "completed";
		})()`, 2*time.Minute)
		r, err := d.s.c.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != oapi.RunStatusCompleted || r.BenchmarkId != d.fx.bench {
			t.Fatalf("the run the page shows completed is %+v", r)
		}
		d.runs = append(d.runs, id)

		// The progress came through the event stream, not by polling the run.
		var gets, streams int
		for _, req := range b.rec.since(m) {
			u, _ := url.Parse(req.URL)
			switch {
			case req.Method == "GET" && u.Path == "/v1/runs/"+id.String():
				gets++
			case u.Path == "/v1/runs/"+id.String()+"/events":
				streams++
			}
		}
		if streams == 0 {
			t.Error("the run page never opened /v1/runs/{id}/events")
		}
		if gets > 1 {
			t.Errorf("the run page fetched GET /v1/runs/{id} %d times while the run ran: it polls instead of following the event stream", gets)
		}
	})
	if len(d.runs) == 0 {
		// The other subtests need a finished run: make it through the API.
		d.runs = append(d.runs, d.runBenchmark(t))
	}

	t.Run("Leaderboard", func(t *testing.T) {
		b.open(t, "/benchmarks/"+d.fx.bench.String()+"/leaderboard", "leaderboard")
		lb, err := d.s.c.Leaderboard(context.Background(), d.fx.bench)
		if err != nil {
			t.Fatal(err)
		}
		ids, rows := tableRows(t, b, "leaderboard")
		if len(ids) != len(lb.Entries) {
			t.Fatalf("leaderboard rows %v, want the API's %d entries", ids, len(lb.Entries))
		}
		for i, e := range lb.Entries {
			if ids[i] != e.ModelId.String() {
				t.Errorf("row %d is model %s, want %s (%s)", i+1, ids[i], e.ModelId, e.ModelName)
			}
			row := rows[e.ModelId.String()]
			wantNumber(t, e.ModelName+" rank", row["rank"].Value, float64(e.Rank))
			wantNumber(t, e.ModelName+" score", row["score"].Value, e.Score)
			wantNumber(t, e.ModelName+" ci low", row["ci"].Low, e.CiLow)
			wantNumber(t, e.ModelName+" ci high", row["ci"].High, e.CiHigh)
		}
		if !js[bool](t, b, `!!document.querySelector('[data-testid="leaderboard-chart"]')`) {
			t.Error("no leaderboard chart")
		}
	})

	t.Run("Question", func(t *testing.T) {
		run := d.runs[0]
		results, err := d.s.c.Results(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		q := d.fx.questions[0]
		b.open(t, "/runs/"+run.String()+"/questions/"+q.String(), "question")
		if prompt := js[string](t, b, `document.querySelector('[data-testid="question-prompt"]')?.textContent ?? ""`); !strings.Contains(prompt, d.fx.prompts[q]) {
			t.Errorf("question prompt shown %q, want it to contain %q", prompt, d.fx.prompts[q])
		}
		type answer struct {
			Text  string  `json:"text"`
			Score *string `json:"score"`
		}
		shown := js[map[string][]answer](t, b, `(() => {
			const out = {};
			for (const a of document.querySelectorAll('[data-testid="answer"][data-model-id]')) {
				const s = a.querySelector('[data-col="score"][data-value]');
				(out[a.dataset.modelId] ??= []).push({text: a.textContent, score: s ? s.getAttribute("data-value") : null});
			}
			return out;
		})()`)
		n := 0
		for _, e := range results {
			if e.QuestionId != q {
				continue
			}
			n++
			got := shown[e.ModelId.String()]
			if len(got) == 0 {
				t.Errorf("no answer shown for %s", e.ModelName)
				continue
			}
			if !strings.Contains(got[0].Text, strings.TrimSpace(e.Response)) {
				t.Errorf("%s's answer shown as %q, want the API's %q", e.ModelName, got[0].Text, e.Response)
			}
			if e.Verdict.Score != nil {
				wantNumber(t, e.ModelName+" score", got[0].Score, *e.Verdict.Score)
			}
		}
		if n == 0 || len(shown) != n {
			t.Errorf("answers shown for %d models, the API has %d results for the question", len(shown), n)
		}
	})

	t.Run("Compare", func(t *testing.T) {
		// The second run answers with another mock model for one of the
		// benchmark's models, so its verdicts flip both ways.
		patch := oapi.UpdateModelRequest{ProviderModelId: new(d.fx.flipTo)}
		if err := d.s.c.Do(context.Background(), "PATCH", "/v1/models/"+d.fx.flip.String(), patch, nil); err != nil {
			t.Fatal(err)
		}
		d.runs = append(d.runs, d.runBenchmark(t))
		prev, cur := d.runs[0], d.runs[len(d.runs)-1]
		q := url.Values{"benchmark_id": {d.fx.bench.String()}, "current_run_id": {cur.String()}, "previous_run_id": {prev.String()}}
		var cmp oapi.Comparison
		d.s.call(t, "GET", "/v1/analytics/compare?"+q.Encode(), "", nil, 200, &cmp)
		b.open(t, "/compare?"+q.Encode(), "compare")

		ids, rows := tableRows(t, b, "compare-models")
		if len(ids) != len(cmp.Models) {
			t.Fatalf("compared models %v, want the API's %d", ids, len(cmp.Models))
		}
		for _, m := range cmp.Models {
			row, ok := rows[m.ModelId.String()]
			if !ok {
				t.Errorf("no row for %s", m.ModelName)
				continue
			}
			wantNumber(t, m.ModelName+" diff", row["diff"].Value, m.Score.Diff)
			wantNumber(t, m.ModelName+" ci low", row["ci"].Low, m.Score.CiLow)
			wantNumber(t, m.ModelName+" ci high", row["ci"].High, m.Score.CiHigh)
			if _, ok := row["significant"]; !ok {
				t.Errorf("%s: no significant cell", m.ModelName)
			}
		}

		// The changed questions, from both runs' results: a question whose
		// verdict changed for a model; it regressed when more models lost
		// it than gained it.
		delta := d.verdictChanges(t, prev, cur)
		changed, _ := tableRows(t, b, "changed-questions")
		var want []string
		for q := range delta {
			want = append(want, q)
		}
		if got := slices.Sorted(slices.Values(changed)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("changed questions shown %v, want %v", changed, want)
		}
		seenGain := false
		for _, q := range changed {
			switch {
			case delta[q] > 0:
				seenGain = true
			case delta[q] < 0 && seenGain:
				t.Errorf("regression %s listed after an improvement: %v (deltas %v)", q, changed, delta)
			}
		}
	})

	t.Run("Pages", func(t *testing.T) {
		b.open(t, "/benchmarks/"+d.fx.bench.String()+"/trends", "trends")
		if !js[bool](t, b, `!!document.querySelector('[data-testid="trend-chart"]')`) {
			t.Error("trends: no chart")
		}
		if n := js[int](t, b, `document.querySelectorAll('table[data-testid="trend-table"] tbody tr').length`); n == 0 {
			t.Error("trends: the table alternative has no rows")
		}
		b.open(t, "/schedules", "schedules")
		b.open(t, "/providers", "providers")
		if txt := js[string](t, b, `document.querySelector("main").textContent`); !strings.Contains(txt, d.fx.provider) {
			t.Errorf("providers page does not show provider %q", d.fx.provider)
		}
		b.open(t, "/runs", "runs")
		if !js[bool](t, b, `!!document.querySelector('[data-row-id="`+d.runs[0].String()+`"]')`) {
			t.Error("runs page does not list the first run")
		}
	})

	t.Run("AlertSettings", d.testAlertSettings)
	t.Run("Webhooks", d.testWebhooks)

	pages := d.pages()

	t.Run("Accessibility", func(t *testing.T) {
		axe := testenv.AxeSource(t)
		for _, p := range pages {
			b.open(t, p.path, p.name)
			type violation struct {
				ID, Impact, Help string
				Targets          []string
			}
			js[bool](t, b, axe+";true")
			type report struct {
				Violations []violation
				// Passes are the rules that found nothing: none means axe
				// looked at nothing (an empty page).
				Passes int
			}
			r := js[report](t, b, `axe.run(document).then(r => ({
				Passes: r.passes.length,
				Violations: r.violations
					.filter(v => v.impact === "serious" || v.impact === "critical")
					.map(v => ({ID: v.id, Impact: v.impact, Help: v.help, Targets: v.nodes.map(n => n.target.join(" "))})),
			}))`)
			if r.Passes == 0 {
				t.Errorf("%s: axe-core passed no rule: it checked an empty page", p.path)
			}
			for _, v := range r.Violations {
				t.Errorf("%s (%s): %s [%s]: %s", p.path, p.name, v.ID, v.Impact, v.Help+" at "+strings.Join(v.Targets, ", "))
			}
		}
	})

	t.Run("Screenshots", func(t *testing.T) {
		// The folder outlives the test, so the pages can be looked at
		// after a run (CI keeps it with the run's files); each run
		// replaces the previous one's.
		dir := os.Getenv("SABE_SCREENSHOTS")
		if dir == "" {
			dir = filepath.Join(os.TempDir(), "sabe-dashboard-screenshots")
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshots of every page in %s", dir)
		for i, p := range pages {
			b.open(t, p.path, p.name)
			b.shot(t, dir, fmt.Sprintf("%02d-%s", i+1, p.name))
		}
		if os.Getenv("SABE_DOCS_SCREENSHOTS") == "1" {
			d.docsScreenshots(t)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		b.open(t, "/runs/"+uuid.NewString(), "not-found")
		b.open(t, "/no/such/page", "not-found")
	})

	t.Run("Phone", func(t *testing.T) {
		b.do(t, browser.Emulate(browser.Options{Width: 390, Height: 844}))
		defer b.do(t, browser.Emulate(browser.Options{}))
		for _, p := range pages {
			b.open(t, p.path, p.name)
			type widths struct {
				Scroll, Inner int
				// Wide are the outermost elements that reach past the
				// viewport's right edge, to say what to fix.
				Wide []string
			}
			w := js[widths](t, b, `(() => {
				const inner = window.innerWidth, wide = [];
				const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
					(e.dataset.testid ? "[data-testid=" + e.dataset.testid + "]" : "") +
					(typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\s+/).join(".") : "");
				// What a scrolling box (a table's wrapper) holds does not widen the page.
				const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== "visible") return true; return false; };
				for (const e of document.body.querySelectorAll("*")) {
					if (e.getBoundingClientRect().right > inner + 0.5 && !wide.some(w => w.contains(e)) && !clipped(e)) wide.push(e);
				}
				return {Scroll: document.documentElement.scrollWidth, Inner: inner, Wide: wide.slice(0, 5).map(e => name(e) + " " + JSON.stringify(e.textContent.trim().slice(0, 30)) + " (right edge " + Math.round(e.getBoundingClientRect().right) + "px)")};
			})()`)
			if w.Scroll > w.Inner {
				t.Errorf("%s at 390px: the document is %dpx wide, it scrolls sideways; too wide: %s", p.path, w.Scroll, strings.Join(w.Wide, ", "))
			}
		}
	})

	t.Run("Keyboard", func(t *testing.T) {
		b.open(t, "/runs", "runs")
		b.do(t, chromedp.KeyEvent(kb.Tab))
		type focus struct {
			Skip          bool
			Width, Height float64
			Text          string
		}
		f := js[focus](t, b, `(() => {
			const e = document.activeElement, r = e.getBoundingClientRect();
			return {Skip: e.matches('a[href="#main"]'), Width: r.width, Height: r.height, Text: e.textContent.trim()};
		})()`)
		if !f.Skip {
			t.Fatalf("the first Tab focuses %+v, want the skip link", f)
		}
		if f.Width < 10 || f.Height < 5 {
			t.Errorf("the focused skip link is %gx%g px: not visible", f.Width, f.Height)
		}
	})

	t.Run("DarkScheme", func(t *testing.T) {
		bg := func() string {
			b.open(t, "/runs", "runs")
			return js[string](t, b, `getComputedStyle(document.body).backgroundColor`)
		}
		light := bg()
		b.do(t, browser.Emulate(browser.Options{Dark: true}))
		dark := bg()
		b.do(t, browser.Emulate(browser.Options{}))
		if light == dark {
			t.Errorf("body background %s in both colour schemes", light)
		}
	})

	t.Run("TimeZone", func(t *testing.T) {
		path := "/runs/" + d.runs[0].String()
		type shown struct {
			At, Text, Title string
		}
		read := func() shown {
			b.open(t, path, "run-detail")
			return js[shown](t, b, `(() => {
				const e = document.querySelector("main time[datetime][title]");
				return e ? {At: e.getAttribute("datetime"), Text: e.textContent.trim(), Title: e.title} : {};
			})()`)
		}
		utc := read()
		b.do(t, browser.Emulate(browser.Options{Timezone: "Asia/Tokyo"}))
		tokyo := read()
		b.do(t, browser.Emulate(browser.Options{}))
		if utc.At == "" || tokyo.At != utc.At {
			t.Fatalf("time elements: in UTC %+v, in Tokyo %+v", utc, tokyo)
		}
		if !strings.Contains(tokyo.Title, "UTC") {
			t.Errorf("the time's title %q does not give UTC", tokyo.Title)
		}
		if tokyo.Text == utc.Text {
			t.Errorf("the time shows %q in both UTC and Tokyo: not the browser's time zone", utc.Text)
		}
	})

	t.Run("APIError", func(t *testing.T) {
		tok, _, err := store.New(d.s.pool, nil).CreateToken(context.Background(), "e2e-read", []string{"read"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rb := otherSession(t, b, browser.Options{})
		rb.do(t, chromedp.Navigate(rb.base+"/admin/tokens"))
		rb.login(t, tok)
		rb.poll(t, "the page again", `location.pathname === "/admin/tokens"`, stepTimeout)
		rb.waitVisible(t, "the API's refusal", `main [role="alert"]`)
		if msg := js[string](t, rb, `document.querySelector('main [role="alert"]').textContent`); !strings.Contains(msg, "403") && !strings.Contains(strings.ToLower(msg), "scope") {
			t.Errorf("a read token on /admin/tokens shows %q, want the API's 403 message", msg)
		}
	})

	t.Run("CSP", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+"/runs"))
		if err != nil {
			t.Fatal(err)
		}
		csp := ""
		for k, v := range resp.Headers {
			if strings.EqualFold(k, "Content-Security-Policy") {
				csp = fmt.Sprint(v)
			}
		}
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("page CSP %q lacks %q", csp, want)
			}
		}
		for _, m := range b.rec.messages() {
			if strings.Contains(m, "Content Security Policy") || strings.Contains(m, "Content-Security-Policy") {
				t.Errorf("console: %s", m)
			}
		}
	})

	t.Run("SessionExpired", func(t *testing.T) {
		b.open(t, "/benchmarks/"+d.fx.bench.String()+"/leaderboard", "leaderboard")
		rdb := redisClient(t, d.s.redis)
		keys, err := rdb.Keys(context.Background(), "sabe:session:*").Result()
		if err != nil || len(keys) == 0 {
			t.Fatalf("session keys %v: %v", keys, err)
		}
		if err := rdb.Del(context.Background(), keys...).Err(); err != nil {
			t.Fatal(err)
		}
		// The next API call (a client-side navigation) meets a 401.
		b.clickMarked(t, "the Runs link", `document.querySelector('header nav a[href="/runs"]')`)
		b.loginAgain(t, d.s.token, "/runs", "runs")
	})
}

// page is a dashboard page to visit: its path and its data-page name.
type page struct{ path, name string }

// pages lists one path of every page, with the fixture's ids.
func (d *dashboard) pages() []page {
	bench, run := d.fx.bench.String(), d.runs[0].String()
	prev, cur := d.runs[0].String(), d.runs[len(d.runs)-1].String()
	return []page{
		{"/", "overview"},
		{"/runs", "runs"},
		{"/runs/" + run, "run-detail"},
		{"/runs/" + run + "/questions/" + d.fx.questions[0].String(), "question"},
		{"/benchmarks/" + bench + "/leaderboard", "leaderboard"},
		{"/benchmarks/" + bench + "/trends", "trends"},
		{"/compare?benchmark_id=" + bench + "&current_run_id=" + cur + "&previous_run_id=" + prev, "compare"},
		{"/schedules", "schedules"},
		{"/providers", "providers"},
		{"/alerts", "alerts"},
		{"/admin/webhooks", "webhooks"},
		{"/admin/tokens", "tokens"},
		{"/admin/audit", "audit"},
		{"/no/such/page", "not-found"},
	}
}

// wantNumber checks that a data attribute holds the API's number exactly.
func wantNumber(t *testing.T, what string, attr *string, want float64) {
	t.Helper()
	if attr == nil {
		t.Errorf("%s: no data attribute, want %v", what, want)
		return
	}
	got, err := strconv.ParseFloat(*attr, 64)
	if err != nil || got != want {
		t.Errorf("%s: shown %q, want the API's %v", what, *attr, want)
	}
}

func redisClient(t *testing.T, u string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}
