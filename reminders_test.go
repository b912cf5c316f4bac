package todoapi_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/sqlite"
)

// openSQLite opens a migrated SQLite store, closed when t ends; inside a
// synctest bubble its goroutines belong to the bubble.
func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(t.Context(), t.TempDir()+"/todo.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestRunReminders runs the scheduler on a real SQLite store in a synctest
// bubble, whose clock moves only when every goroutine waits: each reminder
// goes out exactly at its time (the scheduler sleeps until the next one it
// knows of, and a write that sets an earlier one wakes it), once; a
// reminder moved later goes out at its new time; none goes out for a task
// completed or deleted before its time, or reopened after it (one reopened
// before its time goes out then); and one set while the scheduler
// sleeps for an hour is not kept waiting for that hour.
func TestRunReminders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		svc := todoapi.NewService(openSQLite(t))
		user := todoapi.User{ID: "alice"}
		start := time.Now()
		origin, err := svc.ChangesEnd(ctx, user)
		if err != nil {
			t.Fatal(err)
		}

		var mu sync.Mutex
		var lates []time.Duration
		run, stop := context.WithCancel(ctx)
		ended := make(chan struct{})
		defer func() { stop(); <-ended }() // also when the test fails
		go func() {
			defer close(ended)
			svc.RunReminders(run, todoapi.Reminders{Poll: 24 * time.Hour, Sent: func(late time.Duration) {
				mu.Lock()
				lates = append(lates, late)
				mu.Unlock()
			}})
		}()
		synctest.Wait() // the scheduler found nothing and sleeps for a day

		create := func(title string, in time.Duration) todoapi.Task {
			t.Helper()
			at := start.Add(in)
			task, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{
				Title: todoapi.Value(title), RemindAt: todoapi.Value(at.UTC().Format(time.RFC3339Nano)),
			})
			if err != nil {
				t.Fatal(err)
			}
			return task
		}
		hour := create("in an hour", time.Hour)
		reopened := create("reopened after its time", 40*time.Minute)
		reopenedEarly := create("reopened before its time", 50*time.Minute)
		for _, id := range []int64{reopened.ID, reopenedEarly.ID} {
			if _, err := svc.CompleteTask(ctx, user, id, todoapi.Value(true)); err != nil {
				t.Fatal(err)
			}
		}
		soon := create("in ten minutes", 10*time.Minute) // earlier than the scheduler's plan
		done := create("completed first", 30*time.Minute)
		gone := create("deleted first", 30*time.Minute)
		moved := create("moved later", 20*time.Minute)
		if _, err := svc.CompleteTask(ctx, user, done.ID, todoapi.Value(true)); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteTask(ctx, user, gone.ID); err != nil {
			t.Fatal(err)
		}
		later := start.Add(2 * time.Hour).UTC().Format(time.RFC3339Nano)
		if _, err := svc.UpdateTask(ctx, user, moved.ID, todoapi.TaskPatch{RemindAt: todoapi.Value(later)}); err != nil {
			t.Fatal(err)
		}

		reminded := func() []int64 {
			t.Helper()
			page, err := svc.Changes(ctx, user, origin, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, c := range page.Changes {
				if c.Reminder {
					ids = append(ids, c.ID)
				}
			}
			slices.Sort(ids)
			return ids
		}
		at := func(d time.Duration) {
			time.Sleep(time.Until(start.Add(d)))
			synctest.Wait()
		}
		at(10*time.Minute - time.Nanosecond)
		if got := reminded(); len(got) != 0 {
			t.Fatalf("before any reminder's time, sent %v", got)
		}
		at(10 * time.Minute)
		if got := reminded(); !slices.Equal(got, []int64{soon.ID}) {
			t.Fatalf("at 10 min sent %v, want [%d]", got, soon.ID)
		}
		// Reopened after its time (45 min), a task's reminder is not sent
		// late; reopened before its time, it goes out at its time.
		at(45 * time.Minute)
		for _, id := range []int64{reopened.ID, reopenedEarly.ID} {
			if _, err := svc.CompleteTask(ctx, user, id, todoapi.Value(false)); err != nil {
				t.Fatal(err)
			}
		}
		at(time.Hour)
		if got := reminded(); !slices.Equal(got, ids(soon.ID, reopenedEarly.ID, hour.ID)) {
			t.Fatalf("at 1 h sent %v, want %v", got, ids(soon.ID, reopenedEarly.ID, hour.ID))
		}
		at(3 * time.Hour)
		if got := reminded(); !slices.Equal(got, ids(soon.ID, reopenedEarly.ID, hour.ID, moved.ID)) {
			t.Fatalf("at 3 h sent %v, want %v (and none of the completed, deleted or late-reopened task)",
				got, ids(soon.ID, reopenedEarly.ID, hour.ID, moved.ID))
		}
		stop()
		<-ended
		mu.Lock()
		defer mu.Unlock()
		if len(lates) != 4 || slices.Max(lates) != 0 {
			t.Errorf("sent %d reminders, late by %v; want 4, each at its time", len(lates), lates)
		}
	})
}

func ids(ids ...int64) []int64 {
	slices.Sort(ids)
	return ids
}

// queryCounter is the real SQLite store, counting the scheduler's queries.
type queryCounter struct {
	*sqlite.Store
	mu           sync.Mutex
	next, claims int
}

func (q *queryCounter) NextReminder(ctx context.Context, now time.Time) (time.Time, bool, error) {
	q.mu.Lock()
	q.next++
	q.mu.Unlock()
	return q.Store.NextReminder(ctx, now)
}

func (q *queryCounter) ClaimReminders(ctx context.Context, now, until time.Time, limit int) ([]todoapi.ReminderClaim, error) {
	q.mu.Lock()
	q.claims++
	q.mu.Unlock()
	return q.Store.ClaimReminders(ctx, now, until, limit)
}

// TestRemindersIdleCost counts the scheduler's queries over an hour (in a
// synctest bubble, so the hour passes at once) with REMINDER_POLL=1m and
// no reminder due: an idle process asks once, at start, so that a database
// that scales to zero can; a busy one (a request every 10 s) asks again
// once a minute, and claims nothing; both whether no reminder is pending
// at all or one is pending for tomorrow.
func TestRemindersIdleCost(t *testing.T) {
	for _, busy := range []bool{false, true} {
		for _, pending := range []bool{false, true} {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				store := &queryCounter{Store: openSQLite(t)}
				svc := todoapi.NewService(store)
				user := todoapi.User{ID: "alice"}
				if pending {
					tomorrow := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
					if _, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{
						Title: todoapi.Value("tomorrow"), RemindAt: todoapi.Value(tomorrow)}); err != nil {
						t.Fatal(err)
					}
				}
				run, stop := context.WithCancel(ctx)
				ended := make(chan struct{})
				go func() {
					defer close(ended)
					svc.RunReminders(run, todoapi.Reminders{Poll: time.Minute})
				}()
				end := time.Now().Add(time.Hour - time.Nanosecond)
				for busy && time.Now().Add(10*time.Second).Before(end) {
					time.Sleep(10 * time.Second)
					if _, err := svc.ListTasks(ctx, user, todoapi.ListQuery{}); err != nil {
						t.Fatal(err)
					}
					synctest.Wait()
				}
				time.Sleep(time.Until(end))
				synctest.Wait()
				stop()
				<-ended
				store.mu.Lock()
				defer store.mu.Unlock()
				t.Logf("an hour, busy %v, a reminder pending tomorrow %v: %d queries for the next reminder, %d claims",
					busy, pending, store.next, store.claims)
				want := 1
				if busy {
					want = 60
				}
				if store.next != want || store.claims != 0 {
					t.Errorf("%d next-reminder queries and %d claims; want %d and 0", store.next, store.claims, want)
				}
			})
		}
	}
}
