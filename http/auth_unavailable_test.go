package http

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/todoapi/todoapi"
)

// unsureVerifier cannot decide about the token "unsure", as a verifier that
// has to ask an auth server that is down (or asked too often) cannot.
type unsureVerifier struct{ Verifier }

func (v unsureVerifier) Verify(ctx context.Context, token string) (todoapi.User, error) {
	if token == "unsure" {
		return todoapi.User{}, fmt.Errorf("%w: session lookup unavailable", todoapi.ErrAuthUnavailable)
	}
	return v.Verifier.Verify(ctx, token)
}

// TestVerifierUnavailable: a verifier that cannot decide is a 503 with
// Retry-After, not a 401 (which would sign the user out), and does not
// spend the address's budget of failed tokens.
func TestVerifierUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.Verifier = unsureVerifier{c.Verifier}
		c.AuthFailureLimit = RateLimit{RPS: 0.1, Burst: 2}
	})
	for _, accept := range []string{"", "application/problem+json"} {
		for range 5 {
			rec := e.do(t, http.MethodGet, "/api/me/tasks", "unsure", "", "Accept", accept)
			if rec.Status != http.StatusServiceUnavailable || rec.Header.Get("Retry-After") == "" ||
				rec.Header.Get("WWW-Authenticate") != "" {
				t.Fatalf("undecided token: %d, Retry-After %q, WWW-Authenticate %q: %s", rec.Status,
					rec.Header.Get("Retry-After"), rec.Header.Get("WWW-Authenticate"), rec.Body)
			}
			want := "application/json"
			if accept != "" {
				want = accept
			}
			if ct := rec.Header.Get("Content-Type"); ct != want {
				t.Errorf("Content-Type %q, want %q", ct, want)
			}
		}
	}
	// The address still has its whole budget of failed tokens.
	for i := range 2 {
		if rec := e.do(t, http.MethodGet, "/api/me/tasks", fmt.Sprint("bad.token.", i), ""); rec.Status != http.StatusUnauthorized {
			t.Fatalf("bad token %d: %d, want 401", i, rec.Status)
		}
	}
	if rec := e.do(t, http.MethodGet, "/api/me/tasks", "bad.token.2", ""); rec.Status != http.StatusTooManyRequests {
		t.Errorf("bad token after the budget: %d, want 429", rec.Status)
	}
}
