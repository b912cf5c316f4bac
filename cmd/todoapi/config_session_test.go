package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/todoapi/todoapi/auth"
)

// TestSessionSettings: session tokens are off by default; on, the
// get-session URL is derived from BETTER_AUTH_URL as the JWKS URL is, and
// the BETTER_AUTH_SESSION_* values reach auth.SessionConfig.
func TestSessionSettings(t *testing.T) {
	isolate(t)
	t.Setenv("BETTER_AUTH_URL", "https://app.example.com")
	c, err := loadConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sessions.URL != "" || c.authConfig(nil).Sessions.URL != "" {
		t.Errorf("session tokens on by default: %+v", c.Sessions)
	}
	if c.Sessions.CacheTTL != auth.DefaultSessionCacheTTL || c.Sessions.NegativeTTL != auth.DefaultSessionNegativeTTL ||
		c.Sessions.CacheSize != auth.DefaultSessionCacheSize || c.Sessions.LookupRPS != auth.DefaultSessionLookupRPS ||
		c.Sessions.LookupBurst != auth.DefaultSessionLookupBurst {
		t.Errorf("defaults: %+v", c.Sessions)
	}

	for base, want := range map[string]string{
		"https://app.example.com":          "https://app.example.com/api/auth/get-session",
		"http://localhost:3000/":           "http://localhost:3000/api/auth/get-session",
		"https://example.com/custom/auth/": "https://example.com/custom/auth/get-session",
	} {
		t.Setenv("BETTER_AUTH_URL", base)
		t.Setenv("BETTER_AUTH_SESSION_TOKENS", "true")
		t.Setenv("BETTER_AUTH_SESSION_CACHE_TTL", "10s")
		t.Setenv("BETTER_AUTH_SESSION_NEGATIVE_TTL", "2s")
		t.Setenv("BETTER_AUTH_SESSION_CACHE_SIZE", "50")
		t.Setenv("BETTER_AUTH_SESSION_LOOKUP_RPS", "2.5")
		t.Setenv("BETTER_AUTH_SESSION_LOOKUP_BURST", "4")
		c, err := loadConfig(os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		got := c.authConfig(nil).Sessions
		if got.URL != want || got.CacheTTL != 10*time.Second || got.NegativeTTL != 2*time.Second ||
			got.CacheSize != 50 || got.LookupRPS != 2.5 || got.LookupBurst != 4 {
			t.Errorf("BETTER_AUTH_URL=%s: %+v; want URL %s and the values set", base, got, want)
		}
	}

	for name, bad := range map[string]string{
		"BETTER_AUTH_SESSION_TOKENS":       "maybe",
		"BETTER_AUTH_SESSION_CACHE_TTL":    "0s",
		"BETTER_AUTH_SESSION_NEGATIVE_TTL": "soon",
		"BETTER_AUTH_SESSION_CACHE_SIZE":   "0",
		"BETTER_AUTH_SESSION_LOOKUP_RPS":   "-1",
		"BETTER_AUTH_SESSION_LOOKUP_BURST": "many",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			if _, err := loadConfig(os.Getenv); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: %v, want an error naming it", name, bad, err)
			}
		})
	}

	t.Run("needs BETTER_AUTH_URL", func(t *testing.T) {
		t.Setenv("BETTER_AUTH_URL", "")
		t.Setenv("BETTER_AUTH_SECRET", "s")
		if _, err := loadConfig(os.Getenv); err == nil || !strings.Contains(err.Error(), "BETTER_AUTH_URL") {
			t.Errorf("session tokens without BETTER_AUTH_URL: %v", err)
		}
	})
}
