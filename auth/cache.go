package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultCacheSize is how many verified tokens a Verifier remembers unless
// Config.CacheSize says otherwise. An entry is about 200 bytes plus the
// user's id, email and name, so the default costs a few MiB at most.
const DefaultCacheSize = 10_000

// tokenCache remembers tokens that verified, so a client sending the same
// token on every request pays for one signature check per token rather than
// one per request (an EdDSA or ES256 check costs tens of microseconds; a hit
// costs a SHA-256 and a map lookup; see BenchmarkVerify).
//
// What makes this safe:
//   - The key is SHA-256 of the whole token, signature included, so only a
//     byte-identical copy of a verified token hits.
//   - An entry lives until the token's exp, never longer (without the
//     leeway: past exp the token is verified again, and the leeway applies
//     then as usual).
//   - Only successes are stored, after every check passed; claim rules
//     (iss, aud, leeway) are fixed for the Verifier's lifetime.
//   - flush empties it when the JWKS changes, so a token whose key left the
//     set is rejected at the next request. A verification that was running
//     across a flush does not store its result (generation check).
//   - It holds at most size entries; when full, the oldest insertion makes
//     room.
type tokenCache struct {
	mu      sync.RWMutex
	size    int
	gen     uint64
	entries map[[sha256.Size]byte]cacheEntry
	// ring holds keys in insertion order, for eviction.
	ring [][sha256.Size]byte
	next int
}

type cacheEntry = grant

func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: size, entries: make(map[[sha256.Size]byte]cacheEntry)}
}

func cacheKey(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// get returns the grant of a remembered token that has not expired at now.
func (c *tokenCache) get(key [sha256.Size]byte, now time.Time) (grant, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		return grant{}, false
	}
	return e, true
}

// generation is read before a verification starts and passed to put.
func (c *tokenCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put remembers a verified token's grant until its exp, unless the cache was flushed
// since gen was read or the token is already past exp.
func (c *tokenCache) put(key [sha256.Size]byte, g grant, gen uint64, now time.Time) {
	if !now.Before(g.exp) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.entries[key]; ok {
		c.entries[key] = g
		return
	}
	if len(c.ring) < c.size {
		c.ring = append(c.ring, key)
	} else {
		// Evict the oldest insertion. Its entry may already be gone
		// (replaced after a flush); deleting is then a no-op.
		delete(c.entries, c.ring[c.next])
		c.ring[c.next] = key
		c.next = (c.next + 1) % c.size
	}
	c.entries[key] = g
}

// flush forgets every token.
func (c *tokenCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.ring = c.ring[:0]
	c.next = 0
}

// len reports the number of entries, for tests.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
