package main

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sabe-dev/sabe/internal/browser"
)

// readyScript runs in every document before its own scripts: it notes,
// with the page's own clock (milliseconds from navigation start), the
// first moment the page's main element says it is no longer busy. Scripts
// added through the DevTools protocol are not subject to the page's CSP.
const readyScript = `(() => {
  const check = () => {
    if (window.__sabeReady === undefined && document.querySelector('main[data-page][aria-busy="false"]')) {
      window.__sabeReady = performance.now();
      window.__sabePage = document.querySelector('main[data-page]').dataset.page;
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ["aria-busy", "data-page"]});
})()`

// resourcesScript lists what the page fetched up to readiness.
const resourcesScript = `performance.getEntriesByType("resource")
  .filter(e => e.startTime <= window.__sabeReady)
  .map(e => ({name: e.name, type: e.initiatorType, start: e.startTime, requestStart: e.requestStart,
              responseStart: e.responseStart, duration: e.duration, transfer: e.transferSize}))`

type resourceEntry struct {
	Name          string  `json:"name"`
	Type          string  `json:"type"`
	Start         float64 `json:"start"`
	RequestStart  float64 `json:"requestStart"`
	ResponseStart float64 `json:"responseStart"`
	Duration      float64 `json:"duration"`
	Transfer      float64 `json:"transfer"`
}

// pageLoadTimeout bounds one load: a page that never becomes ready (an
// error, a redirect to /login) counts as failed, not as slow.
const pageLoadTimeout = 30 * time.Second

// loadPages loads every page h.o.pageLoads times, each in a new browser
// with a fresh profile, and records the figures in rep. It fails only
// when no browser can be used at all; a page that does not become ready
// gets its error in its row.
func (h *harness) loadPages(ctx context.Context, s *stack, pages []dashboardPage, rep *DashboardReport) error {
	path, err := browser.Find()
	if err != nil {
		return err
	}
	rep.Browser = path
	base := s.api.BaseURL()
	for _, p := range pages {
		pl := PageLoads{Name: p.name, Page: p.page, Path: p.path}
		var slowest []resourceEntry
		for range h.o.pageLoads {
			ms, entries, err := coldLoad(ctx, base, s.apiToken, p)
			if err != nil {
				pl.Error = err.Error()
				break
			}
			if len(pl.LoadsMs) == 0 || ms > slices.Max(pl.LoadsMs) {
				slowest = entries
			}
			pl.LoadsMs = append(pl.LoadsMs, round(ms, 1))
		}
		if len(pl.LoadsMs) > 0 {
			sorted := slices.Sorted(slices.Values(pl.LoadsMs))
			pl.MedianMs, pl.MaxMs = round(quantile(sorted, 0.5), 1), sorted[len(sorted)-1]
		}
		pl.Calls, pl.ScriptKB = pageCalls(slowest)
		if len(pl.Calls) > 0 {
			pl.FirstCallMs = pl.Calls[0].StartMs
		}
		rep.Pages = append(rep.Pages, pl)
		h.say("dashboard: %-20s median %6.0f ms  max %6.0f ms  %d API calls  %s", pl.Name, pl.MedianMs, pl.MaxMs, len(pl.Calls), pl.Error)
		if pl.Error != "" {
			rep.Targets = append(rep.Targets, newTarget("dashboard", pl.Name+" first load max (failed: "+pl.Error+")", pageLoadTimeout.Seconds()*1000, "ms", "<", targetPageMs))
			continue
		}
		rep.Targets = append(rep.Targets, newTarget("dashboard", pl.Name+" first load max", pl.MaxMs, "ms", "<", targetPageMs))
	}
	return nil
}

// coldLoad starts a browser with an empty profile, logs in through the
// /login form (its page loads none of the dashboard's files, so the
// dashboard's cache stays empty), then opens the page and returns the time
// from navigation start to readiness and what the page fetched until then.
func coldLoad(ctx context.Context, base, token string, p dashboardPage) (float64, []resourceEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, pageLoadTimeout+30*time.Second)
	defer cancel()
	bctx, closeBrowser, err := browser.New(ctx, browser.Options{Width: 1280, Height: 800})
	if err != nil {
		return 0, nil, err
	}
	defer closeBrowser()
	// next=/healthz: a path on the server that is not the dashboard.
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/login?next="+url.QueryEscape("/healthz")),
		chromedp.SetValue(chromedp.CSS("#token"), token),
	); err != nil {
		return 0, nil, fmt.Errorf("log in: %w", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS("#token")))); err != nil {
		return 0, nil, fmt.Errorf("log in: %w", err)
	}
	if where, err := chromedp.Run(bctx, chromedp.Location()); err != nil || !strings.HasSuffix(where, "/healthz") {
		return 0, nil, fmt.Errorf("log in: the form led to %s (%v), not /healthz", where, err)
	}
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: readyScript}); err != nil {
		return 0, nil, err
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(base+p.path)); err != nil {
		return 0, nil, fmt.Errorf("open %s: %w", p.path, err)
	}
	ready, err := chromedp.Run(bctx, chromedp.Poll[float64](`window.__sabeReady`, chromedp.WithPollingTimeout(pageLoadTimeout)))
	if err != nil {
		where, _ := chromedp.Run(bctx, chromedp.Location())
		return 0, nil, fmt.Errorf("not ready within %s (at %s)", pageLoadTimeout, strings.TrimPrefix(where, base))
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[string](`window.__sabePage`))
	if err != nil {
		return 0, nil, err
	}
	if got != p.page {
		return 0, nil, fmt.Errorf("the page became ready as %q, want %q", got, p.page)
	}
	entries, err := chromedp.Run(bctx, chromedp.Evaluate[[]resourceEntry](resourcesScript))
	if err != nil {
		return 0, nil, err
	}
	return ready, entries, nil
}

// pageCalls picks the API requests out of a load's resources, and adds up
// the JavaScript it fetched.
func pageCalls(entries []resourceEntry) ([]PageCall, float64) {
	var calls []PageCall
	var script float64
	for _, e := range entries {
		u, err := url.Parse(e.Name)
		if err != nil {
			continue
		}
		if strings.HasSuffix(u.Path, ".js") {
			script += e.Transfer
		}
		if !strings.HasPrefix(u.Path, "/v1/") {
			continue
		}
		path := u.Path
		if u.RawQuery != "" {
			path += "?" + u.RawQuery
		}
		calls = append(calls, PageCall{Path: path, StartMs: round(e.Start, 1),
			ServerMs: round(e.ResponseStart-e.RequestStart, 1), TotalMs: round(e.Duration, 1)})
	}
	slices.SortFunc(calls, func(a, b PageCall) int { return cmp.Compare(a.StartMs, b.StartMs) })
	return calls, round(script/1000, 1)
}
