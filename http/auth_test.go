package http

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// endpoint is one /api operation, with a body that would succeed.
type endpoint struct {
	name   string
	method string
	path   func(user string, id int64) string
	body   string
}

// endpoints lists every /api operation.
var endpoints = []endpoint{
	{"list", http.MethodGet, func(u string, _ int64) string { return tasksPath(u) }, ""},
	{"create", http.MethodPost, func(u string, _ int64) string { return tasksPath(u) }, `{"title":"intruder"}`},
	{"get", http.MethodGet, func(u string, id int64) string { return taskPath(u, id) }, ""},
	{"put", http.MethodPut, func(u string, id int64) string { return taskPath(u, id) }, `{"title":"changed","completed":true}`},
	{"patch", http.MethodPatch, func(u string, id int64) string { return taskPath(u, id) }, `{"title":"changed","description":null}`},
	{"delete", http.MethodDelete, func(u string, id int64) string { return taskPath(u, id) }, ""},
	{"complete", http.MethodPatch, func(u string, id int64) string { return completePath(u, id) }, ""},
}

// itemEndpoints are the operations on one task.
func itemEndpoints() []endpoint {
	var out []endpoint
	for _, ep := range endpoints {
		if ep.name != "list" && ep.name != "create" {
			out = append(out, ep)
		}
	}
	return out
}

// TestUnauthenticated: every /api endpoint refuses every kind of missing or
// unusable credential with 401 and the right challenge, and
// nothing is read or changed.
func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := token(t, "alice")
	task := e.create(t, alice, `{"title":"mine","description":"keep","tags":["a"]}`)

	now := time.Now()
	expired := claims("alice")
	expired["iat"] = now.Add(-2 * time.Hour).Unix()
	expired["exp"] = now.Add(-time.Hour).Unix()
	oversized := claims("alice")
	oversized["pad"] = strings.Repeat("x", 9<<10)
	algNone, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims("alice")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	const missing = `Bearer`
	const invalid = `Bearer error="invalid_token"`
	creds := []struct {
		name, authorization, challenge string
	}{
		{"no Authorization header", "", missing},
		{"Basic scheme", "Basic abc", missing},
		{"Bearer garbage", "Bearer garbage", invalid},
		{"expired token", "Bearer " + signHS256(t, testSecret, expired), invalid},
		{"token signed with another secret", "Bearer " + signHS256(t, "another-secret", claims("alice")), invalid},
		{"alg none", "Bearer " + algNone, invalid},
		{"token over 8 KiB", "Bearer " + signHS256(t, testSecret, oversized), invalid},
	}
	for _, ep := range endpoints {
		for _, c := range creds {
			t.Run(ep.name+"/"+c.name, func(t *testing.T) {
				var headers []string
				if c.authorization != "" {
					headers = []string{"Authorization", c.authorization}
				}
				r := e.do(t, ep.method, ep.path("me", task.ID), "", ep.body, headers...)
				r.problem(t, http.StatusUnauthorized)
				if got := r.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != c.challenge {
					t.Errorf("WWW-Authenticate = %q, want %q", got, c.challenge)
				}
			})
		}
	}
	equalTasks(t, e.get(t, alice, task.ID), task)
	if n := e.count(t, alice); n != 1 {
		t.Errorf("alice has %d tasks after the refused requests, want 1", n)
	}
}

// TestBearerSchemeCaseInsensitive: the scheme name is matched
// case-insensitively.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		t.Run(scheme, func(t *testing.T) {
			e.do(t, http.MethodGet, tasksPath("me"), "", "", "Authorization", scheme+" "+tok).want(t, http.StatusOK)
		})
	}
}

// TestOtherUsersPath: a {user_id} that is not the token's user is 403 on
// every endpoint, and the other user's data is untouched.
func TestOtherUsersPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := token(t, "alice"), token(t, "bob")
	bobs := e.create(t, bob, `{"title":"bob's","description":"private"}`)
	for _, ep := range endpoints {
		for _, user := range []string{"bob", "Alice", "alice2"} {
			t.Run(ep.name+"/"+user, func(t *testing.T) {
				r := e.do(t, ep.method, ep.path(user, bobs.ID), alice, ep.body)
				r.problem(t, http.StatusForbidden)
			})
		}
	}
	equalTasks(t, e.get(t, bob, bobs.ID), bobs)
	if n := e.count(t, bob); n != 1 {
		t.Errorf("bob has %d tasks, want 1", n)
	}
	if n := e.count(t, alice); n != 0 {
		t.Errorf("alice has %d tasks, want 0", n)
	}
}

// TestOtherUsersTaskIsNotFound: another user's task id answers exactly like
// an id that does not exist, on every item endpoint, and B can neither read,
// change, toggle nor delete A's task.
func TestOtherUsersTaskIsNotFound(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice, bob := token(t, "alice"), token(t, "bob")
		alices := e.create(t, alice, `{"title":"alice's","description":"secret","tags":["x"],"due_date":"2026-12-01"}`)
		e.create(t, bob, `{"title":"bob's"}`)
		missing := alices.ID + 1_000_000

		for _, ep := range itemEndpoints() {
			for _, user := range []string{"me", "bob"} {
				t.Run(ep.name+"/"+user, func(t *testing.T) {
					foreign := e.do(t, ep.method, ep.path(user, alices.ID), bob, ep.body)
					absent := e.do(t, ep.method, ep.path(user, missing), bob, ep.body)
					fp := foreign.problem(t, http.StatusNotFound)
					ap := absent.problem(t, http.StatusNotFound)
					if fp.Status != ap.Status || fp.Title != ap.Title || fp.Detail != ap.Detail {
						t.Errorf("another user's task: %+v; a missing task: %+v; want identical", fp, ap)
					}
					if f, a := foreign.Header.Get("Content-Type"), absent.Header.Get("Content-Type"); f != a {
						t.Errorf("Content-Type %q vs %q", f, a)
					}
					if string(foreign.Body) != string(absent.Body) {
						t.Errorf("bodies differ:\n%s\n%s", foreign.Body, absent.Body)
					}
				})
			}
		}
		t.Run("list", func(t *testing.T) {
			for _, task := range e.list(t, bob) {
				if task.ID == alices.ID || task.UserID != "bob" {
					t.Errorf("bob's list contains %+v", task)
				}
			}
		})
		t.Run("unchanged", func(t *testing.T) {
			equalTasks(t, e.get(t, alice, alices.ID), alices)
		})
	})
}

// TestMeAndRealUserID: "me" and the token's own user id name the same user
// on every endpoint, also for a user id that needs escaping.
func TestMeAndRealUserID(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"alice", "auth0|ann smith"} {
		t.Run(sub, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tok := token(t, sub)
			escaped := strings.NewReplacer("|", "%7C", " ", "%20").Replace(sub)
			for _, user := range []string{"me", escaped} {
				t.Run(user, func(t *testing.T) {
					r := e.do(t, http.MethodPost, tasksPath(user), tok, `{"title":"via `+user+`"}`).want(t, http.StatusCreated)
					task := r.task(t)
					if task.UserID != sub {
						t.Errorf("user_id = %q, want %q", task.UserID, sub)
					}
					if loc, want := r.Header.Get("Location"), "/api/"+escaped+"/tasks/"+strconv.FormatInt(task.ID, 10); loc != want {
						t.Errorf("Location = %q, want %q", loc, want)
					}
					e.do(t, http.MethodGet, r.Header.Get("Location"), tok, "").want(t, http.StatusOK)
					for _, ep := range itemEndpoints() {
						if ep.name == "delete" {
							continue
						}
						e.do(t, ep.method, ep.path(user, task.ID), tok, ep.body).want(t, http.StatusOK)
					}
					list := e.do(t, http.MethodGet, tasksPath(user), tok, "").want(t, http.StatusOK).tasks(t)
					if len(list) == 0 || list[0].ID != task.ID {
						t.Errorf("list via %s does not start with the new task: %+v", user, list)
					}
					e.do(t, http.MethodDelete, taskPath(user, task.ID), tok, "").want(t, http.StatusNoContent)
				})
			}
		})
	}
}

// TestUnusableTaskIDs: ids that cannot name a task are 404 on every item
// endpoint, even when they would parse to an existing id.
func TestUnusableTaskIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	task := e.create(t, tok, `{"title":"one"}`)
	id := strconv.FormatInt(task.ID, 10)
	ids := []string{"abc", "0", "-1", "-" + id, "+" + id, "99999999999999999999",
		"9223372036854775808", "9223372036854775807", id + ".0", id + "abc", "0x" + id, "1e3"}
	for _, ep := range itemEndpoints() {
		suffix := strings.TrimPrefix(ep.path("me", 0), taskPath("me", 0)) // "" or "/complete"
		absent := e.do(t, ep.method, taskPath("me", task.ID+1_000_000)+suffix, tok, ep.body)
		want := absent.problem(t, http.StatusNotFound)
		for _, bad := range ids {
			t.Run(ep.name+"/"+bad, func(t *testing.T) {
				r := e.do(t, ep.method, "/api/me/tasks/"+bad+suffix, tok, ep.body)
				if p := r.problem(t, http.StatusNotFound); p.Detail != want.Detail {
					t.Errorf("detail = %q, want %q as for a missing task", p.Detail, want.Detail)
				}
			})
		}
	}
	equalTasks(t, e.get(t, tok, task.ID), task)
}
