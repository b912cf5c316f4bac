package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestBatchRollsBackOnlyTheFailedWrite runs three writes as one batch, the
// second failing after it wrote: the first and third are committed, the
// second leaves nothing behind, and each caller gets its own outcome.
func TestBatchRollsBackOnlyTheFailedWrite(t *testing.T) {
	s := migratedStore(t)
	insert := func(id string) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO users (id, first_seen_at, last_seen_at) VALUES (?, 0, 0)`, id)
			return err
		}
	}
	refused := errors.New("refused")
	jobs := []*job{
		{ctx: t.Context(), fn: insert("first")},
		{ctx: t.Context(), fn: func(ctx context.Context, tx *sql.Tx) error {
			if err := insert("second")(ctx, tx); err != nil {
				return err
			}
			return refused
		}},
		{ctx: t.Context(), fn: insert("third")},
	}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	jobs = append(jobs, &job{ctx: gone, fn: insert("gone")})
	for _, j := range jobs {
		j.done = make(chan error, 1)
	}
	s.group.commit(jobs)

	if err := <-jobs[0].done; err != nil {
		t.Errorf("first write: %v", err)
	}
	if err := <-jobs[1].done; !errors.Is(err, refused) {
		t.Errorf("second write: %v, want its own error", err)
	}
	if err := <-jobs[2].done; err != nil {
		t.Errorf("third write: %v", err)
	}
	if err := <-jobs[3].done; !errors.Is(err, context.Canceled) {
		t.Errorf("write of a caller gone before it started: %v, want context.Canceled", err)
	}
	for id, want := range map[string]int{"first": 1, "second": 0, "third": 1, "gone": 0} {
		var n int
		if err := s.reader.QueryRowContext(t.Context(), `SELECT count(*) FROM users WHERE id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("user %q: %d rows after the batch, want %d", id, n, want)
		}
	}
}

// TestConcurrentWritesAllCommit sends many writes at once through Write:
// each caller gets its own answer and every write is there afterwards,
// however the committer grouped them.
func TestConcurrentWritesAllCommit(t *testing.T) {
	s := migratedStore(t)
	const n = 200
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.group.do(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO users (id, first_seen_at, last_seen_at) VALUES (?, 0, 0)`, i)
				if i%10 == 0 {
					return errors.New("every tenth write fails")
				}
				return err
			})
		}()
	}
	failed := 0
	for range n {
		if err := <-errs; err != nil {
			failed++
		}
	}
	var count int
	if err := s.reader.QueryRowContext(t.Context(), `SELECT count(*) FROM users`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if failed != n/10 || count != n-n/10 {
		t.Errorf("%d writes failed and %d rows stored, want %d and %d", failed, count, n/10, n-n/10)
	}
}

// migratedStore is a new, migrated store in a temporary directory, closed
// when the test ends.
func migratedStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "todo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}
