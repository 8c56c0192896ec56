// Package dashboard serves SABE's web dashboard: a React single-page app
// whose source is in web/ and whose build is in dist/.
//
// dist is built by `npm ci && npm run build` in web/ (Vite writes it;
// see web/vite.config.ts) and is committed, so that `go build` needs no
// Node: the package embeds it with go:embed. CI rebuilds it and fails when
// the committed build differs from what the source makes.
//
// The package only knows files: Index is the app's one HTML page, served
// for every page path (the browser's router takes it from there), and
// Asset finds a content-hashed file under dist/assets. Routing, sessions and
// security headers are the API server's (package httpapi), which mounts
// them.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed all:dist
var dist embed.FS

// Cache policies: hashed assets never change under their name, while the
// page that names them must be revalidated on every load so that a new
// build is picked up at once.
const (
	assetCacheControl = "public, max-age=31536000, immutable"
	indexCacheControl = "no-cache"
)

// minGzipSize is the smallest file worth compressing: below it the gzip
// header costs more than it saves.
const minGzipSize = 256

// File is one file of the build, kept in memory with its gzipped form
// (when that is smaller) and its ETag.
type File struct {
	// Name is the file's path under dist ("index.html", "assets/x.js").
	Name         string
	contentType  string
	cacheControl string
	etag         string
	body         []byte
	gz           []byte
}

// Dashboard is the embedded build, read and compressed once.
type Dashboard struct {
	index   *File
	favicon *File
	assets  map[string]*File
}

// load reads the embedded build once per process: it never changes, and
// compressing it is the only cost worth saving across the many servers a
// test binary starts.
var load = sync.OnceValues(func() (*Dashboard, error) { return read(dist) })

// New returns the dashboard embedded in the binary. It fails only when the
// committed build is broken (no dist/index.html).
func New() (*Dashboard, error) { return load() }

// read builds a Dashboard from a file system laid out like dist.
func read(fsys fs.FS) (*Dashboard, error) {
	root, err := fs.Sub(fsys, "dist")
	if err != nil {
		return nil, err
	}
	d := &Dashboard{assets: map[string]*File{}}
	err = fs.WalkDir(root, ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		f, err := newFile(name, body)
		if err != nil {
			return err
		}
		switch {
		case name == "index.html":
			d.index = f
		case name == "favicon.svg":
			d.favicon = f
		case strings.HasPrefix(name, "assets/"):
			d.assets[strings.TrimPrefix(name, "assets/")] = f
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: read the embedded build: %w", err)
	}
	if d.index == nil {
		return nil, fmt.Errorf("dashboard: the embedded build has no index.html; run `npm run build` in pkg/dashboard/web")
	}
	return d, nil
}

func newFile(name string, body []byte) (*File, error) {
	sum := sha256.Sum256(body)
	f := &File{
		Name:         name,
		contentType:  contentType(name),
		cacheControl: assetCacheControl,
		etag:         `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		body:         body,
	}
	if !strings.HasPrefix(name, "assets/") {
		f.cacheControl = indexCacheControl
	}
	if len(body) >= minGzipSize && compressible(f.contentType) {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		if buf.Len() < len(body) {
			f.gz = buf.Bytes()
		}
	}
	return f, nil
}

// types are the content types of what Vite emits; the system's MIME table
// is asked for anything else.
var types = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

func contentType(name string) string {
	ext := path.Ext(name)
	if t, ok := types[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "image/svg") || strings.HasPrefix(ct, "application/json")
}

// Index is the app's HTML page, to serve for every page path.
func (d *Dashboard) Index() *File { return d.index }

// Favicon is the site's icon (dist/favicon.svg), or nil when the build has
// none.
func (d *Dashboard) Favicon() *File { return d.favicon }

// Asset returns the file at name under dist/assets ("index-abc123.js"),
// and false when there is none.
func (d *Dashboard) Asset(name string) (*File, bool) {
	f, ok := d.assets[name]
	return f, ok
}

// Assets returns every file under dist/assets, by name.
func (d *Dashboard) Assets() map[string]*File { return d.assets }

// Body returns the file's content, uncompressed.
func (f *File) Body() []byte { return f.body }

// Gzipped returns the file's gzipped content, or nil when it is not
// compressed (too small, already compressed, or no smaller gzipped).
func (f *File) Gzipped() []byte { return f.gz }

// ServeHTTP writes the file with its content type, cache policy and ETag,
// gzipped when the client accepts it, and answers 304 to a matching
// If-None-Match. Only GET and HEAD get a body.
func (f *File) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", f.cacheControl)
	h.Set("ETag", f.etag)
	if f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
	}
	if etagMatches(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = f.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagMatches reports whether an If-None-Match header names etag (weakly,
// as RFC 9110 asks for If-None-Match, so a proxy's W/ form matches too).
func etagMatches(header, etag string) bool {
	for cand := range strings.SplitSeq(header, ",") {
		cand = strings.TrimPrefix(strings.TrimSpace(cand), "W/")
		if cand == etag || cand == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip: it
// names gzip without q=0, or names "*" without q=0 and not gzip at all.
func acceptsGzip(header string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		ok := !refused(params)
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			return ok
		case "*":
			star = ok
		}
	}
	return star
}

// refused reports whether content-coding parameters say q=0.
func refused(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}
