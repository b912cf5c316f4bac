package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
	todohttp "github.com/todoapi/todoapi/http"
	"github.com/todoapi/todoapi/metrics"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
	"github.com/todoapi/todoapi/sqlite"
)

func edgeLoad(t *testing.T, env map[string]string) (edgeConfig, error) {
	t.Helper()
	t.Chdir(t.TempDir()) // no .env
	c, err := loadConfig(func(name string) string { return env[name] })
	return c.Edge, err
}

func TestEdgeConfigDefaults(t *testing.T) {
	e, err := edgeLoad(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := edgeConfig{
		CORSOrigins:       []string{"http://localhost:3000"},
		UserRateLimit:     todohttp.RateLimit{RPS: 50, Burst: 100},
		UserMaxInFlight:   8,
		AuthFailureLimit:  todohttp.RateLimit{RPS: 1, Burst: 20},
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ShutdownDelay: time.Second,
	}
	if fmt.Sprint(e) != fmt.Sprint(want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", e, want)
	}
}

func TestEdgeConfigValues(t *testing.T) {
	e, err := edgeLoad(t, map[string]string{
		"CORS_ORIGINS":       " https://App.Example.com:443/ , http://localhost:5173,http://[::1]:8080",
		"FRONTEND_URL":       "https://frontend.example.org",
		"RATE_LIMIT_RPS":     "0",
		"RATE_LIMIT_BURST":   "7",
		"USER_MAX_IN_FLIGHT": "0",
		"AUTH_FAILURE_RPS":   "0.5",
		"TRUSTED_PROXIES":    "10.0.0.0/8, 192.168.1.10, ::1",
		"READ_TIMEOUT":       "3s",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOrigins := []string{"https://app.example.com", "http://localhost:5173", "http://[::1]:8080", "https://frontend.example.org"}
	if !slices.Equal(e.CORSOrigins, wantOrigins) {
		t.Errorf("origins %q, want %q", e.CORSOrigins, wantOrigins)
	}
	if e.UserRateLimit.RPS != 0 || e.UserRateLimit.Burst != 7 || e.AuthFailureLimit.RPS != 0.5 || e.UserMaxInFlight != 0 {
		t.Errorf("limits %+v %+v", e.UserRateLimit, e.AuthFailureLimit)
	}
	wantProxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.10/32"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(e.TrustedProxies, wantProxies) {
		t.Errorf("proxies %v", e.TrustedProxies)
	}
	if e.ReadTimeout != 3*time.Second {
		t.Errorf("READ_TIMEOUT %v", e.ReadTimeout)
	}
}

func TestEdgeConfigErrors(t *testing.T) {
	for name, value := range map[string]string{
		"CORS_ORIGINS":        "https://app.example.com/login",
		"FRONTEND_URL":        "app.example.com",
		"RATE_LIMIT_RPS":      "-1",
		"RATE_LIMIT_BURST":    "0",
		"USER_MAX_IN_FLIGHT":  "-1",
		"AUTH_FAILURE_BURST":  "lots",
		"TRUSTED_PROXIES":     "proxy.internal",
		"READ_HEADER_TIMEOUT": "0",
		"WRITE_TIMEOUT":       "soon",
		"IDLE_TIMEOUT":        "-1s",
		"SHUTDOWN_DELAY":      "a while",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := edgeLoad(t, map[string]string{name: value})
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s=%s: err = %v; want a one-line error", name, value, err)
			}
			// FRONTEND_URL shares its message with CORS_ORIGINS.
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: %v does not name the variable", name, value, err)
			}
		})
	}
}

// edgeServer runs the real handler on a real listener with the server
// settings of edge.go, on SQLite.
func edgeServer(t *testing.T, e edgeConfig) (addr string, store *sqlite.Store) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "todo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{Secret: "edge-secret"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := newHTTPServer(e, todohttp.NewHandler(todohttp.Config{
		Tasks: todoapi.NewService(store), Verifier: verifier, Database: store,
		Logger: log, BodyReadTimeout: e.ReadTimeout,
	}), log, &drainer{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), store
}

// trickle writes s one byte at a time, every gap, until the server cuts the
// connection or s runs out, and then reads what the server says. It reports
// how long the connection lived and the server's answer, if any.
func trickle(t *testing.T, addr string, head, s string, gap time.Duration) (time.Duration, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	closed := make(chan string, 1)
	go func() {
		// The server's answer (a 408) or its closing the connection.
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		answer, _ := io.ReadAll(conn)
		closed <- string(answer)
	}()
	for i := 0; i < len(s); i++ {
		select {
		case answer := <-closed:
			return time.Since(start), answer
		case <-time.After(gap):
		}
		if _, err := conn.Write([]byte{s[i]}); err != nil {
			break // the server closed the connection
		}
	}
	select {
	case answer := <-closed:
		return time.Since(start), answer
	case <-time.After(20 * time.Second):
		t.Fatal("the server never cut the slow client off")
		return 0, ""
	}
}

// TestSlowClientsAreCutOff: a client that sends its headers or its body
// slowly is disconnected after the configured timeouts, and while a crowd
// of them is connected, normal requests are still served promptly.
func TestSlowClientsAreCutOff(t *testing.T) {
	e := edgeConfig{
		ReadHeaderTimeout: 300 * time.Millisecond,
		ReadTimeout:       800 * time.Millisecond,
		WriteTimeout:      5 * time.Second,
		IdleTimeout:       500 * time.Millisecond,
	}
	addr, store := edgeServer(t, e)
	tok, err := auth.Mint("edge-secret", auth.MintClaims{Subject: "slow", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	gap := 100 * time.Millisecond

	// Headers one byte every 100 ms: 60 bytes would take 6 s.
	took, answer := trickle(t, addr, "GET /healthz HTTP/1.1\r\n", strings.Repeat("X-Slow: 1\r\n", 6), gap)
	t.Logf("slow headers: cut off after %v (READ_HEADER_TIMEOUT %v); answer %q", took.Round(time.Millisecond), e.ReadHeaderTimeout, firstLine(answer))
	if took > 3*time.Second {
		t.Errorf("a client sending its headers slowly was held for %v", took)
	}

	// A body of 200 bytes, one byte every 100 ms: 20 s.
	body := `{"title":"` + strings.Repeat("s", 186) + `"}`
	head := "POST /api/me/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Authorization: Bearer " + tok + "\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n"
	took, answer = trickle(t, addr, head, body, gap)
	t.Logf("slow body: cut off after %v (READ_TIMEOUT %v); answer %q", took.Round(time.Millisecond), e.ReadTimeout, firstLine(answer))
	if took > 3*time.Second {
		t.Errorf("a client sending its body slowly was held for %v", took)
	}
	if answer != "" && !strings.Contains(firstLine(answer), "408") {
		t.Errorf("the slow body got %q; want 408 or a closed connection", firstLine(answer))
	}
	if n := countTasks(t, store, "slow"); n != 0 {
		t.Errorf("the slow body's task was stored (%d tasks)", n)
	}

	// An idle keep-alive connection is closed after IDLE_TIMEOUT.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v %v", resp, err)
	}
	resp.Body.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	t.Logf("idle keep-alive connection closed after %v (IDLE_TIMEOUT %v): %v", time.Since(start).Round(time.Millisecond), e.IdleTimeout, err)
	if time.Since(start) > 5*time.Second {
		t.Errorf("an idle connection stayed open %v", time.Since(start))
	}

	// 100 slow clients at once do not keep others from being served.
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.ReadAll(c)
		})
	}
	time.Sleep(50 * time.Millisecond) // let them connect
	var worst time.Duration
	for range 20 {
		start := time.Now()
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a normal request while 100 slow clients hang on: %v %v", resp, err)
		}
		resp.Body.Close()
		worst = max(worst, time.Since(start))
	}
	waited := time.Now()
	wg.Wait()
	t.Logf("with 100 slow-header clients connected, 20 normal requests took at most %v; the slow ones were all cut off %v later",
		worst.Round(time.Microsecond), time.Since(waited).Round(time.Millisecond))
	if worst > time.Second {
		t.Errorf("normal requests waited up to %v behind slow clients", worst)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

func countTasks(t *testing.T, store todoapi.Store, user string) int {
	t.Helper()
	svc := todoapi.NewService(store)
	u := todoapi.User{ID: user}
	n := 0
	for id := int64(1); id <= 20; id++ {
		if _, err := svc.Task(context.Background(), u, id); err == nil {
			n++
		}
	}
	return n
}

// TestPoolStatsOfPostgres: /metrics reports the PostgreSQL pool as the
// serve command wires it.
func TestPoolStatsOfPostgres(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), dbURL, postgres.Options{MaxConns: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	stats := poolStats(db)
	if stats == nil {
		t.Fatal("no pool statistics for a PostgreSQL store")
	}
	m := metrics.New()
	m.SetPoolStats(stats)
	rec := &bytes.Buffer{}
	req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
	w := &edgeRecorder{header: http.Header{}, body: rec}
	m.Handler().ServeHTTP(w, req)
	for _, want := range []string{
		`todoapi_db_pool_max_connections{pool="postgres"} 7`,
		`todoapi_db_pool_open_connections{pool="postgres"} 1`, // Open pings once
		`todoapi_db_pool_in_use_connections{pool="postgres"} 0`,
		`todoapi_db_pool_waits_total{pool="postgres"}`,
	} {
		if !strings.Contains(rec.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepPool(rec.String()))
		}
	}
}

// TestPoolStatsOfSQLite: /metrics reports the SQLite store's writer (one
// connection) and reader pools.
func TestPoolStatsOfSQLite(t *testing.T) {
	db, err := sqlite.Open(t.Context(), t.TempDir()+"/todo.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	stats := poolStats(db)
	if stats == nil {
		t.Fatal("no pool statistics for an SQLite store")
	}
	m := metrics.New()
	m.SetPoolStats(stats)
	rec := &bytes.Buffer{}
	req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
	m.Handler().ServeHTTP(&edgeRecorder{header: http.Header{}, body: rec}, req)
	for _, want := range []string{
		`todoapi_db_pool_max_connections{pool="writer"} 1`,
		`todoapi_db_pool_open_connections{pool="writer"} 1`,
		`todoapi_db_pool_open_connections{pool="reader"} 1`,
	} {
		if !strings.Contains(rec.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepPool(rec.String()))
		}
	}
}

type edgeRecorder struct {
	header http.Header
	body   *bytes.Buffer
}

func (r *edgeRecorder) Header() http.Header         { return r.header }
func (r *edgeRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *edgeRecorder) WriteHeader(int)             {}

func grepPool(s string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, "db_pool") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
