package mcp_test

import (
	"bufio"
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
