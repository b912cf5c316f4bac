package http

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Drop-in behaviour: what deployments and frontends written for the Python
// design call besides the task API proper.

// TestHealthAlias: GET /health answers like /healthz, with "healthy".
func TestHealthAlias(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, http.MethodGet, "/health", "", "").want(t, http.StatusOK)
	if got := r.object(t)["status"]; got != "healthy" {
		t.Errorf("/health status = %v, want healthy", got)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("/health Content-Type %q", ct)
	}
}

// TestRoot: GET / names the service, its version and its docs, and only
// the root itself answers: other unknown paths stay 404.
func TestRoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := e.do(t, http.MethodGet, "/", "", "").want(t, http.StatusOK).object(t)
	if got["name"] != "todoapi" || got["version"] != "test" || got["docs"] != "/docs" || got["openapi"] != "/openapi.json" {
		t.Errorf("GET / = %v", got)
	}
	for _, path := range []string{"/nope", "/api", "/index.html"} {
		e.do(t, http.MethodGet, path, "", "").problem(t, http.StatusNotFound)
	}
	e.do(t, http.MethodPost, "/", "", "{}").problem(t, http.StatusMethodNotAllowed)
}

// TestSearchRoute: /tasks/search is the list with the same parameters,
// with or without a user id, and its Link continues the same list.
func TestSearchRoute(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice, bob := token(t, "alice"), token(t, "bob")
		for _, title := range []string{"Buy milk", "walk dog", "MILK again", "milkshake", "bread"} {
			e.create(t, alice, `{"title":`+jsonString(title)+`}`)
		}
		e.create(t, bob, `{"title":"bob's milk"}`)
		ids := func(tasks []wireTask) []int64 {
			out := make([]int64, len(tasks))
			for i, task := range tasks {
				out[i] = task.ID
			}
			return out
		}
		want := ids(e.do(t, http.MethodGet, "/api/me/tasks?q=milk&sort=title", alice, "").want(t, http.StatusOK).tasks(t))
		if len(want) != 3 {
			t.Fatalf("q=milk listed %d tasks, want 3", len(want))
		}
		for _, path := range []string{
			"/api/me/tasks/search?q=milk&sort=title",
			"/api/alice/tasks/search?q=milk&sort=title",
			"/api/tasks/search?search=milk&sort_by=title",
		} {
			r := e.do(t, http.MethodGet, path, alice, "").want(t, http.StatusOK)
			if got := ids(r.tasks(t)); !slices.Equal(got, want) {
				t.Errorf("GET %s: %v, want %v", path, got, want)
			}
			if r.Header.Get("X-Total-Count") != "3" {
				t.Errorf("GET %s: X-Total-Count %q", path, r.Header.Get("X-Total-Count"))
			}
		}
		// Paged: the Link of the search route leads on through the same list.
		var got []int64
		path := "/api/tasks/search?q=milk&sort=title&limit=2"
		for range 3 {
			r := e.do(t, http.MethodGet, path, alice, "").want(t, http.StatusOK)
			got = append(got, ids(r.tasks(t))...)
			link := r.Header.Get("Link")
			if link == "" {
				break
			}
			u, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`))
			if err != nil {
				t.Fatalf("Link %q: %v", link, err)
			}
			path = u.String()
		}
		if !slices.Equal(got, want) {
			t.Errorf("paging the search route gave %v, want %v", got, want)
		}
		// Other users' searches are theirs; a bad parameter is a 422.
		e.do(t, http.MethodGet, "/api/alice/tasks/search?q=milk", bob, "").problem(t, http.StatusForbidden)
		e.do(t, http.MethodGet, "/api/me/tasks/search?q=milk&limit=0", alice, "").invalid(t, "query.limit")
		// Only GET: the path names no task.
		r := e.do(t, http.MethodDelete, "/api/me/tasks/search", alice, "")
		if r.Status/100 == 2 {
			t.Errorf("DELETE /tasks/search: %s", r)
		}
	})
}

// TestCompleteResponseCarriesTask: …/complete and …/toggle answer the task,
// the same task under "task", and "next_occurrence": null.
func TestCompleteResponseCarriesTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	task := e.create(t, tok, `{"title":"tick me","tags":["x"]}`)
	for i, c := range []struct{ method, path, body string }{
		{http.MethodPatch, completePath("me", task.ID), ""},
		{http.MethodPost, "/api/tasks/" + jsonOf(t, task.ID) + "/toggle", ""},
		{http.MethodPatch, "/api/me/tasks/" + jsonOf(t, task.ID) + "/toggle", `{"completed":true}`},
	} {
		r := e.do(t, c.method, c.path, tok, c.body).want(t, http.StatusOK)
		got := r.completion(t)
		if wantDone := i != 1; got.Completed != wantDone || got.ID != task.ID {
			t.Errorf("%s %s: %+v", c.method, c.path, got)
		}
		var raw struct {
			Task *wireTask `json:"task"`
		}
		if err := json.Unmarshal(r.Body, &raw); err != nil || raw.Task == nil || raw.Task.Completed != got.Completed {
			t.Errorf("%s %s: response.task = %+v (%v)", c.method, c.path, raw.Task, err)
		}
	}
	// Other answers about a task stay plain tasks.
	e.do(t, http.MethodGet, taskPath("me", task.ID), tok, "").want(t, http.StatusOK).task(t)
}

// TestOpenAPIProblemTypes: every error response of every operation lists
// both media types an error can be sent as.
func TestOpenAPIProblemTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.do(t, http.MethodGet, "/openapi.json", "", "").want(t, http.StatusOK).Body, &doc); err != nil {
		t.Fatal(err)
	}
	errorResponses := 0
	for path, item := range doc.Paths {
		for method, op := range item {
			withErrors := false
			for code, resp := range op.Responses {
				if code != "default" && code < "400" {
					continue
				}
				withErrors = true
				errorResponses++
				for _, mt := range []string{"application/json", "application/problem+json"} {
					if _, ok := resp.Content[mt]; !ok {
						t.Errorf("%s %s: response %s does not list %s", method, path, code, mt)
					}
				}
			}
			if !withErrors {
				t.Errorf("%s %s documents no error response", method, path)
			}
		}
	}
	if _, ok := doc.Paths["/"]; !ok || errorResponses < 50 {
		t.Errorf("document has %d error responses, / documented %v", errorResponses, ok)
	}
}
