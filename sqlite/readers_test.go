package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// TestOneUserCannotTakeEveryReader: while one user's eight parallel
// searches are all in progress (held, by a hook, while they hold their
// reader connections), another user's read is served. The control case,
// with no bound on a user's readers, shows that the held searches would
// otherwise take the whole read pool and leave the other user waiting.
func TestOneUserCannotTakeEveryReader(t *testing.T) {
	for _, bounded := range []bool{true, false} {
		name := map[bool]string{true: "bounded", false: "unbounded control"}[bounded]
		t.Run(name, func(t *testing.T) {
			s := openMigrated(t, filepath.Join(t.TempDir(), "todo.db"))
			pool := s.ReaderPoolSize()
			if !bounded {
				s.SetReadersPerUser(pool)
			}
			perUser := s.ReadersPerUser()
			if bounded && perUser >= pool {
				t.Fatalf("one user may hold %d of %d readers", perUser, pool)
			}
			svc := todoapi.NewService(s)
			ctx := t.Context()
			alice, bob := todoapi.User{ID: "alice"}, todoapi.User{ID: "bob"}
			for _, u := range []todoapi.User{alice, bob} {
				if _, err := svc.CreateTask(ctx, u, todoapi.TaskPatch{Title: todoapi.Value("buy milk")}); err != nil {
					t.Fatal(err)
				}
			}

			entered, release := make(chan struct{}), make(chan struct{})
			s.SetAfterListQuery(func(user string) {
				if user == alice.ID {
					entered <- struct{}{}
					<-release
				}
			})
			search, err := todoapi.ParseListQuery(todoapi.ListQuery{Q: "milk"})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			const searches = 8
			errs := make(chan error, searches)
			for range searches {
				wg.Go(func() {
					_, err := s.ListTasks(context.WithoutCancel(ctx), alice.ID, search)
					errs <- err
				})
			}
			for range min(searches, perUser) {
				<-entered
			}
			// Alice's searches hold every place they may: the others wait.

			if bounded {
				// A generous deadline only so that a failure ends the test.
				bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				page, err := s.ListTasks(bctx, bob.ID, search)
				if err != nil || len(page.Tasks) != 1 {
					t.Errorf("bob's read while alice searches: %d tasks, %v", len(page.Tasks), err)
				}
				if _, err := s.ListTags(bctx, bob.ID); err != nil {
					t.Errorf("bob's tags while alice searches: %v", err)
				}
			} else {
				// Every reader is held by a blocked search: bob cannot be
				// served until one ends, however long he waits.
				bctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
				if _, err := s.ListTasks(bctx, bob.ID, search); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("bob's read with every reader held: %v, want a deadline error", err)
				}
			}

			// Let alice's searches finish: each one that arrives at the hook
			// from now on passes through.
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				for range entered {
				}
			}()
			close(release)
			wg.Wait()
			close(entered)
			<-drained
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("alice's search: %v", err)
				}
			}
		})
	}
}
