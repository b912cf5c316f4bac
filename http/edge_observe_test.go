package http

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi/metrics"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

// logLine returns the "request" log line of the request with id requestID.
func logLine(t *testing.T, logs, requestID string) map[string]any {
	t.Helper()
	var found map[string]any
	for line := range strings.SplitSeq(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "request" || m["request_id"] != requestID {
			continue
		}
		if found != nil {
			t.Errorf("two request lines for %s", requestID)
		}
		found = m
	}
	if found == nil {
		t.Fatalf("no request line for %s in:\n%s", requestID, logs)
	}
	return found
}

// TestRequestLogLine: one structured line per request, naming the route
// pattern, the status, the duration, the request id and the user, and
// never the token or anything the user wrote.
func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	const title = "Surprise party for Bob"
	const description = "buy the cake at Lola's"

	rec := e.do(t, http.MethodPost, "/api/me/tasks", tok,
		`{"title":"`+title+`","description":"`+description+`","tags":["confidential-tag"]}`, "X-Request-ID", "req-create")
	if rec.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Status, rec.Body)
	}
	line := logLine(t, e.logs.String(), "req-create")
	want := map[string]any{
		"level": "INFO", "method": "POST", "route": "/api/{user_id}/tasks",
		"status": float64(201), "user_id": "alice",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log field %s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
	if d, ok := line["duration_ms"].(float64); !ok || d < 0 {
		t.Errorf("duration_ms = %v", line["duration_ms"])
	}

	// The raw URL would carry the search text and the task id; the line
	// names the pattern.
	e.do(t, http.MethodGet, "/api/me/tasks?q=party+for+Bob", tok, "", "X-Request-ID", "req-search")
	e.do(t, http.MethodGet, "/api/me/tasks/1", tok, "", "X-Request-ID", "req-get")
	if got := logLine(t, e.logs.String(), "req-get")["route"]; got != "/api/{user_id}/tasks/{id}" {
		t.Errorf("route of GET /api/me/tasks/1 logged as %v", got)
	}
	// A rejected token is logged without it, and without a user.
	bad := tok[:len(tok)-4] + "AAAA"
	e.do(t, http.MethodGet, "/api/me/tasks", bad, "", "X-Request-ID", "req-bad")
	if l := logLine(t, e.logs.String(), "req-bad"); l["status"] != float64(401) || l["user_id"] != nil {
		t.Errorf("bad token line: %v", l)
	}
	e.do(t, http.MethodGet, "/no/such/thing", "", "", "X-Request-ID", "req-404")
	if got := logLine(t, e.logs.String(), "req-404")["route"]; got != "unmatched" {
		t.Errorf("unknown path logged as route %v", got)
	}

	logs := e.logs.String()
	sig := tok[strings.LastIndex(tok, ".")+1:]
	for what, secret := range map[string]string{
		"the token": tok, "the token's signature": sig, "the rejected token": bad,
		"the title": title, "part of the title": "Surprise party", "the description": description,
		"a tag": "confidential-tag", "the search text": "party+for", "the secret": testSecret,
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %s (%q):\n%s", what, secret, logs)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	for _, tc := range []struct {
		method, path, token string
		api                 bool
	}{
		{"GET", "/api/me/tasks", tok, true},
		{"GET", "/api/me/tasks", "", true},             // 401
		{"GET", "/api/me/tasks/nope", tok, true},       // 404
		{"DELETE", "/api/me/tasks", tok, true},         // 405
		{"POST", "/api/me/tasks", tok, true},           // 415/422
		{"GET", "/api/unknown/deeper/path", tok, true}, // unmatched under /api
		{"GET", "/healthz", "", false},
		{"GET", "/readyz", "", false},
		{"GET", "/metrics", "", false},
		{"GET", "/openapi.json", "", false},
		{"GET", "/docs", "", false},
		{"GET", "/nowhere", "", false},
	} {
		h := e.do(t, tc.method, tc.path, tc.token, "").Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Request-ID") == "" {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, h)
		}
		if tc.api && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", tc.method, tc.path, h.Get("Cache-Control"))
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	e := newEnv(t, func(c *Config) { c.Metrics = m })
	m.SetPoolStats(func() []metrics.PoolStats {
		return []metrics.PoolStats{{Pool: "writer", MaxOpen: 1, Open: 1, InUse: 0, Idle: 1, WaitCount: 3, WaitDuration: 1500 * time.Millisecond}}
	})
	m.JWKSRefresh(nil)
	m.JWKSRefresh(errors.New("unreachable"))
	m.JWKSRefresh(errors.New("unreachable"))
	tok := token(t, "alice")
	e.do(t, http.MethodPost, "/api/me/tasks", tok, `{"title":"a"}`)
	e.do(t, http.MethodGet, "/api/me/tasks/987654", tok, "")
	e.do(t, http.MethodGet, "/api/me/tasks/987655", tok, "")
	e.do(t, "BREW", "/api/me/tasks", tok, "")

	rec := e.do(t, http.MethodGet, "/metrics", "", "")
	body := string(rec.Body)
	if rec.Status != 200 || !strings.HasPrefix(rec.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", rec.Status, rec.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`todoapi_http_requests_total{method="POST",route="/api/{user_id}/tasks",status="201"} 1`,
		`todoapi_http_requests_total{method="GET",route="/api/{user_id}/tasks/{id}",status="404"} 2`,
		`todoapi_http_requests_total{method="OTHER",route="unmatched",status="405"} 1`,
		`todoapi_http_request_duration_seconds_bucket{method="POST",route="/api/{user_id}/tasks",le="+Inf"} 1`,
		`todoapi_http_requests_in_flight 1`, // this scrape
		`todoapi_rate_limited_total{limit="user"} 0`,
		`todoapi_rate_limited_total{limit="auth_failure"} 0`,
		`todoapi_jwks_refreshes_total{result="ok"} 1`,
		`todoapi_jwks_refreshes_total{result="error"} 2`,
		`todoapi_db_pool_max_connections{pool="writer"} 1`,
		`todoapi_db_pool_open_connections{pool="writer"} 1`,
		`todoapi_db_pool_in_use_connections{pool="writer"} 0`,
		`todoapi_db_pool_idle_connections{pool="writer"} 1`,
		`todoapi_db_pool_waits_total{pool="writer"} 3`,
		`todoapi_db_pool_wait_seconds_total{pool="writer"} 1.5`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "987654") || strings.Contains(body, `method="BREW"`) {
		t.Errorf("a raw path or method became a label:\n%s", grepLines(body, "todoapi_http_requests_total"))
	}
}

// TestReadyzFollowsTheDatabase points the service at a PostgreSQL database,
// makes it unreachable (existing connections killed, new ones refused) and
// reachable again, and watches /readyz.
func TestReadyzFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	u, _ := url.Parse(dbURL)
	name := strings.TrimPrefix(u.Path, "/")
	store, err := postgres.Open(t.Context(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, migrated(t, store))
	tok := token(t, "alice")

	admin, err := pgx.Connect(t.Context(), pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
		_ = admin.Close(context.Background())
	})
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	if rec := e.do(t, http.MethodGet, "/readyz", "", ""); rec.Status != 200 {
		t.Fatalf("/readyz with the database up: %d %s", rec.Status, rec.Body)
	}

	exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false")
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "' AND pid <> pg_backend_pid()")
	start := time.Now()
	rec := e.do(t, http.MethodGet, "/readyz", "", "", "Accept", "application/problem+json")
	t.Logf("/readyz with the database down: %d in %v", rec.Status, time.Since(start).Round(time.Millisecond))
	if rec.Status != http.StatusServiceUnavailable || rec.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("/readyz with the database down: %d %s", rec.Status, rec.Body)
	}
	// "Not accepting connections" (SQLSTATE 55000 while connecting) is an
	// outage like any other: 503, saying nothing about the cause.
	api := e.do(t, http.MethodGet, "/api/me/tasks", tok, "")
	if api.Status != http.StatusServiceUnavailable {
		t.Errorf("a task request with the database down: %d; want 503", api.Status)
	}
	for _, body := range []string{string(rec.Body), string(api.Body)} {
		for _, leak := range []string{"FATAL", "SQLSTATE", "pg_", name, "postgres", "allow", "terminat"} {
			if strings.Contains(strings.ToLower(body), strings.ToLower(leak)) {
				t.Errorf("503 body leaks %q: %s", leak, body)
			}
		}
	}

	exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true")
	start = time.Now()
	for {
		rec := e.do(t, http.MethodGet, "/readyz", "", "")
		if rec.Status == http.StatusOK {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("/readyz still %d 10 s after the database came back", rec.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("/readyz back to 200 %v after the database allowed connections again", time.Since(start).Round(time.Millisecond))
	if rec := e.do(t, http.MethodGet, "/api/me/tasks", tok, ""); rec.Status != 200 {
		t.Errorf("a task request after recovery: %d", rec.Status)
	}
}

// TestDrainingClosesConnections: while the process shuts down, /readyz
// says 503 and every response asks the client to close its connection.
func TestDrainingClosesConnections(t *testing.T) {
	t.Parallel()
	var draining bool
	e := newEnv(t, func(c *Config) { c.Draining = func() bool { return draining } })
	tok := token(t, "alice")
	if rec := e.do(t, http.MethodGet, "/readyz", "", ""); rec.Status != 200 || rec.Header.Get("Connection") != "" {
		t.Fatalf("before draining: %d, Connection %q", rec.Status, rec.Header.Get("Connection"))
	}
	draining = true
	ready := e.do(t, http.MethodGet, "/readyz", "", "")
	if ready.Status != http.StatusServiceUnavailable || ready.Header.Get("Connection") != "close" {
		t.Errorf("/readyz while draining: %d, Connection %q", ready.Status, ready.Header.Get("Connection"))
	}
	api := e.do(t, http.MethodPost, "/api/me/tasks", tok, `{"title":"still served"}`)
	if api.Status != http.StatusCreated || api.Header.Get("Connection") != "close" {
		t.Errorf("a request while draining: %d, Connection %q; want it served, with Connection: close", api.Status, api.Header.Get("Connection"))
	}
}

// goneWriter is the connection of a client that went away: every write
// fails. It counts the statuses the handler passed down.
type goneWriter struct {
	header  http.Header
	headers []int
}

func (w *goneWriter) Header() http.Header { return w.header }

func (w *goneWriter) WriteHeader(status int) { w.headers = append(w.headers, status) }

func (w *goneWriter) Write([]byte) (int, error) { return 0, errors.New("write: broken pipe") }

// TestClientGoneIsRecorded: a response whose client went away is logged
// and counted as 499, with the status the handler had started (200), not
// as a 200 that nobody received; no second status reaches net/http, which
// would warn of a "superfluous response.WriteHeader"; and huma's panic on
// the failed write ends as net/http's quiet abort, not as a logged panic.
func TestClientGoneIsRecorded(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	e := newEnv(t, func(c *Config) { c.Metrics = m })
	tok := token(t, "alice")
	e.do(t, http.MethodPost, "/api/me/tasks", tok, `{"title":"a"}`).want(t, http.StatusCreated)

	req := newRequest(http.MethodGet, "/api/alice/tasks", tok, "")
	req.Header.Set("X-Request-ID", "req-gone")
	w := &goneWriter{header: http.Header{}}
	if p := serve(e.handler, w, req); p != nil && p != http.ErrAbortHandler {
		t.Fatalf("panic %v, want none or http.ErrAbortHandler (net/http's quiet abort)", p)
	}
	if strings.Contains(e.logs.String(), "panic") {
		t.Errorf("a client that went away is logged as a panic:\n%s", e.logs.String())
	}
	if len(w.headers) != 1 || w.headers[0] != http.StatusOK {
		t.Errorf("statuses written to the connection: %v, want [200] alone", w.headers)
	}
	line := logLine(t, e.logs.String(), "req-gone")
	if line["status"] != float64(499) || line["status_started"] != float64(200) {
		t.Errorf("log line of a response nobody received: status %v, status_started %v; want 499, 200", line["status"], line["status_started"])
	}

	// A client that hung up while its request ran (net/http cancels the
	// request's context) is recorded the same way.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req = newRequest(http.MethodGet, "/api/alice/tasks", tok, "").WithContext(ctx)
	req.Header.Set("X-Request-ID", "req-hung-up")
	serve(e.handler, httptest.NewRecorder(), req)
	if line := logLine(t, e.logs.String(), "req-hung-up"); line["status"] != float64(499) {
		t.Errorf("log line of a request whose client hung up: status %v, want 499", line["status"])
	}

	body := string(e.do(t, http.MethodGet, "/metrics", "", "").Body)
	if want := `todoapi_http_requests_total{method="GET",route="/api/{user_id}/tasks",status="499"} 2`; !strings.Contains(body, want) {
		t.Errorf("metrics lack %s:\n%s", want, body)
	}
	if strings.Contains(body, `route="/api/{user_id}/tasks",status="200"`) {
		t.Errorf("metrics count a 200 for a response nobody received:\n%s", body)
	}
}
