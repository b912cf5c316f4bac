package http

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
)

// holdingService holds alice's lists with q=hold, and the test's stream
// operation, until release is closed, reporting each on entered: requests
// that stay in flight for as long as the test wants.
type holdingService struct {
	todoapi.TaskService
	entered chan string
	release chan struct{}
}

func (h holdingService) ListTasks(ctx context.Context, u todoapi.User, q todoapi.ListQuery) (todoapi.TaskPage, error) {
	if q.Q == "hold" {
		h.entered <- "list"
		<-h.release
	}
	return h.TaskService.ListTasks(ctx, u, q)
}

// TestUserMaxInFlight: a user with UserMaxInFlight requests in flight gets
// 429 with Retry-After for one more, while another user is served at once
// and the first user's long-lived requests (event streams) neither count
// nor are refused; once the requests finish, the user is served again.
func TestUserMaxInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // for its store and verifier
	hold := holdingService{TaskService: e.config.Tasks, entered: make(chan string), release: make(chan struct{})}
	cfg := e.config
	cfg.Tasks, cfg.UserMaxInFlight = hold, 3
	cfg.CORSOrigins = []string{edgeFrontend}
	// What stands in front of /mcp is under test here, not the MCP server
	// (package mcp tests it): any handler shows whether a call got through.
	cfg.MCP = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	s, h := newServer(cfg)
	stream := huma.Operation{OperationID: "test-stream", Method: http.MethodGet, Path: "/api/{user_id}/test-stream"}
	longLived(&stream)
	register(s, stream, func(ctx context.Context, _ *UserPath) (*struct{}, error) {
		hold.entered <- "stream"
		<-hold.release
		return nil, nil
	})
	e.handler = h

	alice, bob := token(t, "alice"), token(t, "bob")
	var wg sync.WaitGroup
	background := func(path string) {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+alice)
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK && rec.Code != http.StatusNoContent {
				t.Errorf("held %s: %d %s", path, rec.Code, rec.Body)
			}
		})
	}
	released := false
	defer func() {
		if !released {
			close(hold.release)
		}
		wg.Wait()
	}()

	// Two open streams first: they must not use up alice's places.
	for range 2 {
		background("/api/me/test-stream")
		if got := <-hold.entered; got != "stream" {
			t.Fatalf("entered %s, want stream", got)
		}
	}
	for range 3 {
		background("/api/me/tasks?q=hold")
		if got := <-hold.entered; got != "list" {
			t.Fatalf("entered %s, want list", got)
		}
	}

	rec := e.do(t, http.MethodGet, "/api/me/tasks", alice, "", "Origin", edgeFrontend)
	if rec.Status != http.StatusTooManyRequests {
		t.Fatalf("alice's 4th request in flight: %d, want 429", rec.Status)
	}
	if rec.Header.Get("Retry-After") != "1" || rec.Header.Get("Access-Control-Allow-Origin") != edgeFrontend {
		t.Errorf("429 headers: %v", rec.Header)
	}
	if !strings.Contains(string(rec.Body), "in flight") {
		t.Errorf("429 body: %s", rec.Body)
	}
	// Writes count too: a user at the limit cannot start a create.
	if rec := e.do(t, http.MethodPost, "/api/me/tasks", alice, `{"title":"x"}`); rec.Status != http.StatusTooManyRequests {
		t.Errorf("alice's create while at the limit: %d, want 429", rec.Status)
	}
	// MCP tool calls share the bound.
	if rec := e.do(t, http.MethodPost, "/mcp", alice, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		"Accept", "application/json, text/event-stream"); rec.Status != http.StatusTooManyRequests {
		t.Errorf("alice's MCP call while at the limit: %d, want 429", rec.Status)
	}
	if rec := e.do(t, http.MethodPost, "/mcp", bob, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		"Accept", "application/json, text/event-stream"); rec.Status != http.StatusOK {
		t.Errorf("bob's MCP call while alice is at her limit: %d, want 200", rec.Status)
	}
	// The bystander is served at once.
	if rec := e.do(t, http.MethodGet, "/api/me/tasks", bob, ""); rec.Status != http.StatusOK {
		t.Errorf("bob while alice is at her limit: %d %s", rec.Status, rec.Body)
	}
	if rec := e.do(t, http.MethodPost, "/api/me/tasks", bob, `{"title":"bob's"}`); rec.Status != http.StatusCreated {
		t.Errorf("bob's create while alice is at her limit: %d %s", rec.Status, rec.Body)
	}
	// A third stream still opens: streams are not counted, nor refused.
	background("/api/me/test-stream")
	if got := <-hold.entered; got != "stream" {
		t.Fatalf("entered %s, want stream", got)
	}

	close(hold.release)
	released = true
	wg.Wait()
	if rec := e.do(t, http.MethodGet, "/api/me/tasks", alice, ""); rec.Status != http.StatusOK {
		t.Errorf("alice after her requests finished: %d", rec.Status)
	}
	s.inFlight.mu.Lock()
	left := len(s.inFlight.count)
	s.inFlight.mu.Unlock()
	if left != 0 {
		t.Errorf("%d users still counted with nothing in flight", left)
	}
	metrics := string(e.do(t, http.MethodGet, "/metrics", "", "").Body)
	if !strings.Contains(metrics, `todoapi_rate_limited_total{limit="in_flight"} 3`) {
		t.Errorf("metrics do not count the 3 refusals:\n%s", grepLines(metrics, "rate_limited"))
	}
}
