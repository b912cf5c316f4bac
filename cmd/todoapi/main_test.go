package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer lets the test read what serve prints while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// isolate runs the test in an empty directory with none of todoapi's
// variables set, as on a fresh machine.
func isolate(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, s := range settings {
		t.Setenv(s.name, "")
	}
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("PORT", "0") // any free port
}

// TestServeDevelopmentMode starts the server as `go run ./cmd/todoapi` does
// with nothing configured, then follows the printed instructions.
func TestServeDevelopmentMode(t *testing.T) {
	isolate(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, out) }()

	curl := regexp.MustCompile(`curl -H "Authorization: Bearer \$TOKEN" (http://\S+/api/me/tasks)`)
	tokenLine := regexp.MustCompile(`export TOKEN=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for !curl.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no curl line printed within 10s; output:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := curl.FindStringSubmatch(out.String())[1]
	token := tokenLine.FindStringSubmatch(out.String())[1]

	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tasks []any
	err = json.NewDecoder(resp.Body).Decode(&tasks)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || tasks == nil {
		t.Fatalf("the printed curl line got %d, %v, %v; want 200 and a JSON array", resp.StatusCode, tasks, err)
	}
	if _, err := os.Stat("todo.db"); err != nil {
		t.Errorf("default SQLite file not created: %v", err)
	}

	cancel() // what SIGINT does
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown; want nil (exit 0)", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after its context was canceled")
	}
}

func TestStartupErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"production without auth":                  {map[string]string{"APP_ENV": "production"}, "BETTER_AUTH_URL (or JWKS_URL)"},
		"production without auth names the secret": {map[string]string{"APP_ENV": "production"}, "BETTER_AUTH_SECRET"},
		"bad BETTER_AUTH_URL":                      {map[string]string{"BETTER_AUTH_URL": "auth.example.com"}, "BETTER_AUTH_URL must be"},
		"bad JWKS_URL":                             {map[string]string{"JWKS_URL": "ftp://x/jwks"}, "JWKS_URL must be"},
		"cool-down over interval":                  {map[string]string{"JWKS_URL": "http://x/jwks", "JWKS_REFRESH_INTERVAL": "1m", "JWKS_MIN_REFRESH_INTERVAL": "2m"}, "JWKS_MIN_REFRESH_INTERVAL must not exceed"},
		"unsupported database":                     {map[string]string{"DATABASE_URL": "mysql://root:hunter2@db/todo", "BETTER_AUTH_SECRET": "s"}, "DATABASE_URL must start with"},
		"bad port":                                 {map[string]string{"PORT": "http"}, "PORT must be"},
		"bad PUBLIC_URL":                           {map[string]string{"PUBLIC_URL": "todo.example.com"}, "PUBLIC_URL must be"},
		"bad log level":                            {map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL must be"},
		"zero leeway":                              {map[string]string{"JWT_LEEWAY": "0s"}, "JWT_LEEWAY must be a positive"},
		"zero drain":                               {map[string]string{"SHUTDOWN_TIMEOUT": "0"}, "SHUTDOWN_TIMEOUT must be a positive"},
	} {
		t.Run(name, func(t *testing.T) {
			isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			err := run(context.Background(), []string{"serve"}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v; want one line mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the database password: %v", err)
			}
		})
	}
}

func TestPortInUse(t *testing.T) {
	isolate(t)
	t.Setenv("BETTER_AUTH_SECRET", "s")
	t.Setenv("PORT", "0")
	// Occupy a port with a server of our own, then ask todoapi for it.
	srv := &http.Server{Handler: http.NotFoundHandler()}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	t.Setenv("PORT", portOf(ln.Addr().String()))
	err = run(context.Background(), nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("err = %v; want a listen error", err)
	}
}

func TestTokenAndMigrateCommands(t *testing.T) {
	isolate(t)
	// Secrets come from .env when the environment lacks them.
	if err := os.WriteFile(".env", []byte("BETTER_AUTH_SECRET=from-dotenv\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("BETTER_AUTH_SECRET") // godotenv never overrides a set variable, even an empty one
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "--sub", "alice", "--ttl", "5m"}, &out); err != nil {
		t.Fatal(err)
	}
	if tok := strings.TrimSpace(out.String()); strings.Count(tok, ".") != 2 {
		t.Fatalf("token printed %q; want a JWT", tok)
	}
	if err := run(context.Background(), []string{"token"}, &out); err == nil {
		t.Fatal("token without --sub succeeded")
	}

	out.Reset()
	if err := run(context.Background(), []string{"migrate"}, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("todo.db"); err != nil || !strings.Contains(out.String(), "migrations applied") {
		t.Fatalf("migrate printed %q, todo.db: %v", out.String(), err)
	}

	out.Reset()
	if err := run(context.Background(), []string{"version"}, &out); err != nil || !strings.HasPrefix(out.String(), "todoapi ") {
		t.Fatalf("version printed %q, %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out); err == nil {
		t.Fatal("an unknown command succeeded")
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func TestParseDatabaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:todo.db":          "todo.db",
		"SQLITE:todo.db":          "todo.db",
		"sqlite:///rel/todo.db":   "rel/todo.db",
		"sqlite:////abs/todo.db":  "/abs/todo.db",
		"sqlite:/abs/todo.db":     "/abs/todo.db",
		"file:todo.db":            "todo.db",
		"file:/abs/todo.db":       "/abs/todo.db",
		"file:///abs/todo.db":     "/abs/todo.db",
		"file://localhost/abs.db": "/abs.db",
		"file:///a%20b/todo.db":   "/a b/todo.db",
	} {
		kind, path, err := parseDatabaseURL(in)
		if err != nil || kind != "sqlite" || path != want {
			t.Errorf("parseDatabaseURL(%q) = %q, %q, %v; want sqlite, %q", in, kind, path, err, want)
		}
	}
	for _, in := range []string{"postgres://u@h/db", "PostgreSQL://u@h/db?sslmode=require"} {
		if kind, _, err := parseDatabaseURL(in); err != nil || kind != "postgres" {
			t.Errorf("parseDatabaseURL(%q) = %q, %v; want postgres", in, kind, err)
		}
	}
	for _, in := range []string{"sqlite:", "file:", "file://otherhost/x.db", "sqlite:todo.db?mode=ro", "mysql://x", "todo.db"} {
		if _, _, err := parseDatabaseURL(in); err == nil {
			t.Errorf("parseDatabaseURL(%q) succeeded; want an error", in)
		}
	}
}
