package browser_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sabe-dev/sabe/internal/browser"
)

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := browser.Find(); errors.Is(err, browser.ErrNotFound) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	ctx, cancel, err := browser.New(context.Background(), browser.Options{Width: 390, Height: 844, Dark: true, Timezone: "Asia/Tokyo"})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	type seen struct {
		Width    int    `json:"width"`
		Dark     bool   `json:"dark"`
		Timezone string `json:"tz"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[seen](`({
		width: window.innerWidth,
		dark: matchMedia("(prefers-color-scheme: dark)").matches,
		tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (seen{Width: 390, Dark: true, Timezone: "Asia/Tokyo"}); got != want {
		t.Errorf("page sees %+v, want %+v", got, want)
	}

	// Emulate again (as a second tab would): the time zone changes.
	if err := chromedp.Do(ctx, browser.Emulate(browser.Options{})); err != nil {
		t.Fatal(err)
	}
	tz, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Intl.DateTimeFormat().resolvedOptions().timeZone`))
	if err != nil {
		t.Fatal(err)
	}
	if tz != "UTC" {
		t.Errorf("time zone after Emulate(default) = %q, want UTC", tz)
	}
}

func TestFind_Env(t *testing.T) {
	t.Setenv(browser.EnvPath, "/no/such/chromium")
	if _, err := browser.Find(); !errors.Is(err, browser.ErrNotFound) {
		t.Errorf("Find with a missing %s = %v, want ErrNotFound", browser.EnvPath, err)
	}
}
