package http

// Helpers for the tests of the service's edge (CORS, limits, logs, metrics,
// docs). They are internal tests (package http), so that they can also look
// at unexported parts such as the limiter set; every name starts with edge
// to stay clear of other test files.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
	"github.com/todoapi/todoapi/internal/testenv"
	"github.com/todoapi/todoapi/sqlite"
)

const edgeSecret = "edge-test-secret-0123456789abcdef"

// edgeEnv is a real handler (real verifier, service and SQLite store) whose
// log lines the test can read.
type edgeEnv struct {
	handler http.Handler
	store   *sqlite.Store
	logs    *edgeLog
	config  Config
}

// edgeLog is a goroutine-safe buffer for a JSON slog handler.
type edgeLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *edgeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *edgeLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newEdgeEnv builds the handler with cfg's edge settings (CORS, limits, …)
// on top of a fresh SQLite store.
func newEdgeEnv(t *testing.T, edit func(*Config)) *edgeEnv {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "todo.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	verifier, err := auth.NewVerifier(auth.Config{Secret: edgeSecret})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	logs := &edgeLog{}
	cfg := Config{
		Tasks:    todoapi.NewService(store),
		Verifier: verifier,
		Database: store,
		Logger:   newJSONLogger(logs),
		Version:  "test",
	}
	if edit != nil {
		edit(&cfg)
	}
	return &edgeEnv{handler: NewHandler(cfg), store: store, logs: logs, config: cfg}
}

// newJSONLogger logs everything, debug lines included, as the service's
// JSON log format does.
func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func edgeToken(t testing.TB, sub string) string {
	t.Helper()
	tok, err := auth.Mint(edgeSecret, auth.MintClaims{Subject: sub, TTL: time.Hour})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

// do sends one request through the handler; headers are name, value pairs.
func (e *edgeEnv) do(t testing.TB, method, path, token, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

// edgeRequest is a request as it reaches the handler from a client.
func edgeRequest(method, path, token string) *http.Request {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func edgeServe(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// edgeBrowser starts headless Chromium for t, or skips t (fails under
// TODOAPI_NO_SKIP=1) when it is not installed. The browser can reach
// nothing but loopback addresses: every host name except localhost fails
// to resolve, so a page that tried to load anything from the internet
// would fail visibly instead of depending on the machine's network.
func edgeBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Skip(t, "Chromium is not installed at "+chromiumPath+" (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // tests run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first call starts the browser; it must not carry a timeout, which
	// would end the browser with it. Later calls are bounded.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}
