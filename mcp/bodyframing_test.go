package mcp_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	api "github.com/todoapi/todoapi/http"
)

// TestMCPBodyFraming: /mcp guards its bodies as /api does: a malformed
// chunked body is a 400 in the service's own words, and a body announced
// larger than the limit is a 413 at once, without "100 Continue".
func TestMCPBodyFraming(t *testing.T) {
	s := newServer(t, stores[0].open, api.RateLimit{})
	u, _ := url.Parse(s.url)
	head := "POST /mcp HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + token(t, "alice") +
		"\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
	exchange := func(raw string) (int, string) {
		t.Helper()
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // only against a hang
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := exchange(head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
	if status != http.StatusBadRequest || strings.Contains(body, "chunk length") || !strings.Contains(body, "not valid HTTP") {
		t.Errorf("malformed chunked body: %d %s", status, body)
	}
	status, body = exchange(head + "Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n")
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("50 MB announced with Expect: 100-continue: %d %s, want 413", status, body)
	}
}

// TestMCPRefusalsAreProblems: a body the MCP SDK cannot take as JSON-RPC,
// or a wrong Content-Type, is refused as every other bad request is: a
// problem document with the status the SDK chose, in the service's words,
// never the SDK's text naming Go types and decoder internals.
func TestMCPRefusalsAreProblems(t *testing.T) {
	s := newServer(t, stores[0].open, api.RateLimit{})
	for _, c := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"not JSON", "application/json", "notjson", http.StatusBadRequest},
		{"method not a string", "application/json", `{"jsonrpc":"2.0","id":1,"method":5}`, http.StatusBadRequest},
		{"id an object", "application/json", `{"jsonrpc":"2.0","id":{},"method":"tools/list"}`, http.StatusBadRequest},
		{"wrong version", "application/json", `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`, http.StatusBadRequest},
		{"not JSON content", "text/plain", `{}`, http.StatusUnsupportedMediaType},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.url+"/mcp", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token(t, "alice"))
			req.Header.Set("Content-Type", c.contentType)
			req.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var p struct {
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal(b, &p); err != nil || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				t.Fatalf("%d %s %q: not a problem document", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if resp.StatusCode != c.status || p.Status != c.status || p.Detail == "" {
				t.Errorf("%d %q, want a %d problem", resp.StatusCode, b, c.status)
			}
			for _, leak := range []string{"Go value", "unmarshal", "map[", "malformed payload"} {
				if strings.Contains(string(b), leak) {
					t.Errorf("answer %q shows the SDK's internals (%q)", b, leak)
				}
			}
		})
	}
}

// TestMCPParamsOfTheWrongShape: params the SDK cannot decode get a
// JSON-RPC invalid-params error in the service's words, naming the field
// and its JSON type when there is one, never the SDK's Go types.
func TestMCPParamsOfTheWrongShape(t *testing.T) {
	s := newServer(t, stores[0].open, api.RateLimit{})
	for _, c := range []struct{ body, want string }{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":5}`, "tools/call takes a JSON object"},
		{`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":5}}`, "params.name must be a string"},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/list","params":[1]}`, "tools/list takes a JSON object"},
		{`{"jsonrpc":"2.0","id":4,"method":"initialize","params":"x"}`, "initialize takes a JSON object"},
	} {
		req, err := http.NewRequest(http.MethodPost, s.url+"/mcp", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token(t, "alice"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var answer struct {
			ID    int `json:"id"`
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &answer); err != nil {
			t.Fatalf("%s: %d %q is not JSON-RPC: %v", c.body, resp.StatusCode, b, err)
		}
		if answer.Error.Code != -32602 || !strings.Contains(answer.Error.Message, c.want) || answer.ID == 0 {
			t.Errorf("%s: %s, want invalid params (-32602) saying %q, with the request's id", c.body, b, c.want)
		}
		for _, leak := range []string{"Go value", "Go struct", "unmarshal", "mcp."} {
			if strings.Contains(string(b), leak) {
				t.Errorf("%s: %s shows the SDK's internals (%q)", c.body, b, leak)
			}
		}
	}
}
