package http

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCreateResponse: 201, the task with every field, and a canonical
// Location even when the path said "me".
func TestCreateResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	r := e.do(t, http.MethodPost, tasksPath("me"), tok, `{"title":"Buy milk"}`).want(t, http.StatusCreated)
	task := r.task(t)
	if want := "/api/alice/tasks/" + strconv.FormatInt(task.ID, 10); r.Header.Get("Location") != want {
		t.Errorf("Location = %q, want %q", r.Header.Get("Location"), want)
	}
	if task.ID <= 0 || task.UserID != "alice" || task.Title != "Buy milk" || task.Description != nil ||
		task.Completed || task.CompletedAt != nil || task.Priority != "medium" || task.Tags == nil ||
		len(task.Tags) != 0 || task.DueDate != nil || task.CreatedAt != task.UpdatedAt {
		t.Errorf("new task with defaults = %+v", task)
	}
	equalTasks(t, e.do(t, http.MethodGet, r.Header.Get("Location"), tok, "").want(t, http.StatusOK).task(t), task)

	second := e.create(t, tok, `{"title":"second"}`)
	if second.ID == task.ID {
		t.Errorf("two tasks share id %d", task.ID)
	}
}

// TestDelete: 204 with an empty body; then the task is gone.
func TestDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	keep := e.create(t, tok, `{"title":"keep"}`)
	gone := e.create(t, tok, `{"title":"gone"}`)
	r := e.do(t, http.MethodDelete, taskPath("me", gone.ID), tok, "").want(t, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("204 body = %q, want empty", r.Body)
	}
	e.do(t, http.MethodGet, taskPath("me", gone.ID), tok, "").problem(t, http.StatusNotFound)
	e.do(t, http.MethodDelete, taskPath("me", gone.ID), tok, "").problem(t, http.StatusNotFound)
	e.do(t, http.MethodPut, taskPath("me", gone.ID), tok, `{"title":"back"}`).problem(t, http.StatusNotFound)
	e.do(t, http.MethodPatch, completePath("me", gone.ID), tok, "").problem(t, http.StatusNotFound)
	list := e.list(t, tok)
	if len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("list after delete = %+v, want only %d", list, keep.ID)
	}
}

// TestList: a JSON array, [] for a new user, newest first, filtered by
// status.
func TestList(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice, bob := token(t, "alice"), token(t, "bob")
		t.Run("new user", func(t *testing.T) {
			r := e.do(t, http.MethodGet, tasksPath("me"), bob, "").want(t, http.StatusOK)
			if got := strings.TrimSpace(string(r.Body)); got != "[]" {
				t.Errorf("body = %s, want []", got)
			}
			if ct := r.Header.Get("Content-Type"); mediaType(ct) != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})

		var ids []int64 // in creation order
		for i, body := range []string{`{"title":"a"}`, `{"title":"b","completed":true}`, `{"title":"c"}`, `{"title":"d","completed":true}`} {
			if i > 0 {
			}
			ids = append(ids, e.create(t, alice, body).ID)
		}
		// a task created earlier that is updated later keeps its place.
		e.do(t, http.MethodPut, taskPath("me", ids[0]), alice, `{"title":"a2"}`).want(t, http.StatusOK)
		newestFirst := slices.Clone(ids)
		slices.Reverse(newestFirst)
		idsOf := func(tasks []wireTask) []int64 {
			out := make([]int64, len(tasks))
			for i, task := range tasks {
				out[i] = task.ID
			}
			return out
		}
		for query, want := range map[string][]int64{
			"":                  newestFirst,
			"?status=":          newestFirst,
			"?status=all":       newestFirst,
			"?status=pending":   {ids[2], ids[0]},
			"?status=completed": {ids[3], ids[1]},
			"?other=x":          newestFirst,
		} {
			t.Run("query "+query, func(t *testing.T) {
				got := e.do(t, http.MethodGet, tasksPath("me")+query, alice, "").want(t, http.StatusOK).tasks(t)
				if !slices.Equal(idsOf(got), want) {
					t.Errorf("ids = %v, want %v", idsOf(got), want)
				}
			})
		}
		for _, bad := range []string{"done", "ALL", "pending,completed"} {
			t.Run("status="+bad, func(t *testing.T) {
				e.do(t, http.MethodGet, tasksPath("me")+"?status="+bad, alice, "").invalid(t, "query.status")
			})
		}
		t.Run("other user's list", func(t *testing.T) {
			if got := e.list(t, bob); len(got) != 0 {
				t.Errorf("bob sees %d tasks", len(got))
			}
		})
	})
}

// TestTaskJSONShape: every response carrying a task has exactly the task's
// documented fields (checked by wireTask decoding), with arrays and UTC timestamps.
func TestTaskJSONShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	created := e.create(t, tok, `{"title":"t","due_date":"2026-12-01T10:00:00+05:00","completed":true}`)
	checkUTC(t, "due_date", deref(created.DueDate))
	checkUTC(t, "completed_at", deref(created.CompletedAt))
	for i, r := range []*response{
		e.do(t, http.MethodGet, taskPath("me", created.ID), tok, ""),
		e.do(t, http.MethodPut, taskPath("me", created.ID), tok, `{"title":"u"}`),
		e.do(t, http.MethodPatch, taskPath("me", created.ID), tok, `{"tags":null}`),
		e.do(t, http.MethodPatch, completePath("me", created.ID), tok, ""),
	} {
		if r.want(t, http.StatusOK); i == 3 {
			r.completion(t)
		} else {
			r.task(t)
		}
		if strings.Contains(string(r.Body), "$schema") {
			t.Errorf("task response has a $schema field: %s", r.Body)
		}
	}
	list := e.do(t, http.MethodGet, tasksPath("me"), tok, "").want(t, http.StatusOK)
	list.tasks(t)
	if strings.Contains(string(list.Body), "$schema") {
		t.Errorf("list response has a $schema field: %s", list.Body)
	}
}

// errorCases are requests that fail, one per kind of error response.
func errorCases(t *testing.T, e *env) []struct {
	name   string
	status int
	do     func(headers ...string) *response
} {
	tok := token(t, "alice")
	task := e.create(t, tok, `{"title":"t"}`)
	big := `{"title":"` + strings.Repeat("x", 70<<10) + `"}`
	req := func(method, path, token, body string, extra ...string) func(headers ...string) *response {
		return func(headers ...string) *response {
			return e.do(t, method, path, token, body, append(slices.Clone(extra), headers...)...)
		}
	}
	return []struct {
		name   string
		status int
		do     func(headers ...string) *response
	}{
		{"422 malformed JSON", 422, req(http.MethodPost, tasksPath("me"), tok, `{"title":`)},
		{"401 no token", 401, req(http.MethodGet, tasksPath("me"), "", "")},
		{"401 bad token", 401, req(http.MethodGet, tasksPath("me"), "garbage", "")},
		{"403 other user", 403, req(http.MethodGet, tasksPath("bob"), tok, "")},
		{"404 missing task", 404, req(http.MethodGet, taskPath("me", task.ID+1000), tok, "")},
		{"404 bad id", 404, req(http.MethodGet, taskPath("me", "abc"), tok, "")},
		{"404 unknown path", 404, req(http.MethodGet, "/no/such/path", "", "")},
		{"404 unknown api path", 404, req(http.MethodGet, "/api/me/things", tok, "")},
		{"405 POST item", 405, req(http.MethodPost, taskPath("me", task.ID), tok, `{"title":"x"}`)},
		{"413 too large", 413, req(http.MethodPost, tasksPath("me"), tok, big)},
		{"415 text/plain", 415, req(http.MethodPost, tasksPath("me"), tok, `{"title":"x"}`, "Content-Type", "text/plain")},
		{"422 invalid body", 422, req(http.MethodPost, tasksPath("me"), tok, `{"title":""}`)},
		{"422 invalid query", 422, req(http.MethodGet, tasksPath("me")+"?status=done", tok, "")},
	}
}

// TestErrorBodies: every error is a problem document with status, title,
// detail and message == detail, as application/json unless Accept lists
// application/problem+json.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	accepts := []struct{ accept, contentType string }{
		{"", "application/json"},
		{"application/json", "application/json"},
		{"*/*", "application/json"},
		{"application/problem+json", "application/problem+json"},
		{"application/json, application/problem+json;q=0.9", "application/problem+json"},
		{"text/html, application/problem+json", "application/problem+json"},
	}
	for _, c := range errorCases(t, e) {
		for _, a := range accepts {
			t.Run(c.name+"/Accept "+a.accept, func(t *testing.T) {
				var r *response
				if a.accept == "" {
					r = c.do()
				} else {
					r = c.do("Accept", a.accept)
				}
				r.problemAs(t, c.status, a.contentType)
			})
		}
	}
}

// TestMethodNotAllowed: a known path with another method is 405 with Allow
// and a problem body.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	task := e.create(t, tok, `{"title":"t"}`)
	cases := []struct {
		method, path string
		allow        []string
	}{
		{http.MethodPost, taskPath("me", task.ID), []string{"GET", "PUT", "PATCH", "DELETE"}},
		{http.MethodDelete, tasksPath("me"), []string{"GET", "POST"}},
		{http.MethodPut, tasksPath("me"), []string{"GET", "POST"}},
		{http.MethodGet, completePath("me", task.ID), []string{"PATCH"}},
		{http.MethodPost, "/healthz", []string{"GET"}},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := e.do(t, c.method, c.path, tok, "")
			r.problem(t, http.StatusMethodNotAllowed)
			allow := r.Header.Get("Allow")
			for _, m := range c.allow {
				if !slices.Contains(strings.Split(strings.ReplaceAll(allow, " ", ""), ","), m) {
					t.Errorf("Allow = %q, want it to list %s", allow, m)
				}
			}
			if strings.Contains(allow, c.method) {
				t.Errorf("Allow = %q lists the refused method %s", allow, c.method)
			}
		})
	}
	equalTasks(t, e.get(t, tok, task.ID), task)
}

// TestRequestID: every response has X-Request-ID; a sane client id is
// echoed, an insane one replaced.
func TestRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	requests := []struct {
		name, method, path, token, body string
	}{
		{"list", http.MethodGet, tasksPath("me"), tok, ""},
		{"create", http.MethodPost, tasksPath("me"), tok, `{"title":"t"}`},
		{"401", http.MethodGet, tasksPath("me"), "", ""},
		{"404", http.MethodGet, "/nowhere", "", ""},
		{"405", http.MethodPost, taskPath("me", 1), tok, ""},
		{"422", http.MethodPost, tasksPath("me"), tok, `{"title":""}`},
		{"healthz", http.MethodGet, "/healthz", "", ""},
		{"openapi", http.MethodGet, "/openapi.json", "", ""},
	}
	sane := []string{"abc-123", "req_ID.42:7", strings.Repeat("a", 128)}
	insane := []string{"has space", "line\nbreak", "tab\there", strings.Repeat("a", 200), "ünïcode", "a;b", "<script>"}
	for _, req := range requests {
		t.Run(req.name, func(t *testing.T) {
			r := e.do(t, req.method, req.path, req.token, req.body)
			generated := r.Header.Get("X-Request-ID")
			if generated == "" {
				t.Fatalf("no X-Request-ID (status %d)", r.Status)
			}
			if next := e.do(t, req.method, req.path, req.token, req.body).Header.Get("X-Request-ID"); next == generated {
				t.Errorf("two requests got the same generated id %q", next)
			}
			for _, id := range sane {
				if got := e.do(t, req.method, req.path, req.token, req.body, "X-Request-ID", id).Header.Get("X-Request-ID"); got != id {
					t.Errorf("sane id %q answered with %q", id, got)
				}
			}
			for _, id := range insane {
				got := e.do(t, req.method, req.path, req.token, req.body, "X-Request-ID", id).Header.Get("X-Request-ID")
				if got == "" || got == id || strings.ContainsAny(got, " \n\t;<>") || len(got) > 128 {
					t.Errorf("insane id %q answered with %q, want a fresh id", id, got)
				}
			}
		})
	}
}
