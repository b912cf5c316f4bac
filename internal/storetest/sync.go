package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// The write steps and the change feed (sync.go in the domain).

func changesSince(t *testing.T, s todoapi.Store, user string, after int64, live bool, limit int) todoapi.ChangeLog {
	t.Helper()
	log, err := s.ChangesSince(ctxFor(t), user, after, live, limit)
	if err != nil {
		t.Fatalf("ChangesSince(%q, %d): %v", user, after, err)
	}
	return log
}

func collectionVersion(t *testing.T, s todoapi.Store, user string) int64 {
	t.Helper()
	v, err := s.CollectionVersion(ctxFor(t), user)
	if err != nil {
		t.Fatalf("CollectionVersion(%q): %v", user, err)
	}
	return v
}

// describe shows a change log as "id@seq" (live) and "-id@seq" (tombstone).
func describe(log todoapi.ChangeLog) string {
	var b bytes.Buffer
	for _, e := range log.Entries {
		if e.Task == nil {
			fmt.Fprintf(&b, "-%d@%d ", e.ID, e.Seq)
		} else {
			fmt.Fprintf(&b, "%d@%d ", e.ID, e.Seq)
		}
	}
	return b.String()
}

// testVersions: a task is stored at version 1; a save stores its version
// only over the version before it, a delete only at the stored version;
// anything else is ErrStale and changes nothing.
func testVersions(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	addUser(t, s, "alice")
	task := create(t, s, newTask("alice", "v", base))
	if task.Version != 1 {
		t.Fatalf("created at version %d, want 1", task.Version)
	}
	got, err := UpdateTask(s, ctx, "alice", task.ID, func(t *todoapi.Task) bool { t.Title = "v2"; return true })
	if err != nil || got.Version != 2 || get(t, s, "alice", task.ID).Version != 2 {
		t.Fatalf("after an update: %+v, %v; want version 2 stored", got, err)
	}
	if got, _ := UpdateTask(s, ctx, "alice", task.ID, func(*todoapi.Task) bool { return false }); got.Version != 2 {
		t.Errorf("an update that changes nothing returned version %d, want 2", got.Version)
	}
	before := collectionVersion(t, s, "alice")
	for _, v := range []int64{2, 4} { // a save must store the version after the stored one
		err := s.Write(ctx, "alice", func(tx todoapi.StoreTx) error {
			next := get(t, s, "alice", task.ID)
			next.Title, next.Version = "lost", v
			_, err := tx.Save(ctx, next)
			return err
		})
		if !errors.Is(err, todoapi.ErrStale) {
			t.Errorf("Save of version %d over version 2: err = %v, want ErrStale", v, err)
		}
	}
	err = s.Write(ctx, "alice", func(tx todoapi.StoreTx) error { return tx.Delete(ctx, task.ID, 1, base) })
	if !errors.Is(err, todoapi.ErrStale) {
		t.Errorf("Delete at version 1 of a task at version 2: err = %v, want ErrStale", err)
	}
	if got := get(t, s, "alice", task.ID); got.Title != "v2" || got.Version != 2 {
		t.Errorf("after refused writes the task is %q at version %d, want v2 at 2", got.Title, got.Version)
	}
	if after := collectionVersion(t, s, "alice"); after-before > 3 {
		// A store may spend a number on a refused write (a gap the feed
		// skips), never record the write itself.
		t.Errorf("refused writes moved the collection version from %d to %d", before, after)
	}
	if log := changesSince(t, s, "alice", before, false, 10); len(log.Entries) != 0 {
		t.Errorf("refused writes left changes: %s", describe(log))
	}
}

// testChangesSince: the feed holds each task once at its latest change and
// each deletion as a tombstone, in sequence order, per user, paged by
// limit; live reads skip tombstones; Last is the collection version.
func testChangesSince(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	if v := collectionVersion(t, s, "alice"); v != 0 {
		t.Fatalf("a new user's collection version is %d, want 0", v)
	}
	if v := collectionVersion(t, s, "nobody"); v != 0 {
		t.Fatalf("an unknown user's collection version is %d, want 0", v)
	}
	a := create(t, s, newTask("alice", "a", base))
	b := create(t, s, newTask("alice", "b", base))
	create(t, s, newTask("bob", "bob's", base))
	c := create(t, s, newTask("alice", "c", base))
	if _, err := UpdateTask(s, ctx, "alice", a.ID, func(t *todoapi.Task) bool { t.Title = "a2"; return true }); err != nil {
		t.Fatal(err)
	}
	if err := DeleteTask(s, ctx, "alice", b.ID); err != nil {
		t.Fatal(err)
	}
	// alice: a@1 b@2 c@3, a@4, b deleted @5.
	all := changesSince(t, s, "alice", 0, false, 100)
	if got, want := describe(all), fmt.Sprintf("%d@3 %d@4 -%d@5 ", c.ID, a.ID, b.ID); got != want {
		t.Fatalf("feed = %s, want %s", got, want)
	}
	if all.Last != 5 || all.HasMore || collectionVersion(t, s, "alice") != 5 {
		t.Errorf("Last = %d, HasMore = %v, collection version %d; want 5, false, 5", all.Last, all.HasMore, collectionVersion(t, s, "alice"))
	}
	if e := all.Entries[1]; e.Task.Title != "a2" || e.Task.Version != 2 || e.CreatedSeq != 1 {
		t.Errorf("a's entry: %+v; want its latest state (a2, version 2), created at 1", e.Task)
	}
	if e := all.Entries[2]; e.DeletedAt.IsZero() || e.ID != b.ID {
		t.Errorf("b's tombstone: %+v", e)
	}
	if got := describe(changesSince(t, s, "alice", 3, false, 100)); got != fmt.Sprintf("%d@4 -%d@5 ", a.ID, b.ID) {
		t.Errorf("feed after 3 = %s", got)
	}
	if got := describe(changesSince(t, s, "alice", 0, true, 100)); got != fmt.Sprintf("%d@3 %d@4 ", c.ID, a.ID) {
		t.Errorf("live feed = %s, want the live tasks only", got)
	}
	page := changesSince(t, s, "alice", 0, false, 2)
	if len(page.Entries) != 2 || !page.HasMore {
		t.Errorf("limit 2: %s has_more=%v; want 2 entries and more", describe(page), page.HasMore)
	}
	page = changesSince(t, s, "alice", page.Entries[1].Seq, false, 2)
	if len(page.Entries) != 1 || page.HasMore {
		t.Errorf("second page: %s has_more=%v; want the tombstone only", describe(page), page.HasMore)
	}
	if got := describe(changesSince(t, s, "bob", 0, false, 100)); got == "" || changesSince(t, s, "bob", 0, false, 100).Last != 1 {
		t.Errorf("bob's feed = %s; want his own task only, at 1", got)
	}
}

// testPurgeTombstones: tombstones dated before the bound go, oldest first
// and at most limit of them, and the user's feed remembers the highest
// number it lost.
func testPurgeTombstones(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	del := func(user string, at time.Time) int64 {
		t.Helper()
		task := create(t, s, newTask(user, "gone", base))
		if err := s.Write(ctx, user, func(tx todoapi.StoreTx) error { return tx.Delete(ctx, task.ID, 1, at) }); err != nil {
			t.Fatal(err)
		}
		return collectionVersion(t, s, user)
	}
	old1 := del("alice", base)
	old2 := del("alice", base.Add(time.Hour))
	del("bob", base.Add(2*time.Hour))
	young := del("alice", base.Add(48*time.Hour))

	n, err := s.PurgeTombstones(ctx, base.Add(24*time.Hour), 1)
	if err != nil || n != 1 {
		t.Fatalf("PurgeTombstones limit 1: %d, %v; want 1", n, err)
	}
	if log := changesSince(t, s, "alice", 0, false, 10); log.Purged != old1 || len(log.Entries) != 2 {
		t.Errorf("after purging one: Purged = %d, entries %s; want %d and two tombstones", log.Purged, describe(log), old1)
	}
	if n, err = s.PurgeTombstones(ctx, base.Add(24*time.Hour), 100); err != nil || n != 2 {
		t.Fatalf("PurgeTombstones: %d, %v; want the other 2 old ones", n, err)
	}
	log := changesSince(t, s, "alice", 0, false, 10)
	if log.Purged != old2 || len(log.Entries) != 1 || log.Entries[0].Seq != young {
		t.Errorf("alice after the purge: Purged = %d, entries %s; want %d and the young tombstone", log.Purged, describe(log), old2)
	}
	if log := changesSince(t, s, "bob", 0, false, 10); log.Purged != 2 || len(log.Entries) != 0 {
		t.Errorf("bob after the purge: Purged = %d, entries %s", log.Purged, describe(log))
	}
	if n, _ := s.PurgeTombstones(ctx, base.Add(24*time.Hour), 100); n != 0 {
		t.Errorf("a second purge removed %d", n)
	}
}

// testSyncKey: the first key offered is kept; later offers get it back.
func testSyncKey(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	first, err := s.SyncKey(ctx, []byte("first key, 32 bytes long enough."))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.SyncKey(ctx, []byte("another key"))
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != "first key, 32 bytes long enough." || !bytes.Equal(again, first) {
		t.Errorf("keys = %q, %q; want the first one both times", first, again)
	}
}

// testFeedNeverMisses: writers create, update and delete a user's tasks
// at once through the service while a reader follows the change feed from
// its tokens. Whatever the interleaving, each task's versions reach the
// reader in increasing order, and once the writers are done the reader
// holds exactly what the store holds: no change was missed.
func testFeedNeverMisses(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	svc := todoapi.NewService(s)
	user := todoapi.User{ID: "alice"}
	const writers, opsEach = 6, 40

	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []int64
			for i := range opsEach {
				switch op := rng.IntN(4); {
				case op == 0 || len(mine) == 0:
					task, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value(fmt.Sprint(w, "-", i))})
					if err != nil {
						t.Errorf("create: %v", err)
						return
					}
					mine = append(mine, task.ID)
				case op == 1:
					id := mine[rng.IntN(len(mine))]
					if err := svc.DeleteTask(ctx, user, id); err != nil {
						t.Errorf("delete: %v", err)
						return
					}
					mine = slices.DeleteFunc(mine, func(x int64) bool { return x == id })
				default:
					id := mine[rng.IntN(len(mine))]
					if _, err := svc.CompleteTask(ctx, user, id, todoapi.Field[bool]{}); err != nil {
						t.Errorf("toggle: %v", err)
						return
					}
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	seen := map[int64]int64{} // id → version the reader holds; deleted ids are removed
	since := ""
	apply := func(page todoapi.ChangePage) {
		for _, c := range page.Changes {
			if c.Op == todoapi.ChangeDelete {
				delete(seen, c.ID)
				continue
			}
			if v, ok := seen[c.ID]; ok && c.Task.Version <= v {
				t.Errorf("task %d went from version %d back to %d", c.ID, v, c.Task.Version)
			}
			seen[c.ID] = c.Task.Version
		}
		since = page.Next
	}
	read := func(limit int) todoapi.ChangePage {
		page, err := svc.Changes(ctx, user, since, limit)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		return page
	}
	polls := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		apply(read(1 + polls%5)) // small pages, so that readers page while writers write
		polls++
	}
	for page := read(todoapi.MaxChangesLimit); ; page = read(todoapi.MaxChangesLimit) {
		apply(page)
		if !page.HasMore {
			break
		}
	}
	if t.Failed() {
		return
	}
	stored := map[int64]int64{}
	for _, task := range list(t, s, "alice", todoapi.StatusAll) {
		stored[task.ID] = task.Version
	}
	if len(stored) == 0 {
		t.Fatal("the writers left no task; the test proves nothing")
	}
	if !maps.Equal(seen, stored) {
		t.Fatalf("after %d polls the reader holds %v; the store holds %v", polls, seen, stored)
	}
	t.Logf("%d polls, %d tasks left", polls, len(stored))
}

// testServicePurges: the service purges expired tombstones by itself, on
// a later write, and a reader positioned before a purged tombstone is told
// to sync from scratch (ErrChangesExpired). The clock is injected.
func testServicePurges(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	svc := todoapi.NewService(s)
	now := base
	svc.Now = func() time.Time { return now }
	svc.TombstoneRetention = 24 * time.Hour
	user := todoapi.User{ID: "alice"}

	task, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value("gone soon")})
	if err != nil {
		t.Fatal(err)
	}
	before, err := svc.Changes(ctx, user, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteTask(ctx, user, task.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(23 * time.Hour)
	if _, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value("a day later")}); err != nil {
		t.Fatal(err)
	}
	if log := changesSince(t, s, "alice", 0, false, 10); log.Purged != 0 {
		t.Fatalf("a tombstone within the retention was purged: %s, Purged %d", describe(log), log.Purged)
	}
	now = now.Add(2 * time.Hour)
	if _, err := svc.CreateTask(ctx, user, todoapi.TaskPatch{Title: todoapi.Value("past the retention")}); err != nil {
		t.Fatal(err)
	}
	log := changesSince(t, s, "alice", 0, false, 10)
	if log.Purged == 0 || slices.ContainsFunc(log.Entries, func(e todoapi.ChangeEntry) bool { return e.Task == nil }) {
		t.Fatalf("the write past the retention did not purge: %s, Purged %d", describe(log), log.Purged)
	}
	// The token is within the retention by its age, but its position is
	// before a purged tombstone.
	svc.TombstoneRetention = 48 * time.Hour
	if _, err := svc.Changes(ctx, user, before.Next, 10); !errors.Is(err, todoapi.ErrChangesExpired) {
		t.Errorf("reading from before the purged tombstone: err = %v, want ErrChangesExpired", err)
	}
}
