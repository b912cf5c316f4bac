package http

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// docsFiles is the documentation page and the vendored Swagger UI it runs
// (see docsui/README.md for the version, checksums and licence). They are
// embedded so that /docs works with no internet access.
//
//go:embed docsui/index.html docsui/init.js docsui/swagger-ui-bundle.js docsui/swagger-ui.css docsui/favicon-32x32.png docsui/LICENSE docsui/NOTICE docsui/swagger-ui-bundle.js.LICENSE.txt
var docsFiles embed.FS

// docsPolicy lets the page load code, styles, images and data from this
// origin only, so even a dependency of the bundle that tried to reach a CDN
// or a tracker would be stopped by the browser. Swagger UI sets inline
// styles, hence 'unsafe-inline' for styles (not for scripts).
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsAsset is one embedded file, with its gzip form made on first use: the
// bundle shrinks from 1.7 MB to under 0.5 MB on the wire.
type docsAsset struct {
	body        []byte
	contentType string
	etag        string

	gzipOnce sync.Once
	gzipped  []byte
}

// docs serves /docs and its assets, read from the embedded files on first
// use: most handlers (tests build hundreds) never serve the page.
type docs struct {
	once   sync.Once
	assets map[string]*docsAsset // by name under /docs/; "" is the page
	// writeProblem answers a request for a file that does not exist.
	writeProblem func(http.ResponseWriter, *http.Request, error)
}

func newDocs(writeProblem func(http.ResponseWriter, *http.Request, error)) *docs {
	return &docs{writeProblem: writeProblem}
}

func (d *docs) load() {
	d.assets = map[string]*docsAsset{}
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".png":  "image/png",
		".txt":  "text/plain; charset=utf-8",
		"":      "text/plain; charset=utf-8", // LICENSE, NOTICE
	}
	entries, _ := docsFiles.ReadDir("docsui")
	for _, e := range entries {
		body, _ := docsFiles.ReadFile("docsui/" + e.Name())
		sum := sha256.Sum256(body)
		name := e.Name()
		if name == "index.html" {
			name = ""
		}
		d.assets[name] = &docsAsset{
			body:        body,
			contentType: types[path.Ext(e.Name())],
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
	}
}

// register adds the routes to mux. The page is /docs; /docs/ serves it too.
func (d *docs) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /docs", d.serve)
	mux.HandleFunc("GET /docs/{file}", d.serve)
	mux.HandleFunc("GET /docs/{$}", d.serve)
}

func (d *docs) serve(w http.ResponseWriter, r *http.Request) {
	d.once.Do(d.load)
	a, ok := d.assets[r.PathValue("file")]
	if !ok {
		d.writeProblem(w, r, newProblem(http.StatusNotFound, "no such documentation file"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Security-Policy", docsPolicy)
	h.Set("Vary", "Accept-Encoding")
	// The assets change only with the binary; revalidating by ETag is cheap.
	h.Set("Cache-Control", "no-cache")
	body, etag := a.body, a.etag
	if len(body) > 1024 && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		// Each encoding is its own representation, with its own ETag.
		body, etag = a.gzip(), strings.TrimSuffix(a.etag, `"`)+`-gzip"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (a *docsAsset) gzip() []byte {
	a.gzipOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(a.body)
		_ = zw.Close()
		a.gzipped = buf.Bytes()
	})
	return a.gzipped
}

// acceptsGzip reads Accept-Encoding just well enough: gzip listed without
// q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
