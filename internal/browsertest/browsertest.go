// Package browsertest starts the headless Chromium that the browser tests
// (CORS and the docs page in http, a frontend's calls in cmd/todoapi) drive
// through chromedp: one way to start it, so that every such test runs the
// same browser with the same isolation.
package browsertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/todoapi/todoapi/internal/testenv"
)

// ChromiumPath is where Debian's chromium package installs the browser;
// nothing downloads one.
const ChromiumPath = "/usr/bin/chromium"

// Start starts headless Chromium for t, or skips t (fails it under
// TODOAPI_NO_SKIP=1) when it is not installed, and stops it when t ends.
// The browser resolves no host but localhost and 127.0.0.1, so a page can
// reach only this machine's servers: one that tried to load anything from
// the internet fails visibly instead of depending on the network. Calls
// on the returned context are bounded by a generous minute and a half.
func Start(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		testenv.Skip(t, "Chromium is not installed at "+ChromiumPath+" (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
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
	// The first call starts the browser and must carry no timeout, which
	// would end the browser with it; later calls are bounded.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ServePage serves html at every path of a loopback port for the length of
// t and returns its origin as http://localhost:PORT: an origin other than
// an API served at 127.0.0.1, so that the page's calls to the API are
// cross-origin and CORS applies as it would for a real frontend.
func ServePage(t *testing.T, html string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}
