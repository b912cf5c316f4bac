package http

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestReadDeadlineDoesNotCancelAWaitingRequest: a handler that sets a read
// deadline as huma does before reading an operation's body, and then waits
// past it (for a database that is waking up, say), keeps its request's
// context, with a body and without one.
func TestReadDeadlineDoesNotCancelAWaitingRequest(t *testing.T) {
	t.Parallel()
	const readDeadline = 50 * time.Millisecond
	h := guardReadDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(readDeadline)) // as huma does for a body
		buf := make([]byte, 512)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		select {
		case <-r.Context().Done():
			w.WriteHeader(499)
		case <-time.After(20 * readDeadline): // well past the deadline
			w.WriteHeader(http.StatusOK)
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, c := range []struct{ method, body string }{{"PATCH", ""}, {"POST", `{"title":"t"}`}} {
		req, err := http.NewRequest(c.method, srv.URL, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s with body %q: %d, want 200: a read deadline cancelled a request that had been read", c.method, c.body, res.StatusCode)
		}
	}
}
