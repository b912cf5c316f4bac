// Package storetest is the contract every todoapi.Store must meet, written
// once and run against each implementation on a real database.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// Migrator is implemented by stores whose schema Run must be able to
// re-apply.
type Migrator interface {
	Migrate(ctx context.Context) error
}

// UserReader exposes the users table, which the Store interface only writes.
// Stores implement it in a _test.go file so that it is not part of their API.
type UserReader interface {
	LookupUser(ctx context.Context, id string) (u todoapi.User, firstSeen, lastSeen time.Time, err error)
}

// Run runs the contract against stores made by open. open must return a new,
// empty, migrated store for every call and close it when t ends; the store
// must also implement Migrator, UserReader and BulkInserter.
func Run(t *testing.T, open func(t *testing.T) todoapi.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s todoapi.Store)
	}{
		{"CreateGetRoundTrip", testRoundTrip},
		{"IDs", testIDs},
		{"OtherUsersTask", testOtherUsersTask},
		{"MissingTask", testMissingTask},
		{"ListScopeAndOrder", testListScopeAndOrder},
		{"ListStatus", testListStatus},
		{"ListFilters", testListFilters},
		{"ListSorts", testListSorts},
		{"ListLimit", testListLimit},
		{"ListCursorScope", testListCursorScope},
		{"ListEmptyPageAfterCursor", testListEmptyPageAfterCursor},
		{"ListWalkWhileChanging", testListWalkWhileChanging},
		{"ListOffset", testListOffset},
		{"ListTotalsFollowWrites", testListTotalsFollowWrites},
		{"ListTotalsUnderRacingWrites", testListTotalsUnderRacingWrites},
		{"ListTags", testListTags},
		{"UpdateNoChange", testUpdateNoChange},
		{"UpdatePersists", testUpdatePersists},
		{"UpdateClears", testUpdateClears},
		{"UpdateConcurrent", testUpdateConcurrent},
		{"Delete", testDelete},
		{"Quota", testQuota},
		{"QuotaConcurrent", testQuotaConcurrent},
		{"UpsertUser", testUpsertUser},
		{"UnknownUser", testUnknownUser},
		{"InvalidPriority", testInvalidPriority},
		{"MigrateAgain", testMigrateAgain},
		{"ServiceKey", testServiceKey},
		{"Ping", testPing},
		{"Closed", testClosed},
		{"CanceledContext", testCanceledContext},
		{"Versions", testVersions},
		{"ChangesSince", testChangesSince},
		{"PurgeTombstones", testPurgeTombstones},
		{"SyncKey", testSyncKey},
		{"FeedNeverMisses", testFeedNeverMisses},
		{"ServicePurges", testServicePurges},
		{"Reminders", testReminders},
		{"RemindersConcurrentClaims", testRemindersConcurrentClaims},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// base is a fixed, microsecond-precision instant; tests derive every
// timestamp from it so that comparisons are exact.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// ctxFor bounds a contract step: a store that hangs (a lock never released,
// a server that does not answer) fails its test instead of the whole run.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func addUser(t *testing.T, s todoapi.Store, id string) {
	t.Helper()
	if err := s.UpsertUser(ctxFor(t), todoapi.User{ID: id, Email: id + "@example.com"}, base); err != nil {
		t.Fatalf("UpsertUser(%q): %v", id, err)
	}
}

// newTask returns a minimal valid pending task of user created at created.
func newTask(user, title string, created time.Time) todoapi.Task {
	return todoapi.Task{
		UserID:    user,
		Title:     title,
		Priority:  todoapi.PriorityMedium,
		Tags:      []string{},
		CreatedAt: created,
		UpdatedAt: created,
	}
}

func create(t *testing.T, s todoapi.Store, task todoapi.Task) todoapi.Task {
	t.Helper()
	got, err := CreateTask(s, ctxFor(t), task, todoapi.DefaultTaskQuota)
	if err != nil {
		t.Fatalf("CreateTask(%q): %v", task.Title, err)
	}
	return got
}

func get(t *testing.T, s todoapi.Store, user string, id int64) todoapi.Task {
	t.Helper()
	got, err := s.Task(ctxFor(t), user, id)
	if err != nil {
		t.Fatalf("Task(%q, %d): %v", user, id, err)
	}
	return got
}

func list(t *testing.T, s todoapi.Store, user string, status todoapi.Status) []todoapi.Task {
	t.Helper()
	got, err := s.ListTasks(ctxFor(t), user, todoapi.TaskFilter{Status: status})
	if err != nil {
		t.Fatalf("ListTasks(%q, %q): %v", user, status, err)
	}
	if got.Tasks == nil {
		t.Fatalf("ListTasks(%q, %q) returned a nil slice", user, status)
	}
	if got.Total != len(got.Tasks) || got.Next != nil {
		t.Fatalf("ListTasks(%q, %q): Total %d, Next %v for a single page of %d tasks",
			user, status, got.Total, got.Next, len(got.Tasks))
	}
	return got.Tasks
}

func ids(tasks []todoapi.Task) []int64 {
	out := make([]int64, len(tasks))
	for i, task := range tasks {
		out[i] = task.ID
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// checkTask reports every field in which got differs from want, and any time
// in got that is not in UTC or tag list that is nil.
func checkTask(t *testing.T, what string, got, want todoapi.Task) {
	t.Helper()
	for _, d := range diffTask(got, want) {
		t.Errorf("%s: %s", what, d)
	}
}

// diffTask names every field in which got differs from want, so that a
// failure says what a store lost or changed rather than only that it did.
func diffTask(got, want todoapi.Task) []string {
	var d []string
	add := func(field string, g, w any) {
		d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w))
	}
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.UserID != want.UserID {
		add("UserID", got.UserID, want.UserID)
	}
	if got.Title != want.Title {
		add("Title", strconv.Quote(got.Title), strconv.Quote(want.Title))
	}
	if !equalPtr(got.Description, want.Description) {
		add("Description", showPtr(got.Description), showPtr(want.Description))
	}
	if got.Completed != want.Completed {
		add("Completed", got.Completed, want.Completed)
	}
	if got.Priority != want.Priority {
		add("Priority", got.Priority, want.Priority)
	}
	if got.Tags == nil {
		d = append(d, "Tags is nil, want a non-nil slice")
	}
	if !slices.Equal(got.Tags, want.Tags) {
		add("Tags", fmt.Sprintf("%q", got.Tags), fmt.Sprintf("%q", want.Tags))
	}
	for _, f := range []struct {
		name      string
		got, want *time.Time
	}{
		{"CompletedAt", got.CompletedAt, want.CompletedAt},
		{"DueDate", got.DueDate, want.DueDate},
		{"CreatedAt", &got.CreatedAt, &want.CreatedAt},
		{"UpdatedAt", &got.UpdatedAt, &want.UpdatedAt},
	} {
		switch {
		case (f.got == nil) != (f.want == nil):
			add(f.name, showTime(f.got), showTime(f.want))
		case f.got == nil:
		case !f.got.Equal(*f.want):
			add(f.name, showTime(f.got), showTime(f.want))
		case f.got.Location() != time.UTC:
			d = append(d, fmt.Sprintf("%s = %v is not in UTC", f.name, f.got))
		}
	}
	return d
}

func equalPtr[T comparable](a, b *T) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

func showPtr(s *string) string {
	if s == nil {
		return "nil"
	}
	return strconv.Quote(*s)
}

func showTime(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.Format(time.RFC3339Nano)
}

// testRoundTrip: every field survives a write and a read exactly, text in
// any script, times at microseconds in UTC whatever zone they were given
// in: a store that rounds, trims or converts would corrupt user data.
func testRoundTrip(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	india := time.FixedZone("IST", 5*3600+30*60)
	full := todoapi.Task{
		UserID:      "alice",
		Title:       "Zürich ☕ — 日本語 🚀 «ünïcödé»",
		Description: ptr("line one\nline two\twith tab and emoji 👩‍💻"),
		Completed:   true,
		CompletedAt: ptr(base.Add(90 * time.Minute).In(india)),
		Priority:    todoapi.PriorityHigh,
		Tags:        []string{"work", "Ärger", "a", "Z", "日本"},
		DueDate:     ptr(time.Date(2031, 12, 31, 23, 59, 59, 999999000, india)),
		CreatedAt:   base.In(india),
		UpdatedAt:   base.Add(2 * time.Hour).In(india),
	}
	minimal := todoapi.Task{
		UserID:    "alice",
		Title:     "x",
		Priority:  todoapi.PriorityLow,
		Tags:      []string{},
		CreatedAt: base.Add(time.Microsecond),
		UpdatedAt: base.Add(time.Microsecond),
	}
	nilTags := minimal
	nilTags.Title, nilTags.Tags = "nil tags", nil

	for name, in := range map[string]todoapi.Task{"full": full, "minimal": minimal, "nil tags": nilTags} {
		want := in
		want.CreatedAt, want.UpdatedAt = in.CreatedAt.UTC(), in.UpdatedAt.UTC()
		if in.CompletedAt != nil {
			want.CompletedAt = ptr(in.CompletedAt.UTC())
		}
		if in.DueDate != nil {
			want.DueDate = ptr(in.DueDate.UTC())
		}
		if in.Tags == nil {
			want.Tags = []string{}
		}

		created := create(t, s, in)
		if created.ID <= 0 {
			t.Errorf("%s: CreateTask returned id %d, want a positive id", name, created.ID)
		}
		want.ID = created.ID
		checkTask(t, name+": CreateTask result", created, want)
		checkTask(t, name+": Task", get(t, s, "alice", created.ID), want)

		listed := list(t, s, "alice", todoapi.StatusAll)
		i := slices.IndexFunc(listed, func(x todoapi.Task) bool { return x.ID == created.ID })
		if i < 0 {
			t.Errorf("%s: ListTasks does not contain task %d", name, created.ID)
		} else {
			checkTask(t, name+": ListTasks element", listed[i], want)
		}
	}
}

// testIDs: ids are positive and never reused, across users: clients keep
// them in URLs and caches, so an id must always name the same task.
func testIDs(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	seen := map[int64]bool{}
	var last int64
	for i := range 6 {
		user := []string{"alice", "bob"}[i%2]
		task := create(t, s, newTask(user, fmt.Sprint("task ", i), base))
		if task.ID <= 0 || seen[task.ID] {
			t.Fatalf("task %d got id %d; ids so far %v", i, task.ID, seen)
		}
		seen[task.ID] = true
		last = task.ID
	}
	// A deleted task's id must never come back: a client holding it would
	// reach a different task.
	if err := DeleteTask(s, ctxFor(t), "bob", last); err != nil {
		t.Fatal(err)
	}
	again := create(t, s, newTask("bob", "after delete", base))
	for id := range seen {
		if again.ID <= id {
			t.Fatalf("task created after deleting id %d got id %d, want an id above every earlier one %v", last, again.ID, seen)
		}
	}
}

// testOtherUsersTask: another user's task is ErrNotFound for every
// operation and stays untouched: the store, not only the service, keeps
// users apart, so that no filter or id guess can cross.
func testOtherUsersTask(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	orig := create(t, s, newTask("alice", "alice's secret", base))

	if _, err := s.Task(ctx, "bob", orig.ID); !errors.Is(err, todoapi.ErrNotFound) {
		t.Errorf("Task by another user: err = %v, want ErrNotFound", err)
	}
	called := false
	_, err := UpdateTask(s, ctx, "bob", orig.ID, func(task *todoapi.Task) bool {
		called = true
		task.Title = "hijacked"
		task.UpdatedAt = base.Add(time.Hour)
		return true
	})
	if !errors.Is(err, todoapi.ErrNotFound) {
		t.Errorf("UpdateTask by another user: err = %v, want ErrNotFound", err)
	}
	if called {
		t.Errorf("UpdateTask by another user called change with alice's task")
	}
	if err := DeleteTask(s, ctx, "bob", orig.ID); !errors.Is(err, todoapi.ErrNotFound) {
		t.Errorf("DeleteTask by another user: err = %v, want ErrNotFound", err)
	}
	// An empty user id must not match anything either.
	if _, err := s.Task(ctx, "", orig.ID); !errors.Is(err, todoapi.ErrNotFound) {
		t.Errorf("Task with empty user: err = %v, want ErrNotFound", err)
	}
	checkTask(t, "alice's task after bob's attempts", get(t, s, "alice", orig.ID), orig)
	if got := list(t, s, "bob", todoapi.StatusAll); len(got) != 0 {
		t.Errorf("bob lists %d tasks, want none", len(got))
	}
}

// testMissingTask: ids that cannot exist (0, negative, huge) are
// ErrNotFound only, never a database error the transport would turn into
// a 503 or a 500.
func testMissingTask(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	addUser(t, s, "alice")
	create(t, s, newTask("alice", "exists", base))
	for _, id := range []int64{0, -1, 1 << 62} {
		if _, err := s.Task(ctx, "alice", id); !errors.Is(err, todoapi.ErrNotFound) || errors.Is(err, todoapi.ErrDatabaseUnavailable) {
			t.Errorf("Task(%d): err = %v, want ErrNotFound only", id, err)
		}
		_, err := UpdateTask(s, ctx, "alice", id, func(*todoapi.Task) bool { return true })
		if !errors.Is(err, todoapi.ErrNotFound) {
			t.Errorf("UpdateTask(%d): err = %v, want ErrNotFound", id, err)
		}
		if err := DeleteTask(s, ctx, "alice", id); !errors.Is(err, todoapi.ErrNotFound) {
			t.Errorf("DeleteTask(%d): err = %v, want ErrNotFound", id, err)
		}
	}
}

// testListScopeAndOrder: a list holds the user's tasks only, newest first
// with the id breaking ties, so that pages neither repeat nor skip a task.
func testListScopeAndOrder(t *testing.T, s todoapi.Store) {
	for _, u := range []string{"alice", "bob", "carol"} {
		addUser(t, s, u)
	}
	// Created out of time order and interleaved with bob's, with two pairs
	// sharing a created_at so that only the id breaks the tie.
	var a []todoapi.Task
	for i, offset := range []time.Duration{2 * time.Second, 0, 5 * time.Second, 2 * time.Second, 0, time.Microsecond} {
		a = append(a, create(t, s, newTask("alice", fmt.Sprint("a", i), base.Add(offset))))
		create(t, s, newTask("bob", fmt.Sprint("b", i), base.Add(offset)))
	}
	// Newest first; equal created_at → higher id first.
	want := []todoapi.Task{a[2], a[3], a[0], a[5], a[4], a[1]}
	got := list(t, s, "alice", todoapi.StatusAll)
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("alice's list ids = %v, want %v", ids(got), ids(want))
	}
	for i := range got {
		checkTask(t, fmt.Sprintf("list element %d", i), got[i], want[i])
	}
	for _, task := range list(t, s, "bob", todoapi.StatusAll) {
		if task.UserID != "bob" {
			t.Errorf("bob's list contains task %d of %q", task.ID, task.UserID)
		}
	}
	if got := list(t, s, "bob", ""); len(got) != 6 {
		t.Errorf("bob lists %d tasks, want 6", len(got))
	}
	if got := list(t, s, "carol", todoapi.StatusAll); len(got) != 0 {
		t.Errorf("carol, with no tasks, lists %d", len(got))
	}
	if got := list(t, s, "nobody", todoapi.StatusAll); len(got) != 0 {
		t.Errorf("an unknown user lists %d tasks", len(got))
	}
}

// testListStatus: the status filter splits a user's tasks exactly into
// pending and completed.
func testListStatus(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	var all []todoapi.Task
	for i, done := range []bool{false, true, false, true, true} {
		task := newTask("alice", fmt.Sprint("t", i), base.Add(time.Duration(i)*time.Second))
		if done {
			task.Completed, task.CompletedAt = true, ptr(base)
		}
		all = append(all, create(t, s, task))
	}
	// Bob's tasks must not leak into any filter.
	create(t, s, newTask("bob", "bob pending", base))
	bobDone := newTask("bob", "bob done", base)
	bobDone.Completed, bobDone.CompletedAt = true, ptr(base)
	create(t, s, bobDone)

	for status, want := range map[todoapi.Status][]todoapi.Task{
		"":                      {all[4], all[3], all[2], all[1], all[0]},
		todoapi.StatusAll:       {all[4], all[3], all[2], all[1], all[0]},
		todoapi.StatusPending:   {all[2], all[0]},
		todoapi.StatusCompleted: {all[4], all[3], all[1]},
	} {
		if got := list(t, s, "alice", status); !slices.Equal(ids(got), ids(want)) {
			t.Errorf("ListTasks(status %q) ids = %v, want %v", status, ids(got), ids(want))
		}
	}
}

// testUpdateNoChange: a change that reports nothing changed writes
// nothing, even if it edited the task it was handed: an update that
// changes nothing must not move updated_at or the version.
func testUpdateNoChange(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	task := newTask("alice", "unchanged", base)
	task.Tags = []string{"a", "b"}
	orig := create(t, s, task)
	called := false
	got, err := UpdateTask(s, ctxFor(t), "alice", orig.ID, func(task *todoapi.Task) bool {
		called = true
		checkTask(t, "task passed to change", *task, orig)
		// Edits made by a change that reports false must not be saved.
		task.Title = "edited but not reported"
		task.Tags[0] = "edited in place"
		task.UpdatedAt = base.Add(time.Hour)
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if !called {
		t.Fatal("UpdateTask did not call change")
	}
	checkTask(t, "UpdateTask result", got, orig)
	checkTask(t, "stored task", get(t, s, "alice", orig.ID), orig)
}

// testUpdatePersists: an update stores every changed field and touches
// no other task.
func testUpdatePersists(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	orig := create(t, s, newTask("alice", "before", base))
	other := create(t, s, newTask("alice", "neighbour", base))

	want := orig
	want.Title = "after — ✓"
	want.Description = ptr("now described")
	want.Completed = true
	want.CompletedAt = ptr(base.Add(time.Minute))
	want.Priority = todoapi.PriorityHigh
	want.Tags = []string{"z", "a", "M"}
	want.DueDate = ptr(base.Add(48 * time.Hour))
	want.UpdatedAt = base.Add(time.Minute)

	got, err := UpdateTask(s, ctxFor(t), "alice", orig.ID, func(task *todoapi.Task) bool {
		*task = want
		// Identity and creation time are not the change's to make.
		task.ID, task.UserID, task.CreatedAt = other.ID, "bob", base.Add(-time.Hour)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	checkTask(t, "UpdateTask result", got, want)
	checkTask(t, "stored task", get(t, s, "alice", orig.ID), want)
	checkTask(t, "other task of the same user", get(t, s, "alice", other.ID), other)
	if got := list(t, s, "bob", todoapi.StatusAll); len(got) != 0 {
		t.Errorf("after an update that set UserID to bob, bob lists %d tasks", len(got))
	}
}

// testUpdateClears: fields set to nothing (description, due date,
// completion, tags) are stored as nothing, not left as they were.
func testUpdateClears(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	full := newTask("alice", "full", base)
	full.Description = ptr("text")
	full.Completed, full.CompletedAt = true, ptr(base)
	full.Tags = []string{"one", "two"}
	full.DueDate = ptr(base.Add(time.Hour))
	orig := create(t, s, full)

	want := orig
	want.Description, want.Completed, want.CompletedAt = nil, false, nil
	want.Tags, want.DueDate = []string{}, nil
	want.Priority = todoapi.PriorityLow
	want.UpdatedAt = base.Add(time.Second)
	got, err := UpdateTask(s, ctxFor(t), "alice", orig.ID, func(task *todoapi.Task) bool {
		*task = want
		task.Tags = nil // a nil list is stored as an empty one
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	checkTask(t, "UpdateTask result", got, want)
	checkTask(t, "stored task", get(t, s, "alice", orig.ID), want)
}

// testUpdateConcurrent: concurrent updates of one task are applied one
// after another, none lost: each sees the result of the one before.
func testUpdateConcurrent(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	task := create(t, s, newTask("alice", "0", base))
	const n = 20
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		titles []string
		errs   []error
	)
	ctx := ctxFor(t)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			got, err := UpdateTask(s, ctx, "alice", task.ID, func(task *todoapi.Task) bool {
				v, err := strconv.Atoi(task.Title)
				if err != nil {
					return false
				}
				task.Title = strconv.Itoa(v + 1)
				return true
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			titles = append(titles, got.Title)
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d concurrent updates failed; first: %v", len(errs), n, errs[0])
	}
	if got := get(t, s, "alice", task.ID).Title; got != strconv.Itoa(n) {
		t.Errorf("after %d concurrent increments the counter is %s", n, got)
	}
	// Each update must have seen the previous one's result.
	slices.SortFunc(titles, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	for i, title := range titles {
		if title != strconv.Itoa(i+1) {
			t.Fatalf("update results = %v, want 1..%d each once", titles, n)
		}
	}
}

// testDelete: a deleted task is gone for good, and its neighbours stay.
func testDelete(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	addUser(t, s, "alice")
	keep := create(t, s, newTask("alice", "keep", base))
	gone := create(t, s, newTask("alice", "gone", base))
	if err := DeleteTask(s, ctx, "alice", gone.ID); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	if _, err := s.Task(ctx, "alice", gone.ID); !errors.Is(err, todoapi.ErrNotFound) {
		t.Errorf("Task after delete: err = %v, want ErrNotFound", err)
	}
	if err := DeleteTask(s, ctx, "alice", gone.ID); !errors.Is(err, todoapi.ErrNotFound) {
		t.Errorf("second DeleteTask: err = %v, want ErrNotFound", err)
	}
	_, err := UpdateTask(s, ctx, "alice", gone.ID, func(*todoapi.Task) bool { return true })
	if !errors.Is(err, todoapi.ErrNotFound) {
		t.Errorf("UpdateTask after delete: err = %v, want ErrNotFound", err)
	}
	if got := list(t, s, "alice", todoapi.StatusAll); !slices.Equal(ids(got), []int64{keep.ID}) {
		t.Errorf("list after delete = %v, want only %d", ids(got), keep.ID)
	}
	checkTask(t, "remaining task", get(t, s, "alice", keep.ID), keep)
}

// testUpsertUser: a user row records when the user was first and last
// seen; an empty email or name (a token without one) keeps the known one.
func testUpsertUser(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	users, ok := s.(UserReader)
	if !ok {
		t.Fatalf("%T does not implement storetest.UserReader", s)
	}
	check := func(step string, want todoapi.User, first, last time.Time) {
		t.Helper()
		u, f, l, err := users.LookupUser(ctx, want.ID)
		if err != nil {
			t.Fatalf("%s: LookupUser: %v", step, err)
		}
		if u != want {
			t.Errorf("%s: user = %+v, want %+v", step, u, want)
		}
		if !f.Equal(first) || f.Location() != time.UTC {
			t.Errorf("%s: first seen = %v, want %v in UTC", step, f, first)
		}
		if !l.Equal(last) || l.Location() != time.UTC {
			t.Errorf("%s: last seen = %v, want %v in UTC", step, l, last)
		}
	}
	upsert := func(u todoapi.User, seen time.Time) {
		t.Helper()
		if err := s.UpsertUser(ctx, u, seen); err != nil {
			t.Fatalf("UpsertUser(%+v): %v", u, err)
		}
	}

	t1, t2, t3 := base, base.Add(time.Minute), base.Add(time.Hour)
	upsert(todoapi.User{ID: "u1", Email: "a@example.com", Name: "Ann"}, t1)
	check("first upsert", todoapi.User{ID: "u1", Email: "a@example.com", Name: "Ann"}, t1, t1)

	// A token without email or name must not erase the known ones.
	upsert(todoapi.User{ID: "u1"}, t2)
	check("upsert without email and name", todoapi.User{ID: "u1", Email: "a@example.com", Name: "Ann"}, t1, t2)

	upsert(todoapi.User{ID: "u1", Email: "new@example.com"}, t3.In(time.FixedZone("X", -7*3600)))
	check("upsert with new email", todoapi.User{ID: "u1", Email: "new@example.com", Name: "Ann"}, t1, t3)

	upsert(todoapi.User{ID: "u2"}, t1)
	check("user never given an email", todoapi.User{ID: "u2"}, t1, t1)
	check("other user after u2 appeared", todoapi.User{ID: "u1", Email: "new@example.com", Name: "Ann"}, t1, t3)

	task := create(t, s, newTask("u1", "after upserts", base))
	checkTask(t, "task of upserted user", get(t, s, "u1", task.ID), task)
}

// testUnknownUser: a task cannot belong to a user the store has never
// seen (the foreign key), and the failure is not mistaken for a domain
// error.
func testUnknownUser(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	_, err := CreateTask(s, ctxFor(t), newTask("ghost", "orphan", base), todoapi.DefaultTaskQuota)
	if err == nil {
		t.Fatal("CreateTask for a user that was never upserted succeeded; the foreign key is not enforced")
	}
	if errors.Is(err, todoapi.ErrDatabaseUnavailable) || errors.Is(err, todoapi.ErrNotFound) || errors.Is(err, todoapi.ErrQuotaExceeded) {
		t.Errorf("CreateTask for an unknown user: err = %v, want the foreign key's plain error", err)
	}
	if got := list(t, s, "ghost", todoapi.StatusAll); len(got) != 0 {
		t.Errorf("the failed CreateTask stored %d tasks", len(got))
	}
}

// testInvalidPriority: the store refuses a priority the domain does not
// know, as a last guard behind validation, and stores nothing.
func testInvalidPriority(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	task := newTask("alice", "bad priority", base)
	task.Priority = "urgent"
	if _, err := CreateTask(s, ctxFor(t), task, todoapi.DefaultTaskQuota); err == nil {
		t.Error("CreateTask with an unknown priority succeeded")
	}
	if got := list(t, s, "alice", todoapi.StatusAll); len(got) != 0 {
		t.Errorf("the failed CreateTask stored %d tasks", len(got))
	}
}

// testMigrateAgain: migrating a migrated store is a no-op that keeps the
// data, as every replica does at start.
func testMigrateAgain(t *testing.T, s todoapi.Store) {
	m, ok := s.(Migrator)
	if !ok {
		t.Fatalf("%T does not implement storetest.Migrator", s)
	}
	addUser(t, s, "alice")
	task := create(t, s, newTask("alice", "survives migrate", base))
	for i := range 2 {
		if err := m.Migrate(ctxFor(t)); err != nil {
			t.Fatalf("Migrate on a migrated store (round %d): %v", i+1, err)
		}
	}
	checkTask(t, "task after re-migrating", get(t, s, "alice", task.ID), task)
}

// testPing: an open store answers a ping (what /readyz asks).
func testPing(t *testing.T, s todoapi.Store) {
	if err := s.Ping(ctxFor(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// testClosed: a closed store reads as unavailable (a 503), never as a
// missing task (a 404) or a success.
func testClosed(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	task := create(t, s, newTask("alice", "x", base))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := ctxFor(t)
	// A closed database must read as unavailable (503), never as a missing
	// task (404).
	if err := s.Ping(ctx); !errors.Is(err, todoapi.ErrDatabaseUnavailable) {
		t.Errorf("Ping after Close: err = %v, want ErrDatabaseUnavailable", err)
	}
	if _, err := s.Task(ctx, "alice", task.ID); !errors.Is(err, todoapi.ErrDatabaseUnavailable) || errors.Is(err, todoapi.ErrNotFound) {
		t.Errorf("Task after Close: err = %v, want ErrDatabaseUnavailable only", err)
	}
	if _, err := CreateTask(s, ctx, newTask("alice", "y", base), todoapi.DefaultTaskQuota); !errors.Is(err, todoapi.ErrDatabaseUnavailable) {
		t.Errorf("CreateTask after Close: err = %v, want ErrDatabaseUnavailable", err)
	}
}

// testCanceledContext: a canceled request ends with context.Canceled,
// which the transport knows as a client that went away, not as a missing
// task or a database outage.
func testCanceledContext(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	task := create(t, s, newTask("alice", "x", base))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want context.Canceled", op, err)
		}
		if errors.Is(err, todoapi.ErrNotFound) || errors.Is(err, todoapi.ErrDatabaseUnavailable) {
			t.Errorf("%s with a canceled context: err = %v, must be neither ErrNotFound nor ErrDatabaseUnavailable", op, err)
		}
	}
	_, err := s.Task(ctx, "alice", task.ID)
	check("Task", err)
	_, err = s.ListTasks(ctx, "alice", todoapi.TaskFilter{})
	check("ListTasks", err)
	_, err = UpdateTask(s, ctx, "alice", task.ID, func(task *todoapi.Task) bool {
		task.Title = "changed"
		return true
	})
	check("UpdateTask", err)
	check("DeleteTask", DeleteTask(s, ctx, "alice", task.ID))
	_, err = CreateTask(s, ctx, newTask("alice", "y", base), todoapi.DefaultTaskQuota)
	check("CreateTask", err)
	checkTask(t, "task after canceled calls", get(t, s, "alice", task.ID), task)
}

// testServiceKey: the first key stored under a name is the one every caller
// gets, however many ask at once with keys of their own, and it stays.
func testServiceKey(t *testing.T, s todoapi.Store) {
	ctx := t.Context()
	const callers = 16
	got := make([][]byte, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			candidate := bytes.Repeat([]byte{byte(i + 1)}, 32)
			key, err := s.ServiceKey(ctx, "test-key", candidate)
			if err != nil {
				t.Errorf("ServiceKey %d: %v", i, err)
				return
			}
			got[i] = key
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	first := got[0]
	if len(first) != 32 || first[0] < 1 || first[0] > callers || !bytes.Equal(first, bytes.Repeat(first[:1], 32)) {
		t.Fatalf("ServiceKey returned %x, none of the candidates", first)
	}
	for i, k := range got {
		if !bytes.Equal(k, first) {
			t.Errorf("caller %d got %x, caller 0 got %x", i, k, first)
		}
	}
	again, err := s.ServiceKey(ctx, "test-key", bytes.Repeat([]byte{0xff}, 32))
	if err != nil || !bytes.Equal(again, first) {
		t.Errorf("ServiceKey later: %x, %v; want the stored %x", again, err, first)
	}
	other, err := s.ServiceKey(ctx, "other-key", bytes.Repeat([]byte{0xee}, 32))
	if err != nil || !bytes.Equal(other, bytes.Repeat([]byte{0xee}, 32)) {
		t.Errorf("ServiceKey under another name: %x, %v", other, err)
	}
}
