package http

// Compatibility with the frontends written for the Python design:
// the request shapes they send, through the real router on both stores,
// each compared with the canonical request it stands for.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// shape is one request; {id} in path stands for a task's id.
type shape struct {
	method, path, body string
	headers            []string
}

func (s shape) String() string {
	if s.body == "" {
		return s.method + " " + s.path
	}
	return s.method + " " + s.path + " " + s.body
}

// send sends s as tok's user, with {id} replaced by id.
func (e *env) send(t *testing.T, tok string, s shape, id int64) *response {
	t.Helper()
	path := strings.ReplaceAll(s.path, "{id}", strconv.FormatInt(id, 10))
	return e.do(t, s.method, path, tok, s.body, s.headers...)
}

// outcome is what two responses about different tasks must share to
// be the same outcome: everything but the ids and the times, of which only
// null or not counts.
func outcome(t *testing.T, task wireTask) string {
	t.Helper()
	task.ID = 0
	task.CreatedAt, task.UpdatedAt = "", ""
	if task.CompletedAt != nil {
		task.CompletedAt = ptr("set")
	}
	return jsonOfTask(task)
}

// seedTask is the task each item request is sent to.
const seedTask = `{"title":"Buy milk","description":"Two litres","priority":"high",` +
	`"tags":["home","Shop"],"due_date":"2026-12-01T17:00:00Z"}`

// TestCompatTaskShapes sends every alias of a task operation (paths, body
// keys, date forms, priority spellings) and the canonical request it
// stands for, each to a fresh copy of the same task, and checks that both
// answer alike and leave the task alike.
func TestCompatTaskShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name             string
		alias, canonical shape
		// unchanged: the canonical request leaves the task as it was
		// (otherwise it must change it, so that an alias that is
		// ignored cannot pass for one that works).
		unchanged bool
	}{
		// Paths without a user id.
		{name: "GET /api/tasks/{id}", unchanged: true,
			alias: shape{method: "GET", path: "/api/tasks/{id}"}, canonical: shape{method: "GET", path: "/api/me/tasks/{id}"}},
		{name: "PUT /api/tasks/{id}",
			alias:     shape{method: "PUT", path: "/api/tasks/{id}", body: `{"title":"Buy oat milk"}`},
			canonical: shape{method: "PUT", path: "/api/alice/tasks/{id}", body: `{"title":"Buy oat milk"}`}},
		{name: "PATCH /api/tasks/{id}",
			alias:     shape{method: "PATCH", path: "/api/tasks/{id}", body: `{"description":null,"tags":null}`, headers: []string{"Content-Type", "application/merge-patch+json"}},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"description":null,"tags":null}`, headers: []string{"Content-Type", "application/merge-patch+json"}}},
		{name: "PATCH /api/tasks/{id}/complete",
			alias:     shape{method: "PATCH", path: "/api/tasks/{id}/complete"},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}/complete"}},
		// Toggle.
		{name: "PATCH …/toggle",
			alias:     shape{method: "PATCH", path: "/api/alice/tasks/{id}/toggle"},
			canonical: shape{method: "PATCH", path: "/api/alice/tasks/{id}/complete"}},
		{name: "POST …/toggle",
			alias:     shape{method: "POST", path: "/api/me/tasks/{id}/toggle"},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}/complete"}},
		{name: "POST /api/tasks/{id}/toggle with a body",
			alias:     shape{method: "POST", path: "/api/tasks/{id}/toggle", body: `{"completed":true}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}/complete", body: `{"completed":true}`}},
		{name: "PATCH /api/tasks/{id}/toggle with {}",
			alias:     shape{method: "PATCH", path: "/api/tasks/{id}/toggle", body: `{}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}/complete", body: `{}`}},
		// Body aliases of completed, in every operation that takes it.
		{name: "PUT is_completed",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"is_completed":true}`},
			canonical: shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"completed":true}`}},
		{name: "PUT complete",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"complete":true}`},
			canonical: shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"completed":true}`}},
		{name: "PATCH is_completed",
			alias:     shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"is_completed":true}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"completed":true}`}},
		{name: "PATCH complete",
			alias:     shape{method: "PATCH", path: "/api/tasks/{id}", body: `{"complete":true,"title":"x"}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"completed":true,"title":"x"}`}},
		{name: "toggle body is_completed",
			alias:     shape{method: "PATCH", path: "/api/me/tasks/{id}/complete", body: `{"is_completed":true}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}/complete", body: `{"completed":true}`}},
		{name: "toggle body complete false", unchanged: true,
			alias:     shape{method: "POST", path: "/api/tasks/{id}/toggle", body: `{"complete":false}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}/complete", body: `{"completed":false}`}},
		{name: "completed wins over is_completed",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"is_completed":false,"completed":true}`},
			canonical: shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"completed":true}`}},
		{name: "completed wins over a bad alias",
			alias:     shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"completed":true,"complete":"yes"}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"completed":true}`}},
		{name: "is_completed wins over complete",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"complete":false,"is_completed":true}`},
			canonical: shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"completed":true}`}},
		// PUT bodies the frontends send.
		{name: "PUT only completed",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"completed":true}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"completed":true}`}},
		{name: "PUT only title and description",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"title":"Buy oat milk","description":"One litre"}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"title":"Buy oat milk","description":"One litre"}`}},
		{name: "PUT {}", unchanged: true,
			alias:     shape{method: "PUT", path: "/api/tasks/{id}", body: `{}`},
			canonical: shape{method: "GET", path: "/api/me/tasks/{id}"}},
		// Dates as date pickers send them, and priorities in capitals.
		{name: "due_date as a plain date",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"due_date":"2027-01-15"}`},
			canonical: shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"due_date":"2027-01-15T00:00:00Z"}`}},
		{name: "due_date without offset",
			alias:     shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"due_date":"2027-01-15T09:30"}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"due_date":"2027-01-15T09:30:00Z"}`}},
		{name: "due_date without offset, with seconds",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"due_date":"2027-01-15T09:30:45"}`},
			canonical: shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"due_date":"2027-01-15T09:30:45Z"}`}},
		{name: "due_date with an offset",
			alias:     shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"due_date":"2027-01-15T10:30:00+01:00"}`},
			canonical: shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"due_date":"2027-01-15T09:30:00Z"}`}},
		{name: "priority in capitals",
			alias:     shape{method: "PUT", path: "/api/tasks/{id}", body: `{"priority":"LOW"}`},
			canonical: shape{method: "PUT", path: "/api/me/tasks/{id}", body: `{"priority":"low"}`}},
		{name: "priority capitalised",
			alias:     shape{method: "PATCH", path: "/api/tasks/{id}", body: `{"priority":"Medium","is_completed":true,"due_date":"2027-02-01"}`},
			canonical: shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"priority":"medium","completed":true,"due_date":"2027-02-01T00:00:00Z"}`}},
	}
	e := newEnv(t)
	tok := token(t, "alice")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := e.create(t, tok, seedTask), e.create(t, tok, seedTask)
			ra, rb := e.send(t, tok, c.alias, a.ID), e.send(t, tok, c.canonical, b.ID)
			if ra.Status != http.StatusOK || rb.Status != http.StatusOK {
				t.Fatalf("%s: %s\n%s: %s", c.alias, ra, c.canonical, rb)
			}
			decode := func(r *response, s shape) wireTask {
				if strings.HasSuffix(s.path, "/complete") || strings.HasSuffix(s.path, "/toggle") {
					return r.completion(t)
				}
				return r.task(t)
			}
			gotA, gotB := decode(ra, c.alias), decode(rb, c.canonical)
			if gotA.ID != a.ID || gotB.ID != b.ID {
				t.Fatalf("answered about tasks %d and %d, want %d and %d", gotA.ID, gotB.ID, a.ID, b.ID)
			}
			if ca, cb := outcome(t, gotA), outcome(t, gotB); ca != cb {
				t.Errorf("%s answered\n  %s\nwhile %s answered\n  %s", c.alias, ca, c.canonical, cb)
			}
			if changed := outcome(t, gotB) != outcome(t, b); changed == c.unchanged {
				t.Errorf("the canonical request %s changed the task: %v; the case expects %v", c.canonical, changed, !c.unchanged)
			}
			if ca, cb := outcome(t, e.get(t, tok, a.ID)), outcome(t, e.get(t, tok, b.ID)); ca != cb {
				t.Errorf("stored after %s:\n  %s\nafter %s:\n  %s", c.alias, ca, c.canonical, cb)
			}
		})
	}

	t.Run("POST /api/tasks", func(t *testing.T) {
		for _, c := range []struct{ alias, canonical string }{
			{seedTask, seedTask},
			{`{"title":"t","is_completed":true}`, `{"title":"t","completed":true}`},
			{`{"title":"t","complete":true,"priority":"HIGH"}`, `{"title":"t","completed":true,"priority":"high"}`},
			{`{"title":"t","due_date":"2026-12-01"}`, `{"title":"t","due_date":"2026-12-01T00:00:00Z"}`},
			{`{"title":"t","due_date":"2026-12-01T17:30"}`, `{"title":"t","due_date":"2026-12-01T17:30:00Z"}`},
		} {
			ra := e.do(t, http.MethodPost, "/api/tasks", tok, c.alias).want(t, http.StatusCreated)
			rb := e.do(t, http.MethodPost, "/api/me/tasks", tok, c.canonical).want(t, http.StatusCreated)
			ta, tb := ra.task(t), rb.task(t)
			if ca, cb := outcome(t, ta), outcome(t, tb); ca != cb {
				t.Errorf("POST /api/tasks %s answered\n  %s\nwhile the canonical %s answered\n  %s", c.alias, ca, c.canonical, cb)
			}
			if loc, want := ra.Header.Get("Location"), "/api/alice/tasks/"+strconv.FormatInt(ta.ID, 10); loc != want {
				t.Errorf("POST /api/tasks: Location %q, want the canonical %q", loc, want)
			}
		}
	})

	t.Run("DELETE /api/tasks/{id}", func(t *testing.T) {
		task := e.create(t, tok, seedTask)
		r := e.do(t, http.MethodDelete, fmt.Sprintf("/api/tasks/%d", task.ID), tok, "")
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("DELETE /api/tasks/%d: %s", task.ID, r)
		}
		e.do(t, http.MethodGet, fmt.Sprintf("/api/tasks/%d", task.ID), tok, "").problem(t, http.StatusNotFound)
		e.do(t, http.MethodGet, taskPath("me", task.ID), tok, "").problem(t, http.StatusNotFound)
	})

	t.Run("another user's task through an alias", func(t *testing.T) {
		task := e.create(t, tok, seedTask)
		bob := token(t, "bob")
		for _, s := range []shape{
			{method: "GET", path: "/api/tasks/{id}"},
			{method: "PUT", path: "/api/tasks/{id}", body: `{"is_completed":true}`},
			{method: "PATCH", path: "/api/tasks/{id}/complete"},
			{method: "POST", path: "/api/tasks/{id}/toggle"},
			{method: "PATCH", path: "/api/bob/tasks/{id}/toggle"},
			{method: "DELETE", path: "/api/tasks/{id}"},
		} {
			e.send(t, bob, s, task.ID).problem(t, http.StatusNotFound)
		}
		e.send(t, bob, shape{method: "POST", path: "/api/alice/tasks/{id}/toggle"}, task.ID).problem(t, http.StatusForbidden)
		equalTasks(t, e.get(t, tok, task.ID), task)
		if got := e.do(t, http.MethodGet, "/api/tasks", bob, "").want(t, http.StatusOK).tasks(t); len(got) != 0 {
			t.Errorf("bob lists %d tasks at /api/tasks", len(got))
		}
	})

	t.Run("toggle takes PATCH and POST only", func(t *testing.T) {
		task := e.create(t, tok, seedTask)
		for _, path := range []string{"/api/me/tasks/{id}/toggle", "/api/tasks/{id}/toggle"} {
			for _, method := range []string{"GET", "PUT", "DELETE"} {
				r := e.send(t, tok, shape{method: method, path: path}, task.ID)
				r.problem(t, http.StatusMethodNotAllowed)
				if allow := r.Header.Get("Allow"); allow != "PATCH, POST" {
					t.Errorf("%s %s: Allow %q, want PATCH, POST", method, path, allow)
				}
			}
		}
		// A user-less path answers 405 with the canonical route's Allow.
		r := e.do(t, http.MethodPut, "/api/tasks", tok, `{"title":"x"}`)
		r.problem(t, http.StatusMethodNotAllowed)
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Errorf("PUT /api/tasks: Allow %q", allow)
		}
		e.do(t, http.MethodGet, "/api/tasks/abc", tok, "").problem(t, http.StatusNotFound)
		e.do(t, http.MethodPatch, "/api/tasks/0/toggle", tok, "").problem(t, http.StatusNotFound)
		e.do(t, http.MethodGet, "/api/tasks", "", "").problem(t, http.StatusUnauthorized)
		equalTasks(t, e.get(t, tok, task.ID), task)
	})
}

// TestCompatBodyAliasErrors: a body alias with a bad value is a 422 at the
// key the client sent, together with the body's other problems, and
// changes nothing.
func TestCompatBodyAliasErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	task := e.create(t, tok, seedTask)
	for _, c := range []struct {
		s     shape
		where []string
	}{
		{shape{method: "POST", path: "/api/tasks", body: `{"title":"t","is_completed":"yes"}`}, []string{"body.is_completed"}},
		{shape{method: "POST", path: "/api/me/tasks", body: `{"title":"","complete":1}`}, []string{"body.title", "body.complete"}},
		{shape{method: "PUT", path: "/api/tasks/{id}", body: `{"is_completed":null,"priority":"urgent"}`}, []string{"body.is_completed", "body.priority"}},
		{shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"complete":null}`}, []string{"body.complete"}},
		{shape{method: "PATCH", path: "/api/me/tasks/{id}/complete", body: `{"is_completed":"x"}`}, []string{"body.is_completed"}},
		{shape{method: "POST", path: "/api/tasks/{id}/toggle", body: `{"complete":null}`}, []string{"body.complete"}},
		{shape{method: "PATCH", path: "/api/me/tasks/{id}", body: `{"completed":null,"is_completed":true}`}, []string{"body.completed"}},
	} {
		r := e.send(t, tok, c.s, task.ID)
		exactLocations(t, r, c.where...)
	}
	equalTasks(t, e.get(t, tok, task.ID), task)
	if n := e.count(t, tok); n != 1 {
		t.Errorf("%d tasks after refused creates, want 1", n)
	}
}

// TestCompatListShapes sends every alias of a list parameter and the
// canonical query it stands for, and checks that both list the same tasks
// in the same order with the same X-Total-Count and Link.
func TestCompatListShapes(t *testing.T) {
	t.Parallel()
	cases := []struct{ alias, canonical string }{
		{"/api/tasks", "/api/me/tasks?sort=-created"},
		{"/api/tasks?search=MILK", "/api/me/tasks?q=milk"},
		{"/api/me/tasks?search=litres", "/api/me/tasks?q=LITRES"},
		{"/api/me/tasks?tags=home", "/api/me/tasks?tag=home"},
		{"/api/me/tasks?tags=HOME,shop", "/api/me/tasks?tag=home&tag=shop"},
		{"/api/me/tasks?tags=home&tags=Shop", "/api/me/tasks?tag=home&tag=shop"},
		{"/api/me/tasks?tags=home,,", "/api/me/tasks?tag=home"},
		{"/api/me/tasks?status_filter=pending", "/api/me/tasks?status=pending"},
		{"/api/me/tasks?status_filter=completed", "/api/me/tasks?status=completed"},
		{"/api/me/tasks?completed=true", "/api/me/tasks?status=completed"},
		{"/api/me/tasks?completed=false", "/api/me/tasks?status=pending"},
		{"/api/me/tasks?completed=True", "/api/me/tasks?status=completed"},
		{"/api/me/tasks?completed=0", "/api/me/tasks?status=pending"},
		{"/api/me/tasks?sort_by=title", "/api/me/tasks?sort=title"},
		{"/api/me/tasks?sort_by=title&order=desc", "/api/me/tasks?sort=-title"},
		{"/api/me/tasks?sort_by=title&order=asc", "/api/me/tasks?sort=title"},
		{"/api/me/tasks?sort=priority&order=desc", "/api/me/tasks?sort=priority"},
		{"/api/me/tasks?sort=priority&order=asc", "/api/me/tasks?sort=-priority"},
		{"/api/me/tasks?sort=-priority&order=desc", "/api/me/tasks?sort=-priority"},
		{"/api/me/tasks?sort_by=due_date&sort_order=desc", "/api/me/tasks?sort=-due_date"},
		{"/api/me/tasks?sort_by=dueDate", "/api/me/tasks?sort=due_date"},
		{"/api/me/tasks?sort_by=dueDate&sort_order=desc", "/api/me/tasks?sort=-due_date"},
		{"/api/me/tasks?sort=createdAt", "/api/me/tasks?sort=-created"},
		{"/api/me/tasks?sort=updatedAt&sort_order=asc", "/api/me/tasks?sort=updated"},
		{"/api/me/tasks?sort=created_at", "/api/me/tasks?sort=-created"},
		{"/api/me/tasks?sort=-created_date", "/api/me/tasks?sort=-created"},
		{"/api/me/tasks?sort=created_date&sort_order=asc", "/api/me/tasks?sort=created"},
		{"/api/me/tasks?sort_by=title&order=asc&sort_order=desc", "/api/me/tasks?sort=title"},
		{"/api/me/tasks?sort_by=due_date&order=DESC", "/api/me/tasks?sort=-due_date"},
		{"/api/me/tasks?order=asc", "/api/me/tasks?sort=created"},
		{"/api/me/tasks?sort_by=created_date", "/api/me/tasks?sort=-created"},
		{"/api/me/tasks?sort_by=created_date&order=desc", "/api/me/tasks?sort=-created"},
		{"/api/me/tasks?sort=updated_date&order=asc", "/api/me/tasks?sort=updated"},
		{"/api/me/tasks?sort_by=created_at&order=asc", "/api/me/tasks?sort=created"},
		{"/api/me/tasks?priority=HIGH", "/api/me/tasks?priority=high"},
		{"/api/me/tasks?priority=Low&priority=hIgH", "/api/me/tasks?priority=low&priority=high"},
		{"/api/me/tasks?due_before=2026-01-04", "/api/me/tasks?due_before=2026-01-04T00:00:00Z"},
		{"/api/me/tasks?due_after=2026-01-02T12:00", "/api/me/tasks?due_after=2026-01-02T12:00:00Z"},
		{"/api/me/tasks?due_after=2026-01-02T13:00:00%2B01:00", "/api/me/tasks?due_after=2026-01-02T12:00:00Z"},
		{"/api/tasks?completed=false&tags=home&search=milk&sort_by=title&order=desc&limit=1",
			"/api/me/tasks?status=pending&tag=home&q=milk&sort=-title&limit=1"},
		// The canonical parameter wins over its aliases.
		{"/api/me/tasks?status=completed&completed=false&status_filter=pending", "/api/me/tasks?status=completed"},
		{"/api/me/tasks?status_filter=completed&completed=false", "/api/me/tasks?status=completed"},
		{"/api/me/tasks?status=pending&completed=maybe", "/api/me/tasks?status=pending"},
		{"/api/me/tasks?q=milk&search=nothing", "/api/me/tasks?q=milk"},
		{"/api/me/tasks?tag=shop&tags=home", "/api/me/tasks?tag=shop"},
		{"/api/me/tasks?sort=title&sort_by=priority", "/api/me/tasks?sort=title"},
	}
	eachStore(t, func(t *testing.T, e *env) {
		seedHTTP(t, e)
		alice := token(t, "alice")
		all := e.page(t, alice, "/api/me/tasks")
		for _, c := range cases {
			got, want := e.page(t, alice, c.alias), e.page(t, alice, c.canonical)
			if !slices.Equal(listIDs(got.tasks), listIDs(want.tasks)) || got.total != want.total {
				t.Errorf("GET %s: %v (X-Total-Count %d)\nwant as GET %s: %v (%d)",
					c.alias, listIDs(got.tasks), got.total, c.canonical, listIDs(want.tasks), want.total)
			}
			if (got.next == "") != (want.next == "") {
				t.Errorf("GET %s: Link %q; the canonical request's: %q", c.alias, got.next, want.next)
			}
			if strings.Contains(c.canonical, "?") && !strings.HasSuffix(c.canonical, "sort=-created") &&
				slices.Equal(listIDs(want.tasks), listIDs(all.tasks)) {
				t.Errorf("the canonical GET %s lists the same as no parameters: the case proves nothing", c.canonical)
			}
			for _, task := range got.tasks {
				if task.UserID != "alice" {
					t.Errorf("GET %s: task %d of %s", c.alias, task.ID, task.UserID)
				}
			}
		}
	})
}

// TestCompatListAliasErrors: a bad value of a list parameter alias is a 422
// naming the parameter the client sent, together with every other bad
// parameter.
func TestCompatListAliasErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := token(t, "alice")
	e.create(t, alice, `{"title":"x"}`)
	for path, locations := range map[string][]string{
		"?completed=maybe":                              {"query.completed"},
		"?completed=yes":                                {"query.completed"},
		"?order=up":                                     {"query.order"},
		"?sort_order=up":                                {"query.sort_order"},
		"?sort_by=title&order=ascending":                {"query.order"},
		"?sort_by=owner":                                {"query.sort_by"},
		"?sort_by=owner&order=desc":                     {"query.sort_by"},
		"?status_filter=done":                           {"query.status_filter"},
		"?search=%00":                                   {"query.search"},
		"?tags=" + strings.Repeat("t", 51):              {"query.tags"},
		"?tags=ok," + strings.Repeat("t", 51):           {"query.tags"},
		"?offset=-1":                                    {"query.offset"},
		"?offset=x&search=%01":                          {"query.offset", "query.search"},
		"?offset=2&cursor=abc":                          {"query.offset", "query.cursor"},
		"?completed=maybe&limit=0&order=x&sort_by=nope": {"query.completed", "query.limit", "query.order", "query.sort_by"},
		"?completed=maybe&status_filter=done":           {"query.status_filter"},
	} {
		e.invalidList(t, alice, "/api/tasks"+path, locations...)
		e.invalidList(t, alice, "/api/me/tasks"+path, locations...)
	}
}

// TestCompatOffset: offset pages are slices of the whole list; every page
// has X-Total-Count; the Link continues with a cursor after the page (and
// drops the offset), keeping the request's aliases.
func TestCompatOffset(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice := token(t, "alice")
		var ids []int64
		for i := range 7 {
			ids = append(ids, e.create(t, alice, fmt.Sprintf(`{"title":"Task %d","tags":["Paged"]}`, 7-i)).ID)
		}
		e.create(t, alice, `{"title":"untagged"}`)
		// sort_by=title&order=desc: "Task 1" … "Task 7" reversed, that is
		// creation order.
		for offset := range 9 {
			path := fmt.Sprintf("/api/tasks?tags=paged&sort_by=title&order=desc&limit=3&offset=%d", offset)
			r := e.page(t, alice, path)
			lo, hi := min(offset, 7), min(offset+3, 7)
			if !slices.Equal(listIDs(r.tasks), ids[lo:hi]) || r.total != 7 {
				t.Errorf("GET %s: %v (X-Total-Count %d), want %v (7)", path, listIDs(r.tasks), r.total, ids[lo:hi])
			}
			if hi == 7 {
				if r.next != "" {
					t.Errorf("GET %s: Link %q on the last page", path, r.next)
				}
				continue
			}
			u, err := url.Parse(r.next)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if u.Path != "/api/me/tasks" || q.Has("offset") || q.Get("cursor") == "" || q.Get("sort_by") != "title" ||
				q.Get("order") != "desc" || q.Get("tags") != "paged" || q.Get("limit") != "3" {
				t.Errorf("GET %s: Link %q, want the request with a cursor instead of the offset", path, r.next)
			}
			next := e.page(t, alice, r.next)
			if want := ids[hi:min(hi+3, 7)]; !slices.Equal(listIDs(next.tasks), want) || next.total != 7 {
				t.Errorf("following the Link of GET %s: %v (X-Total-Count %d), want %v (7)", path, listIDs(next.tasks), next.total, want)
			}
		}
		// offset=0 is the first page.
		if a, b := e.page(t, alice, "/api/me/tasks?offset=0&limit=2"), e.page(t, alice, "/api/me/tasks?limit=2"); !slices.Equal(listIDs(a.tasks), listIDs(b.tasks)) {
			t.Errorf("offset=0: %v, want %v", listIDs(a.tasks), listIDs(b.tasks))
		}
	})
}

// TestTagsEndpoint: GET /api/{user_id}/tags lists the user's distinct tags,
// first spelling, sorted case-insensitively; /api/tags is its alias.
func TestTagsEndpoint(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice, bob := token(t, "alice"), token(t, "bob")
		tags := func(tok, path string) []string {
			t.Helper()
			r := e.do(t, http.MethodGet, path, tok, "").want(t, http.StatusOK)
			if ct := mediaType(r.Header.Get("Content-Type")); ct != "application/json" {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
			var out []string
			if err := json.Unmarshal(r.Body, &out); err != nil || out == nil {
				t.Fatalf("GET %s: not a JSON array of strings (%v): %s", path, err, r.Body)
			}
			return out
		}
		if got := tags(alice, "/api/me/tags"); len(got) != 0 {
			t.Errorf("a new user's tags: %q", got)
		}
		e.create(t, bob, `{"title":"b","tags":["aaa-bob","Work"]}`)
		first := e.create(t, alice, `{"title":"1","tags":["Work","home"]}`)
		e.create(t, alice, `{"title":"2","tags":["WORK","Zeta","ärger"]}`)
		e.create(t, alice, `{"title":"3","tags":["HOME","Ärger","apple"],"completed":true}`)
		want := []string{"apple", "home", "Work", "Zeta", "ärger"}
		for _, path := range []string{"/api/me/tags", "/api/alice/tags", "/api/tags"} {
			if got := tags(alice, path); !slices.Equal(got, want) {
				t.Errorf("GET %s = %q, want %q", path, got, want)
			}
		}
		if got, want := tags(bob, "/api/tags"), []string{"aaa-bob", "Work"}; !slices.Equal(got, want) {
			t.Errorf("bob's tags = %q, want %q", got, want)
		}
		e.do(t, http.MethodDelete, taskPath("me", first.ID), alice, "").want(t, http.StatusNoContent)
		if got, want := tags(alice, "/api/tags"), []string{"apple", "HOME", "WORK", "Zeta", "ärger"}; !slices.Equal(got, want) {
			t.Errorf("after deleting the oldest task: %q, want %q", got, want)
		}
		e.do(t, http.MethodGet, "/api/alice/tags", bob, "").problem(t, http.StatusForbidden)
		e.do(t, http.MethodGet, "/api/tags", "", "").problem(t, http.StatusUnauthorized)
		r := e.do(t, http.MethodPost, "/api/tags", alice, `{}`)
		r.problem(t, http.StatusMethodNotAllowed)
	})
}

// TestCompatOpenAPI: the document lists the canonical operations under
// Tasks and every alias after them, deprecated, under Aliases, with alias
// body keys and list parameters marked as such.
func TestCompatOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var doc struct {
		Tags  []struct{ Name string }
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Tags        []string
			Deprecated  bool
			Description string
			Parameters  []struct {
				Name, In, Description string
				Deprecated            bool
			}
		}
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Deprecated  bool
					Description string
				}
			}
		}
	}
	r := e.do(t, http.MethodGet, "/openapi.json", "", "").want(t, http.StatusOK)
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	var tagOrder []string
	for _, tag := range doc.Tags {
		tagOrder = append(tagOrder, tag.Name)
	}
	if !slices.Equal(tagOrder, []string{"Tasks", "Aliases", "Service"}) {
		t.Errorf("tags in order %v, want Tasks, Aliases, Service", tagOrder)
	}
	aliases := map[string]string{ // alias → canonical
		"GET /api/tasks":                           "GET /api/{user_id}/tasks",
		"POST /api/tasks":                          "POST /api/{user_id}/tasks",
		"GET /api/tasks/{id}":                      "GET /api/{user_id}/tasks/{id}",
		"PUT /api/tasks/{id}":                      "PUT /api/{user_id}/tasks/{id}",
		"PATCH /api/tasks/{id}":                    "PATCH /api/{user_id}/tasks/{id}",
		"DELETE /api/tasks/{id}":                   "DELETE /api/{user_id}/tasks/{id}",
		"PATCH /api/tasks/{id}/complete":           "PATCH /api/{user_id}/tasks/{id}/complete",
		"PATCH /api/{user_id}/tasks/{id}/toggle":   "PATCH /api/{user_id}/tasks/{id}/complete",
		"POST /api/{user_id}/tasks/{id}/toggle":    "PATCH /api/{user_id}/tasks/{id}/complete",
		"PATCH /api/tasks/{id}/toggle":             "PATCH /api/{user_id}/tasks/{id}/complete",
		"POST /api/tasks/{id}/toggle":              "PATCH /api/{user_id}/tasks/{id}/complete",
		"GET /api/tags":                            "GET /api/{user_id}/tags",
		"GET /api/{user_id}/tags":                  "",
		"GET /api/{user_id}/tasks":                 "",
		"PATCH /api/{user_id}/tasks/{id}/complete": "",
		"DELETE /api/{user_id}/tasks/{id}":         "",
		"POST /api/{user_id}/tasks":                "",
		"PUT /api/{user_id}/tasks/{id}":            "",
		"GET /api/{user_id}/tasks/{id}":            "",
		"PATCH /api/{user_id}/tasks/{id}":          "",
	}
	for name, canonical := range aliases {
		method, path, _ := strings.Cut(name, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s is not documented", name)
			continue
		}
		if canonical == "" {
			if op.Deprecated || !slices.Equal(op.Tags, []string{"Tasks"}) {
				t.Errorf("canonical %s: deprecated %v, tags %v", name, op.Deprecated, op.Tags)
			}
			continue
		}
		cm, cp, _ := strings.Cut(canonical, " ")
		if !op.Deprecated || !slices.Equal(op.Tags, []string{"Aliases"}) || !strings.Contains(op.Description, "Alias of `"+cm+" "+cp+"`") {
			t.Errorf("alias %s: deprecated %v, tags %v, description %q; want deprecated, Aliases, alias of %s",
				name, op.Deprecated, op.Tags, op.Description, canonical)
		}
		for _, p := range op.Parameters {
			if p.In == "path" && !strings.Contains(path, "{"+p.Name+"}") {
				t.Errorf("alias %s documents path parameter %s, which its path lacks", name, p.Name)
			}
		}
	}
	for _, path := range []string{"/api/{user_id}/tasks", "/api/tasks"} {
		params := doc.Paths[path]["get"].Parameters
		names := map[string]bool{}
		lastCanonical, firstAlias := -1, len(params)
		for i, p := range params {
			names[p.Name] = p.Deprecated
			if p.Deprecated {
				firstAlias = min(firstAlias, i)
			} else {
				lastCanonical = i
			}
		}
		if lastCanonical > firstAlias {
			t.Errorf("GET %s: an alias parameter is listed before a canonical one", path)
		}
		for _, alias := range []string{"search", "tags", "status_filter", "completed", "sort_by", "order", "sort_order"} {
			if deprecated, ok := names[alias]; !ok || !deprecated {
				t.Errorf("GET %s: parameter %s documented %v, deprecated %v", path, alias, ok, deprecated)
			}
		}
		if deprecated, ok := names["offset"]; !ok || deprecated {
			t.Errorf("GET %s: offset documented %v, deprecated %v", path, ok, deprecated)
		}
	}
	for _, name := range []string{"NewTaskBody", "TaskPatchBody", "CompleteBody"} {
		props := doc.Components.Schemas[name].Properties
		for _, alias := range []string{"is_completed", "complete"} {
			if p, ok := props[alias]; !ok || !p.Deprecated || !strings.Contains(p.Description, "Alias of completed") {
				t.Errorf("schema %s: property %s = %+v (present %v)", name, alias, p, ok)
			}
		}
		if props["completed"].Deprecated {
			t.Errorf("schema %s: completed is deprecated", name)
		}
	}
}
