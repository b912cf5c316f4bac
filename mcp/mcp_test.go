package mcp_test

// These tests drive the MCP endpoint as an agent does: the official Go SDK's
// client over real HTTP (httptest), through the whole handler package http
// builds (edge, authentication, rate limit), the real domain service and a
// real store of each kind. Effects are checked through the REST API.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
	api "github.com/todoapi/todoapi/http"
	"github.com/todoapi/todoapi/mcp"
	"github.com/todoapi/todoapi/metrics"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
	"github.com/todoapi/todoapi/recur"
	"github.com/todoapi/todoapi/sqlite"
)

const secret = "mcp-test-secret-0123456789abcdef"

type store interface {
	todoapi.Store
	Migrate(ctx context.Context) error
}

var stores = []struct {
	name string
	open func(t testing.TB) store
}{
	{"sqlite", func(t testing.TB) store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "todo.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", func(t testing.TB) store {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

// syncBuffer collects log lines written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is todoapi's whole handler with /mcp, on a real listener.
type server struct {
	url     string
	handler http.Handler
	service *todoapi.Service
	logs    *syncBuffer
}

func newServer(t testing.TB, open func(testing.TB) store, limit api.RateLimit, opts ...func(*api.Config)) *server {
	t.Helper()
	st := open(t)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	service := todoapi.NewService(st)
	service.Rules = recur.Engine{}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	m := metrics.New()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	config := api.Config{
		Tasks: service, Verifier: verifier, Database: st, Logger: log, Metrics: m,
		UserRateLimit: limit, PublicURL: srv.URL, CORSOrigins: []string{"http://localhost:3000"},
		AuthorizationServers: []string{"https://auth.example.com/api/auth"},
		MCP:                  mcp.NewHandler(mcp.Config{Tasks: service, Logger: log, Metrics: m, Version: "test"}),
	}
	for _, o := range opts {
		o(&config)
	}
	srv.Config.Handler = api.NewHandler(config)
	t.Cleanup(srv.Close)
	return &server{url: srv.URL, handler: srv.Config.Handler, service: service, logs: logs}
}

func token(t testing.TB, sub string) string {
	t.Helper()
	tok, err := auth.Mint(secret, auth.MintClaims{Subject: sub, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bearer adds a token to every request of a client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// agent is an MCP client session holding one user's token.
type agent struct {
	t  testing.TB
	cs *sdk.ClientSession
}

func connect(t testing.TB, s *server, tok string) *agent {
	t.Helper()
	client := sdk.NewClient(&sdk.Implementation{Name: "test-agent", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &sdk.StreamableClientTransport{
		Endpoint:             s.url + "/mcp",
		HTTPClient:           &http.Client{Transport: bearer{tok, http.DefaultTransport}},
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return &agent{t, cs}
}

// call calls a tool and decodes its structured content into out (when not
// nil). It fails the test on a protocol error, and when the result's
// isError differs from wantError.
func (a *agent) call(tool string, args map[string]any, wantError bool, out any) *sdk.CallToolResult {
	a.t.Helper()
	res, err := a.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		a.t.Fatalf("%s(%v): protocol error %v", tool, args, err)
	}
	if res.IsError != wantError {
		a.t.Fatalf("%s(%v): isError %v, want %v: %s", tool, args, res.IsError, wantError, text(res))
	}
	if len(res.Content) != 1 || text(res) == "" || strings.Contains(text(res), "\n") {
		a.t.Errorf("%s: content %v, want one line of text", tool, res.Content)
	}
	if out != nil {
		raw, err := json.Marshal(res.StructuredContent)
		if err != nil {
			a.t.Fatal(err)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s: structured content %s: %v", tool, raw, err)
		}
	}
	return res
}

func text(res *sdk.CallToolResult) string {
	if len(res.Content) == 0 {
		return ""
	}
	if tc, ok := res.Content[0].(*sdk.TextContent); ok {
		return tc.Text
	}
	return ""
}

// problem is the structured content of a failed call.
type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location, Message string
	} `json:"errors"`
}

func (p problem) field(name string) string {
	for _, e := range p.Errors {
		if e.Location == name {
			return e.Message
		}
	}
	return ""
}

// rest calls the REST API and returns the status and body.
func rest(t testing.TB, s *server, tok, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func TestTools(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind.name, func(t *testing.T) {
			s := newServer(t, kind.open, api.RateLimit{})
			aliceTok, bobTok := token(t, "alice"), token(t, "bob")
			alice, bob := connect(t, s, aliceTok), connect(t, s, bobTok)

			listed, err := alice.cs.ListTools(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkToolList(t, listed.Tools)

			// add_task: the REST API returns the same JSON.
			var created map[string]any
			alice.call("add_task", map[string]any{
				"title": "  Buy milk ", "description": "Two litres", "priority": "HIGH",
				"tags": []string{"home", "Home", "shop"}, "due_date": "2026-12-24", "user_id": "me",
			}, false, &created)
			id := int64(created["id"].(float64))
			if created["title"] != "Buy milk" || created["priority"] != "high" || created["user_id"] != "alice" ||
				created["due_date"] != "2026-12-24T00:00:00Z" || fmt.Sprint(created["tags"]) != "[home shop]" {
				t.Fatalf("add_task: %v", created)
			}
			status, body := rest(t, s, aliceTok, "GET", fmt.Sprintf("/api/me/tasks/%d", id), nil)
			var viaREST map[string]any
			_ = json.Unmarshal(body, &viaREST)
			if status != 200 || fmt.Sprint(viaREST) != fmt.Sprint(created) {
				t.Fatalf("REST has %d %v, the tool returned %v", status, viaREST, created)
			}
			alice.call("add_task", map[string]any{"title": "Call mum", "user_id": "alice"}, false, nil)

			// list_tasks with filters, and paging by cursor.
			var page struct {
				Tasks      []map[string]any `json:"tasks"`
				Total      int              `json:"total"`
				NextCursor *string          `json:"next_cursor"`
			}
			alice.call("list_tasks", map[string]any{"tag": "HOME", "status": "pending"}, false, &page)
			if page.Total != 1 || len(page.Tasks) != 1 || page.Tasks[0]["title"] != "Buy milk" || page.NextCursor != nil {
				t.Fatalf("list_tasks by tag: %+v", page)
			}
			alice.call("list_tasks", map[string]any{"limit": 1, "sort": "title"}, false, &page)
			if page.Total != 2 || len(page.Tasks) != 1 || page.Tasks[0]["title"] != "Buy milk" || page.NextCursor == nil {
				t.Fatalf("list_tasks page 1: %+v", page)
			}
			alice.call("list_tasks", map[string]any{"limit": 1, "sort": "title", "cursor": *page.NextCursor}, false, &page)
			if len(page.Tasks) != 1 || page.Tasks[0]["title"] != "Call mum" || page.NextCursor != nil {
				t.Fatalf("list_tasks page 2: %+v", page)
			}
			alice.call("list_tasks", map[string]any{"priority": []string{"low", "high"}}, false, &page)
			if page.Total != 1 {
				t.Fatalf("list_tasks by priorities: %+v", page)
			}

			// get_task, update_task (absent fields keep theirs).
			var task map[string]any
			alice.call("get_task", map[string]any{"task_id": id}, false, &task)
			if task["title"] != "Buy milk" {
				t.Fatalf("get_task: %v", task)
			}
			alice.call("update_task", map[string]any{"task_id": id, "title": "Buy oat milk"}, false, &task)
			if task["title"] != "Buy oat milk" || task["priority"] != "high" || task["description"] != "Two litres" {
				t.Fatalf("update_task replaced more than the title: %v", task)
			}
			alice.call("update_task", map[string]any{"task_id": fmt.Sprint(id), "description": nil}, false, &task)
			if task["description"] != nil {
				t.Fatalf("update_task with null description: %v", task)
			}

			// complete_task: true by default, and a retry does not reopen.
			alice.call("complete_task", map[string]any{"task_id": id}, false, &task)
			firstDone := task["completed_at"]
			if task["completed"] != true || firstDone == nil {
				t.Fatalf("complete_task: %v", task)
			}
			alice.call("complete_task", map[string]any{"task_id": id}, false, &task)
			if task["completed"] != true || task["completed_at"] != firstDone {
				t.Fatalf("complete_task retried: %v", task)
			}
			_, body = rest(t, s, aliceTok, "GET", fmt.Sprintf("/api/me/tasks/%d", id), nil)
			if !bytes.Contains(body, []byte(`"completed":true`)) {
				t.Fatalf("REST after complete_task: %s", body)
			}
			alice.call("complete_task", map[string]any{"task_id": id, "completed": false}, false, &task)
			if task["completed"] != false || task["completed_at"] != nil {
				t.Fatalf("complete_task completed=false: %v", task)
			}

			// list_tags.
			var tags struct{ Tags []string }
			alice.call("list_tags", nil, false, &tags)
			if !slices.Equal(tags.Tags, []string{"home", "shop"}) {
				t.Fatalf("list_tags: %v", tags)
			}

			// Isolation: bob's agent reaches nothing of alice's, whatever it passes.
			var p problem
			for _, tool := range []string{"get_task", "update_task", "complete_task", "delete_task"} {
				bob.call(tool, map[string]any{"task_id": id, "title": "mine"}, true, &p)
				if p.Status != 404 || p.Detail != "task not found" {
					t.Errorf("bob %s on alice's task: %+v", tool, p)
				}
				bob.call(tool, map[string]any{"task_id": id, "user_id": "alice"}, true, &p)
				if p.Status != 403 {
					t.Errorf("bob %s with user_id alice: %+v", tool, p)
				}
			}
			bob.call("list_tasks", map[string]any{"user_id": "alice"}, true, &p)
			bob.call("add_task", map[string]any{"title": "x", "user_id": "alice"}, true, &p)
			bob.call("list_tags", map[string]any{"user_id": "alice"}, true, &p)
			bob.call("list_tasks", nil, false, &page)
			if page.Total != 0 || len(page.Tasks) != 0 {
				t.Fatalf("bob lists %+v", page)
			}
			bob.call("list_tags", nil, false, &tags)
			if len(tags.Tags) != 0 {
				t.Fatalf("bob's tags: %v", tags)
			}
			alice.call("get_task", map[string]any{"task_id": id}, false, &task)
			if task["title"] != "Buy oat milk" || task["completed"] != false {
				t.Fatalf("bob changed alice's task: %v", task)
			}
			// …and a task that does not exist reads the same as alice's.
			var never problem
			bob.call("get_task", map[string]any{"task_id": id + 1000}, true, &never)
			if never.Detail != "task not found" || never.Status != 404 {
				t.Fatalf("missing task: %+v", never)
			}

			// delete_task.
			var del map[string]any
			alice.call("delete_task", map[string]any{"task_id": id}, false, &del)
			if del["deleted"] != true || del["task_id"] != float64(id) {
				t.Fatalf("delete_task: %v", del)
			}
			if status, _ := rest(t, s, aliceTok, "GET", fmt.Sprintf("/api/me/tasks/%d", id), nil); status != 404 {
				t.Fatalf("REST after delete_task: %d", status)
			}
		})
	}
}

// checkToolList checks names, annotations and schemas as an agent
// framework reads them.
func checkToolList(t *testing.T, tools []*sdk.Tool) {
	t.Helper()
	byName := map[string]*sdk.Tool{}
	for _, tool := range tools {
		byName[tool.Name] = tool
	}
	want := map[string][]string{
		"add_task":      {"title", "description", "priority", "tags", "due_date", "user_id"},
		"list_tasks":    {"status", "priority", "tag", "q", "due_before", "due_after", "sort", "limit", "cursor", "user_id"},
		"get_task":      {"task_id", "user_id"},
		"update_task":   {"task_id", "title", "description", "completed", "priority", "tags", "due_date", "version", "user_id"},
		"complete_task": {"task_id", "completed", "version", "user_id"},
		"delete_task":   {"task_id", "version", "user_id"},
		"list_tags":     {"user_id"},
	}
	if len(byName) != len(want) {
		t.Errorf("tools %v, want %d", slices.Collect(mapsKeys(byName)), len(want))
	}
	for name, args := range want {
		tool := byName[name]
		if tool == nil {
			t.Errorf("no tool %s", name)
			continue
		}
		if len(tool.Description) < 20 || tool.OutputSchema == nil || tool.Annotations == nil {
			t.Errorf("%s: description %q, output schema %v, annotations %v", name, tool.Description, tool.OutputSchema, tool.Annotations)
			continue
		}
		raw, _ := json.Marshal(tool.InputSchema)
		var schema struct {
			Properties map[string]any
			Required   []string
		}
		_ = json.Unmarshal(raw, &schema)
		for _, a := range args {
			if schema.Properties[a] == nil {
				t.Errorf("%s: no argument %s in %s", name, a, raw)
			}
		}
		if slices.Contains(schema.Required, "user_id") {
			t.Errorf("%s: user_id required", name)
		}
		readOnly := strings.HasPrefix(name, "list_") || name == "get_task"
		if tool.Annotations.ReadOnlyHint != readOnly {
			t.Errorf("%s: readOnlyHint %v", name, tool.Annotations.ReadOnlyHint)
		}
		destructive := tool.Annotations.DestructiveHint != nil && *tool.Annotations.DestructiveHint
		if destructive != (name == "delete_task") && !readOnly {
			t.Errorf("%s: destructiveHint %v", name, destructive)
		}
	}
	if !slices.Equal(requiredOf(t, byName["add_task"]), []string{"title"}) {
		t.Errorf("add_task requires %v", requiredOf(t, byName["add_task"]))
	}
}

func requiredOf(t *testing.T, tool *sdk.Tool) []string {
	raw, _ := json.Marshal(tool.InputSchema)
	var schema struct{ Required []string }
	_ = json.Unmarshal(raw, &schema)
	return schema.Required
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestToolErrors: every bad argument, a missing task and a full quota are
// tool results with isError and the REST API's words — never a protocol
// error. The calls are logged and counted without their arguments.
func TestToolErrors(t *testing.T) {
	s := newServer(t, stores[0].open, api.RateLimit{})
	s.service.TaskQuota = 2
	tok := token(t, "carol")
	a := connect(t, s, tok)

	// Every bad field at once, in the REST API's words.
	var p problem
	a.call("add_task", map[string]any{"title": 5, "priority": "urgent", "tags": "home", "due_date": "soon"}, true, &p)
	status, body := rest(t, s, tok, "POST", "/api/me/tasks", map[string]any{"title": 5, "priority": "urgent", "tags": "home", "due_date": "soon"})
	var viaREST problem
	_ = json.Unmarshal(body, &viaREST)
	if status != 422 || p.Status != 422 || len(p.Errors) != 4 {
		t.Fatalf("add_task with four bad fields: %+v (REST %d %s)", p, status, body)
	}
	for _, f := range []string{"title", "priority", "tags", "due_date"} {
		if p.field(f) == "" || p.field(f) != viaREST.field("body."+f) {
			t.Errorf("%s: tool says %q, REST says %q", f, p.field(f), viaREST.field("body."+f))
		}
	}
	if !strings.Contains(text(a.call("add_task", map[string]any{}, true, &p)), "title: is required") || p.field("title") != "is required" {
		t.Errorf("add_task without title: %+v", p)
	}
	a.call("add_task", map[string]any{"title": strings.Repeat("x", 201)}, true, &p)
	if p.field("title") != "must be at most 200 characters" {
		t.Errorf("long title: %+v", p)
	}
	a.call("list_tasks", map[string]any{"status": "done", "limit": 0, "sort": 7}, true, &p)
	if p.field("status") == "" || p.field("limit") == "" || p.field("sort") != "must be a string" {
		t.Errorf("list_tasks bad filters: %+v", p)
	}
	for _, args := range []map[string]any{{}, {"task_id": nil}, {"task_id": true}} {
		a.call("get_task", args, true, &p)
		if p.Status != 422 || p.field("task_id") == "" {
			t.Errorf("get_task %v: %+v", args, p)
		}
	}
	for _, id := range []any{0, -3, "abc", 1 << 62} {
		a.call("get_task", map[string]any{"task_id": id}, true, &p)
		if p.Status != 404 || p.Detail != "task not found" {
			t.Errorf("get_task %v: %+v", id, p)
		}
	}
	a.call("get_task", map[string]any{"task_id": 1, "user_id": 12}, true, &p)
	if p.field("user_id") != "must be a string" {
		t.Errorf("numeric user_id: %+v", p)
	}

	// The quota, and writes made conditional on the version an agent read.
	var task struct {
		ID      int64  `json:"id"`
		Title   string `json:"title"`
		Version int64  `json:"version"`
	}
	a.call("add_task", map[string]any{"title": "one"}, false, &task)
	read := task.Version
	a.call("update_task", map[string]any{"task_id": task.ID, "title": "one, renamed", "version": read}, false, &task)
	if task.Version != read+1 {
		t.Fatalf("conditional update: %+v", task)
	}
	for _, tool := range []string{"update_task", "complete_task", "delete_task"} {
		a.call(tool, map[string]any{"task_id": task.ID, "title": "stale", "version": read}, true, &p)
		if p.Status != 412 {
			t.Errorf("%s with a stale version: %+v", tool, p)
		}
	}
	a.call("get_task", map[string]any{"task_id": task.ID}, false, &task)
	if task.Title != "one, renamed" || task.Version != read+1 {
		t.Fatalf("a stale write changed the task: %+v", task)
	}
	a.call("complete_task", map[string]any{"task_id": task.ID, "version": "new"}, true, &p)
	if p.field("version") == "" {
		t.Errorf("version of the wrong type: %+v", p)
	}
	a.call("add_task", map[string]any{"title": "two"}, false, nil)
	a.call("add_task", map[string]any{"title": "three"}, true, &p)
	if p.Status != 422 || !strings.Contains(p.Detail, "quota") {
		t.Fatalf("over quota: %+v", p)
	}

	// Arguments that are not an object are the SDK's to refuse; whatever
	// it answers is not a 500.
	resp := postRaw(t, s, tok, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_task","arguments":[1]}}`)
	if resp >= 500 {
		t.Errorf("arguments as an array: HTTP %d", resp)
	}

	// One log line per call, naming tool, outcome and user, never the text.
	logs := s.logs.String()
	for _, want := range []string{`"tool":"add_task","outcome":"invalid","user_id":"carol"`,
		`"tool":"add_task","outcome":"quota"`, `"tool":"get_task","outcome":"not_found"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no log line with %s in\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "three") || strings.Contains(logs, "urgent") {
		t.Errorf("the log holds argument text:\n%s", logs)
	}
	_, body = rest(t, s, "", "GET", "/metrics", nil)
	for _, want := range []string{`todoapi_mcp_tool_calls_total{outcome="ok",tool="add_task"} 2`,
		`todoapi_mcp_tool_calls_total{outcome="quota",tool="add_task"} 1`,
		`todoapi_mcp_tool_calls_total{outcome="not_found",tool="get_task"} 4`,
		`todoapi_mcp_tool_calls_total{outcome="conflict",tool="delete_task"} 1`,
		`todoapi_mcp_tool_calls_total{outcome="error",tool="delete_task"} 0`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func postRaw(t *testing.T, s *server, tok, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestAuthentication: /mcp without a usable token is a 401 that points at
// the protected resource metadata, which is served at both well-known
// paths.
func TestAuthentication(t *testing.T) {
	s := newServer(t, stores[0].open, api.RateLimit{})
	metadata := s.url + "/.well-known/oauth-protected-resource/mcp"
	for tok, challenge := range map[string]string{
		"":                           `Bearer resource_metadata="` + metadata + `"`,
		"not-a-token":                `Bearer error="invalid_token", resource_metadata="` + metadata + `"`,
		token(t, "x")[:40] + "x.y.z": `Bearer error="invalid_token", resource_metadata="` + metadata + `"`,
	} {
		req, _ := http.NewRequest("POST", s.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != challenge {
			t.Errorf("token %q: %d, WWW-Authenticate %q; want 401, %q", tok, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), challenge)
		}
	}
	// A browser-based client of an allowed origin can read the challenge.
	req, _ := http.NewRequest("POST", s.url+"/mcp", strings.NewReader(`{}`))
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Www-Authenticate") {
		t.Errorf("cross-origin 401: %d, Expose-Headers %q", resp.StatusCode, resp.Header.Get("Access-Control-Expose-Headers"))
	}

	// Stateless: no stream to open (GET) or session to end (DELETE).
	for _, method := range []string{"GET", "DELETE"} {
		status, body := rest(t, s, token(t, "x"), method, "/mcp", nil)
		if status != 405 || !bytes.Contains(body, []byte(`"status":405`)) {
			t.Errorf("%s /mcp: %d %s", method, status, body)
		}
	}
	for _, path := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"} {
		status, body := rest(t, s, "", "GET", path, nil)
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		if status != 200 || doc["resource"] != s.url+"/mcp" ||
			fmt.Sprint(doc["authorization_servers"]) != "[https://auth.example.com/api/auth]" ||
			fmt.Sprint(doc["bearer_methods_supported"]) != "[header]" {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
}

// TestRateLimitShared: a user's agent and frontend spend one bucket, and
// another user is not affected.
func TestRateLimitShared(t *testing.T) {
	const burst = 5
	s := newServer(t, stores[0].open, api.RateLimit{RPS: 0.001, Burst: burst})
	limited := func(err error) bool { return err != nil && strings.Contains(err.Error(), "Too Many Requests") }

	// The agent spends the bucket; then the REST API refuses too.
	dave := token(t, "dave")
	a := connect(t, s, dave)
	calls := 0
	for ; calls <= burst; calls++ {
		if _, err := a.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "list_tags"}); limited(err) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if calls == 0 || calls > burst {
		t.Fatalf("%d tool calls before a 429, want 1 to %d", calls, burst)
	}
	if status, _ := rest(t, s, dave, "GET", "/api/me/tasks", nil); status != 429 {
		t.Fatalf("REST after the agent spent the bucket: %d, want 429", status)
	}

	// The frontend spends the bucket; then the agent is refused too.
	frank := token(t, "frank")
	b := connect(t, s, frank)
	for i := 0; ; i++ {
		status, _ := rest(t, s, frank, "GET", "/api/me/tasks", nil)
		if status == 429 {
			break
		}
		if i > burst {
			t.Fatalf("no 429 after %d REST calls", i)
		}
	}
	if _, err := b.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "list_tags"}); !limited(err) {
		t.Fatalf("tool call after the frontend spent the bucket: %v, want a 429", err)
	}

	// A bystander is unaffected.
	connect(t, s, token(t, "erin")).call("list_tags", nil, false, nil)
}

// TestFailedTokenThrottle: bad tokens sent to /mcp spend their address's
// budget as they do at /api, and once it is spent they get 429; a valid
// token from the same address is still served.
func TestFailedTokenThrottle(t *testing.T) {
	s := newServer(t, stores[0].open, api.RateLimit{}, func(c *api.Config) {
		c.AuthFailureLimit = api.RateLimit{RPS: 0.001, Burst: 3}
	})
	bad := func() int {
		return postRaw(t, s, "not.a.token", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	}
	var got []int
	for range 4 {
		got = append(got, bad())
	}
	if !slices.Equal(got, []int{401, 401, 401, 429}) {
		t.Fatalf("bad tokens at /mcp: %v, want three 401s then 429", got)
	}
	if status, _ := rest(t, s, "not.a.token", "GET", "/api/me/tasks", nil); status != 429 {
		t.Errorf("a bad token at /api after /mcp spent the budget: %d, want 429", status)
	}
	// The valid token from the same address is served.
	connect(t, s, token(t, "grace")).call("list_tags", nil, false, nil)
}

// An agent that completes a repeating task gets its next occurrence, as a
// REST client does: the rule is the service's.
func TestCompleteRecurringTask(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind.name, func(t *testing.T) {
			s := newServer(t, kind.open, api.RateLimit{})
			alice := connect(t, s, token(t, "alice"))
			var created map[string]any
			alice.call("add_task", map[string]any{
				"title": "Stand-up", "due_date": "2026-03-27T08:00:00Z", "recurrence": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
				"timezone": "Europe/Berlin", "remind_at": "2026-03-27T07:45:00Z",
			}, false, &created)
			if created["recurrence"] != "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" || created["timezone"] != "Europe/Berlin" {
				t.Fatalf("add_task: %v", created)
			}
			var done map[string]any
			alice.call("complete_task", map[string]any{"task_id": created["id"]}, false, &done)
			nextID, ok := done["next_occurrence_id"].(float64)
			if !ok {
				t.Fatalf("complete_task: next_occurrence_id = %v", done["next_occurrence_id"])
			}
			var next map[string]any
			alice.call("get_task", map[string]any{"task_id": nextID}, false, &next)
			if next["due_date"] != "2026-03-30T07:00:00Z" || next["remind_at"] != "2026-03-30T06:45:00Z" || next["completed"] != false {
				t.Errorf("next occurrence: %v", next)
			}
			// Retrying the completion creates nothing more.
			alice.call("complete_task", map[string]any{"task_id": created["id"]}, false, &done)
			var page map[string]any
			alice.call("list_tasks", map[string]any{}, false, &page)
			if page["total"] != float64(2) {
				t.Errorf("%v tasks after completing twice, want 2", page["total"])
			}
		})
	}
}
