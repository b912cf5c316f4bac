package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// fakeBetterAuth answers GET /api/auth/get-session as Better Auth with its
// bearer plugin does: the session and its user for a bearer value it
// knows, null otherwise. Tests edit sessions and status under mu.
type fakeBetterAuth struct {
	srv   *httptest.Server
	calls atomic.Int64
	clock *fakeClock

	mu       sync.Mutex
	sessions map[string]fakeSession // by token
	status   int                    // when not 0, the answer's status (empty body)
	body     string                 // when not "", the answer's body
	gate     chan struct{}          // when not nil, answers wait for it to close
	arrived  chan struct{}          // receives once per call, when it has arrived
	queries  []string
}

type fakeSession struct {
	userID  any // string or number, as JSON
	email   string
	expires time.Time
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newFakeBetterAuth(t *testing.T) *fakeBetterAuth {
	t.Helper()
	f := &fakeBetterAuth{sessions: map[string]fakeSession{}, clock: &fakeClock{now: time.Now()}, arrived: make(chan struct{}, 1000)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/auth/get-session" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		f.calls.Add(1)
		select {
		case f.arrived <- struct{}{}:
		default: // nobody is counting
		}
		f.mu.Lock()
		gate := f.gate
		f.queries = append(f.queries, r.URL.RawQuery)
		f.mu.Unlock()
		if gate != nil {
			<-gate
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status != 0 {
			w.WriteHeader(f.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if f.body != "" {
			fmt.Fprint(w, f.body)
			return
		}
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s, ok := f.sessions[token]
		if !ok || !f.clock.Now().Before(s.expires) {
			fmt.Fprint(w, "null")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"session": map[string]any{"id": "s-" + token, "token": token, "userId": s.userID, "expiresAt": s.expires},
			"user":    map[string]any{"id": s.userID, "email": s.email, "name": "Ada", "emailVerified": false},
		})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBetterAuth) set(token string, s fakeSession) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[token] = s
}

func (f *fakeBetterAuth) revoke(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, token)
}

func (f *fakeBetterAuth) answer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

// sessionVerifier returns a verifier accepting HS256 tokens and session
// tokens from f, on f's clock.
func sessionVerifier(t *testing.T, f *fakeBetterAuth, cfg SessionConfig) *Verifier {
	t.Helper()
	cfg.URL = f.srv.URL + "/api/auth/get-session"
	v, err := NewVerifier(Config{Secret: testSecret, Sessions: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	v.sessions.now = f.clock.Now
	return v
}

func TestSessionTokens(t *testing.T) {
	f := newFakeBetterAuth(t)
	v := sessionVerifier(t, f, SessionConfig{CacheTTL: 30 * time.Second, NegativeTTL: 5 * time.Second})
	ctx := context.Background()
	f.set("abc123", fakeSession{userID: "user-1", email: "ada@example.com", expires: f.clock.Now().Add(time.Hour)})
	// The signed form Better Auth's set-auth-token header carries, URL-encoded.
	signed := "abc999.c2lnbmF0dXJl%2Bdd%3D"
	f.set(signed, fakeSession{userID: 12345, expires: f.clock.Now().Add(time.Hour)})

	u, err := v.Verify(ctx, "abc123")
	if err != nil || u != (todoapi.User{ID: "user-1", Email: "ada@example.com", Name: "Ada"}) {
		t.Fatalf("Verify(session token) = %+v, %v", u, err)
	}
	if u, err := v.Verify(ctx, signed); err != nil || u.ID != "12345" {
		t.Fatalf("Verify(signed session token) = %+v, %v; want the numeric user id as digits", u, err)
	}
	f.mu.Lock()
	if q := f.queries[0]; !strings.Contains(q, "disableRefresh=true") {
		t.Errorf("get-session query %q: the lookup must not refresh the session", q)
	}
	f.mu.Unlock()

	// Cached: no second call.
	for range 5 {
		if _, err := v.Verify(ctx, "abc123"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d calls to Better Auth for two tokens used repeatedly, want 2", n)
	}

	// A JWT never goes to Better Auth.
	if _, err := v.Verify(ctx, hs256(t, testSecret, validClaims())); err != nil {
		t.Fatalf("HS256 token: %v", err)
	}
	if _, err := v.Verify(ctx, "not.a.jwt"); !errors.Is(err, todoapi.ErrUnauthenticated) {
		t.Errorf("a malformed JWT: %v", err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("JWT-shaped tokens caused calls to Better Auth: %d", n)
	}

	// Values no session token can be are refused without a call.
	for _, bad := range []string{"has space", "tab\tin", "ünïcode", "semi;colon", "quote\"d", "new\nline"} {
		if _, err := v.Verify(ctx, bad); !errors.Is(err, todoapi.ErrUnauthenticated) {
			t.Errorf("Verify(%q) = %v, want a rejection", bad, err)
		}
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("malformed tokens caused calls to Better Auth: %d", n)
	}

	t.Run("revoked session: refused once its entry expires", func(t *testing.T) {
		f.revoke("abc123")
		f.clock.advance(29 * time.Second)
		if _, err := v.Verify(ctx, "abc123"); err != nil {
			t.Fatalf("within the cache TTL: %v", err)
		}
		f.clock.advance(2 * time.Second)
		if _, err := v.Verify(ctx, "abc123"); !errors.Is(err, todoapi.ErrUnauthenticated) {
			t.Fatalf("after the cache TTL: %v, want a rejection", err)
		}
	})

	t.Run("unknown tokens are remembered briefly", func(t *testing.T) {
		before := f.calls.Load()
		for range 3 {
			if _, err := v.Verify(ctx, "unknown-token"); !errors.Is(err, todoapi.ErrUnauthenticated) || errors.Is(err, todoapi.ErrAuthUnavailable) {
				t.Fatalf("unknown token: %v", err)
			}
		}
		if n := f.calls.Load() - before; n != 1 {
			t.Errorf("%d calls for one unknown token sent three times, want 1", n)
		}
		// A session created meanwhile is found once the refusal expires.
		f.set("unknown-token", fakeSession{userID: "user-2", expires: f.clock.Now().Add(time.Hour)})
		if _, err := v.Verify(ctx, "unknown-token"); err == nil {
			t.Error("accepted within the negative TTL")
		}
		f.clock.advance(6 * time.Second)
		if u, err := v.Verify(ctx, "unknown-token"); err != nil || u.ID != "user-2" {
			t.Errorf("after the negative TTL: %+v, %v", u, err)
		}
	})

	t.Run("never cached past the session's expiresAt", func(t *testing.T) {
		f.set("short", fakeSession{userID: "user-3", expires: f.clock.Now().Add(2 * time.Second)})
		if _, err := v.Verify(ctx, "short"); err != nil {
			t.Fatal(err)
		}
		f.clock.advance(2 * time.Second)
		if _, err := v.Verify(ctx, "short"); !errors.Is(err, todoapi.ErrUnauthenticated) {
			t.Errorf("an expired session: %v", err)
		}
	})
}

// Only a definite answer is a verdict: errors of Better Auth are
// ErrAuthUnavailable, not rejections, and are not cached.
func TestSessionLookupFailures(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name         string
		status       int
		body         string
		unauthorized bool
	}{
		{"401", http.StatusUnauthorized, "", true},
		{"403", http.StatusForbidden, "", true},
		{"500", http.StatusInternalServerError, "", false},
		{"429", http.StatusTooManyRequests, "", false},
		{"404", http.StatusNotFound, "", false},
		{"not JSON", 0, "<html>", false},
		{"no user id", 0, `{"session":{"userId":"u","expiresAt":"2999-01-01T00:00:00Z"},"user":{"email":"x"}}`, false},
		{"no expiresAt", 0, `{"session":{"userId":"u"},"user":{"id":"u"}}`, false},
		{"user id mismatch", 0, `{"session":{"userId":"other","expiresAt":"2999-01-01T00:00:00Z"},"user":{"id":"u"}}`, false},
		{"bad user id", 0, `{"session":{"userId":"u","expiresAt":"2999-01-01T00:00:00Z"},"user":{"id":""}}`, false},
		{"expired", 0, `{"session":{"userId":"u","expiresAt":"2001-01-01T00:00:00Z"},"user":{"id":"u"}}`, true},
		{"null", 0, `null`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeBetterAuth(t)
			v := sessionVerifier(t, f, SessionConfig{})
			f.answer(c.status, c.body)
			_, err := v.Verify(ctx, "some-token")
			if got := errors.Is(err, todoapi.ErrUnauthenticated); got != c.unauthorized || errors.Is(err, todoapi.ErrAuthUnavailable) == c.unauthorized {
				t.Fatalf("Verify = %v; want a rejection: %v, unavailable: %v", err, c.unauthorized, !c.unauthorized)
			}
			_, _ = v.Verify(ctx, "some-token")
			want := int64(2) // a failure is asked again
			if c.unauthorized {
				want = 1 // a verdict is cached
			}
			if n := f.calls.Load(); n != want {
				t.Errorf("%d calls for two attempts, want %d", n, want)
			}
		})
	}

	t.Run("Better Auth down", func(t *testing.T) {
		f := newFakeBetterAuth(t)
		v := sessionVerifier(t, f, SessionConfig{})
		f.srv.Close()
		if _, err := v.Verify(ctx, "some-token"); !errors.Is(err, todoapi.ErrAuthUnavailable) {
			t.Fatalf("Verify = %v, want ErrAuthUnavailable", err)
		}
	})

	t.Run("redirects are not followed", func(t *testing.T) {
		var elsewhere atomic.Int64
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
		defer other.Close()
		redirect := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusFound))
		defer redirect.Close()
		v, err := NewVerifier(Config{Sessions: SessionConfig{URL: redirect.URL + "/api/auth/get-session"}})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if _, err := v.Verify(ctx, "some-token"); !errors.Is(err, todoapi.ErrAuthUnavailable) {
			t.Errorf("Verify = %v, want ErrAuthUnavailable", err)
		}
		if elsewhere.Load() != 0 {
			t.Error("the token followed a redirect")
		}
	})

	t.Run("a caller that gives up", func(t *testing.T) {
		f := newFakeBetterAuth(t)
		v := sessionVerifier(t, f, SessionConfig{})
		f.set("tok", fakeSession{userID: "u", expires: f.clock.Now().Add(time.Hour)})
		gate := make(chan struct{})
		f.mu.Lock()
		f.gate = gate
		f.mu.Unlock()
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := v.Verify(short, "tok"); !errors.Is(err, todoapi.ErrAuthUnavailable) {
			t.Errorf("Verify with a canceled context = %v", err)
		}
		close(gate)
		// The lookup went on for others: the next caller joins it, or
		// finds its answer cached (it is cached before the call ends).
		if u, err := v.Verify(ctx, "tok"); err != nil || u.ID != "u" {
			t.Fatalf("Verify = %v, %v", u, err)
		}
		if n := f.calls.Load(); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})
}

// Concurrent requests with one token share one call.
func TestSessionSingleFlight(t *testing.T) {
	f := newFakeBetterAuth(t)
	v := sessionVerifier(t, f, SessionConfig{})
	f.set("shared", fakeSession{userID: "u", expires: f.clock.Now().Add(time.Hour)})
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if u, err := v.Verify(context.Background(), "shared"); err != nil || u.ID != "u" {
				errs <- fmt.Errorf("Verify = %+v, %v", u, err)
			}
		})
	}
	<-f.arrived // the first lookup waits at the gate
	// Callers that come while it waits join it; any that come later find
	// its answer cached, which is stored before the call ends. Neither
	// asks Better Auth again.
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d calls for 50 concurrent requests with one token, want 1", n)
	}
}

// A flood of made-up tokens costs Better Auth at most the burst (the
// clock stands still while it arrives); the requests beyond are
// unavailable, not refused, and not cached. Once the rate refills the
// bucket, a real session gets through.
func TestSessionRateLimit(t *testing.T) {
	f := newFakeBetterAuth(t)
	v := sessionVerifier(t, f, SessionConfig{LookupRPS: 2, LookupBurst: 5})
	f.set("real", fakeSession{userID: "u", expires: f.clock.Now().Add(time.Hour)})
	var refused, unavailable atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), fmt.Sprintf("random-%d", i))
			switch {
			case errors.Is(err, todoapi.ErrAuthUnavailable):
				unavailable.Add(1)
			case errors.Is(err, todoapi.ErrUnauthenticated):
				refused.Add(1)
			default:
				t.Errorf("a random token: %v", err)
			}
		})
	}
	wg.Wait()
	if calls := f.calls.Load(); calls != 5 || refused.Load() != 5 || unavailable.Load() != 195 {
		t.Errorf("200 random tokens at once: %d calls, %d refused, %d unavailable; want 5, 5, 195",
			calls, refused.Load(), unavailable.Load())
	}
	if n := v.sessions.unknown.len(); n != 5 {
		t.Errorf("%d unknown tokens cached, want the 5 asked about", n)
	}
	if _, err := v.Verify(context.Background(), "real"); !errors.Is(err, todoapi.ErrAuthUnavailable) {
		t.Errorf("a real session while the bucket is empty: %v, want unavailable", err)
	}
	f.clock.advance(500 * time.Millisecond) // 2 per second: one call's worth
	if u, err := v.Verify(context.Background(), "real"); err != nil || u.ID != "u" {
		t.Errorf("a real session after the bucket refilled: %+v, %v", u, err)
	}
}

// The caches are bounded, and refusals cannot push sessions out.
func TestSessionCacheBound(t *testing.T) {
	f := newFakeBetterAuth(t)
	v := sessionVerifier(t, f, SessionConfig{CacheSize: 3, LookupBurst: 1000})
	ctx := context.Background()
	for i := range 5 {
		f.set(fmt.Sprint("s", i), fakeSession{userID: fmt.Sprint("u", i), expires: f.clock.Now().Add(time.Hour)})
		if _, err := v.Verify(ctx, fmt.Sprint("s", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.sessions.known.len(); n != 3 {
		t.Errorf("%d sessions cached with CacheSize 3", n)
	}
	before := f.calls.Load()
	if _, err := v.Verify(ctx, "s4"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, "s0"); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load() - before; n != 1 {
		t.Errorf("%d calls for the newest (cached) and the oldest (evicted) session, want 1", n)
	}
	for i := range 50 {
		_, _ = v.Verify(ctx, fmt.Sprint("junk", i))
	}
	if n := v.sessions.unknown.len(); n != 3 {
		t.Errorf("%d unknown tokens cached with CacheSize 3", n)
	}
	before = f.calls.Load()
	if _, err := v.Verify(ctx, "s0"); err != nil {
		t.Fatal(err)
	}
	if f.calls.Load() != before {
		t.Error("a flood of unknown tokens pushed a session out of the cache")
	}
}

func TestSessionConfig(t *testing.T) {
	f := newFakeBetterAuth(t)
	// Session tokens alone are a key source: JWTs are then all refused.
	v, err := NewVerifier(Config{Sessions: SessionConfig{URL: f.srv.URL + "/api/auth/get-session"}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	f.set("tok", fakeSession{userID: "u", expires: time.Now().Add(time.Hour)})
	if u, err := v.Verify(context.Background(), "tok"); err != nil || u.ID != "u" {
		t.Errorf("Verify = %+v, %v", u, err)
	}
	if _, err := v.Verify(context.Background(), hs256(t, testSecret, validClaims())); !errors.Is(err, todoapi.ErrUnauthenticated) {
		t.Errorf("HS256 token without a secret: %v", err)
	}
	for _, bad := range []SessionConfig{
		{URL: "ftp://auth.example.com/api/auth/get-session"},
		{URL: "/api/auth/get-session"},
		{URL: "https://auth.example.com/api/auth/get-session?x=1"},
		{URL: "https://auth.example.com/api/auth/get-session", CacheTTL: -time.Second},
		{URL: "https://auth.example.com/api/auth/get-session", LookupRPS: -1},
	} {
		if v, err := NewVerifier(Config{Sessions: bad}); err == nil {
			v.Close()
			t.Errorf("NewVerifier(%+v) succeeded", bad)
		}
	}
}
