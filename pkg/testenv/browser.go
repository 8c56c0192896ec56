package testenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sabe-dev/sabe/internal/browser"
)

// Browser starts a headless Chromium for the test and returns a chromedp
// context of its first tab, emulating opts; cleanup closes it. Without
// Chromium the test is skipped, or fails when CI=true, where the browser
// tests must run.
func Browser(t testing.TB, opts browser.Options) context.Context {
	t.Helper()
	if _, err := browser.Find(); errors.Is(err, browser.ErrNotFound) {
		missing(t, "browser tests need chromium: apt-get install chromium (or set "+browser.EnvPath+")")
	}
	ctx, cancel, err := browser.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return ctx
}

// AxeSource returns the source of axe-core (axe.min.js) from the
// dashboard's node_modules, to inject into pages under test. Without it the
// test is skipped, or fails when CI=true.
func AxeSource(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "pkg", "dashboard", "web", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		missing(t, "accessibility checks need axe-core: run npm ci in pkg/dashboard/web ("+p+" is missing)")
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// missing skips the test for a tool the machine lacks, except on CI.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// moduleRoot is the nearest directory above the working directory (a test's
// package directory) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
