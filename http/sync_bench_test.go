package http

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
	"github.com/todoapi/todoapi/sqlite"
)

// BenchmarkListNotModified compares a full list with the 304 a polling
// client gets for an unchanged list (If-None-Match), through the whole
// HTTP layer on each real store, for a user of 20 and of 1 000 tasks.
//
//	TODOAPI_NO_SKIP=1 go test -run '^$' -bench BenchmarkListNotModified -benchtime 2s ./http
func BenchmarkListNotModified(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		var store testStore
		switch kind {
		case "sqlite":
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "todo.db"))
			if err != nil {
				b.Fatal(err)
			}
			store = s
		case "postgres":
			s, err := postgres.Open(b.Context(), pgtest.NewDatabase(b), postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			store = s
		}
		b.Cleanup(func() { store.Close() })
		if err := store.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		verifier, err := auth.NewVerifier(auth.Config{Secret: testSecret})
		if err != nil {
			b.Fatal(err)
		}
		svc := todoapi.NewService(store)
		h := NewHandler(Config{
			Tasks: svc, Verifier: verifier, Database: store,
			Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
			UserRateLimit: RateLimit{RPS: 1e9, Burst: 1e9},
			Version:       "bench",
		})
		for _, n := range []int{20, 1000} {
			user := fmt.Sprintf("bench-%d", n)
			for i := range n {
				if _, err := svc.CreateTask(b.Context(), todoapi.User{ID: user},
					todoapi.TaskPatch{Title: todoapi.Value(fmt.Sprintf("task %d of a benchmark list", i)), Tags: todoapi.Value([]string{"home", "work"})}); err != nil {
					b.Fatal(err)
				}
			}
			tok := token(b, user)
			do := func(b *testing.B, etag string, want int) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, "/api/me/tasks", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				if etag != "" {
					req.Header.Set("If-None-Match", etag)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != want {
					b.Fatalf("%d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
				}
				return rec
			}
			etag := do(b, "", http.StatusOK).Header().Get("ETag")
			b.Run(fmt.Sprintf("%s/%d/full", kind, n), func(b *testing.B) {
				for b.Loop() {
					do(b, "", http.StatusOK)
				}
			})
			b.Run(fmt.Sprintf("%s/%d/304", kind, n), func(b *testing.B) {
				for b.Loop() {
					do(b, etag, http.StatusNotModified)
				}
			})
		}
	}
}
