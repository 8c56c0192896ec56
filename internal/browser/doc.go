// Package browser starts a headless Chromium for the dashboard's browser
// tests and the bench, driven with chromedp.
//
// Find locates the binary: SABE_CHROMIUM when set, else /usr/bin/chromium,
// else chromium, chromium-browser or google-chrome on PATH. New starts it
// with flags that work in a Debian container as root (no sandbox, no GPU, no
// /dev/shm, no background network traffic, no first-run or sync), a fresh
// profile directory removed on cancel, and the page emulating a viewport,
// a colour scheme and a time zone, so screenshots and tests do not depend on
// the machine they run on.
//
// Tests use pkg/testenv.Browser, which skips (or fails when CI=true) where
// Chromium is missing.
package browser
