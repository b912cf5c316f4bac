package http

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoapi/todoapi"
)

func TestUserRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.UserRateLimit = RateLimit{RPS: 1, Burst: 5}
		c.CORSOrigins = []string{edgeFrontend}
	})
	alice, bob := token(t, "alice"), token(t, "bob")
	for i := range 5 {
		if rec := e.do(t, http.MethodGet, "/api/me/tasks", alice, ""); rec.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i+1, rec.Status, rec.Body)
		}
	}
	rec := e.do(t, http.MethodGet, "/api/me/tasks", alice, "", "Origin", edgeFrontend, "Accept", "application/problem+json")
	if rec.Status != http.StatusTooManyRequests {
		t.Fatalf("6th request in a burst of 5: %d, want 429", rec.Status)
	}
	secs, err := strconv.Atoi(rec.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 2 {
		t.Errorf("Retry-After %q; want whole seconds, about 1 at 1 request/s", rec.Header.Get("Retry-After"))
	}
	var p problem
	if err := json.Unmarshal(rec.Body, &p); err != nil || p.Status != 429 || p.Detail == "" || p.Message != p.Detail {
		t.Errorf("429 body is not our problem document: %s", rec.Body)
	}
	if ct := rec.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("429 Content-Type %q for a client that accepts problem+json", ct)
	}
	if rec.Header.Get("Access-Control-Allow-Origin") != edgeFrontend {
		t.Errorf("a browser could not read the 429: no CORS headers")
	}
	// Other paths of the same user share the bucket, including other users'
	// paths (which would be 403): the limit is per user, not per route.
	if rec := e.do(t, http.MethodGet, "/api/bob/tasks", alice, ""); rec.Status != http.StatusTooManyRequests {
		t.Errorf("alice on bob's path while over her limit: %d, want 429", rec.Status)
	}
	// Another user is unaffected.
	if rec := e.do(t, http.MethodGet, "/api/me/tasks", bob, ""); rec.Status != http.StatusOK {
		t.Errorf("bob, while alice is limited: %d", rec.Status)
	}
	// Endpoints without a token are not limited per user.
	for range 10 {
		if rec := e.do(t, http.MethodGet, "/healthz", "", ""); rec.Status != http.StatusOK {
			t.Fatalf("/healthz: %d", rec.Status)
		}
	}
	metrics := string(e.do(t, http.MethodGet, "/metrics", "", "").Body)
	if !strings.Contains(metrics, `todoapi_rate_limited_total{limit="user"} 2`) {
		t.Errorf("metrics do not count the 2 rejections:\n%s", grepLines(metrics, "rate_limited"))
	}
}

// TestUserRateLimitRefills runs in a synctest bubble: the bucket refills
// while the test sleeps on the bubble's clock, which moves at once.
func TestUserRateLimitRefills(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.UserRateLimit = RateLimit{RPS: 20, Burst: 2} })
		tok := token(t, "alice")
		for i, want := range []int{200, 200, 429, 429} {
			if got := e.do(t, http.MethodGet, "/api/me/tasks", tok, "").Status; got != want {
				t.Fatalf("request %d of a burst at burst size 2: %d, want %d", i+1, got, want)
			}
		}
		time.Sleep(50 * time.Millisecond) // 20/s: one request's worth
		for i, want := range []int{200, 429} {
			if got := e.do(t, http.MethodGet, "/api/me/tasks", tok, "").Status; got != want {
				t.Errorf("request %d after 50 ms: %d, want %d", i+1, got, want)
			}
		}
	})
}

func TestRateLimitDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.UserRateLimit = RateLimit{RPS: 0, Burst: 100} })
	tok := token(t, "alice")
	for i := range 300 {
		if rec := e.do(t, http.MethodGet, "/api/me/tasks", tok, ""); rec.Status != http.StatusOK {
			t.Fatalf("request %d with the limit disabled: %d", i+1, rec.Status)
		}
	}
}

func TestAuthFailureLimitPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.AuthFailureLimit = RateLimit{RPS: 0.5, Burst: 3}
	})
	good := token(t, "alice")
	from := func(ip, token string) int {
		req := newRequest(http.MethodGet, "/api/me/tasks", token, "")
		req.RemoteAddr = ip + ":40000"
		rec := e.serve(t, req)
		if rec.Status == http.StatusTooManyRequests && rec.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		return rec.Status
	}
	// Three bad tokens use up the budget; the fourth gets 429 instead of 401.
	for i := range 3 {
		if got := from("203.0.113.7", "bad.token."+strconv.Itoa(i)); got != http.StatusUnauthorized {
			t.Fatalf("bad token %d: %d, want 401", i+1, got)
		}
	}
	if got := from("203.0.113.7", "bad.token.4"); got != http.StatusTooManyRequests {
		t.Fatalf("4th bad token from one address: %d, want 429", got)
	}
	// A good token from the same address is still served: the budget
	// counts failures, it never refuses a token that verifies.
	if got := from("203.0.113.7", good); got != http.StatusOK {
		t.Errorf("good token from the address out of budget: %d, want 200", got)
	}
	if got := from("203.0.113.7", "bad.token.5"); got != http.StatusTooManyRequests {
		t.Fatalf("bad token after a good one: %d, want 429", got)
	}
	// Other addresses are unaffected, and missing tokens never count.
	if got := from("198.51.100.1", good); got != http.StatusOK {
		t.Errorf("good token from another address: %d", got)
	}
	for range 10 {
		if got := from("198.51.100.2", ""); got != http.StatusUnauthorized {
			t.Fatalf("missing token: %d, want 401 every time", got)
		}
	}
	metrics := string(e.do(t, http.MethodGet, "/metrics", "", "").Body)
	if !strings.Contains(metrics, `todoapi_rate_limited_total{limit="auth_failure"} 2`) {
		t.Errorf("metrics do not count 2 auth-failure rejections:\n%s", grepLines(metrics, "rate_limited"))
	}
}

// TestAuthFailureLimitBurstOfBadTokens sends a burst of bad tokens from
// one address concurrently. It runs in a synctest bubble, whose clock
// stands still while the goroutines run, so the budget is exactly the
// burst, however slow the machine.
func TestAuthFailureLimitBurstOfBadTokens(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.AuthFailureLimit = RateLimit{RPS: 1, Burst: 20} })
		var unauthorized, limited atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 50 {
					req := newRequest(http.MethodGet, "/api/me/tasks", fmt.Sprintf("guess-%d-%d", w, i), "")
					req.RemoteAddr = "192.0.2.9:5555"
					switch e.serve(t, req).Status {
					case http.StatusUnauthorized:
						unauthorized.Add(1)
					case http.StatusTooManyRequests:
						limited.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if unauthorized.Load() != 20 || limited.Load() != 380 {
			t.Errorf("400 bad tokens from one address at once: %d answered 401, %d answered 429; want 20 and 380",
				unauthorized.Load(), limited.Load())
		}
	})
}

func TestClientIPAndTrustedProxies(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxies: the peer", "203.0.113.5:1234", []string{"1.2.3.4"}, nil, "203.0.113.5"},
		{"untrusted peer: header ignored", "203.0.113.5:1234", []string{"1.2.3.4"}, proxies, "203.0.113.5"},
		{"trusted proxy: the client it saw", "10.1.2.3:80", []string{"198.51.100.7"}, proxies, "198.51.100.7"},
		{"spoofed left part ignored", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.7"}, proxies, "198.51.100.7"},
		{"chain of trusted proxies", "10.1.2.3:80", []string{"198.51.100.7, 10.9.9.9", "10.4.4.4"}, proxies, "198.51.100.7"},
		{"IPv6 loopback proxy", "[::1]:80", []string{"2001:db8::1"}, proxies, "2001:db8::/64"},
		{"IPv6 peers share their /64", "[2001:db8:0:7:abcd::42]:1", nil, nil, "2001:db8:0:7::/64"},
		{"garbage stops the walk", "10.1.2.3:80", []string{"198.51.100.7, nonsense"}, proxies, "10.1.2.3"},
		{"IPv4-mapped peer", "[::ffff:203.0.113.5]:1", nil, nil, "203.0.113.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			s := &server{trustedProxies: tc.trusted}
			req := newRequest(http.MethodGet, "/", "", "")
			req.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			got = s.clientIP(req)
			if got != tc.want {
				t.Errorf("client IP %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLimiterSetIsBounded: a flood of distinct keys (a user per request,
// or an attacker's many addresses) never grows the set past its bound, and
// buckets that have refilled are forgotten.
func TestLimiterSetIsBounded(t *testing.T) {
	t.Parallel()
	set := newLimiterSet(RateLimit{RPS: 10, Burst: 10}, 100)
	now := time.Unix(1_000_000, 0)
	set.now = func() time.Time { return now }
	for i := range 10_000 {
		set.allow("user-" + strconv.Itoa(i))
	}
	if n := set.len(); n != 100 {
		t.Errorf("after 10 000 keys the set holds %d buckets, want the bound of 100", n)
	}
	// A key in use keeps its (empty) bucket even while others come and go.
	for range 10 {
		set.allow("hot")
	}
	if ok, _ := set.allow("hot"); ok {
		t.Fatalf("the 11th request in a burst of 10 was allowed")
	}
	for i := range 50 {
		set.allow("cold-" + strconv.Itoa(i))
	}
	if ok, wait := set.allow("hot"); ok || wait <= 0 {
		t.Errorf("hot key lost its bucket to 50 newer keys (ok=%v, wait=%v)", ok, wait)
	}
	// Once every bucket has had time to refill, they are dropped on the
	// next insertion.
	now = now.Add(2 * time.Second)
	set.allow("late")
	if n := set.len(); n != 1 {
		t.Errorf("after every bucket refilled the set holds %d, want 1", n)
	}
}

// TestPanicBecomesLogged500: a handler that panics answers a generic 500
// problem, the stack goes to the log with the request id, and the server
// keeps serving.
func TestPanicBecomesLogged500(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.Tasks = panickyTasks{c.Tasks}
		c.CORSOrigins = []string{edgeFrontend}
	})
	tok := token(t, "alice")
	rec := e.do(t, http.MethodPost, "/api/me/tasks", tok, `{"title":"boom"}`, "X-Request-ID", "panic-req-1", "Origin", edgeFrontend)
	if rec.Status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500; body %s", rec.Status, rec.Body)
	}
	body := string(rec.Body)
	var p problem
	if err := json.Unmarshal(rec.Body, &p); err != nil || p.Status != 500 || p.Detail != "an unexpected error occurred" {
		t.Errorf("500 body %s", body)
	}
	for _, leak := range []string{"goroutine", ".go:", "secret-internal-state", "panickyTasks"} {
		if strings.Contains(body, leak) {
			t.Errorf("the response leaks %q: %s", leak, body)
		}
	}
	h := rec.Header
	if h.Get("X-Request-ID") != "panic-req-1" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Access-Control-Allow-Origin") != edgeFrontend || h.Get("Location") != "" {
		t.Errorf("500 headers: %v", h)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "secret-internal-state") || !strings.Contains(logs, `"stack":"goroutine`) || !strings.Contains(logs, `"request_id":"panic-req-1"`) {
		t.Errorf("the panic, its stack and the request id are not in the log:\n%s", logs)
	}
	if line := logLine(t, logs, "panic-req-1"); line["status"] != float64(500) {
		t.Errorf("the request's log line says status %v", line["status"])
	}
	if rec := e.do(t, http.MethodGet, "/api/me/tasks", tok, ""); rec.Status != http.StatusOK {
		t.Errorf("after the panic: %d", rec.Status)
	}
}

// panickyTasks panics on create, with an internal value in the message.
type panickyTasks struct{ todoapi.TaskService }

func (panickyTasks) CreateTask(context.Context, todoapi.User, todoapi.TaskPatch) (todoapi.Task, error) {
	panic("secret-internal-state")
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestBodyLimitWithoutContentLength: a chunked body (no Content-Length, so
// nothing to refuse up front) is cut at MAX_BODY_BYTES while it streams:
// 413, nothing stored, and the server stops reading long before the end.
func TestBodyLimitWithoutContentLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	tok := token(t, "alice")

	var sent atomic.Int64
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		if _, err := io.WriteString(pw, `{"title":"big","description":"`); err != nil {
			return
		}
		chunk := []byte(strings.Repeat("x", 1024))
		for range 10 * 1024 { // up to 10 MiB, unless the server hangs up
			n, err := pw.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
		_, _ = io.WriteString(pw, `"}`)
	}()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/me/tasks", pr)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_ = pr.CloseWithError(io.ErrClosedPipe)
	t.Logf("chunked body: %d after the client had sent %d bytes", resp.StatusCode, sent.Load())
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "1024") {
		t.Errorf("status %d, body %s; want 413 naming the 1024-byte limit", resp.StatusCode, body)
	}
	if sent.Load() >= 5<<20 {
		t.Errorf("the server read %d bytes of a body whose limit is 1024", sent.Load())
	}
	if rec := e.do(t, http.MethodGet, "/api/me/tasks", tok, ""); strings.Contains(string(rec.Body), `"big"`) {
		t.Errorf("the oversized task was stored: %s", rec.Body)
	}
}

// TestAuthFailuresNeverLockOutValidTokens: many users share one address (a
// NAT, a frontend server calling the API for all its users, a proxy whose
// X-Forwarded-For is not trusted). Forged and just-expired tokens from that
// address must not cost anyone else a request: a valid token is answered at
// once, whether its user was seen before or not, while the failing tokens
// themselves get 429 once the address's budget is spent.
func TestAuthFailuresNeverLockOutValidTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AuthFailureLimit = RateLimit{RPS: 1, Burst: 20} })
	const shared = "198.51.100.77:443"
	from := func(token string) *response {
		req := newRequest(http.MethodGet, "/api/me/tasks", token, "")
		req.RemoteAddr = shared
		return e.serve(t, req)
	}
	bob := token(t, "bob")
	if rec := from(bob); rec.Status != http.StatusOK {
		t.Fatalf("bob before any failure: %d", rec.Status)
	}

	limited := 0
	for i := range 60 {
		forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": fmt.Sprint("mallory-", i), "exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString([]byte("not-the-secret"))
		if err != nil {
			t.Fatal(err)
		}
		switch code := from(forged).Status; code {
		case http.StatusTooManyRequests:
			limited++
		case http.StatusUnauthorized:
		default:
			t.Fatalf("forged token %d: %d", i, code)
		}
	}
	if limited == 0 {
		t.Errorf("60 forged tokens from one address: none got 429; the failure budget is 20")
	}
	// Another user's valid token, never seen before, and one already cached.
	for _, tok := range []string{token(t, "carol"), bob} {
		if rec := from(tok); rec.Status != http.StatusOK {
			t.Fatalf("valid token after 60 forged ones from the same address: %d %s", rec.Status, rec.Body)
		}
	}

	// A frontend server whose users' tokens expired a moment ago.
	for i := range 30 {
		expired, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": fmt.Sprint("user-", i), "exp": time.Now().Add(-2 * time.Minute).Unix(),
		}).SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		if code := from(expired).Status; code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
			t.Fatalf("expired token %d: %d", i, code)
		}
	}
	if rec := from(token(t, "dave")); rec.Status != http.StatusOK {
		t.Fatalf("valid token after 30 expired ones from the same address: %d %s", rec.Status, rec.Body)
	}
}
