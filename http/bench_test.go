package http

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
)

// benchTasks returns n tasks as a user's list holds them: half with a
// description, some with tags and a due date.
func benchTasks(n int) []todoapi.Task {
	at := time.Date(2026, 11, 1, 9, 30, 0, 123456000, time.UTC)
	desc := "Some details that a user wrote down so as not to forget them."
	tasks := make([]todoapi.Task, n)
	for i := range tasks {
		t := todoapi.Task{
			ID: int64(1000 + i), UserID: "user-7f3a9c", Title: fmt.Sprintf("Task number %d: call the plumber about the sink", i),
			Priority: todoapi.Priorities[i%3], Tags: [][]string{{"home"}, {"work", "urgent"}, {}}[i%3],
			CreatedAt: at.Add(time.Duration(i) * time.Minute), UpdatedAt: at.Add(time.Duration(i) * time.Hour),
		}
		if i%2 == 0 {
			t.Description = &desc
		}
		if i%3 == 0 {
			due := at.Add(time.Duration(i) * 24 * time.Hour)
			t.DueDate = &due
		}
		if i%4 == 0 {
			t.Completed, t.CompletedAt = true, &t.UpdatedAt
		}
		tasks[i] = t
	}
	return tasks
}

// BenchmarkEncodeTasks measures encoding a list response body: 20 tasks (a
// typical list) and 1 000 (the largest page), as the server does it
// (encodeJSON) and, for comparison, as encoding/json does it.
//
//	go test -run '^$' -bench BenchmarkEncodeTasks -benchmem ./http
func BenchmarkEncodeTasks(b *testing.B) {
	for _, n := range []int{20, 1000} {
		tasks := benchTasks(n)
		for _, enc := range []struct {
			name   string
			encode func(*bytes.Buffer, any) error
		}{
			{"server", encodeJSON},
			{"encoding-json", func(buf *bytes.Buffer, v any) error { return huma.DefaultJSONFormat.Marshal(buf, v) }},
		} {
			b.Run(fmt.Sprint(n, "/", enc.name), func(b *testing.B) {
				var buf bytes.Buffer
				b.ReportAllocs()
				for b.Loop() {
					buf.Reset()
					if err := enc.encode(&buf, tasks); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(buf.Len()))
			})
		}
	}
}

// benchService answers every call from memory, so that BenchmarkRequest
// measures the HTTP layer alone.
type benchService struct {
	todoapi.TaskService
	tasks []todoapi.Task
}

func (s benchService) Task(_ context.Context, u todoapi.User, id int64) (todoapi.Task, error) {
	t := s.tasks[0]
	t.UserID = u.ID
	return t, nil
}

func (s benchService) ListTasks(context.Context, todoapi.User, todoapi.ListQuery) (todoapi.TaskPage, error) {
	return todoapi.TaskPage{Tasks: s.tasks, Total: len(s.tasks)}, nil
}

func (s benchService) CompleteTask(_ context.Context, u todoapi.User, id int64, _ todoapi.Field[bool], _ ...todoapi.Precondition) (todoapi.Completion, error) {
	t, err := s.Task(context.Background(), u, id)
	return todoapi.Completion{Task: t}, err
}

// BenchmarkRequest measures a request through the whole HTTP layer as the
// server runs it (request id, JSON request log, metrics, security headers,
// CORS, huma, HS256 authentication, the rate limiter, the path check and
// the response's JSON), with a service that answers from memory. "cache"
// is a client that repeats its token, as browsers do; "nocache" verifies
// the signature on every request. auth's BenchmarkVerify compares the
// algorithms.
//
//	go test -run '^$' -bench BenchmarkRequest -benchmem ./http
func BenchmarkRequest(b *testing.B) {
	for _, cache := range []struct {
		name string
		size int
	}{{"cache", 0}, {"nocache", -1}} {
		verifier, err := auth.NewVerifier(auth.Config{Secret: testSecret, CacheSize: cache.size})
		if err != nil {
			b.Fatal(err)
		}
		h := NewHandler(Config{
			Tasks:         benchService{tasks: benchTasks(20)},
			Verifier:      verifier,
			Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
			CORSOrigins:   []string{"http://localhost:3000"},
			UserRateLimit: RateLimit{RPS: 1e6, Burst: 1e6},
			Version:       "bench",
		})
		tok := token(b, "user-7f3a9c")
		for _, c := range []struct{ name, method, path string }{
			{"list20", http.MethodGet, "/api/user-7f3a9c/tasks"},
			{"get", http.MethodGet, "/api/user-7f3a9c/tasks/1000"},
			{"toggle", http.MethodPatch, "/api/user-7f3a9c/tasks/1000/complete"},
		} {
			b.Run(c.name+"/"+cache.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(c.method, c.path, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s %s: %d %s", c.method, c.path, rec.Code, strings.TrimSpace(rec.Body.String()))
					}
				}
			})
		}
	}
}
