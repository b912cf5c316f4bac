package main

// End-to-end tests of Better Auth session tokens against the
// real Better Auth with its bearer plugin (testdata/betterauth), todoapi
// started through run() with BETTER_AUTH_SESSION_TOKENS=true. The harness
// counts the requests that reach get-session, which is how these tests see
// todoapi's lookups.

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// sessionEnv is the todoapi environment of these tests, on ba, with extra
// settings on top.
func sessionEnv(ba *betterAuth, extra ...string) map[string]string {
	env := map[string]string{
		"BETTER_AUTH_URL":            ba.url,
		"BETTER_AUTH_SESSION_TOKENS": "true",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// TestBetterAuthSessionTokens drives every endpoint with Better Auth
// session tokens, raw and signed, beside the JWTs of the same sessions.
func TestBetterAuthSessionTokens(t *testing.T) {
	t.Parallel()
	ba := sharedBetterAuth(t)
	base := startTodoapiE2E(t, sessionEnv(ba))
	alice := ba.signUp(t, baEmail(t, "alice"), "Alice")
	bob := ba.signUp(t, baEmail(t, "bob"), "Bob")

	a := e2eAPI{t, base, alice.session}
	aPath := "/api/" + alice.id + "/tasks"
	var list []e2eTask
	a.expect(200, "GET", aPath, nil, &list)
	if len(list) != 0 {
		t.Fatalf("a new user has tasks: %v", list)
	}
	var created, got e2eTask
	resp := a.expect(201, "POST", "/api/tasks", map[string]any{
		"title": "Buy milk", "priority": "HIGH", "tags": []string{"home"}, "due_date": "2026-12-01",
	}, &created)
	taskPath := fmt.Sprintf("%s/%d", aPath, created.ID)
	if created.UserID != alice.id || created.Priority != "high" || resp.Header.Get("Location") != taskPath {
		t.Fatalf("created %+v at %q", created, resp.Header.Get("Location"))
	}
	a.expect(200, "GET", taskPath, nil, &got)
	a.expect(200, "GET", fmt.Sprintf("/api/tasks/%d", created.ID), nil, &got)
	a.expect(200, "PUT", taskPath, map[string]any{"title": "Buy oat milk"}, &got)
	a.expect(200, "PATCH", taskPath, map[string]any{"description": "Two litres"}, &got)
	if got.Title != "Buy oat milk" || got.Description == nil {
		t.Fatalf("after PUT and PATCH: %+v", got)
	}
	a.expect(200, "PATCH", taskPath+"/complete", nil, &got)
	if !got.Completed {
		t.Fatalf("complete: %+v", got)
	}
	a.expect(200, "POST", fmt.Sprintf("/api/tasks/%d/toggle", created.ID), map[string]any{"is_completed": false}, &got)
	if got.Completed {
		t.Fatalf("toggle: %+v", got)
	}
	var tags []string
	a.expect(200, "GET", "/api/tags", nil, &tags)
	if len(tags) != 1 || tags[0] != "home" {
		t.Fatalf("tags: %q", tags)
	}

	// The signed token of the same session, and a JWT of it, are the same
	// user.
	e2eAPI{t, base, alice.signed}.expect(200, "GET", "/api/me/tasks", nil, &list)
	if len(list) != 1 || list[0].ID != created.ID {
		t.Fatalf("with the signed session token: %+v", list)
	}
	e2eAPI{t, base, ba.token(t, alice)}.expect(200, "GET", "/api/me/tasks", nil, &list)
	if len(list) != 1 || list[0].ID != created.ID {
		t.Fatalf("with the session's JWT: %+v", list)
	}

	// bob's session sees nothing of alice's.
	b := e2eAPI{t, base, bob.session}
	b.expect(403, "GET", aPath, nil, nil)
	b.expect(404, "GET", fmt.Sprintf("/api/tasks/%d", created.ID), nil, nil)
	b.expect(404, "DELETE", fmt.Sprintf("/api/me/tasks/%d", created.ID), nil, nil)
	b.expect(200, "GET", "/api/tasks", nil, &list)
	if len(list) != 0 {
		t.Fatalf("bob lists %d tasks", len(list))
	}

	a.expect(204, "DELETE", taskPath, nil, nil)
	a.expect(404, "GET", taskPath, nil, nil)

	// Made-up session tokens are 401 invalid_token, like bad JWTs.
	for _, tok := range []string{"nosuchsessiontoken0123456789abcd", alice.session + "x", alice.session + ".forged"} {
		resp := e2eAPI{t, base, tok}.expect(401, "GET", "/api/me/tasks", nil, nil)
		if !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("unknown session token: WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestBetterAuthSessionCache: a session is asked about once per cache
// period; a session signed out at Better Auth keeps working until its
// cache entry expires and is refused from then on; the cache holds at most
// BETTER_AUTH_SESSION_CACHE_SIZE sessions.
func TestBetterAuthSessionCache(t *testing.T) {
	t.Parallel()
	ba := startBetterAuth(t, e2eFreePort(t), "EdDSA") // its own: it counts the lookups that reach it
	const ttl = 3 * time.Second
	base := startTodoapiE2E(t, sessionEnv(ba, "BETTER_AUTH_SESSION_CACHE_TTL", ttl.String()))
	alice := ba.signUp(t, "alice@example.com", "Alice")

	t.Run("asked once per cache period", func(t *testing.T) {
		s := ba.signIn(t, alice.email)
		before := ba.getSessionCalls(t)
		start := time.Now()
		e2eAPI{t, base, s.session}.expect(200, "GET", "/api/me/tasks", nil, nil)
		for range 9 {
			e2eAPI{t, base, s.session}.expect(200, "GET", "/api/me/tasks", nil, nil)
		}
		// One call per cache period the ten requests spanned: one, unless
		// the machine is slow enough for them to outlast the period.
		n := ba.getSessionCalls(t) - before
		if most := 1 + int(time.Since(start)/ttl); n < 1 || n > most {
			t.Errorf("%d get-session calls for 10 requests in %s, want 1 per cache period (at most %d)", n, time.Since(start), most)
		}
		// Past the period of the last entry, the next request asks again.
		time.Sleep(ttl + 100*time.Millisecond)
		e2eAPI{t, base, s.session}.expect(200, "GET", "/api/me/tasks", nil, nil)
		if m := ba.getSessionCalls(t) - before; m != n+1 {
			t.Errorf("%d get-session calls after the cache period, want %d", m, n+1)
		}
	})

	t.Run("a signed-out session is refused once its entry expires", func(t *testing.T) {
		s := ba.signIn(t, alice.email)
		api := e2eAPI{t, base, s.session}
		api.expect(200, "GET", "/api/me/tasks", nil, nil)
		cached := time.Now()
		ba.signOut(t, s)
		if time.Since(cached) < ttl-time.Second {
			// Still cached: todoapi cannot know yet.
			api.expect(200, "GET", "/api/me/tasks", nil, nil)
		}
		took := e2eWaitStatus(t, api, "/api/me/tasks", 401, ttl+5*time.Second, "signed-out session")
		// How soon is the auth package's to test (on its fake clock);
		// here it is enough that the refusal came.
		t.Logf("signed-out session refused %s after it was cached (%s after sign-out)", time.Since(cached).Round(time.Millisecond), took.Round(time.Millisecond))
		// …and stays refused, the refusal cached too.
		before := ba.getSessionCalls(t)
		for range 5 {
			api.expect(401, "GET", "/api/me/tasks", nil, nil)
		}
		if n := ba.getSessionCalls(t) - before; n > 1 {
			t.Errorf("%d get-session calls for a refused token sent 5 times", n)
		}
		// The signed form of the same dead session is refused as well.
		e2eAPI{t, base, s.signed}.expect(401, "GET", "/api/me/tasks", nil, nil)
	})

	t.Run("the cache holds at most BETTER_AUTH_SESSION_CACHE_SIZE sessions", func(t *testing.T) {
		small := startTodoapiE2E(t, sessionEnv(ba, "BETTER_AUTH_SESSION_CACHE_SIZE", "2",
			"BETTER_AUTH_SESSION_CACHE_TTL", "10m"))
		s := []baAccount{ba.signIn(t, alice.email), ba.signIn(t, alice.email), ba.signIn(t, alice.email)}
		use := func(i int) int {
			t.Helper()
			before := ba.getSessionCalls(t)
			e2eAPI{t, small, s[i].session}.expect(200, "GET", "/api/me/tasks", nil, nil)
			return ba.getSessionCalls(t) - before
		}
		for i := range s {
			if n := use(i); n != 1 {
				t.Fatalf("session %d: %d calls on first use", i, n)
			}
		}
		// The two latest are cached; the first was evicted to make room.
		if n := use(2) + use(1); n != 0 {
			t.Errorf("%d calls for the two most recent sessions, want 0", n)
		}
		if n := use(0); n != 1 {
			t.Errorf("%d calls for the evicted session, want 1", n)
		}
	})
}

// TestBetterAuthSessionFlood: 200 random non-JWT bearer values at once
// (with the per-address failure budget off, so that only the lookup limit
// stands between them and Better Auth) cause at most the lookup burst plus
// the lookup rate over the burst's duration of calls to Better Auth; the
// requests get 401 or 503, never anything else; a real session works again
// once the bucket refills.
func TestBetterAuthSessionFlood(t *testing.T) {
	t.Parallel()
	ba := startBetterAuth(t, e2eFreePort(t), "EdDSA") // its own: it counts the lookups that reach it
	const rps, burst = 2, 5
	base := startTodoapiE2E(t, sessionEnv(ba,
		"BETTER_AUTH_SESSION_LOOKUP_RPS", fmt.Sprint(rps),
		"BETTER_AUTH_SESSION_LOOKUP_BURST", fmt.Sprint(burst),
		"AUTH_FAILURE_RPS", "0"))
	alice := ba.signUp(t, "alice@example.com", "Alice")
	e2eAPI{t, base, alice.session}.expect(200, "GET", "/api/me/tasks", nil, nil) // cached from here on

	before := ba.getSessionCalls(t)
	start := time.Now()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			tok := strings.ToLower(rand.Text()) // 26 base32 characters, like a session token
			req, _ := http.NewRequest(http.MethodGet, base+"/api/me/tasks", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			status := 0 // no answer
			if resp, err := e2eClient.Do(req); err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	calls := ba.getSessionCalls(t) - before
	bound := burst + int(rps*elapsed.Seconds()) + 1
	t.Logf("200 random bearers in %s: %d get-session calls (bound %d), statuses %v", elapsed.Round(time.Millisecond), calls, bound, statuses)
	if calls > bound {
		t.Errorf("%d calls to Better Auth, want at most %d", calls, bound)
	}
	if statuses[401]+statuses[503] != 200 || statuses[401] > calls {
		t.Errorf("statuses %v: want only 401 (at most one per call) and 503", statuses)
	}
	// The session already cached never noticed.
	e2eAPI{t, base, alice.session}.expect(200, "GET", "/api/me/tasks", nil, nil)
	// A new session gets through once the bucket has a token again.
	fresh := ba.signIn(t, alice.email)
	e2eWaitStatus(t, e2eAPI{t, base, fresh.session}, "/api/me/tasks", 200, 5*time.Second, "a new session after the flood")
}
