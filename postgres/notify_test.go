package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/internal/storetest"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

// TestWritesNotify: every committed write notifies ChangesChannel with the
// user's id, so that other processes' followers wake; a write that stores
// nothing does not.
func TestWritesNotify(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s := openMigrated(t, url)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+postgres.ChangesChannel); err != nil {
		t.Fatal(err)
	}
	expect := func(what, user string) {
		t.Helper()
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("%s: no notification: %v", what, err)
		}
		if n.Channel != postgres.ChangesChannel || n.Payload != user {
			t.Fatalf("%s: notification %q on %q, want %q", what, n.Payload, n.Channel, user)
		}
	}
	if err := s.UpsertUser(ctx, todoapi.User{ID: "alice"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	task, err := storetest.CreateTask(s, ctx, todoapi.Task{UserID: "alice", Title: "t", Priority: todoapi.PriorityLow}, 10)
	if err != nil {
		t.Fatal(err)
	}
	expect("create", "alice")
	if _, err := storetest.UpdateTask(s, ctx, "alice", task.ID, func(t *todoapi.Task) bool { t.Title = "u"; return true }); err != nil {
		t.Fatal(err)
	}
	expect("update", "alice")
	// A refused write (a stale version) and an update that changes nothing
	// notify nobody; the delete that follows does.
	_ = s.Write(ctx, "alice", func(tx todoapi.StoreTx) error { return tx.Delete(ctx, task.ID, 1, time.Now()) })
	if _, err := storetest.UpdateTask(s, ctx, "alice", task.ID, func(*todoapi.Task) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertUser(ctx, todoapi.User{ID: "bob"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.CreateTask(s, ctx, todoapi.Task{UserID: "bob", Title: "t", Priority: todoapi.PriorityLow}, 10); err != nil {
		t.Fatal(err)
	}
	expect("bob's create (nothing in between)", "bob")
	if err := storetest.DeleteTask(s, ctx, "alice", task.ID); err != nil {
		t.Fatal(err)
	}
	expect("delete", "alice")
}
