package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoapi/todoapi"
)

const testSecret = "test-secret-0123456789-abcdefghijklmnop"

// claims is a claims set for building test tokens; values are JSON-encoded
// as given, so tests can put numbers, nulls or objects where strings belong.
type claims = jwt.MapClaims

// validClaims returns claims that a default verifier accepts.
func validClaims() claims {
	now := time.Now()
	return claims{
		"sub":   "user-1",
		"email": "ada@example.com",
		"name":  "Ada Lovelace",
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
	}
}

// with returns a copy of c with the given keys set; a nil value deletes.
func with(c claims, kv ...any) claims {
	out := claims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

// sign builds a real token with jwt v5.
func sign(t testing.TB, m jwt.SigningMethod, key any, c claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatalf("signing %s token: %v", m.Alg(), err)
	}
	return s
}

// hs256 signs c with secret.
func hs256(t testing.TB, secret string, c claims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodHS256, []byte(secret), c)
}

// rawHS256 signs arbitrary header and payload bytes with HMAC-SHA256, for
// payloads jwt would refuse to produce.
func rawHS256(secret, header, payload string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// rawClaims JSON-encodes c for rawHS256.
func rawClaims(t testing.TB, c claims) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const hs256Header = `{"alg":"HS256","typ":"JWT"}`

func newVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func secretVerifier(t testing.TB) *Verifier {
	return newVerifier(t, Config{Secret: testSecret})
}

// accept verifies token and fails the test on error.
func accept(t *testing.T, v *Verifier, token string) todoapi.User {
	t.Helper()
	u, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify rejected a valid token: %v", err)
	}
	return u
}

// refuse verifies token, expects a rejection whose message contains reason,
// and checks the properties every rejection must have.
func refuse(t *testing.T, v *Verifier, token, reason string) {
	t.Helper()
	u, err := v.Verify(context.Background(), token)
	if err == nil {
		t.Fatalf("Verify accepted a bad token as %+v; want rejection %q", u, reason)
	}
	if !errors.Is(err, todoapi.ErrUnauthenticated) {
		t.Errorf("error %v does not wrap todoapi.ErrUnauthenticated", err)
	}
	if u != (todoapi.User{}) {
		t.Errorf("rejection returned a non-zero user %+v", u)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not mention %q", err, reason)
	}
	if len(token) > 3 && strings.Contains(err.Error(), token) {
		t.Errorf("error message contains the token")
	}
}
