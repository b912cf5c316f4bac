package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoapi/todoapi"
)

const (
	mcpResource       = "https://todo.example.com/mcp"
	accessTokenIssuer = testIssuer + "/api/auth"
)

// accessToken signs claims as an RFC 9068 access token (typ at+jwt), as
// Better Auth's OAuth provider issues them.
func accessToken(t *testing.T, k testKey, c claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.method, c)
	tok.Header["kid"] = k.kid
	tok.Header["typ"] = "at+jwt"
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// userAccess are the claims of an access token issued to client "agent-app"
// for user-1 and the MCP resource.
func userAccess() claims {
	return with(validClaims(), "iss", accessTokenIssuer, "aud", mcpResource,
		"client_id", "agent-app", "azp", "agent-app", "scope", "openid")
}

func verifyAt(v *Verifier, tok, resource string) (todoapi.User, error) {
	return v.VerifyResource(context.Background(), tok, resource)
}

// TestAccessTokensPerResource: an access token for the MCP resource opens
// /mcp and not the REST API, unless it also names the API's audience; the
// API's own tokens open both; a token for another audience opens neither.
// Every answer holds from the cache as from a fresh verification.
func TestAccessTokensPerResource(t *testing.T) {
	key := newTestKey(t, "EdDSA", "k1")
	srv := newJWKSServer(t, key)
	for name, cacheSize := range map[string]int{"cached": 0, "uncached": -1} {
		t.Run(name, func(t *testing.T) {
			v := jwksVerifier(t, srv.url(), func(c *Config) {
				c.JWKS.AccessTokenIssuer = accessTokenIssuer
				c.CacheSize = cacheSize
			})
			for _, tc := range []struct {
				name     string
				token    string
				api, mcp bool
				reason   string
			}{
				{"API token", key.sign(t, baClaims()), true, true, ""},
				{"access token for /mcp", accessToken(t, key, userAccess()), false, true, "audience mismatch"},
				{"access token for /mcp and the API", accessToken(t, key, with(userAccess(), "aud", []string{mcpResource, testAudience})), true, true, ""},
				{"access token for another resource", accessToken(t, key, with(userAccess(), "aud", "https://other.example.com/mcp")), false, false, "audience mismatch"},
				{"access token without aud", accessToken(t, key, with(userAccess(), "aud", nil)), false, false, "missing aud claim"},
				{"API token with the MCP audience but not typed", key.sign(t, with(baClaims(), "aud", mcpResource)), false, true, "audience mismatch"},
				{"access token from another issuer", accessToken(t, key, with(userAccess(), "iss", "https://evil.example.com")), false, false, "issuer mismatch"},
				{"plain token from the access-token issuer", key.sign(t, with(baClaims(), "iss", accessTokenIssuer)), false, false, "issuer mismatch"},
				{"client-credentials token", accessToken(t, key, with(userAccess(), "sub", "agent-app")), false, false, "client"},
				{"client-credentials token named by azp only", accessToken(t, key, with(userAccess(), "sub", "agent-app", "client_id", nil)), false, false, "client"},
			} {
				for range 2 { // the second round is answered by the cache
					for resource, want := range map[string]bool{"": tc.api, mcpResource: tc.mcp} {
						u, err := verifyAt(v, tc.token, resource)
						if want && (err != nil || u.ID != "user-1") {
							t.Errorf("%s at %q: %+v, %v; want user-1", tc.name, resource, u, err)
						}
						if !want && (err == nil || !errors.Is(err, todoapi.ErrUnauthenticated) || u.ID != "") {
							t.Errorf("%s at %q: %+v, %v; want a rejection", tc.name, resource, u, err)
						}
						if !want && tc.reason != "" && err != nil && !strings.Contains(err.Error(), tc.reason) && resource == "" {
							t.Errorf("%s at the API: %v, want %q", tc.name, err, tc.reason)
						}
					}
				}
			}
		})
	}
}

// TestAccessTokensWithoutAPIAudience: when the REST API requires no
// audience (a shared secret alone), its tokens open /mcp as well, and an
// access token, whose audience names some resource, opens only the
// resource it names.
func TestAccessTokensWithoutAPIAudience(t *testing.T) {
	v := secretVerifier(t)
	plain := hs256(t, testSecret, validClaims())
	for _, resource := range []string{"", mcpResource} {
		if _, err := verifyAt(v, plain, resource); err != nil {
			t.Errorf("HS256 token at %q: %v", resource, err)
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, with(validClaims(), "aud", mcpResource))
	tok.Header["typ"] = "at+jwt"
	access, err := tok.SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyAt(v, access, mcpResource); err != nil {
		t.Errorf("access token at its resource: %v", err)
	}
	if _, err := verifyAt(v, access, ""); err == nil {
		t.Error("access token for /mcp accepted at the API")
	}
	if _, err := verifyAt(v, access, "https://elsewhere.example.com/mcp"); err == nil {
		t.Error("access token for /mcp accepted at another resource")
	}
}
