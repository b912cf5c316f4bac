package auth

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/todoapi/todoapi"
)

func TestTokenCache(t *testing.T) {
	c := newTokenCache(3)
	now := time.Now()
	u := func(id string) todoapi.User { return todoapi.User{ID: id} }
	key := func(i int) [32]byte { return cacheKey(fmt.Sprint("token-", i)) }

	c.put(key(1), grant{user: u("a"), exp: now.Add(time.Minute)}, c.generation(), now)
	if got, ok := c.get(key(1), now); !ok || got.user.ID != "a" {
		t.Fatalf("get = %v, %v", got, ok)
	}
	if _, ok := c.get(key(2), now); ok {
		t.Fatal("hit for a token never stored")
	}

	// Entries end at exp.
	if _, ok := c.get(key(1), now.Add(time.Minute-time.Nanosecond)); !ok {
		t.Error("miss just before exp")
	}
	if _, ok := c.get(key(1), now.Add(time.Minute)); ok {
		t.Error("hit at exp")
	}
	// Already expired tokens are not stored.
	c.put(key(9), grant{user: u("z"), exp: now}, c.generation(), now)
	if _, ok := c.get(key(9), now.Add(-time.Second)); ok {
		t.Error("stored a token at its exp")
	}

	// A result verified across a flush is dropped.
	gen := c.generation()
	c.flush()
	if c.len() != 0 {
		t.Fatalf("%d entries after flush", c.len())
	}
	c.put(key(1), grant{user: u("a"), exp: now.Add(time.Minute)}, gen, now)
	if _, ok := c.get(key(1), now); ok {
		t.Error("stored a result verified before the flush")
	}

	// Bounded: the oldest insertions make room.
	for i := range 5 {
		c.put(key(i), grant{user: u(fmt.Sprint(i)), exp: now.Add(time.Minute)}, c.generation(), now)
	}
	if c.len() != 3 {
		t.Fatalf("%d entries, want 3", c.len())
	}
	for i := range 5 {
		_, ok := c.get(key(i), now)
		if want := i >= 2; ok != want {
			t.Errorf("token %d cached = %v, want %v", i, ok, want)
		}
	}
	// Storing a present key again does not take a second slot.
	c.put(key(4), grant{user: u("4"), exp: now.Add(time.Hour)}, c.generation(), now)
	if c.len() != 3 {
		t.Errorf("%d entries after re-storing, want 3", c.len())
	}
	for i := 5; i < 1000; i++ {
		c.put(key(i), grant{user: u("x"), exp: now.Add(time.Minute)}, c.generation(), now)
		if c.len() > 3 {
			t.Fatalf("%d entries, bound is 3", c.len())
		}
	}
}

// TestVerifierCacheEndsAtExp: a cached token is not accepted past its exp
// (beyond the leeway, which applies as without the cache). The test runs
// in a synctest bubble, whose clock jumps to exp when the test sleeps.
func TestVerifierCacheEndsAtExp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		v := newVerifier(t, Config{Secret: testSecret, Leeway: time.Millisecond})
		exp := time.Now().Add(90 * time.Second).Truncate(time.Second)
		tok := hs256(t, testSecret, with(validClaims(), "exp", exp.Unix()))
		accept(t, v, tok)
		accept(t, v, tok) // from the cache
		if v.cache.len() != 1 {
			t.Fatalf("cache holds %d entries, want 1", v.cache.len())
		}
		time.Sleep(time.Until(exp) - time.Second)
		accept(t, v, tok) // still from the cache
		time.Sleep(time.Second + 2*time.Millisecond)
		refuse(t, v, tok, "token expired")
	})
}

func TestVerifierCacheStoresOnlySuccesses(t *testing.T) {
	v := secretVerifier(t)
	refuse(t, v, hs256(t, "wrong", validClaims()), "invalid signature")
	refuse(t, v, hs256(t, testSecret, with(validClaims(), "exp", nil)), "missing exp claim")
	if n := v.cache.len(); n != 0 {
		t.Errorf("%d rejected tokens cached", n)
	}
	off := newVerifier(t, Config{Secret: testSecret, CacheSize: -1})
	accept(t, off, hs256(t, testSecret, validClaims()))
	if off.cache != nil {
		t.Error("CacheSize -1 did not disable the cache")
	}
}

// BenchmarkVerify measures Verify per algorithm, with the token cache (every
// iteration after the first is a hit: a client repeating its token) and
// without it (every iteration verifies the signature).
//
//	go test -run '^$' -bench BenchmarkVerify -benchmem ./auth
func BenchmarkVerify(b *testing.B) {
	keys := map[string]testKey{}
	var list []testKey
	for _, alg := range []string{"EdDSA", "ES256", "ES512", "RS256", "PS256"} {
		k := newTestKey(b, alg, "kid-"+alg)
		keys[alg] = k
		list = append(list, k)
	}
	srv := newJWKSServer(b, list...)
	c := with(baClaims(), "exp", time.Now().Add(24*time.Hour).Unix())
	ctx := context.Background()

	for _, alg := range []string{"HS256", "EdDSA", "ES256", "ES512", "RS256", "PS256"} {
		var tok string
		if alg == "HS256" {
			tok = hs256(b, testSecret, c)
		} else {
			tok = keys[alg].sign(b, c)
		}
		for _, cache := range []struct {
			name string
			size int
		}{{"cache", 0}, {"nocache", -1}} {
			b.Run(alg+"/"+cache.name, func(b *testing.B) {
				v := jwksVerifier(b, srv.url(), func(cfg *Config) {
					cfg.Secret, cfg.CacheSize = testSecret, cache.size
				})
				waitLoaded(b, v)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
