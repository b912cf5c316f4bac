package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/internal/storetest"
	"github.com/todoapi/todoapi/sqlite"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openMigrated(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s := open(t, path)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) todoapi.Store {
		return openMigrated(t, filepath.Join(t.TempDir(), "todo.db"))
	})
}

func TestReopenSeesCommittedData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "todo.db")
	s := openMigrated(t, path)
	if err := s.UpsertUser(ctx, todoapi.User{ID: "alice"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	created, err := storetest.CreateTask(s, ctx, todoapi.Task{
		UserID: "alice", Title: "durable", Priority: todoapi.PriorityHigh,
		Tags: []string{"x"}, CreatedAt: now, UpdatedAt: now,
	}, todoapi.DefaultTaskQuota)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	again := open(t, path)
	got, err := again.Task(ctx, "alice", created.ID)
	if err != nil {
		t.Fatalf("Task after reopen: %v", err)
	}
	if got.Title != "durable" || !got.CreatedAt.Equal(now) || !slices.Equal(got.Tags, []string{"x"}) {
		t.Fatalf("Task after reopen = %+v, want %+v", got, created)
	}
}

func TestConnectionSettings(t *testing.T) {
	s := openMigrated(t, filepath.Join(t.TempDir(), "todo.db"))
	for _, writer := range []bool{true, false} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"busy_timeout": "5000",
			"synchronous":  "2", // FULL
		} {
			got, err := s.Pragma(t.Context(), writer, pragma)
			if err != nil {
				t.Fatalf("PRAGMA %s: %v", pragma, err)
			}
			if got != want {
				t.Errorf("writer=%v: PRAGMA %s = %s, want %s", writer, pragma, got, want)
			}
		}
	}
	if got := s.WriterMaxOpen(); got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
	if got, _ := s.Pragma(t.Context(), false, "query_only"); got != "1" {
		t.Errorf("reader PRAGMA query_only = %s, want 1", got)
	}
}

func TestConcurrentMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "todo.db")
	storetest.ConcurrentMigrate(t, func(t *testing.T) storetest.MigrationCounter {
		return open(t, path)
	}, os.DirFS("migrations"))
}

func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir#1")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "to?do%20&x=1.db")
	s := openMigrated(t, path)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not created at the given path: %v", err)
	}
}

func TestOpenRejects(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:todo.db"} {
		if s, err := sqlite.Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "todo.db")
	_, err := sqlite.Open(t.Context(), missing)
	if !errors.Is(err, todoapi.ErrDatabaseUnavailable) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open in a missing directory: err = %v, want ErrDatabaseUnavailable naming the path", err)
	}
}

func TestMigrateCanceled(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "todo.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Migrate(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Migrate with canceled context: err = %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate after a canceled one: %v", err)
	}
}

// TestDecodeTags checks the hand-split fast path against encoding/json.
func TestDecodeTags(t *testing.T) {
	for _, in := range []string{
		`[]`, `["a"]`, `["home","work"]`, `["Été","日本","a/b"]`, `["with \"quote\""]`, `["a\\b","c"]`,
		`["\u003cb\u003e"]`, `[ "spaced" , "out" ]`, `["a", "b"]`, `[""]`, `["",""]`,
	} {
		got, err := sqlite.DecodeTags(in)
		var want []string
		if jerr := json.Unmarshal([]byte(in), &want); jerr != nil || err != nil {
			t.Fatalf("%s: %v / %v", in, err, jerr)
		}
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) || got == nil {
			t.Errorf("decodeTags(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestTickets(t *testing.T) {
	storetest.Tickets(t, func(t *testing.T) todoapi.TicketStore {
		return openMigrated(t, filepath.Join(t.TempDir(), "todo.db"))
	})
}

// TestSearchEitherWay runs the filter cases of the contract with every
// search of three characters or more forced through the trigram index, and
// with every one forced to scan: both give exactly the same results, which
// lets the store choose per search by cost alone.
func TestSearchEitherWay(t *testing.T) {
	for _, index := range []bool{true, false} {
		t.Run(map[bool]string{true: "index", false: "scan"}[index], func(t *testing.T) {
			s := openMigrated(t, filepath.Join(t.TempDir(), "todo.db"))
			s.ForceSearchIndex(index)
			storetest.CheckListFilters(t, s)
		})
	}
}

// TestSearchIndexFollowsWrites: the trigram index is brought up to date
// at the end of each batch of writes (migration 0011), so every search
// read through it after a write's answer sees that write: creates made at
// once (batched together), a retitle and a deletion.
func TestSearchIndexFollowsWrites(t *testing.T) {
	s := openMigrated(t, filepath.Join(t.TempDir(), "todo.db"))
	s.ForceSearchIndex(true)
	svc := todoapi.NewService(s)
	ctx := t.Context()
	user := todoapi.User{ID: "alice"}
	search := func(term string) []string {
		t.Helper()
		page, err := svc.ListTasks(ctx, user, todoapi.ListQuery{Q: term})
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, task := range page.Tasks {
			titles = append(titles, task.Title)
		}
		slices.Sort(titles)
		return titles
	}
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value(fmt.Sprintf("walnut %02d", i))})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := search("walnut"); len(got) != n {
		t.Fatalf("after %d creates at once, a search finds %d: %q", n, len(got), got)
	}
	first, err := svc.ListTasks(ctx, user, todoapi.ListQuery{Q: "walnut 00"})
	if err != nil || len(first.Tasks) != 1 {
		t.Fatalf("walnut 00: %v, %v", first.Tasks, err)
	}
	id := first.Tasks[0].ID
	if _, err := svc.UpdateTask(ctx, user, id, todoapi.TaskPatch{Title: todoapi.Value("hazelnut")}); err != nil {
		t.Fatal(err)
	}
	if got := search("walnut 00"); len(got) != 0 {
		t.Errorf("after a retitle, the old title is still found: %q", got)
	}
	if got := search("hazelnut"); !slices.Equal(got, []string{"hazelnut"}) {
		t.Errorf("after a retitle, the new title: %q", got)
	}
	if err := svc.DeleteTask(ctx, user, id); err != nil {
		t.Fatal(err)
	}
	if got := search("hazelnut"); len(got) != 0 {
		t.Errorf("after a delete, still found: %q", got)
	}
	if got := search("walnut"); len(got) != n-1 {
		t.Errorf("the other tasks: %d found, want %d", len(got), n-1)
	}
}
