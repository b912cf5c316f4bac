package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// edgeServe runs `todoapi serve` in-process with the environment set by the
// test and returns its base URL; the server stops when the test ends.
func edgeServe(t *testing.T) string {
	t.Helper()
	url, _ := serveInProcess(t, os.Getenv)
	return url
}

// serveInProcess runs todoapi through runWith, as main does, with the
// settings getenv gives, and returns its base URL and what it has printed
// so far. The server stops, and must stop cleanly, when the test ends.
func serveInProcess(t *testing.T, getenv func(string) string) (url string, printed func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runWith(ctx, nil, out, getenv) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20s")
		}
	})
	listening := regexp.MustCompile(`todoapi listening on (http://\S+)`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			return m[1], out.String
		}
		select {
		case err := <-done:
			done <- err // for the cleanup, which waits for it too
			t.Fatalf("serve stopped before listening: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no address within 20s:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitForMetric polls /metrics until it has a line starting with want.
func waitForMetric(t *testing.T, base, want string) {
	t.Helper()
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		for line := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(line, want) && !strings.HasSuffix(line, " 0") {
				return
			}
		}
	}
	t.Errorf("/metrics has no non-zero %s:\n%s", want, grepLines(body, "todoapi_"))
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeWiresTheEdge starts the real serve command with a JWKS and
// checks what its wiring adds: JWKS fetches and requests in /metrics, the
// default CORS origin, the security headers.
func TestServeWiresTheEdge(t *testing.T) {
	isolate(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","use":"sig","x":%q}]}`,
			base64.RawURLEncoding.EncodeToString(pub))
	}))
	t.Cleanup(jwks.Close)
	t.Setenv("JWKS_URL", jwks.URL)
	base := edgeServe(t)

	waitForMetric(t, base, `todoapi_jwks_refreshes_total{result="ok"}`)
	waitForMetric(t, base, `todoapi_http_requests_total{method="GET",route="/metrics",status="200"}`)

	req, _ := http.NewRequest(http.MethodGet, base+"/api/me/tasks", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 401 || h.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /api/me/tasks without a token from the default origin: %d %v", resp.StatusCode, h)
	}
}

// TestServeCountsJWKSFailures: an unreachable JWKS shows in the metrics.
func TestServeCountsJWKSFailures(t *testing.T) {
	isolate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/jwks"
	ln.Close()
	t.Setenv("JWKS_URL", closed)
	t.Setenv("JWKS_MIN_REFRESH_INTERVAL", "1s")
	base := edgeServe(t)
	waitForMetric(t, base, `todoapi_jwks_refreshes_total{result="error"}`)
}
