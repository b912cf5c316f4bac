package auth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var allJWKSAlgs = []string{"EdDSA", "ES256", "ES512", "RS256", "PS256"}

func TestJWKSEveryAlgorithm(t *testing.T) {
	var keys []testKey
	for _, alg := range allJWKSAlgs {
		keys = append(keys, newTestKey(t, alg, "kid-"+alg))
	}
	srv := newJWKSServer(t, keys...)
	v := jwksVerifier(t, srv.url())
	if got, want := v.Algorithms(), []string{"ES256", "ES512", "EdDSA", "PS256", "RS256"}; !slices.Equal(got, want) {
		t.Errorf("Algorithms() = %v, want %v", got, want)
	}
	for _, k := range keys {
		t.Run(k.alg, func(t *testing.T) {
			u := accept(t, v, k.sign(t, with(baClaims(), "sub", "user-"+k.alg)))
			if u.ID != "user-"+k.alg || u.Email != "ada@example.com" {
				t.Errorf("user = %+v", u)
			}
		})
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d JWKS requests for one set of known keys, want 1", n)
	}
}

// TestJWKSSeveralKeys: a set holding several keys, two of one algorithm, as
// during a rotation; each verifies only its own tokens.
func TestJWKSSeveralKeys(t *testing.T) {
	old, cur := newTestKey(t, "EdDSA", "old"), newTestKey(t, "EdDSA", "current")
	rs := newTestKey(t, "RS256", "rsa")
	srv := newJWKSServer(t, old, cur, rs)
	v := jwksVerifier(t, srv.url())
	for _, k := range []testKey{old, cur, rs} {
		accept(t, v, k.sign(t, baClaims()))
	}
	// A token signed by one key but naming another's kid.
	forged := old
	forged.kid = "current"
	refuse(t, v, forged.sign(t, baClaims()), "invalid signature")
}

func TestJWKSRejections(t *testing.T) {
	ed := newTestKey(t, "EdDSA", "ed")
	es := newTestKey(t, "ES256", "es")
	rs := newTestKey(t, "RS256", "rs")
	srv := newJWKSServer(t, ed, es, rs)
	v := jwksVerifier(t, srv.url())
	withSecret := jwksVerifier(t, srv.url(), func(c *Config) { c.Secret = testSecret })
	enc := base64.RawURLEncoding.EncodeToString

	t.Run("tampered payload", func(t *testing.T) {
		for _, k := range []testKey{ed, es, rs} {
			parts := strings.Split(k.sign(t, baClaims()), ".")
			forged := enc(mustJSON(with(baClaims(), "sub", "admin")))
			refuse(t, v, parts[0]+"."+forged+"."+parts[2], "invalid signature")
		}
	})
	t.Run("tampered header", func(t *testing.T) {
		parts := strings.Split(es.sign(t, baClaims()), ".")
		hdr := enc([]byte(`{"alg":"ES256","kid":"es","typ":"JWT","x":1}`))
		refuse(t, v, hdr+"."+parts[1]+"."+parts[2], "invalid signature")
	})

	t.Run("HS256 signed with the public key", func(t *testing.T) {
		der, err := x509.MarshalPKIXPublicKey(rs.priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		edJWK, esJWK, rsJWK := mustJSON(ed.jwk()), mustJSON(es.jwk()), mustJSON(rs.jwk())
		rsN, _ := base64.RawURLEncoding.DecodeString(rs.jwk()["n"].(string))
		for name, secret := range map[string][]byte{
			"RSA PEM":        pemKey,
			"RSA DER":        der,
			"RSA n":          rsN,
			"Ed25519 bytes":  []byte(ed.priv.Public().(ed25519.PublicKey)),
			"Ed25519 JWK":    edJWK,
			"ES256 JWK":      esJWK,
			"RSA JWK":        rsJWK,
			"Ed25519 x text": []byte(ed.jwk()["x"].(string)),
		} {
			t.Run(name, func(t *testing.T) {
				for _, kid := range []string{"ed", "es", "rs"} {
					tok := jwt.NewWithClaims(jwt.SigningMethodHS256, baClaims())
					tok.Header["kid"] = kid
					s, err := tok.SignedString(secret)
					if err != nil {
						t.Fatal(err)
					}
					// No secret configured: HS256 is not an
					// algorithm the JWKS source owns.
					refuse(t, v, s, "unsupported algorithm")
					// With a secret, HS256 goes to the secret,
					// never to a JWKS key.
					refuse(t, withSecret, s, "invalid signature")
				}
			})
		}
	})

	t.Run("alg none", func(t *testing.T) {
		for _, alg := range []string{"none", "None", "NONE", ""} {
			hdr := enc(mustJSON(map[string]any{"alg": alg, "kid": "ed", "typ": "JWT"}))
			body := enc(mustJSON(baClaims()))
			refuse(t, v, hdr+"."+body+".", "unsupported algorithm")
			refuse(t, withSecret, hdr+"."+body+".", "unsupported algorithm")
		}
	})

	t.Run("algorithms no source owns", func(t *testing.T) {
		es384 := newTestKey(t, "ES384", "es")
		refuse(t, v, es384.sign(t, baClaims()), "unsupported algorithm")
		hdr := enc([]byte(`{"alg":"RS512","kid":"rs"}`))
		refuse(t, v, hdr+"."+enc(mustJSON(baClaims()))+".c2ln", "unsupported algorithm")
	})

	t.Run("kid of a key for another algorithm", func(t *testing.T) {
		// The RSA key signs PS256 under its RS256 kid: same key material,
		// other algorithm, refused before any signature check.
		ps := rs
		ps.method, ps.alg = jwt.SigningMethodPS256, "PS256"
		refuse(t, v, ps.sign(t, baClaims()), "key algorithm mismatch")
		// An ES512 token naming the ES256 key.
		es512 := newTestKey(t, "ES512", "es")
		refuse(t, v, es512.sign(t, baClaims()), "key algorithm mismatch")
		// An EdDSA token naming the RSA key.
		ed2 := ed
		ed2.kid = "rs"
		refuse(t, v, ed2.sign(t, baClaims()), "key algorithm mismatch")
	})

	t.Run("kid", func(t *testing.T) {
		noKid := jwt.NewWithClaims(jwt.SigningMethodEdDSA, baClaims())
		s, _ := noKid.SignedString(ed.priv)
		refuse(t, v, s, "missing kid")
		numKid := jwt.NewWithClaims(jwt.SigningMethodEdDSA, baClaims())
		numKid.Header["kid"] = 7
		s, _ = numKid.SignedString(ed.priv)
		refuse(t, v, s, "missing kid")
		stranger := newTestKey(t, "EdDSA", "not-in-the-set")
		refuse(t, v, stranger.sign(t, baClaims()), "unknown key id")
		long := ed
		long.kid = strings.Repeat("k", 300)
		refuse(t, v, long.sign(t, baClaims()), "unknown key id")
	})

	t.Run("key material offered by the token itself", func(t *testing.T) {
		// RFC 7515 jwk, jku and x5u headers name keys or key sets of the
		// sender's choosing; they are ignored, never fetched.
		attacker := newTestKey(t, "EdDSA", "attacker")
		evil := newJWKSServer(t, attacker)
		for _, hdr := range []map[string]any{
			{"jwk": attacker.jwk()},
			{"jku": evil.url()},
			{"x5u": evil.URL + "/cert.pem"},
			{"jwk": attacker.jwk(), "jku": evil.url()},
		} {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, baClaims())
			tok.Header["kid"] = "attacker"
			for k, v := range hdr {
				tok.Header[k] = v
			}
			s, err := tok.SignedString(attacker.priv)
			if err != nil {
				t.Fatal(err)
			}
			refuse(t, v, s, "unknown key id")
			// Naming a kid of the set does not help either.
			tok.Header["kid"] = "ed"
			s, _ = tok.SignedString(attacker.priv)
			refuse(t, v, s, "invalid signature")
		}
		if n := evil.requests.Load(); n != 0 {
			t.Errorf("the verifier fetched from a URL in a token header %d times", n)
		}
	})

	t.Run("iss and aud", func(t *testing.T) {
		refuse(t, v, ed.sign(t, with(baClaims(), "iss", "http://evil.test")), "issuer mismatch")
		refuse(t, v, ed.sign(t, with(baClaims(), "iss", testIssuer+"/")), "issuer mismatch")
		refuse(t, v, ed.sign(t, with(baClaims(), "iss", nil)), "missing iss claim")
		refuse(t, v, ed.sign(t, with(baClaims(), "aud", "http://other.test")), "audience mismatch")
		refuse(t, v, ed.sign(t, with(baClaims(), "aud", nil)), "missing aud claim")
		accept(t, v, ed.sign(t, with(baClaims(), "aud", []string{"x", testAudience})))
	})

	t.Run("expired", func(t *testing.T) {
		now := time.Now()
		refuse(t, v, ed.sign(t, with(baClaims(), "iat", now.Add(-time.Hour).Unix(), "exp", now.Add(-time.Minute).Unix())), "token expired")
		refuse(t, v, ed.sign(t, with(baClaims(), "exp", nil)), "missing exp claim")
		refuse(t, v, ed.sign(t, with(baClaims(), "nbf", now.Add(time.Hour).Unix())), "token not valid yet")
	})
}

// TestJWKSAndSecretSideBySide: each source keeps its own iss/aud rules; HS256
// tokens are not held to the JWKS issuer.
func TestJWKSAndSecretSideBySide(t *testing.T) {
	ed := newTestKey(t, "EdDSA", "ed")
	srv := newJWKSServer(t, ed)
	v := jwksVerifier(t, srv.url(), func(c *Config) { c.Secret = testSecret })
	if got := v.Algorithms(); !slices.Equal(got, []string{"ES256", "ES512", "EdDSA", "HS256", "PS256", "RS256"}) {
		t.Errorf("Algorithms() = %v", got)
	}
	accept(t, v, hs256(t, testSecret, validClaims()))
	accept(t, v, ed.sign(t, baClaims()))
	refuse(t, v, ed.sign(t, validClaims()), "missing iss claim")

	// With iss/aud for HS256 too.
	both := jwksVerifier(t, srv.url(), func(c *Config) {
		c.Secret, c.Issuer, c.Audience = testSecret, "hs-issuer", "hs-audience"
	})
	refuse(t, both, hs256(t, testSecret, validClaims()), "missing iss claim")
	accept(t, both, hs256(t, testSecret, with(validClaims(), "iss", "hs-issuer", "aud", "hs-audience")))
	accept(t, both, ed.sign(t, baClaims()))
}

// TestJWKSNewKidSharesOneFetch: a key added to the set (a rotation) is
// picked up on first sight; 100 concurrent tokens signed by it wait for, and
// share, one fetch. Like the tests below it runs in a synctest bubble on an
// in-process JWKS (jwks_budget_test.go): time moves only when every
// goroutine waits, so "concurrent" and "slow" mean the same on any machine.
func TestJWKSNewKidSharesOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k1 := newTestKey(t, "EdDSA", "k1")
		srv, client := inProcessJWKS(k1)
		v := bubbleVerifier(t, client)

		k2 := newTestKey(t, "ES256", "k2")
		srv.setKeys(k1, k2)
		srv.setDelay(200 * time.Millisecond) // the fetch is still running when all 100 have asked
		tok := k2.sign(t, baClaims())
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Errorf("token signed by the new key: %v", err)
				}
			})
		}
		wg.Wait()
		if n := srv.requests.Load(); n != 2 {
			t.Errorf("%d JWKS requests, want 2 (start-up + one shared)", n)
		}
		accept(t, v, k1.sign(t, baClaims()))
	})
}

// switchableJWKS is an in-process JWKS that can be down (every request
// fails as a refused connection does) or up.
func switchableJWKS(keys ...testKey) (srv *jwksServer, client *http.Client, down *atomic.Bool) {
	srv, up := inProcessJWKS(keys...)
	down = new(atomic.Bool)
	client = &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		if down.Load() {
			return nil, errors.New("connect: connection refused")
		}
		return up.Transport.RoundTrip(r)
	})}
	return srv, client, down
}

// TestJWKSDownAtStart: the auth server is down when the verifier starts;
// start-up succeeds, a token is refused at once (no waiting for a server
// that is not there), and accepted soon after the server comes up, with the
// default intervals.
func TestJWKSDownAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTestKey(t, "EdDSA", "k")
		srv, client, down := switchableJWKS(k)
		down.Store(true)
		v := bubbleVerifier(t, client)
		tok := k.sign(t, baClaims())

		begin := time.Now()
		refuse(t, v, tok, "unknown key id")
		if d := time.Since(begin); d != 0 {
			t.Errorf("a rejection waited %s while the JWKS was down", d)
		}

		time.Sleep(1200 * time.Millisecond) // a retry or two fail meanwhile
		down.Store(false)
		up := time.Now()
		for {
			if _, err := v.Verify(context.Background(), tok); err == nil {
				break
			}
			if time.Since(up) > DefaultJWKSMinRefreshInterval {
				t.Fatalf("token still refused %s after the JWKS came up", time.Since(up))
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("accepted %s after the JWKS came up; %d requests reached it", time.Since(up), srv.requests.Load())
	})
}

// TestJWKSRefreshFailureKeepsKeys: every kind of failed refresh leaves the
// known keys in use; a successful one replaces them, and a token whose key
// left the set is rejected from then on (cached or not).
func TestJWKSRefreshFailureKeepsKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 50 * time.Millisecond
		k1 := newTestKey(t, "EdDSA", "k1")
		srv, client, down := switchableJWKS(k1)
		v := bubbleVerifier(t, client, func(c *Config) {
			c.JWKS.RefreshInterval, c.JWKS.MinRefreshInterval = interval, interval
			c.JWKS.MaxBytes = 64 << 10
		})
		tok1 := k1.sign(t, baClaims())
		accept(t, v, tok1)

		emptySet := mustJSON(map[string]any{"keys": []any{}})
		unusable := mustJSON(map[string]any{"keys": []any{map[string]any{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}}})
		huge := mustJSON(map[string]any{"keys": []any{k1.jwk()}, "pad": strings.Repeat("x", 100<<10)})
		failures := []struct {
			name   string
			status int
			body   []byte
		}{
			{"500", http.StatusInternalServerError, []byte(`oops`)},
			{"404", http.StatusNotFound, []byte(`{"keys":[]}`)},
			{"not JSON", http.StatusOK, []byte(`<html>`)},
			{"empty set", http.StatusOK, emptySet},
			{"no usable", http.StatusOK, unusable},
			{"over the max", http.StatusOK, huge},
			{"down", 0, nil},
		}
		for _, f := range failures {
			if f.status == 0 {
				down.Store(true)
			} else {
				srv.setRaw(f.status, f.body)
			}
			n := srv.requests.Load()
			// Failed refreshes back off, at most to RefreshInterval.
			time.Sleep(3 * interval)
			synctest.Wait()
			if f.status != 0 && srv.requests.Load() < n+2 {
				t.Errorf("%s: %d refreshes in %s, want at least 2", f.name, srv.requests.Load()-n, 3*interval)
			}
			accept(t, v, tok1)
			accept(t, v, k1.sign(t, with(baClaims(), "sub", "fresh-"+f.name)))
		}
		down.Store(false)

		// A successful refresh replaces the set.
		k2 := newTestKey(t, "EdDSA", "k2")
		srv.setKeys(k2)
		time.Sleep(3 * interval)
		synctest.Wait()
		refuse(t, v, tok1, "unknown key id")
		accept(t, v, k2.sign(t, baClaims()))
	})
}

// TestJWKSCloseStopsRefreshing: after Close no request reaches the server,
// Verify still works with the known keys, and Close is idempotent.
func TestJWKSCloseStopsRefreshing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTestKey(t, "EdDSA", "k")
		srv, client := inProcessJWKS(k)
		v := newVerifier(t, Config{JWKS: JWKSConfig{URL: "http://auth.test/jwks", Client: client,
			RefreshInterval: 20 * time.Millisecond, MinRefreshInterval: 20 * time.Millisecond}})
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if n := srv.requests.Load(); n < 3 {
			t.Fatalf("%d requests in 50ms at a 20ms refresh interval, want 3", n)
		}
		v.Close()
		select {
		case <-v.jwks.done:
		default:
			t.Fatal("refresh goroutine still running after Close")
		}
		n := srv.requests.Load()
		time.Sleep(100 * time.Millisecond)
		accept(t, v, k.sign(t, validClaims()))
		stranger := newTestKey(t, "EdDSA", "other")
		refuse(t, v, stranger.sign(t, validClaims()), "unknown key id")
		if m := srv.requests.Load(); m != n {
			t.Errorf("%d requests after Close", m-n)
		}
		v.Close()
	})
}

// TestJWKSCloseAbortsFetch: Close does not wait for a hanging auth server,
// and a Verify waiting on that fetch returns.
func TestJWKSCloseAbortsFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTestKey(t, "EdDSA", "k")
		srv, client := inProcessJWKS(k)
		srv.setDelay(time.Hour)
		v := newVerifier(t, Config{JWKS: JWKSConfig{URL: "http://auth.test/jwks", Client: client}})
		verified := make(chan error, 1)
		go func() {
			_, err := v.Verify(context.Background(), k.sign(t, validClaims()))
			verified <- err
		}()
		synctest.Wait() // Verify waits for the start-up fetch, which waits for the server
		begin := time.Now()
		v.Close()
		if d := time.Since(begin); d != 0 {
			t.Errorf("Close waited %s for the hanging server", d)
		}
		synctest.Wait()
		select {
		case err := <-verified:
			if err == nil {
				t.Error("accepted without keys")
			}
		default:
			t.Fatal("Verify still waiting after Close")
		}
	})
}

// TestJWKSVerifyHonoursContext: a request whose context ends stops waiting
// for a slow fetch.
func TestJWKSVerifyHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newTestKey(t, "EdDSA", "k")
		srv, client := inProcessJWKS(k)
		srv.setDelay(time.Hour)
		v := jwksVerifier(t, "http://auth.test:3000/api/auth/jwks", func(c *Config) { c.JWKS.Client = client })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		begin := time.Now()
		if _, err := v.Verify(ctx, k.sign(t, validClaims())); err == nil {
			t.Fatal("accepted before the keys were known")
		}
		if d := time.Since(begin); d != 100*time.Millisecond {
			t.Errorf("Verify returned after %s, want at its context's end, 100ms", d)
		}
	})
}

func TestJWKSConfigErrors(t *testing.T) {
	for _, cfg := range []JWKSConfig{
		{URL: "auth.example.com/jwks"},
		{URL: "ftp://auth.example.com/jwks"},
		{URL: "http:///jwks"},
		{URL: "http://a/jwks", RefreshInterval: time.Minute, MinRefreshInterval: time.Hour},
		{URL: "http://a/jwks", RefreshInterval: -time.Minute},
	} {
		if v, err := NewVerifier(Config{JWKS: cfg}); err == nil {
			v.Close()
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestParseJWK(t *testing.T) {
	good := map[string]map[string]any{}
	for _, alg := range allJWKSAlgs {
		good[alg] = newTestKey(t, alg, "k").jwk()
	}
	set := func(m map[string]any, kv ...any) rawJWK {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
			} else {
				out[kv[i].(string)] = kv[i+1]
			}
		}
		var r rawJWK
		if err := json.Unmarshal(mustJSON(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, alg := range allJWKSAlgs {
		k, err := parseJWK(set(good[alg]))
		if err != nil || k.alg != alg {
			t.Errorf("%s: %v, alg %q", alg, err, k.alg)
		}
	}
	// alg may be absent; the key type decides (RSA: RS256).
	for alg, want := range map[string]string{"EdDSA": "EdDSA", "ES256": "ES256", "ES512": "ES512", "RS256": "RS256", "PS256": "RS256"} {
		if k, err := parseJWK(set(good[alg], "alg", nil)); err != nil || k.alg != want {
			t.Errorf("%s without alg: %v, alg %q, want %q", alg, err, k.alg, want)
		}
	}
	if _, err := parseJWK(set(good["EdDSA"], "use", "sig", "key_ops", []string{"verify"})); err != nil {
		t.Errorf("use sig, key_ops verify: %v", err)
	}

	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallJWK := testKey{kid: "s", alg: "RS256", priv: small}.jwk()
	onCurve := good["ES256"]
	offCurveY, _ := base64.RawURLEncoding.DecodeString(onCurve["y"].(string))
	offCurveY[len(offCurveY)-1] ^= 1

	for name, r := range map[string]rawJWK{
		"no kid":                 set(good["EdDSA"], "kid", nil),
		"private key":            set(good["EdDSA"], "d", "AAAA"),
		"use enc":                set(good["EdDSA"], "use", "enc"),
		"key_ops sign only":      set(good["EdDSA"], "key_ops", []string{"sign"}),
		"EdDSA labelled RS256":   set(good["EdDSA"], "alg", "RS256"),
		"Ed448":                  set(good["EdDSA"], "crv", "Ed448"),
		"Ed25519 short x":        set(good["EdDSA"], "x", "AAAA"),
		"Ed25519 padded x":       set(good["EdDSA"], "x", good["EdDSA"]["x"].(string)+"="),
		"P-256 labelled ES512":   set(good["ES256"], "alg", "ES512"),
		"P-521 labelled ES256":   set(good["ES512"], "alg", "ES256"),
		"P-256 labelled HS256":   set(good["ES256"], "alg", "HS256"),
		"P-384":                  set(good["ES256"], "crv", "P-384"),
		"point not on the curve": set(good["ES256"], "y", base64.RawURLEncoding.EncodeToString(offCurveY)),
		"EC missing y":           set(good["ES256"], "y", nil),
		"RSA labelled RS512":     set(good["RS256"], "alg", "RS512"),
		"RSA labelled EdDSA":     set(good["RS256"], "alg", "EdDSA"),
		"RSA 1024 bits":          set(smallJWK),
		"RSA even exponent":      set(good["RS256"], "e", "AQAA"),
		"RSA exponent 1":         set(good["RS256"], "e", "AQ"),
		"RSA huge exponent":      set(good["RS256"], "e", "AQAAAAAB"),
		"oct":                    {Kty: "oct", Kid: "h"},
		"no kty":                 set(good["EdDSA"], "kty", nil),
	} {
		if k, err := parseJWK(r); err == nil {
			t.Errorf("%s: accepted as %s", name, k.alg)
		}
	}
}

// TestParseKeySetSkipsBadKeys: one unusable key does not take the others
// down; duplicate kid+alg keeps the first.
func TestParseKeySetSkipsBadKeys(t *testing.T) {
	a, b := newTestKey(t, "EdDSA", "a"), newTestKey(t, "EdDSA", "a")
	es := newTestKey(t, "ES256", "a") // same kid, other alg: both kept
	body := mustJSON(map[string]any{"keys": []any{
		a.jwk(), map[string]any{"kty": "oct", "kid": "x"}, "garbage", b.jwk(), es.jwk(),
	}})
	ks, skipped, err := parseKeySet(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 3 {
		t.Errorf("skipped %q, want 3", skipped)
	}
	k, _ := ks.lookup("a", "EdDSA")
	if !k.key.(interface{ Equal(crypto.PublicKey) bool }).Equal(a.priv.Public()) {
		t.Error("duplicate kid+alg did not keep the first key")
	}
	if k, _ := ks.lookup("a", "ES256"); k.key == nil {
		t.Error("same kid, other alg, lost")
	}
	if _, known := ks.lookup("a", "RS256"); !known {
		t.Error("kid a not known")
	}
}
