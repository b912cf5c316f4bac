package http

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rawExchange sends raw bytes on a new TCP connection to srv and reads one
// response. The deadline only keeps a broken server from hanging the test:
// a correct one answers at once, without the rest of the body.
func rawExchange(t *testing.T, srv *httptest.Server, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response without the body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestMalformedChunkedBody: a chunked body with a broken chunk length is a
// 400 on every route that takes a body, on both stores, with the server's
// own words: no Go error text. The cause is logged with the request id.
func TestMalformedChunkedBody(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		srv := httptest.NewServer(e.handler)
		t.Cleanup(srv.Close)
		tok := token(t, "alice")
		task := e.create(t, tok, `{"title":"target"}`)
		for _, route := range []struct{ method, path string }{
			{"POST", "/api/me/tasks"},
			{"PUT", taskPath("me", task.ID)},
			{"PATCH", taskPath("me", task.ID)},
			{"PATCH", completePath("me", task.ID)},
			{"POST", "/api/me/tasks/" + fmt.Sprint(task.ID) + "/toggle"},
			{"POST", "/api/tasks"},
		} {
			for name, chunks := range map[string]string{
				"bad length":     "zz\r\n{}\r\n0\r\n\r\n",
				"length too big": "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
				"no CRLF":        "2\r\n{}XX0\r\n\r\n",
			} {
				raw := route.method + " " + route.path + " HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + tok +
					"\r\nContent-Type: application/json\r\nX-Request-ID: chunk-" + strings.ReplaceAll(name, " ", "-") +
					"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
				resp, body := rawExchange(t, srv, raw)
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%s %s, %s: %d %s, want 400", route.method, route.path, name, resp.StatusCode, body)
					continue
				}
				if strings.Contains(body, "chunk length") || strings.Contains(body, "invalid byte") || !strings.Contains(body, "not valid HTTP") {
					t.Errorf("%s %s, %s: body %s", route.method, route.path, name, body)
				}
			}
		}
		if logs := e.logs.String(); !strings.Contains(logs, `"msg":"request body unreadable"`) || !strings.Contains(logs, `"request_id":"chunk-bad-length"`) {
			t.Errorf("the cause is not logged with the request id:\n%s", logs)
		}
		if got := e.get(t, tok, task.ID); got.Title != "target" || got.Completed {
			t.Errorf("the task changed: %+v", got)
		}
	})
}

// TestOversizeContentLengthRefusedAtOnce: a body announced larger than
// MAX_BODY_BYTES is a 413 before any of it is sent; with "Expect:
// 100-continue" the server never says "100 Continue".
func TestOversizeContentLengthRefusedAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withMaxBody(1024))
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	tok := token(t, "alice")
	head := "POST /api/me/tasks HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + tok + "\r\nContent-Type: application/json\r\n"

	// The headers and the start of a body that never comes.
	resp, body := rawExchange(t, srv, head+"Content-Length: 50000000\r\n\r\n{\"title\":")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "1024 bytes") {
		t.Errorf("Content-Length over the limit: %d %s, want 413 naming the limit", resp.StatusCode, body)
	}

	resp, body = rawExchange(t, srv, head+"Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n")
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("Expect: 100-continue with 50 MB announced: %d %s, want 413 (and no 100 Continue)", resp.StatusCode, body)
	}

	// At the limit is fine, with or without Expect.
	small := `{"title":"` + strings.Repeat("a", 100) + `"}`
	resp, body = rawExchange(t, srv, head+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(small))+small)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("small body: %d %s", resp.StatusCode, body)
	}
	if n := len(e.list(t, tok)); n != 1 {
		t.Errorf("%d tasks stored, want 1", n)
	}
}
