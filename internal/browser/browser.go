package browser

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// EnvPath names the variable that points at the Chromium binary to use.
const EnvPath = "SABE_CHROMIUM"

// ErrNotFound is returned by Find when no Chromium binary is installed.
var ErrNotFound = errors.New("chromium not found: apt-get install chromium (or set " + EnvPath + " to the binary)")

// Options set what the page emulates. Zero values mean a 1280×800 light
// desktop in UTC.
type Options struct {
	Width, Height int
	// Dark emulates prefers-color-scheme: dark; otherwise light.
	Dark bool
	// Timezone is an IANA name such as "Asia/Tokyo"; empty means UTC.
	Timezone string
}

func (o Options) withDefaults() Options {
	o.Width = cmp.Or(o.Width, 1280)
	o.Height = cmp.Or(o.Height, 800)
	o.Timezone = cmp.Or(o.Timezone, "UTC")
	return o
}

// Find returns the path of the Chromium binary: SABE_CHROMIUM when set (it
// must exist), else /usr/bin/chromium, else chromium, chromium-browser or
// google-chrome on PATH. The error wraps ErrNotFound.
func Find() (string, error) {
	if p := os.Getenv(EnvPath); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w: %w", EnvPath, p, err, ErrNotFound)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// New starts a headless Chromium and returns a chromedp context of its first
// tab, already emulating opts. The cancel func closes the browser, waits for
// it to exit and removes its profile directory. Actions on the context must
// not outlive ctx: the browser lives as long as ctx does.
func New(ctx context.Context, opts Options) (context.Context, context.CancelFunc, error) {
	path, err := Find()
	if err != nil {
		return nil, nil, err
	}
	opts = opts.withDefaults()
	dir, err := os.MkdirTemp("", "sabe-chromium-")
	if err != nil {
		return nil, nil, fmt.Errorf("browser profile directory: %w", err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, flags(path, dir, opts)...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	cancel := func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		_ = os.RemoveAll(dir)
	}
	// The first action starts the browser and binds it to ctx.
	if err := chromedp.Do(tabCtx, Emulate(opts)); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start %s: %w", path, err)
	}
	return tabCtx, cancel, nil
}

// flags are chromedp's defaults plus what a Debian container needs: no
// sandbox (tests run as root), no GPU, no QUIC, shared memory in /tmp, and no
// traffic of the browser's own (updates, sync, safe browsing).
func flags(path, dir string, opts Options) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
	)
}

// Emulate makes the tab of the context emulate opts: viewport size, colour
// scheme and time zone. New applies it to the first tab; apply it to every
// other tab (chromedp.NewContext) or to change the emulation mid-test.
func Emulate(opts Options) chromedp.Action[chromedp.Void] {
	opts = opts.withDefaults()
	scheme := "light"
	if opts.Dark {
		scheme = "dark"
	}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.EmulateViewport(int64(opts.Width), int64(opts.Height))(ctx, t); err != nil {
			return fmt.Errorf("emulate viewport %dx%d: %w", opts.Width, opts.Height, err)
		}
		if _, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			return fmt.Errorf("emulate prefers-color-scheme %s: %w", scheme, err)
		}
		if _, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{
			TimezoneID: opts.Timezone,
		}); err != nil {
			return fmt.Errorf("emulate time zone %s: %w", opts.Timezone, err)
		}
		return nil
	})
}
