package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// testQuota: a user at the quota can create nothing more until a delete
// makes room, and other users are unaffected.
func testQuota(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	const quota = 3
	var ids []int64
	for i := range quota {
		task, err := CreateTask(s, ctx, newTask("alice", fmt.Sprint("t", i), base.Add(time.Duration(i)*time.Second)), quota)
		if err != nil {
			t.Fatalf("create %d of %d: %v", i+1, quota, err)
		}
		ids = append(ids, task.ID)
	}
	if _, err := CreateTask(s, ctx, newTask("alice", "over", base), quota); !errors.Is(err, todoapi.ErrQuotaExceeded) {
		t.Fatalf("create over the quota: err = %v; want ErrQuotaExceeded", err)
	}
	if n := len(list(t, s, "alice", todoapi.StatusAll)); n != quota {
		t.Fatalf("alice has %d tasks after a refused create; want %d", n, quota)
	}
	if _, err := CreateTask(s, ctx, newTask("bob", "mine", base), quota); err != nil {
		t.Fatalf("bob is not at alice's quota: %v", err)
	}
	// A delete by another user frees nothing; alice's own delete does.
	if err := DeleteTask(s, ctx, "bob", ids[0]); !errors.Is(err, todoapi.ErrNotFound) {
		t.Fatalf("bob deleting alice's task: %v", err)
	}
	if _, err := CreateTask(s, ctx, newTask("alice", "still over", base), quota); !errors.Is(err, todoapi.ErrQuotaExceeded) {
		t.Fatalf("after a foreign delete: err = %v; want ErrQuotaExceeded", err)
	}
	if err := DeleteTask(s, ctx, "alice", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateTask(s, ctx, newTask("alice", "fits again", base), quota); err != nil {
		t.Fatalf("after deleting one: %v", err)
	}
}

// testQuotaConcurrent: creates racing for the last slots never overshoot.
func testQuotaConcurrent(t *testing.T, s todoapi.Store) {
	ctx := ctxFor(t)
	addUser(t, s, "alice")
	const quota, tries = 5, 20
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			_, err := CreateTask(s, ctx, newTask("alice", fmt.Sprint("race ", i), base), quota)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, todoapi.ErrQuotaExceeded):
				refused.Add(1)
			default:
				t.Errorf("create: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != quota || refused.Load() != tries-quota {
		t.Fatalf("%d creates succeeded and %d were refused; want %d and %d", ok.Load(), refused.Load(), quota, tries-quota)
	}
	if n := len(list(t, s, "alice", todoapi.StatusAll)); n != quota {
		t.Fatalf("alice holds %d tasks; want %d", n, quota)
	}
}
