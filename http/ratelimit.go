package http

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/time/rate"

	"github.com/todoapi/todoapi/metrics"
)

// RateLimit is a token bucket: RPS tokens a second, holding at most Burst.
// An RPS of zero (or less) disables the limit.
type RateLimit struct {
	RPS   float64
	Burst int
}

func (l RateLimit) enabled() bool { return l.RPS > 0 && l.Burst > 0 }

// maxLimiterKeys bounds how many buckets a limiterSet keeps. At about 200
// bytes a bucket this is ~13 MB at worst.
const maxLimiterKeys = 1 << 16

// limiterSet keeps one token bucket per key (a user id, a client IP) in a
// map that cannot grow without bound: buckets are kept in least-recently-
// used order, a bucket unused long enough to have refilled completely is
// dropped (a new one would be identical, so nothing is lost), and when the
// set is full of recently used buckets the least recent one goes. That last
// case gives the evicted key a fresh bucket, so it errs towards letting
// requests through rather than refusing keys it has no room for.
type limiterSet struct {
	limit rate.Limit
	burst int
	// idle is how long an unused bucket takes to fill up again.
	idle time.Duration
	max  int
	now  func() time.Time

	mu    sync.Mutex
	lru   *list.List // of *limiterEntry, most recently used first
	byKey map[string]*list.Element
}

type limiterEntry struct {
	key  string
	lim  *rate.Limiter
	used time.Time
}

// newLimiterSet returns nil when l is disabled; a nil set allows everything.
func newLimiterSet(l RateLimit, max int) *limiterSet {
	if !l.enabled() {
		return nil
	}
	return &limiterSet{
		limit: rate.Limit(l.RPS),
		burst: l.Burst,
		idle:  time.Duration(float64(l.Burst)/l.RPS*float64(time.Second)) + time.Second,
		max:   max,
		now:   time.Now,
		lru:   list.New(),
		byKey: make(map[string]*list.Element),
	}
}

// bucket returns key's bucket, creating it if needed.
func (s *limiterSet) bucket(key string, now time.Time) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byKey[key]; ok {
		e := el.Value.(*limiterEntry)
		e.used = now
		s.lru.MoveToFront(el)
		return e.lim
	}
	// Forget buckets that have refilled, oldest first; then, if still full,
	// the least recently used one.
	for back := s.lru.Back(); back != nil; back = s.lru.Back() {
		e := back.Value.(*limiterEntry)
		if now.Sub(e.used) < s.idle && s.lru.Len() < s.max {
			break
		}
		s.lru.Remove(back)
		delete(s.byKey, e.key)
	}
	e := &limiterEntry{key: key, lim: rate.NewLimiter(s.limit, s.burst), used: now}
	s.byKey[key] = s.lru.PushFront(e)
	return e.lim
}

// len reports how many buckets are kept, for tests.
func (s *limiterSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// allow takes a token from key's bucket. When there is none it reports how
// long until there will be.
func (s *limiterSet) allow(key string) (bool, time.Duration) {
	if s == nil {
		return true, 0
	}
	now := s.now()
	lim := s.bucket(key, now)
	if lim.AllowN(now, 1) {
		return true, 0
	}
	return false, s.wait(lim, now)
}

func (s *limiterSet) wait(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	return time.Duration(missing / float64(s.limit) * float64(time.Second))
}

// limitUser spends one token of the authenticated user's bucket per request
// and answers 429 when the bucket is empty. Keying on the user rather than
// the address keeps users behind one NAT or proxy apart and follows a user
// across addresses. It runs after authenticate and before the path check,
// so that requests for other users' paths count too.
func (s *server) limitUser(ctx huma.Context, next func(huma.Context)) {
	user := userFrom(ctx.Context())
	if user.ID == "" { // an operation without security
		next(ctx)
		return
	}
	if ok, wait := s.userLimits.allow(user.ID); !ok {
		s.metrics.RateLimited(metrics.LimitUser)
		s.writeHumaProblem(ctx, &limited{"too many requests", wait})
		return
	}
	next(ctx)
}

// clientIP is the client failed authentications are counted against: the
// connection's peer, unless that peer is a configured trusted proxy, in
// which case X-Forwarded-For is read from the right, skipping trusted
// proxies, and the first other address is the client. Without trusted
// proxies the header is ignored: anyone can write it, and believing it would
// let a client pick a fresh address for every guess.
func (s *server) clientIP(r *http.Request) string {
	var addr netip.Addr
	if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		addr = peer.Addr().Unmap()
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		addr, _ = netip.ParseAddr(host)
	}
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if len(s.trustedProxies) == 0 || !s.trusted(addr) {
		return clientNetwork(addr)
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: trust nothing to its left
		}
		addr = hop.Unmap()
		if !s.trusted(addr) {
			break
		}
	}
	return clientNetwork(addr)
}

// clientNetwork names an IPv4 client by its address and an IPv6 client by
// its /64: one host usually holds a whole /64 and could otherwise try each
// of its addresses in turn, each with a fresh bucket.
func clientNetwork(a netip.Addr) string {
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

func (s *server) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
