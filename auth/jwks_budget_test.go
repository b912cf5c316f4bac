package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run in a synctest bubble: the JWKS is served in process
// (inProcessJWKS), so every goroutine involved is in the bubble and time
// only moves when the test says so.

// inProcessJWKS serves a jwksServer without a network: the client calls
// its handler directly.
func inProcessJWKS(keys ...testKey) (*jwksServer, *http.Client) {
	s := &jwksServer{status: http.StatusOK}
	s.setKeys(keys...)
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		s.serve(rec, r)
		return rec.Result(), nil
	})}
	return s, client
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// bubbleVerifier is a JWKS verifier on srv's in-process client, loaded.
func bubbleVerifier(t *testing.T, client *http.Client, mod ...func(*Config)) *Verifier {
	t.Helper()
	v := jwksVerifier(t, "http://auth.test:3000/api/auth/jwks", append([]func(*Config){func(c *Config) {
		c.JWKS.Client = client
	}}, mod...)...)
	synctest.Wait() // the start-up fetch
	return v
}

// TestJWKSRotationAfterBogusKid: a token with a made-up kid causes a fetch;
// a key rotation right after it is followed at once — the new key's token
// is accepted with no wait, rather than refused for a cool-down.
func TestJWKSRotationAfterBogusKid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k1 := newTestKey(t, "EdDSA", "k1")
		srv, client := inProcessJWKS(k1)
		v := bubbleVerifier(t, client)
		accept(t, v, k1.sign(t, baClaims()))

		bogus := newTestKey(t, "EdDSA", "bogus")
		refuse(t, v, bogus.sign(t, baClaims()), "unknown key id")

		k2 := newTestKey(t, "EdDSA", "k2")
		srv.setKeys(k1, k2)
		start := time.Now()
		accept(t, v, k2.sign(t, baClaims()))
		if waited := time.Since(start); waited != 0 {
			t.Errorf("the rotated key was accepted after %v; want at once", waited)
		}
		if n := srv.requests.Load(); n != 3 {
			t.Errorf("%d JWKS fetches, want 3 (start-up, bogus kid, new kid)", n)
		}
	})
}

// TestJWKSMissedKidRefusedWithoutFetch: a kid a fetch did not find is
// refused without another fetch for MinRefreshInterval, and looked for once
// more after it.
func TestJWKSMissedKidRefusedWithoutFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k1 := newTestKey(t, "EdDSA", "k1")
		srv, client := inProcessJWKS(k1)
		v := bubbleVerifier(t, client)
		bogus := newTestKey(t, "EdDSA", "bogus")
		for range 50 {
			refuse(t, v, bogus.sign(t, baClaims()), "unknown key id")
		}
		if n := srv.requests.Load(); n != 2 {
			t.Fatalf("50 tokens of one unknown kid: %d fetches, want 2 (start-up and one)", n)
		}
		time.Sleep(DefaultJWKSMinRefreshInterval)
		refuse(t, v, bogus.sign(t, baClaims()), "unknown key id")
		if n := srv.requests.Load(); n != 3 {
			t.Fatalf("the same kid after MinRefreshInterval: %d fetches, want 3", n)
		}
		// Once published, that kid is accepted at its next fetch.
		srv.setKeys(k1, bogus)
		time.Sleep(DefaultJWKSMinRefreshInterval)
		accept(t, v, bogus.sign(t, baClaims()))
	})
}

// TestJWKSRandomKidsBounded: a flood of tokens with made-up kids costs the
// auth server at most the budget of unknown-kid fetches, and a key
// rotation during the flood is still followed within one budget period.
func TestJWKSRandomKidsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k1 := newTestKey(t, "EdDSA", "k1")
		srv, client := inProcessJWKS(k1)
		v := bubbleVerifier(t, client)
		stranger := newTestKey(t, "EdDSA", "x")
		forge := func(i int) string {
			k := stranger
			k.kid = fmt.Sprintf("random-%d", i)
			return k.sign(t, baClaims())
		}

		// 1 000 random kids at one instant, 100 at a time concurrently.
		for round := range 10 {
			var wg sync.WaitGroup
			for i := range 100 {
				tok := forge(round*100 + i)
				wg.Go(func() {
					if _, err := v.Verify(context.Background(), tok); err == nil {
						t.Error("a token with a random kid was accepted")
					}
				})
			}
			wg.Wait()
		}
		atOnce := srv.requests.Load() - 1
		t.Logf("1000 random kids at once: %d JWKS fetches (budget %d)", atOnce, DefaultJWKSUnknownKidRefreshes)
		if atOnce > DefaultJWKSUnknownKidRefreshes {
			t.Errorf("1000 random kids at once caused %d fetches; the budget is %d", atOnce, DefaultJWKSUnknownKidRefreshes)
		}

		// Then one random kid every 100 ms for 10 minutes.
		before := srv.requests.Load()
		const period = 10 * time.Minute
		for i := range int(period / (100 * time.Millisecond)) {
			time.Sleep(100 * time.Millisecond)
			refuse(t, v, forge(1000+i), "unknown key id")
		}
		sustained := srv.requests.Load() - before
		// The periodic refresh (every 10 minutes) may add one.
		most := int64(period/(DefaultJWKSMinRefreshInterval/DefaultJWKSUnknownKidRefreshes)) + 1
		t.Logf("6000 random kids over %v: %d JWKS fetches (at most %d)", period, sustained, most)
		if sustained > most {
			t.Errorf("random kids over %v caused %d fetches; at most %d allowed", period, sustained, most)
		}

		// A rotation while the flood has spent the budget: accepted within
		// one refill of the budget.
		k2 := newTestKey(t, "EdDSA", "k2")
		srv.setKeys(k1, k2)
		tok := k2.sign(t, baClaims())
		start := time.Now()
		for {
			if _, err := v.Verify(context.Background(), tok); err == nil {
				break
			}
			if time.Since(start) > DefaultJWKSMinRefreshInterval {
				t.Fatalf("the rotated key was not accepted within %v of a flood", DefaultJWKSMinRefreshInterval)
			}
			time.Sleep(100 * time.Millisecond)
			refuse(t, v, forge(int(time.Since(start))), "unknown key id") // the flood goes on
		}
		t.Logf("rotated key accepted %v after it was published, during a flood of random kids", time.Since(start))
	})
}

// TestJWKSNotFoundLoggedOnce: with Better Auth used for session tokens only
// (no JWT plugin), its JWKS answers 404 for good. That is one warning, and
// the retries back off to the refresh interval instead of asking every 30 s.
func TestJWKSNotFoundLoggedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, client := inProcessJWKS()
		srv.setRaw(http.StatusNotFound, []byte(`{"message":"Not Found"}`))
		var logs bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		bubbleVerifier(t, client, func(c *Config) { c.JWKS.Logger = logger })

		time.Sleep(6 * time.Hour)
		synctest.Wait()
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], "404") {
			t.Errorf("6 hours of a JWKS answering 404 logged %d lines at info level or above, want one warning:\n%s", len(lines), logs.String())
		}
		// 1 s doubling to the 10-minute refresh interval: about 45 fetches
		// in 6 hours, against 720 at one every 30 s.
		n := srv.requests.Load()
		t.Logf("6 hours of 404: %d JWKS fetches", n)
		if n > 50 {
			t.Errorf("6 hours of 404: %d JWKS fetches; want the retries backed off to the refresh interval", n)
		}

		// A different failure is news again.
		srv.setRaw(http.StatusInternalServerError, []byte(`oops`))
		time.Sleep(DefaultJWKSRefreshInterval)
		synctest.Wait()
		if got := strings.Count(logs.String(), `"level":"WARN"`); got != 2 {
			t.Errorf("after the failure changed: %d warnings, want 2:\n%s", got, logs.String())
		}
	})
}
