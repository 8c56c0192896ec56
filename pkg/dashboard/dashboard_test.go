package dashboard

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// maxGzippedJS bounds what a first visit downloads: every script of the
// committed build, gzipped, lazily loaded pages included.
const maxGzippedJS = 400 << 10

func TestNew_Build(t *testing.T) {
	t.Parallel()
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	index := string(d.Index().Body())
	if !strings.Contains(index, `<div id="root">`) {
		t.Errorf("index.html is not the app's page: %.200s", index)
	}
	// The page runs under script-src 'self' and style-src 'self': nothing
	// inline may be in it.
	for _, inline := range []string{"<script>", "<style", "style=", "javascript:"} {
		if strings.Contains(index, inline) {
			t.Errorf("index.html has inline code (%s)", inline)
		}
	}
	// Every file the page names is in the build.
	for _, ref := range strings.Split(index, `"/assets/`)[1:] {
		name, _, _ := strings.Cut(ref, `"`)
		if _, ok := d.Asset(name); !ok {
			t.Errorf("index.html names /assets/%s, which the build lacks", name)
		}
	}
	if d.Favicon() == nil {
		t.Errorf("the build has no favicon.svg")
	}
}

func TestNew_ScriptBudget(t *testing.T) {
	t.Parallel()
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	total, n := 0, 0
	for name, f := range d.Assets() {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		n++
		if gz := f.Gzipped(); gz != nil {
			total += len(gz)
		} else {
			total += len(f.Body())
		}
	}
	if n == 0 {
		t.Fatal("the build has no scripts")
	}
	if total > maxGzippedJS {
		t.Errorf("the build's %d scripts weigh %d KiB gzipped; the budget is %d KiB", n, total>>10, maxGzippedJS>>10)
	}
	t.Logf("%d scripts, %d KiB gzipped", n, total>>10)
}

func TestFile_ServeHTTP(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("console.log('sabe');\n", 100)
	d, err := read(fstest.MapFS{
		"dist/index.html":        {Data: []byte("<!doctype html><title>x</title>")},
		"dist/assets/app-1.js":   {Data: []byte(big)},
		"dist/assets/tiny-2.css": {Data: []byte("a{}")},
	})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(f *File, method string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		f.ServeHTTP(w, req)
		return w
	}
	js, _ := d.Asset("app-1.js")

	t.Run("Gzip", func(t *testing.T) {
		t.Parallel()
		w := serve(js, http.MethodGet, "Accept-Encoding", "br, gzip")
		if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("headers %v", w.Header())
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		if string(body) != big {
			t.Errorf("gzipped body differs")
		}
	})

	t.Run("NoGzip", func(t *testing.T) {
		t.Parallel()
		for _, ae := range []string{"", "identity", "gzip;q=0", "gzip;q=0, *", "br"} {
			w := serve(js, http.MethodGet, "Accept-Encoding", ae)
			if w.Header().Get("Content-Encoding") != "" || w.Body.String() != big {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q", ae, w.Header().Get("Content-Encoding"))
			}
		}
		if w := serve(js, http.MethodGet, "Accept-Encoding", "*"); w.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding *: not gzipped")
		}
	})

	t.Run("Headers", func(t *testing.T) {
		t.Parallel()
		w := serve(js, http.MethodGet)
		h := w.Header()
		if h.Get("Content-Type") != "text/javascript; charset=utf-8" || h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("ETag") == "" {
			t.Errorf("asset headers %v", h)
		}
		tiny, _ := d.Asset("tiny-2.css")
		if tiny.Gzipped() != nil {
			t.Errorf("a 3-byte file was gzipped")
		}
		w = serve(d.Index(), http.MethodGet, "Accept-Encoding", "gzip")
		if w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("index headers %v", w.Header())
		}
	})

	t.Run("NotModified", func(t *testing.T) {
		t.Parallel()
		etag := serve(d.Index(), http.MethodGet).Header().Get("ETag")
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
			if w := serve(d.Index(), http.MethodGet, "If-None-Match", inm); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
				t.Errorf("If-None-Match %s: %d", inm, w.Code)
			}
		}
		if w := serve(d.Index(), http.MethodGet, "If-None-Match", `"other"`); w.Code != http.StatusOK {
			t.Errorf("a stale ETag: %d", w.Code)
		}
	})

	t.Run("Head", func(t *testing.T) {
		t.Parallel()
		w := serve(js, http.MethodHead)
		if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "2100" {
			t.Errorf("HEAD: %d, %d bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
		}
	})

	t.Run("ErrNoIndex", func(t *testing.T) {
		t.Parallel()
		if _, err := read(fstest.MapFS{"dist/assets/a.js": {Data: []byte("x")}}); err == nil {
			t.Error("a build without index.html was accepted")
		}
	})
}
