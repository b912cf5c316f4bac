package http

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// TestTaskETags: every response that returns a task carries its version as
// a strong ETag; If-Match makes writes conditional (412 with the current
// ETag, nothing changed), If-Match: * only needs the task to exist, and
// If-None-Match on GET answers 304.
func TestTaskETags(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		created := e.do(t, http.MethodPost, tasksPath("me"), tok, `{"title":"a"}`).want(t, http.StatusCreated)
		task := created.task(t)
		if task.Version != 1 || created.Header.Get("ETag") != `"1"` {
			t.Fatalf("create: version %d, ETag %q; want 1, \"1\"", task.Version, created.Header.Get("ETag"))
		}
		path := taskPath("me", task.ID)
		etagOf := func(r *response) string { t.Helper(); return r.Header.Get("ETag") }

		if got := etagOf(e.do(t, http.MethodGet, path, tok, "").want(t, http.StatusOK)); got != `"1"` {
			t.Errorf("GET ETag = %q, want \"1\"", got)
		}
		for _, inm := range []string{`"1"`, `W/"1"`, `"7", "1"`, `*`} {
			r := e.do(t, http.MethodGet, path, tok, "", "If-None-Match", inm).want(t, http.StatusNotModified)
			if len(r.Body) != 0 || etagOf(r) != `"1"` {
				t.Errorf("If-None-Match %s: body %q, ETag %q; want none, \"1\"", inm, r.Body, etagOf(r))
			}
		}
		e.do(t, http.MethodGet, path, tok, "", "If-None-Match", `"2"`).want(t, http.StatusOK)

		// A matching If-Match writes and moves the version.
		r := e.do(t, http.MethodPut, path, tok, `{"title":"b"}`, "If-Match", `"1"`).want(t, http.StatusOK)
		if got := r.task(t); got.Version != 2 || etagOf(r) != `"2"` {
			t.Fatalf("PUT If-Match \"1\": version %d, ETag %q; want 2", got.Version, etagOf(r))
		}
		// A stale one fails, says where the task is now, and changes nothing.
		stale := []struct{ method, path, body string }{
			{http.MethodPut, path, `{"title":"lost"}`},
			{http.MethodPatch, path, `{"title":"lost"}`},
			{http.MethodPatch, completePath("me", task.ID), ``},
			{http.MethodPost, path + "/toggle", ``},
			{http.MethodDelete, path, ``},
		}
		for _, tc := range stale {
			// "," names no tag at all: still a condition, and one that fails.
			for _, im := range []string{`"1"`, `W/"2"`, `"x"`, `,`} {
				r := e.do(t, tc.method, tc.path, tok, tc.body, "If-Match", im)
				r.problem(t, http.StatusPreconditionFailed)
				if etagOf(r) != `"2"` {
					t.Errorf("%s %s If-Match %s: ETag %q, want the current \"2\"", tc.method, tc.path, im, etagOf(r))
				}
			}
		}
		if got := e.get(t, tok, task.ID); got.Title != "b" || got.Version != 2 || got.Completed {
			t.Fatalf("after refused writes: %+v; want title b, version 2, open", got)
		}
		// A request that changes nothing keeps the version.
		r = e.do(t, http.MethodPut, path, tok, `{"title":"b"}`, "If-Match", `"2"`).want(t, http.StatusOK)
		if etagOf(r) != `"2"` {
			t.Errorf("no-op PUT: ETag %q, want \"2\"", etagOf(r))
		}
		// Toggle and its alias, with a list that includes the current tag.
		r = e.do(t, http.MethodPatch, completePath("me", task.ID), tok, ``, "If-Match", `"9", "2"`).want(t, http.StatusOK)
		if got := r.completion(t); !got.Completed || got.Version != 3 || etagOf(r) != `"3"` {
			t.Errorf("toggle: completed %v version %d ETag %q; want true, 3, \"3\"", got.Completed, got.Version, etagOf(r))
		}
		r = e.do(t, http.MethodPost, path+"/toggle", tok, ``, "If-Match", `*`).want(t, http.StatusOK)
		if etagOf(r) != `"4"` {
			t.Errorf("toggle alias with If-Match *: ETag %q, want \"4\"", etagOf(r))
		}
		e.do(t, http.MethodDelete, path, tok, "", "If-Match", `"4"`).want(t, http.StatusNoContent)
		// If-Match: * needs the task to exist.
		e.do(t, http.MethodPut, path, tok, `{"title":"c"}`, "If-Match", `*`).problem(t, http.StatusNotFound)
		e.do(t, http.MethodDelete, path, tok, "", "If-Match", `*`).problem(t, http.StatusNotFound)
	})
}

// countingStore counts list queries and collection-version reads.
type countingStore struct {
	testStore
	lists, versions atomic.Int32
}

func (s *countingStore) ListTasks(ctx context.Context, userID string, f todoapi.TaskFilter) (todoapi.TaskPage, error) {
	s.lists.Add(1)
	return s.testStore.ListTasks(ctx, userID, f)
}

func (s *countingStore) CollectionVersion(ctx context.Context, userID string) (int64, error) {
	s.versions.Add(1)
	return s.testStore.CollectionVersion(ctx, userID)
}

// TestListETag: a list's ETag names the user's collection version and the
// query; If-None-Match answers 304 from one read of the version, without
// the list query, until a task of the user changes.
func TestListETag(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			store := &countingStore{testStore: k.open(t)}
			e := newEnvOn(t, store, func(c *Config) { c.Tasks = todoapi.NewService(store) })
			alice, bob := token(t, "alice"), token(t, "bob")
			e.create(t, alice, `{"title":"a"}`)
			first := e.do(t, http.MethodGet, tasksPath("me"), alice, "").want(t, http.StatusOK)
			etag := first.Header.Get("ETag")
			if etag == "" || !strings.HasPrefix(etag, `"`) {
				t.Fatalf("list ETag = %q", etag)
			}
			// The same query spelled otherwise shares the tag; another does not.
			if got := e.do(t, http.MethodGet, tasksPath("me")+"?status=all&sort=-created", alice, "").want(t, http.StatusOK).Header.Get("ETag"); got != etag {
				t.Errorf("same query, other spelling: ETag %q, want %q", got, etag)
			}
			if got := e.do(t, http.MethodGet, tasksPath("me")+"?status=pending", alice, "").want(t, http.StatusOK).Header.Get("ETag"); got == etag {
				t.Errorf("another query has the same ETag %q", got)
			}

			lists, versions := store.lists.Load(), store.versions.Load()
			r := e.do(t, http.MethodGet, tasksPath("me"), alice, "", "If-None-Match", etag).want(t, http.StatusNotModified)
			if len(r.Body) != 0 || r.Header.Get("ETag") != etag {
				t.Errorf("304: body %q, ETag %q", r.Body, r.Header.Get("ETag"))
			}
			if n := store.lists.Load() - lists; n != 0 {
				t.Errorf("a 304 ran %d list queries, want none", n)
			}
			if n := store.versions.Load() - versions; n != 1 {
				t.Errorf("a 304 read the collection version %d times, want once", n)
			}
			// Another user's change leaves alice's list unchanged.
			e.create(t, bob, `{"title":"b"}`)
			e.do(t, http.MethodGet, tasksPath("me"), alice, "", "If-None-Match", etag).want(t, http.StatusNotModified)
			// Her own change does not.
			e.create(t, alice, `{"title":"c"}`)
			r = e.do(t, http.MethodGet, tasksPath("me"), alice, "", "If-None-Match", etag).want(t, http.StatusOK)
			if got := r.tasks(t); len(got) != 2 || r.Header.Get("ETag") == etag {
				t.Errorf("after a change: %d tasks, ETag %q (was %q); want 2 and a new tag", len(got), r.Header.Get("ETag"), etag)
			}
		})
	}
}

// TestLostUpdate: two clients read the same version and both PUT with
// If-Match at once: exactly one wins, the other gets 412, and the stored
// task is the winner's.
func TestLostUpdate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		for round := range 10 {
			task := e.create(t, tok, `{"title":"start"}`)
			var wg sync.WaitGroup
			results := make([]*response, 2)
			start := make(chan struct{})
			for i := range results {
				wg.Go(func() {
					<-start
					body := `{"title":"client ` + string(rune('A'+i)) + `"}`
					results[i] = e.do(t, http.MethodPut, taskPath("me", task.ID), tok, body, "If-Match", `"1"`)
				})
			}
			close(start)
			wg.Wait()
			var won *response
			for _, r := range results {
				switch r.Status {
				case http.StatusOK:
					if won != nil {
						t.Fatalf("round %d: both writers won", round)
					}
					won = r
				case http.StatusPreconditionFailed:
				default:
					t.Fatalf("round %d: status %d: %s", round, r.Status, r.Body)
				}
			}
			if won == nil {
				t.Fatalf("round %d: neither writer won: %d, %d", round, results[0].Status, results[1].Status)
			}
			if got, want := e.get(t, tok, task.ID), won.task(t); got.Title != want.Title || got.Version != 2 {
				t.Fatalf("round %d: stored %q v%d; want the winner's %q v2", round, got.Title, got.Version, want.Title)
			}
		}
	})
}

type wireChanges struct {
	Changes []struct {
		Op        string          `json:"op"`
		Task      json.RawMessage `json:"task"`
		ID        int64           `json:"id"`
		DeletedAt string          `json:"deleted_at"`
	} `json:"changes"`
	Next    string `json:"next"`
	HasMore bool   `json:"has_more"`
}

func (e *env) changes(t *testing.T, tok, query string) wireChanges {
	t.Helper()
	r := e.do(t, http.MethodGet, "/api/me/changes"+query, tok, "").want(t, http.StatusOK)
	var c wireChanges
	if err := json.Unmarshal(r.Body, &c); err != nil || c.Changes == nil || c.Next == "" {
		t.Fatalf("changes body (%v): %s", err, r.Body)
	}
	return c
}

// TestChangesFeed: an initial sync lists every task and a token; reading
// from the token gives each later change once, latest state, deletions as
// tombstones, in commit order, paged by limit with has_more.
func TestChangesFeed(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice, bob := token(t, "alice"), token(t, "bob")
		a := e.create(t, alice, `{"title":"a"}`)
		b := e.create(t, alice, `{"title":"b"}`)
		e.create(t, bob, `{"title":"bob's"}`)

		initial := e.changes(t, alice, "")
		if len(initial.Changes) != 2 || initial.HasMore {
			t.Fatalf("initial sync: %+v; want a and b", initial)
		}
		for i, want := range []int64{a.ID, b.ID} {
			c := initial.Changes[i]
			if task := decodeTask(t, c.Task); c.Op != "upsert" || task.ID != want {
				t.Errorf("initial change %d: %s %d, want upsert %d", i, c.Op, task.ID, want)
			}
		}
		// Nothing new: an empty page and a usable token.
		if c := e.changes(t, alice, "?since="+initial.Next); len(c.Changes) != 0 || c.HasMore {
			t.Fatalf("no changes: %+v", c)
		}

		// a edited twice, b deleted, c created, then a edited again.
		e.do(t, http.MethodPut, taskPath("me", a.ID), alice, `{"title":"a2"}`).want(t, http.StatusOK)
		e.do(t, http.MethodPut, taskPath("me", a.ID), alice, `{"title":"a3"}`).want(t, http.StatusOK)
		e.do(t, http.MethodDelete, taskPath("me", b.ID), alice, "").want(t, http.StatusNoContent)
		c := e.create(t, alice, `{"title":"c"}`)
		e.do(t, http.MethodPut, taskPath("me", a.ID), alice, `{"title":"a4"}`).want(t, http.StatusOK)

		// One entry per task, its latest state, in the order of its latest change.
		got := e.changes(t, alice, "?since="+initial.Next)
		if len(got.Changes) != 3 || got.HasMore {
			t.Fatalf("changes: %+v; want 3 entries", got)
		}
		if ch := got.Changes[0]; ch.Op != "delete" || ch.ID != b.ID || ch.DeletedAt == "" || ch.Task != nil {
			t.Errorf("first change = %+v; want b's tombstone", ch)
		}
		if ch := got.Changes[1]; ch.Op != "upsert" || decodeTask(t, ch.Task).ID != c.ID {
			t.Errorf("second change = %+v; want c", ch)
		}
		if ch := got.Changes[2]; ch.Op != "upsert" || decodeTask(t, ch.Task).Title != "a4" || decodeTask(t, ch.Task).Version != 4 {
			t.Errorf("third change = %s; want a at a4, version 4", ch.Task)
		}

		// Paged: limit 1 walks the same entries one at a time.
		since, walked := initial.Next, 0
		for {
			page := e.changes(t, alice, "?limit=1&since="+since)
			walked += len(page.Changes)
			since = page.Next
			if !page.HasMore {
				break
			}
			if walked > 3 {
				t.Fatal("paging does not end")
			}
		}
		if walked != 3 {
			t.Errorf("paging by 1 walked %d entries, want 3", walked)
		}
		// The /api/changes alias is the caller's feed.
		r := e.do(t, http.MethodGet, "/api/changes?since="+since, alice, "").want(t, http.StatusOK)
		if !strings.Contains(string(r.Body), `"changes":[]`) {
			t.Errorf("/api/changes after the last token: %s", r.Body)
		}
	})
}

// TestChangesBadInput: a tampered token, another user's token or a bad
// limit is 422 naming the parameter; nothing is a 500.
func TestChangesBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := token(t, "alice"), token(t, "bob")
	e.create(t, alice, `{"title":"a"}`)
	next := e.changes(t, alice, "").Next
	bobs := e.changes(t, bob, "").Next

	tampered := []byte(next)
	tampered[5] ^= 1
	if tampered[5] == '-' || tampered[5] == '_' {
		tampered[5] = 'A'
	}
	for name, since := range map[string]string{
		"tampered": string(tampered), "another user's": bobs, "garbage": "hello",
		"truncated": next[:len(next)-2], "padded": next + "==",
	} {
		p := e.do(t, http.MethodGet, "/api/me/changes?since="+since, alice, "").problem(t, http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "query.since" {
			t.Errorf("%s token: errors %+v; want one at query.since", name, p.Errors)
		}
	}
	for _, limit := range []string{"0", "1001", "x", "-1"} {
		p := e.do(t, http.MethodGet, "/api/me/changes?limit="+limit, alice, "").problem(t, http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "query.limit" || !strings.Contains(p.Errors[0].Message, "between 1 and 1000") {
			t.Errorf("limit=%s: errors %+v; want one at query.limit, naming the range", limit, p.Errors)
		}
	}
	e.do(t, http.MethodGet, "/api/me/changes?limit=1000&since="+next, alice, "").want(t, http.StatusOK)
}

// TestChangesExpired: a token older than the tombstone retention is 410,
// telling the client to sync from scratch; the clock is injected.
func TestChangesExpired(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		svc := todoapi.NewService(e.store)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		svc.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
		e = newEnvOn(t, e.store, func(c *Config) { c.Tasks = svc })
		tok := token(t, "alice")
		task := e.create(t, tok, `{"title":"a"}`)
		since := e.changes(t, tok, "").Next
		e.do(t, http.MethodDelete, taskPath("me", task.ID), tok, "").want(t, http.StatusNoContent)

		advance(todoapi.DefaultTombstoneRetention - time.Hour)
		if c := e.changes(t, tok, "?since="+since); len(c.Changes) != 1 || c.Changes[0].Op != "delete" {
			t.Fatalf("within the retention: %+v; want the tombstone", c)
		}
		advance(2 * time.Hour)
		p := e.do(t, http.MethodGet, "/api/me/changes?since="+since, tok, "").problem(t, http.StatusGone)
		if !strings.Contains(p.Detail, "sync from scratch") {
			t.Errorf("410 detail = %q", p.Detail)
		}
		// The way out works: an initial sync, and its token.
		fresh := e.changes(t, tok, "")
		if len(fresh.Changes) != 0 {
			t.Errorf("initial sync after the delete: %+v", fresh)
		}
		e.changes(t, tok, "?since="+fresh.Next)
	})
}
