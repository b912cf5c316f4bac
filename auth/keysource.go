package auth

import (
	"context"

	"github.com/golang-jwt/jwt/v5"
)

// keySource supplies verification keys for the algorithms it owns. The
// Verifier accepts exactly the union of its sources' algorithms and asks the
// owner of a token's alg for the key, so a source never sees a token of an
// algorithm it did not declare. This is what keeps key types and algorithms
// paired: the HMAC source hands out the secret only for HS256, and a JWKS
// source will hand out a public key only for the algorithm that key is for.
type keySource interface {
	// algorithms lists the JWS "alg" values this source can verify. It must
	// return the same list every time.
	algorithms() []string

	// key returns the key that verifies t, whose t.Method.Alg() is one of
	// algorithms(). A JWKS source selects by t.Header["kid"] and may fetch
	// under ctx; an error should be a *rejection with a fixed reason.
	key(ctx context.Context, t *jwt.Token) (any, error)
}

// hmacSource verifies HS256 tokens with the shared BETTER_AUTH_SECRET.
//
// It owns HS256 only. HS384 and HS512 are not what Better Auth emits, and
// accepting them would only widen what a leaked or guessed secret can forge.
type hmacSource struct {
	secret []byte
}

// newHMACSource keeps secret's bytes exactly: Better Auth signs with the raw
// UTF-8 string, so trimming or base64-decoding it would verify against a
// different key than the one configured.
func newHMACSource(secret string) *hmacSource {
	return &hmacSource{secret: []byte(secret)}
}

func (s *hmacSource) algorithms() []string {
	return []string{jwt.SigningMethodHS256.Alg()}
}

func (s *hmacSource) key(_ context.Context, t *jwt.Token) (any, error) {
	// The Verifier only routes HS256 here; checking the method's type as
	// well means a future registration mistake cannot hand the secret to an
	// asymmetric verifier or vice versa.
	if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok || t.Method.Alg() != jwt.SigningMethodHS256.Alg() {
		return nil, reject("unsupported algorithm")
	}
	// The slice is shared by concurrent calls; jwt's HMAC verifier only
	// reads it.
	return s.secret, nil
}
