package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "http://auth.test:3000"
	testAudience = "http://auth.test:3000"
)

// testKey is a signing key as Better Auth's jwt plugin would hold it.
type testKey struct {
	kid    string
	alg    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

func newTestKey(t testing.TB, alg, kid string) testKey {
	t.Helper()
	k := testKey{kid: kid, alg: alg, method: jwt.GetSigningMethod(alg)}
	var err error
	switch alg {
	case "EdDSA":
		_, k.priv, err = ed25519.GenerateKey(rand.Reader)
	case "ES256":
		k.priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		k.priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		k.priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "RS256", "PS256":
		k.priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("no test key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwk returns the public JWK, in the shape Better Auth's /api/auth/jwks
// serves it: alg, crv, the key's members, kid.
func (k testKey) jwk() map[string]any {
	m := map[string]any{"kid": k.kid, "alg": k.alg}
	switch pub := k.priv.Public().(type) {
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64u(pub)
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || x || y
		if err != nil {
			panic(err)
		}
		size := (len(raw) - 1) / 2
		m["kty"], m["crv"] = "EC", pub.Curve.Params().Name
		m["x"], m["y"] = b64u(raw[1:1+size]), b64u(raw[1+size:])
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64u(pub.N.Bytes()), b64u(big.NewInt(int64(pub.E)).Bytes())
	}
	return m
}

// sign returns a token signed by k with k's kid in the header.
func (k testKey) sign(t testing.TB, c claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.method, c)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatalf("signing %s: %v", k.alg, err)
	}
	return s
}

// baClaims are claims as Better Auth issues them.
func baClaims() claims {
	return with(validClaims(), "iss", testIssuer, "aud", testAudience)
}

// jwksServer serves a key set and counts requests. It can be made to fail,
// to be slow, or to serve a raw body.
type jwksServer struct {
	*httptest.Server
	requests atomic.Int64

	mu     sync.Mutex
	keys   []map[string]any
	status int
	body   []byte // served instead of keys when non-nil
	delay  time.Duration
}

func newJWKSServer(t testing.TB, keys ...testKey) *jwksServer {
	s := &jwksServer{status: http.StatusOK}
	s.setKeys(keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	status, body, delay := s.status, s.body, s.delay
	if body == nil {
		body, _ = json.Marshal(map[string]any{"keys": s.keys})
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *jwksServer) setKeys(keys ...testKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = nil
	for _, k := range keys {
		s.keys = append(s.keys, k.jwk())
	}
	s.body = nil
	s.status = http.StatusOK
}

func (s *jwksServer) setRaw(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func (s *jwksServer) setDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

func (s *jwksServer) url() string { return s.URL + "/api/auth/jwks" }

// jwksVerifier returns a verifier on srvURL with Better Auth's iss/aud, closed
// when the test ends.
func jwksVerifier(t testing.TB, srvURL string, mod ...func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{JWKS: JWKSConfig{URL: srvURL, Issuer: testIssuer, Audience: testAudience}}
	for _, m := range mod {
		m(&cfg)
	}
	v := newVerifier(t, cfg)
	t.Cleanup(func() { v.Close() })
	return v
}

// waitLoaded waits for v's first successful fetch.
func waitLoaded(t testing.TB, v *Verifier) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for v.jwks.keys.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("JWKS not loaded within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return b
}
