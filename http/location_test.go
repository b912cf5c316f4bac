package http

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestLocationResolvesForEveryUserID: the Location of a new task leads to
// that task whatever its owner's id looks like — ids that are path words of
// the API (tasks, tags, me), dot segments, or hold characters that need
// escaping. The Location is resolved against the request's URL as a client
// does (RFC 3986: dot segments removed) and followed over a real connection,
// so that the server's own path cleaning and redirects apply.
func TestLocationResolvesForEveryUserID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	for _, sub := range []string{
		"tasks", "tags", "me", "..", ".", "a/b", "a//b", "a/../b", "/lead", "trail/", "a/./b",
		"50%", "%2F", "%", "a b", " spaced ", "a?b", "a#b", "a;b", "ü ñ", "a\\b", "toggle", "complete", "search",
	} {
		t.Run(url.PathEscape(sub), func(t *testing.T) {
			tok := token(t, sub)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/me/tasks", strings.NewReader(`{"title":"where am I"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			created := readBody(t, resp)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("create: %d %s", resp.StatusCode, created)
			}
			task := decodeTask(t, created)
			if task.UserID != sub {
				t.Fatalf("user_id %q, want %q", task.UserID, sub)
			}
			loc := resp.Header.Get("Location")
			ref, err := url.Parse(loc)
			if err != nil || !strings.HasPrefix(loc, "/api/") {
				t.Fatalf("Location %q is not a path-absolute URL: %v", loc, err)
			}
			target := req.URL.ResolveReference(ref)

			get, _ := http.NewRequest(http.MethodGet, target.String(), nil)
			get.Header.Set("Authorization", "Bearer "+tok)
			resp, err = client.Do(get)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET Location %q (resolved %q): %d %s", loc, target, resp.StatusCode, body)
			}
			if got := decodeTask(t, body); got.ID != task.ID || got.UserID != sub {
				t.Errorf("GET Location %q: task %d of %q, want %d of %q", loc, got.ID, got.UserID, task.ID, sub)
			}
		})
	}
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
