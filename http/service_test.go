package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestHealth: /healthz and /readyz need no token; /readyz is 503 once the
// database is gone.
func TestHealth(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		for _, path := range []string{"/healthz", "/readyz"} {
			r := e.do(t, http.MethodGet, path, "", "").want(t, http.StatusOK)
			if got := r.object(t)["status"]; got != "ok" {
				t.Errorf("%s status = %v, want ok", path, got)
			}
		}
		if err := e.store.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		r := e.do(t, http.MethodGet, "/readyz", "", "")
		r.problem(t, http.StatusServiceUnavailable)
		checkNoLeak(t, r)
		e.do(t, http.MethodGet, "/healthz", "", "").want(t, http.StatusOK)
	})
}

// leakMarkers must never appear in a response.
var leakMarkers = []string{"sql", "SQL", "pgx", "pq:", "sqlite", "database is closed", "goroutine", ".go:",
	"closed pool", "connection", testSecret}

func checkNoLeak(t *testing.T, r *response) {
	t.Helper()
	body := string(r.Body)
	for _, m := range leakMarkers {
		if strings.Contains(body, m) {
			t.Errorf("response leaks %q: %s", m, body)
		}
	}
	for name, values := range r.Header {
		for _, v := range values {
			for _, m := range leakMarkers {
				if strings.Contains(v, m) {
					t.Errorf("header %s leaks %q: %s", name, m, v)
				}
			}
		}
	}
}

// TestClosedStoreLeaksNothing: with the database gone every endpoint answers
// 503 with a generic problem and no internal detail.
func TestClosedStoreLeaksNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		task := e.create(t, tok, `{"title":"t"}`)
		fresh := token(t, "newcomer") // not yet in the users table
		if err := e.store.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, ep := range endpoints {
			for user, tk := range map[string]string{"known user": tok, "new user": fresh} {
				t.Run(ep.name+"/"+user, func(t *testing.T) {
					r := e.do(t, ep.method, ep.path("me", task.ID), tk, ep.body)
					if r.Status != http.StatusServiceUnavailable {
						t.Fatalf("status = %d, want 503; body: %s", r.Status, r.Body)
					}
					if p := r.problem(t, r.Status); p.Errors != nil {
						t.Errorf("503 lists errors: %s", r.Body)
					}
					checkNoLeak(t, r)
				})
			}
		}
	})
}

// TestOpenAPI: /openapi.json is OpenAPI 3.1 and describes every /api
// operation with bearer security and the Task schema.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, http.MethodGet, "/openapi.json", "", "").want(t, http.StatusOK)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security  []map[string][]string `json:"security"`
			Responses map[string]any        `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas         map[string]json.RawMessage `json:"schemas"`
			SecuritySchemes map[string]struct {
				Type   string `json:"type"`
				Scheme string `json:"scheme"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("/openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	ops := map[string][]string{
		"/api/{user_id}/tasks":               {"get", "post"},
		"/api/{user_id}/tasks/{id}":          {"get", "put", "patch", "delete"},
		"/api/{user_id}/tasks/{id}/complete": {"patch"},
	}
	schemeNames := map[string]bool{}
	for name, s := range doc.Components.SecuritySchemes {
		if s.Type == "http" && strings.EqualFold(s.Scheme, "bearer") {
			schemeNames[name] = true
		}
	}
	if len(schemeNames) == 0 {
		t.Errorf("no http bearer security scheme: %+v", doc.Components.SecuritySchemes)
	}
	for path, methods := range ops {
		item, ok := doc.Paths[path]
		if !ok {
			t.Errorf("path %s missing; have %v", path, mapsKeys(doc.Paths))
			continue
		}
		for _, m := range methods {
			op, ok := item[m]
			if !ok {
				t.Errorf("%s %s missing", m, path)
				continue
			}
			bearer := false
			for _, req := range op.Security {
				for name := range req {
					bearer = bearer || schemeNames[name]
				}
			}
			if !bearer {
				t.Errorf("%s %s has no bearer security: %v", m, path, op.Security)
			}
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("%s %s does not document 401", m, path)
			}
		}
	}
	var task struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	raw, ok := doc.Components.Schemas["Task"]
	if !ok {
		t.Fatalf("no Task schema; have %v", mapsKeys(doc.Components.Schemas))
	}
	if err := json.Unmarshal(raw, &task); err != nil {
		t.Fatalf("Task schema: %v", err)
	}
	for _, f := range taskFields {
		if _, ok := task.Properties[f]; !ok {
			t.Errorf("Task schema lacks %s", f)
		}
	}
	if _, ok := task.Properties["$schema"]; ok {
		t.Errorf("Task schema has a $schema property")
	}
}

func mapsKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
