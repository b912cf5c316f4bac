package mcp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	api "github.com/todoapi/todoapi/http"
)

// BenchmarkServer measures one request through the whole server — edge
// middleware, bearer check (a cached token), rate limit, the MCP SDK or
// huma, the domain service and SQLite — as a tool call and as the same
// REST operation, in process (httptest.ResponseRecorder: no network, no
// client), so that ns/op and allocs/op are the server's alone.
//
//	go test -run '^$' -bench BenchmarkServer -benchmem ./mcp
func BenchmarkServer(b *testing.B) {
	s := newServer(b, stores[0].open, api.RateLimit{})
	tok := token(b, "bench")
	h := s.handler

	// Twenty tasks, as a user's list might hold.
	var id int64
	for i := range 20 {
		status, body := rest(b, s, tok, "POST", "/api/me/tasks", map[string]any{"title": fmt.Sprintf("Task %d", i), "tags": []string{"home"}})
		if status != 201 {
			b.Fatalf("seed: %d %s", status, body)
		}
		if i == 0 {
			fmt.Sscanf(string(body), `{"id":%d`, &id)
		}
	}

	restReq := func(method, path, body string) func() *http.Request {
		return func() *http.Request {
			r := httptest.NewRequest(method, path, strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+tok)
			if body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			return r
		}
	}
	toolReq := func(tool, args string) func() *http.Request {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}}`
		return func() *http.Request {
			r := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json, text/event-stream")
			return r
		}
	}
	for _, c := range []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"get/rest", restReq("GET", fmt.Sprintf("/api/me/tasks/%d", id), ""), 200},
		{"get/mcp", toolReq("get_task", fmt.Sprintf(`{"task_id":%d}`, id)), 200},
		{"list20/rest", restReq("GET", "/api/me/tasks", ""), 200},
		{"list20/mcp", toolReq("list_tasks", `{}`), 200},
		{"update/rest", restReq("PUT", fmt.Sprintf("/api/me/tasks/%d", id), `{"priority":"high"}`), 200},
		{"update/mcp", toolReq("update_task", fmt.Sprintf(`{"task_id":%d,"priority":"high"}`, id)), 200},
	} {
		b.Run(c.name, func(b *testing.B) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, c.req())
			if rec.Code != c.want || bytes.Contains(rec.Body.Bytes(), []byte(`"isError":true`)) {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, c.req())
				if rec.Code != c.want {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkOverHTTP measures the same read as a client sees it over a
// loopback connection: the REST API with net/http's client, the tool with
// the Go SDK's client session (allocations are the client's and the
// server's together).
//
//	go test -run '^$' -bench BenchmarkOverHTTP -benchmem ./mcp
func BenchmarkOverHTTP(b *testing.B) {
	s := newServer(b, stores[0].open, api.RateLimit{})
	tok := token(b, "bench")
	status, body := rest(b, s, tok, "POST", "/api/me/tasks", map[string]any{"title": "Buy milk"})
	if status != 201 {
		b.Fatalf("seed: %d %s", status, body)
	}
	var id int64
	fmt.Sscanf(string(body), `{"id":%d`, &id)

	b.Run("get/rest", func(b *testing.B) {
		client := &http.Client{}
		url := fmt.Sprintf("%s/api/me/tasks/%d", s.url, id)
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
	b.Run("get/mcp", func(b *testing.B) {
		a := connect(b, s, tok)
		b.ReportAllocs()
		for b.Loop() {
			res, err := a.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "get_task", Arguments: map[string]any{"task_id": id}})
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
		}
	})
}
