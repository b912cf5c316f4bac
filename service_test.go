package todoapi_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/sqlite"
)

// countingStore is the real SQLite store, counting the user upserts that
// reach it.
type countingStore struct {
	*sqlite.Store
	upserts atomic.Int32
}

func (s *countingStore) UpsertUser(ctx context.Context, u todoapi.User, seen time.Time) error {
	s.upserts.Add(1)
	return s.Store.UpsertUser(ctx, u, seen)
}

func newService(t *testing.T) (*todoapi.Service, *countingStore) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir()+"/todo.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: db}
	return todoapi.NewService(store), store
}

// The users table is filled from tokens without a write per request: one
// upsert when a user is first seen, another only when the profile changes
// or the last-seen time is stale.
func TestUsersRecordedWithoutAWritePerRequest(t *testing.T) {
	svc, store := newService(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	alice := todoapi.User{ID: "alice", Email: "alice@example.com"}

	task, err := svc.CreateTask(ctx, alice, todoapi.TaskPatch{Title: todoapi.Value("first")})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := svc.ListTasks(ctx, alice, todoapi.ListQuery{}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CompleteTask(ctx, alice, task.ID, todoapi.Field[bool]{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.upserts.Load(); n != 1 {
		t.Fatalf("41 requests by one user made %d upserts; want 1", n)
	}

	renamed := alice
	renamed.Name = "Alice"
	if _, err := svc.Task(ctx, renamed, task.ID); err != nil {
		t.Fatal(err)
	}
	if n := store.upserts.Load(); n != 2 {
		t.Fatalf("a changed profile made %d upserts in all; want 2", n)
	}

	now = now.Add(time.Hour)
	if _, err := svc.Task(ctx, renamed, task.ID); err != nil {
		t.Fatal(err)
	}
	if n := store.upserts.Load(); n != 3 {
		t.Fatalf("an hour later the last-seen time was not refreshed: %d upserts; want 3", n)
	}
}

// A rejected input stores nothing and records no user.
func TestInvalidCreateWritesNothing(t *testing.T) {
	svc, store := newService(t)
	ctx := context.Background()
	bob := todoapi.User{ID: "bob"}
	_, err := svc.CreateTask(ctx, bob, todoapi.TaskPatch{Title: todoapi.Value(" ")})
	if err == nil {
		t.Fatal("blank title accepted")
	}
	if n := store.upserts.Load(); n != 0 {
		t.Errorf("an invalid create upserted the user %d times", n)
	}
	page, err := svc.ListTasks(ctx, bob, todoapi.ListQuery{})
	if err != nil || len(page.Tasks) != 0 {
		t.Fatalf("after a rejected create: %v, %v; want no tasks", page.Tasks, err)
	}
}

// failingPurges is the real SQLite store whose tombstone purge fails, as
// it would with the database in trouble, counting the attempts.
type failingPurges struct {
	*sqlite.Store
	attempts atomic.Int32
}

func (s *failingPurges) PurgeTombstones(context.Context, time.Time, int) (int, error) {
	s.attempts.Add(1)
	return 0, errors.New("database unavailable")
}

// TestPurgeFailureBacksOff: a failing purge does not fail the write that
// triggered it, and is not tried again by every following write, only by
// one a minute later.
func TestPurgeFailureBacksOff(t *testing.T) {
	_, db := newService(t)
	store := &failingPurges{Store: db.Store}
	svc := todoapi.NewService(store)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	user := todoapi.User{ID: "alice"}
	write := func() {
		t.Helper()
		if _, err := svc.CreateTask(t.Context(), user, todoapi.TaskPatch{Title: todoapi.Value("t")}); err != nil {
			t.Fatalf("a write failed with its purge: %v", err)
		}
	}
	for range 5 {
		write()
	}
	if n := store.attempts.Load(); n != 1 {
		t.Fatalf("5 writes made %d purge attempts, want 1", n)
	}
	now = now.Add(59 * time.Second)
	write()
	if n := store.attempts.Load(); n != 1 {
		t.Fatalf("a write 59 s after a failed purge retried it (%d attempts)", n)
	}
	now = now.Add(time.Second)
	write()
	if n := store.attempts.Load(); n != 2 {
		t.Fatalf("a write a minute after a failed purge made %d attempts in all, want 2", n)
	}
}
