package todoapi_test

import (
	"testing"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/recur"
)

// completeChain completes the task id and each occurrence it creates, n
// times at most, and returns the due dates of the series in order.
func completeChain(t *testing.T, svc *todoapi.Service, user todoapi.User, id int64, n int) []string {
	t.Helper()
	var dues []string
	for range n {
		c, err := svc.CompleteTask(t.Context(), user, id, todoapi.Value(true))
		if err != nil {
			t.Fatalf("Complete(%d): %v", id, err)
		}
		dues = append(dues, c.Task.DueDate.Format(time.RFC3339))
		if c.NextOccurrence == nil {
			return dues
		}
		id = c.NextOccurrence.ID
	}
	return dues
}

func TestSeriesKeepsItsStart(t *testing.T) {
	svc, _ := newService(t)
	svc.Rules = recur.Engine{}
	user := todoapi.User{ID: "alice"}
	ctx := t.Context()

	// Every other week on Tuesday and Thursday from Tuesday 2026-03-10:
	// the weeks of Mar 16 and Mar 30 are skipped, whichever task of the
	// series is completed.
	task, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value("gym"),
		DueDate: todoapi.Value("2026-03-10T18:00:00Z"), Recurrence: todoapi.Value("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=5")})
	if err != nil {
		t.Fatal(err)
	}
	got := completeChain(t, svc, user, task.ID, 10)
	want := []string{"2026-03-10T18:00:00Z", "2026-03-12T18:00:00Z", "2026-03-24T18:00:00Z", "2026-03-26T18:00:00Z", "2026-04-07T18:00:00Z"}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v (COUNT=5)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("series %v, want %v", got, want)
		}
	}

	// Moving one occurrence's due date keeps the series' phase: the next
	// one is the rule's first after the moved date.
	moved, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value("rent"),
		DueDate: todoapi.Value("2026-01-31T09:00:00Z"), Recurrence: todoapi.Value("FREQ=MONTHLY")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.CompleteTask(ctx, user, moved.ID, todoapi.Value(true))
	if err != nil || c.NextOccurrence == nil {
		t.Fatalf("Complete: %v, %v", c, err)
	}
	second := *c.NextOccurrence // due March 31st (February has no 31st)
	if d := second.DueDate.Format(time.RFC3339); d != "2026-03-31T09:00:00Z" {
		t.Fatalf("second occurrence due %s, want 2026-03-31T09:00:00Z", d)
	}
	if _, err := svc.UpdateTask(ctx, user, second.ID, todoapi.TaskPatch{DueDate: todoapi.Value("2026-04-02T09:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	c, err = svc.CompleteTask(ctx, user, second.ID, todoapi.Value(true))
	if err != nil || c.NextOccurrence == nil {
		t.Fatalf("Complete: %v, %v", c, err)
	}
	if d := c.NextOccurrence.DueDate.Format(time.RFC3339); d != "2026-05-31T09:00:00Z" {
		t.Errorf("after moving the due date to Apr 2, next due %s, want 2026-05-31T09:00:00Z (the 31st, kept from the start)", d)
	}

	// A new rule starts a new series at the task's due date: COUNT=2 from
	// here gives this task and one more.
	third := *c.NextOccurrence
	if _, err := svc.UpdateTask(ctx, user, third.ID, todoapi.TaskPatch{Recurrence: todoapi.Value("FREQ=DAILY;COUNT=2")}); err != nil {
		t.Fatal(err)
	}
	got = completeChain(t, svc, user, third.ID, 10)
	if len(got) != 2 || got[0] != "2026-05-31T09:00:00Z" || got[1] != "2026-06-01T09:00:00Z" {
		t.Errorf("series after a new rule: %v, want [2026-05-31T09:00:00Z 2026-06-01T09:00:00Z]", got)
	}
}

// Reopening a task does not create an occurrence, nor does completing a
// task that already created one; a completion that fails creates nothing.
func TestCompletionCreatesAtMostOne(t *testing.T) {
	svc, _ := newService(t)
	svc.Rules = recur.Engine{}
	svc.TaskQuota = 2
	user := todoapi.User{ID: "alice"}
	ctx := t.Context()
	task, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value("water plants"),
		DueDate: todoapi.Value("2026-03-01T09:00:00Z"), Recurrence: todoapi.Value("FREQ=DAILY"),
		RemindAt: todoapi.Value("2026-03-01T08:30:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value("other")}); err != nil {
		t.Fatal(err)
	}
	// At the quota the completion is refused whole: the task stays open.
	if _, err := svc.CompleteTask(ctx, user, task.ID, todoapi.Value(true)); err == nil {
		t.Fatal("completing at the quota succeeded; want ErrQuotaExceeded")
	}
	if got, _ := svc.Task(ctx, user, task.ID); got.Completed || got.NextOccurrenceID != nil {
		t.Fatalf("after a refused completion: completed %v, next %v; want the task unchanged", got.Completed, got.NextOccurrenceID)
	}
	svc.TaskQuota = 10
	c, err := svc.CompleteTask(ctx, user, task.ID, todoapi.Field[bool]{}) // flip
	if err != nil || c.NextOccurrence == nil {
		t.Fatalf("Complete: %+v, %v", c, err)
	}
	if r := c.NextOccurrence.RemindAt; r == nil || !r.Equal(time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("next occurrence's remind_at = %v, want 2026-03-02T08:30:00Z", r)
	}
	for _, set := range []todoapi.Field[bool]{todoapi.Value(false), {}, todoapi.Value(true), todoapi.Value(false)} {
		c, err := svc.CompleteTask(ctx, user, task.ID, set)
		if err != nil || c.NextOccurrence != nil {
			t.Fatalf("Complete(%+v) again: next %v, %v; want none", set, c.NextOccurrence, err)
		}
	}
	page, err := svc.ListTasks(ctx, user, todoapi.ListQuery{})
	if err != nil || page.Total != 3 {
		t.Fatalf("%d tasks, %v; want 3", page.Total, err)
	}
}
