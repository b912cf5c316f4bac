package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// Reminders: claiming due reminders and marking them sent (reminders.go in
// the domain).

// reminding returns a task of user with a pending reminder at at.
func reminding(user, title string, at time.Time) todoapi.Task {
	t := newTask(user, title, base)
	t.RemindAt, t.ReminderPending = &at, true
	return t
}

func claim(t *testing.T, s todoapi.Store, now time.Time, limit int) []int64 {
	t.Helper()
	claims, err := s.ClaimReminders(ctxFor(t), now, now.Add(3*time.Second), limit)
	if err != nil {
		t.Fatalf("ClaimReminders(%v): %v", now, err)
	}
	ids := make([]int64, len(claims))
	for i, c := range claims {
		ids[i] = c.TaskID
	}
	slices.Sort(ids) // the order of a claim is not part of the contract
	return ids
}

func nextReminder(t *testing.T, s todoapi.Store, now time.Time) (time.Time, bool) {
	t.Helper()
	at, ok, err := s.NextReminder(ctxFor(t), now)
	if err != nil {
		t.Fatalf("NextReminder(%v): %v", now, err)
	}
	return at, ok
}

func remind(t *testing.T, s todoapi.Store, user string, id, version int64) error {
	ctx := ctxFor(t)
	return s.Write(ctx, user, func(tx todoapi.StoreTx) error { return tx.Remind(ctx, id, version) })
}

// testReminders: only pending reminders of open tasks that are due and not
// claimed are claimed, earliest first, across users; a claim keeps them
// from other claims until it lapses; sending one is a change in the feed
// that keeps the task's version, and happens once.
func testReminders(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	if _, ok := nextReminder(t, s, base); ok {
		t.Fatal("NextReminder on an empty store reported one")
	}
	early := create(t, s, reminding("alice", "early", base.Add(-time.Minute)))
	late := create(t, s, reminding("bob", "late", base.Add(-10*time.Second)))
	future := create(t, s, reminding("alice", "future", base.Add(time.Hour)))
	done := reminding("alice", "done", base.Add(-2*time.Minute))
	done.Completed, done.CompletedAt = true, &base
	create(t, s, done)
	sent := reminding("bob", "sent", base.Add(-3*time.Minute))
	sent.ReminderPending = false
	create(t, s, sent)
	create(t, s, newTask("alice", "none", base))

	if at, ok := nextReminder(t, s, base); !ok || !at.Equal(*early.RemindAt) {
		t.Errorf("NextReminder = %v, %v; want the earliest due one, %v", at, ok, *early.RemindAt)
	}
	if got := claim(t, s, base, 1); !slices.Equal(got, []int64{early.ID}) {
		t.Fatalf("a claim of 1 took %v, want the earliest [%d]", got, early.ID)
	}
	if got := claim(t, s, base, 10); !slices.Equal(got, []int64{late.ID}) {
		t.Fatalf("the next claim took %v, want only the other due reminder [%d]", got, late.ID)
	}
	if got := claim(t, s, base.Add(time.Second), 10); len(got) != 0 {
		t.Fatalf("a claim while the others' claims last took %v", got)
	}
	if at, ok := nextReminder(t, s, base.Add(time.Second)); !ok || !at.Equal(base.Add(3*time.Second)) {
		t.Errorf("NextReminder while both due ones are claimed = %v, %v; want the claims' end %v", at, ok, base.Add(3*time.Second))
	}
	// The claims lapse: the reminders are due and can be claimed again.
	if got := claim(t, s, base.Add(3*time.Second), 10); !slices.Equal(got, sorted(early.ID, late.ID)) {
		t.Fatalf("a claim after the claims lapsed took %v, want [%d %d]", got, early.ID, late.ID)
	}

	before := collectionVersion(t, s, "alice")
	if err := remind(t, s, "alice", early.ID, early.Version); err != nil {
		t.Fatalf("Remind: %v", err)
	}
	after := get(t, s, "alice", early.ID)
	if after.ReminderPending || after.Version != early.Version || !after.UpdatedAt.Equal(early.UpdatedAt) {
		t.Errorf("after Remind: pending %v, version %d, updated_at %v; want not pending, version and updated_at kept",
			after.ReminderPending, after.Version, after.UpdatedAt)
	}
	log := changesSince(t, s, "alice", before, false, 10)
	if len(log.Entries) != 1 || log.Entries[0].ID != early.ID || log.Entries[0].RemindedSeq != log.Entries[0].Seq ||
		log.Entries[0].Seq != before+1 || log.Last != before+1 {
		t.Fatalf("feed after Remind = %+v; want one entry for task %d with RemindedSeq = Seq = %d", log, early.ID, before+1)
	}
	if log := changesSince(t, s, "alice", 0, true, 10); len(log.Entries) == 0 {
		t.Fatal("empty initial sync")
	} else {
		for _, e := range log.Entries {
			if e.ID != early.ID && e.RemindedSeq != 0 {
				t.Errorf("task %d was never reminded but has RemindedSeq %d", e.ID, e.RemindedSeq)
			}
		}
	}
	// Sent once: a second attempt at the same version stores nothing.
	if err := remind(t, s, "alice", early.ID, early.Version); !errors.Is(err, todoapi.ErrStale) {
		t.Errorf("second Remind: err = %v, want ErrStale", err)
	}
	if err := remind(t, s, "bob", late.ID, late.Version+1); !errors.Is(err, todoapi.ErrStale) {
		t.Errorf("Remind at another version: err = %v, want ErrStale", err)
	}
	if v := collectionVersion(t, s, "alice"); v != before+1 {
		t.Errorf("failed Remind attempts moved the collection version to %d, want %d", v, before+1)
	}
	if got := claim(t, s, base.Add(time.Minute), 10); !slices.Equal(got, []int64{late.ID}) {
		t.Errorf("a claim after one reminder was sent took %v, want [%d]", got, late.ID)
	}
	if err := remind(t, s, "bob", late.ID, late.Version); err != nil {
		t.Fatalf("Remind: %v", err)
	}
	// Moving a sent reminder makes it pending again (the service does this
	// on an edit); the store claims what is pending.
	moved, err := UpdateTask(s, ctxFor(t), "alice", early.ID, func(t *todoapi.Task) bool {
		at := base.Add(2 * time.Hour)
		t.RemindAt, t.ReminderPending = &at, true
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := nextReminder(t, s, base.Add(time.Hour+time.Minute)); !ok || !at.Equal(base.Add(time.Hour)) {
		t.Errorf("NextReminder = %v, %v; want the future one at %v", at, ok, base.Add(time.Hour))
	}
	if got := claim(t, s, base.Add(3*time.Hour), 10); !slices.Equal(got, sorted(future.ID, moved.ID)) {
		t.Errorf("a claim three hours on took %v, want [%d %d]", got, future.ID, moved.ID)
	}
}

// testRemindersConcurrentClaims: processes claiming at the same moment
// never get the same reminder while its claim lasts.
func testRemindersConcurrentClaims(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	const n = 120
	want := make([]int64, 0, n)
	for i := range n {
		want = append(want, create(t, s, reminding("alice", "r", base.Add(-time.Duration(i)*time.Second))).ID)
	}
	var mu sync.Mutex
	var got []int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				claims, err := s.ClaimReminders(ctxFor(t), base, base.Add(time.Minute), 7)
				if err != nil {
					errs <- err
					return
				}
				if len(claims) == 0 {
					return
				}
				mu.Lock()
				for _, c := range claims {
					got = append(got, c.TaskID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ClaimReminders: %v", err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("4 concurrent claimers took %d claims (%d distinct) of %d reminders; want each exactly once",
			len(got), len(slices.Compact(slices.Clone(got))), n)
	}
}

func sorted(ids ...int64) []int64 {
	slices.Sort(ids)
	return ids
}
