package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestResolveJWKS(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		env                   map[string]string
		url, jwksIss, jwksAud string
		hsIss, hsAud          string
		// accessIss is the second issuer accepted on access tokens, and
		// authServer what /mcp's resource metadata names.
		accessIss, authServer string
	}{
		{name: "nothing"},
		{
			name: "Better Auth URL",
			env:  map[string]string{"BETTER_AUTH_URL": "http://localhost:3000"},
			url:  "http://localhost:3000/api/auth/jwks", jwksIss: "http://localhost:3000", jwksAud: "http://localhost:3000",
			accessIss: "http://localhost:3000/api/auth", authServer: "http://localhost:3000/api/auth",
		},
		{
			name: "trailing slash",
			env:  map[string]string{"BETTER_AUTH_URL": "https://app.example.com/"},
			url:  "https://app.example.com/api/auth/jwks", jwksIss: "https://app.example.com", jwksAud: "https://app.example.com",
			accessIss: "https://app.example.com/api/auth", authServer: "https://app.example.com/api/auth",
		},
		{
			// Better Auth takes a URL with a path as its auth base path,
			// and still signs with the origin.
			name: "with auth base path",
			env:  map[string]string{"BETTER_AUTH_URL": "https://example.com/custom/auth/"},
			url:  "https://example.com/custom/auth/jwks", jwksIss: "https://example.com", jwksAud: "https://example.com",
			accessIss: "https://example.com/custom/auth", authServer: "https://example.com/custom/auth",
		},
		{
			name: "JWKS_URL overrides",
			env:  map[string]string{"BETTER_AUTH_URL": "https://app.example.com", "JWKS_URL": "https://keys.example.com/.well-known/jwks.json"},
			url:  "https://keys.example.com/.well-known/jwks.json", jwksIss: "https://app.example.com", jwksAud: "https://app.example.com",
			accessIss: "https://app.example.com/api/auth", authServer: "https://app.example.com/api/auth",
		},
		{
			name: "JWKS_URL alone checks no iss/aud",
			env:  map[string]string{"JWKS_URL": "https://keys.example.com/jwks"},
			url:  "https://keys.example.com/jwks",
		},
		{
			name: "JWT_ISSUER and JWT_AUDIENCE override, for both sources",
			env: map[string]string{"BETTER_AUTH_URL": "https://app.example.com", "JWT_ISSUER": "https://issuer",
				"JWT_AUDIENCE": "todo-api"},
			url: "https://app.example.com/api/auth/jwks", jwksIss: "https://issuer", jwksAud: "todo-api",
			hsIss: "https://issuer", hsAud: "todo-api", authServer: "https://issuer",
		},
		{
			name: "only JWT_AUDIENCE",
			env:  map[string]string{"BETTER_AUTH_URL": "https://app.example.com", "JWT_AUDIENCE": "todo-api"},
			url:  "https://app.example.com/api/auth/jwks", jwksIss: "https://app.example.com", jwksAud: "todo-api",
			hsAud: "todo-api", accessIss: "https://app.example.com/api/auth", authServer: "https://app.example.com/api/auth",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := loadConfig(os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			if c.JWKSURL != tc.url || c.JWKSIssuer != tc.jwksIss || c.JWKSAudience != tc.jwksAud {
				t.Errorf("JWKS %q iss %q aud %q; want %q %q %q", c.JWKSURL, c.JWKSIssuer, c.JWKSAudience, tc.url, tc.jwksIss, tc.jwksAud)
			}
			ac := c.authConfig(nil)
			if ac.Issuer != tc.hsIss || ac.Audience != tc.hsAud {
				t.Errorf("HS256 iss %q aud %q; want %q %q", ac.Issuer, ac.Audience, tc.hsIss, tc.hsAud)
			}
			if c.AuthorizationServer != tc.authServer || ac.JWKS.AccessTokenIssuer != tc.accessIss {
				t.Errorf("authorization server %q, access-token issuer %q; want %q %q",
					c.AuthorizationServer, ac.JWKS.AccessTokenIssuer, tc.authServer, tc.accessIss)
			}
			if ac.JWKS.URL != tc.url || ac.JWKS.Issuer != tc.jwksIss || ac.JWKS.Audience != tc.jwksAud {
				t.Errorf("auth.Config.JWKS = %+v", ac.JWKS)
			}
		})
	}
}

func TestJWKSIntervals(t *testing.T) {
	isolate(t)
	c, err := loadConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.JWKSRefresh != 10*time.Minute || c.JWKSMinRefresh != 30*time.Second || c.JWKSTimeout != 10*time.Second {
		t.Errorf("defaults: %s %s %s", c.JWKSRefresh, c.JWKSMinRefresh, c.JWKSTimeout)
	}
	t.Setenv("JWKS_REFRESH_INTERVAL", "5m")
	t.Setenv("JWKS_MIN_REFRESH_INTERVAL", "10s")
	t.Setenv("JWKS_TIMEOUT", "3s")
	if c, err = loadConfig(os.Getenv); err != nil || c.JWKSRefresh != 5*time.Minute || c.JWKSMinRefresh != 10*time.Second || c.JWKSTimeout != 3*time.Second {
		t.Errorf("set: %s %s %s, %v", c.JWKSRefresh, c.JWKSMinRefresh, c.JWKSTimeout, err)
	}
	for _, bad := range []string{"0s", "-1s", "soon"} {
		t.Setenv("JWKS_MIN_REFRESH_INTERVAL", bad)
		if _, err := loadConfig(os.Getenv); err == nil {
			t.Errorf("JWKS_MIN_REFRESH_INTERVAL=%s accepted", bad)
		}
	}
}

// TestNoDevelopmentModeWithJWKS: a JWKS alone is auth configuration: no
// development mode, no demo token, and production starts.
func TestNoDevelopmentModeWithJWKS(t *testing.T) {
	isolate(t)
	t.Setenv("APP_ENV", "production")
	t.Setenv("JWKS_URL", "http://"+unusedAddr(t)+"/jwks") // nobody there: must not matter
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, out) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "todoapi listening on") {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening within 10s: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(out.String(), "DEVELOPMENT MODE") || strings.Contains(out.String(), "export TOKEN=") {
		t.Errorf("development mode with a JWKS configured:\n%s", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func unusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
