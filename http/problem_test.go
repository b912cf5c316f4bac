package http

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
)

// TestProblemWritersAgree: an error an operation returns (written by huma)
// and one written by writeProblem (middleware, the route fallback) look the
// same on the wire: the same Content-Type for the same Accept, a correct
// Content-Length, and the same fields.
func TestProblemWritersAgree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	cases := []struct {
		name, path, token string
		status            int
	}{
		{"operation", "/api/me/tasks/999", tok, http.StatusNotFound},          // the handler's error
		{"middleware", "/api/bob/tasks", tok, http.StatusForbidden},           // authorizePath
		{"no token", "/api/me/tasks", "", http.StatusUnauthorized},            // authenticate
		{"route", "/nowhere", "", http.StatusNotFound},                        // routeOrProblem
		{"docs", "/docs/no-such-file.js", "", http.StatusNotFound},            // the docs files
		{"alias", "/api/me/tasks/1/toggle", tok, http.StatusMethodNotAllowed}, // canonicalPaths, GET
	}
	for _, accept := range []string{"", "application/problem+json"} {
		want := "application/json"
		if accept != "" {
			want = accept
		}
		for _, c := range cases {
			rec := e.do(t, http.MethodGet, c.path, c.token, "", "Accept", accept)
			if rec.Status != c.status {
				t.Fatalf("%s: status %d, want %d: %s", c.name, rec.Status, c.status, rec.Body)
			}
			if ct := rec.Header.Get("Content-Type"); ct != want {
				t.Errorf("%s: Content-Type %q, want %q", c.name, ct, want)
			}
			if cl := rec.Header.Get("Content-Length"); cl != strconv.Itoa(len(rec.Body)) {
				t.Errorf("%s: Content-Length %q for a body of %d bytes", c.name, cl, len(rec.Body))
			}
			var p map[string]any
			if err := json.Unmarshal(rec.Body, &p); err != nil {
				t.Fatalf("%s: body is not JSON: %v", c.name, err)
			}
			if p["status"] != float64(c.status) || p["title"] != http.StatusText(c.status) ||
				p["detail"] == "" || p["detail"] != p["message"] {
				t.Errorf("%s: problem %v", c.name, p)
			}
		}
	}
}

// TestUnavailableProblems: a database that cannot be used and an auth
// server that cannot be asked are both 503 with the same Retry-After, and
// each says which of the two is down.
func TestUnavailableProblems(t *testing.T) {
	t.Parallel()
	const dbDetail = "the database is unavailable; try again shortly"
	const authDetail = "the authentication server is unavailable; try again shortly"
	check := func(t *testing.T, name string, res *response, detail string) {
		t.Helper()
		p := res.problem(t, http.StatusServiceUnavailable)
		if p.Detail != detail || res.Header.Get("Retry-After") != retryAfterUnavailable {
			t.Errorf("%s: Retry-After %q, detail %q; want Retry-After %s, %q",
				name, res.Header.Get("Retry-After"), p.Detail, retryAfterUnavailable, detail)
		}
	}

	e := newEnv(t, func(c *Config) { c.Verifier = unsureVerifier{c.Verifier} })
	check(t, "auth server down", e.do(t, http.MethodGet, "/api/me/tasks", "unsure", ""), authDetail)

	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	check(t, "list with the database down", e.do(t, http.MethodGet, "/api/me/tasks", token(t, "alice"), ""), dbDetail)
	check(t, "readyz with the database down", e.do(t, http.MethodGet, "/readyz", "", ""), dbDetail)
}

// TestCanceledIsTheClientsOnlyWhenItLeft: 499 says the client went away, so
// a cancellation from below while the client still waits (the database's
// work cancelled, not the request) is a 503 the client can retry.
func TestCanceledIsTheClientsOnlyWhenItLeft(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cause := fmt.Errorf("get task: %w", context.Canceled)

	waiting := context.Background()
	if p := explain(waiting, log, cause, ""); p.Status != http.StatusServiceUnavailable || p.headers["Retry-After"] == "" {
		t.Errorf("cancelled below a waiting client: %d %v, want 503 with Retry-After", p.Status, p.headers)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if p := explain(gone, log, cause, ""); p.Status != 499 {
		t.Errorf("cancelled with the client gone: %d, want 499", p.Status)
	}
}
