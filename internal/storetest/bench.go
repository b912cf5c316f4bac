package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// BenchmarkQueries measures each Store method on the service's hot paths
// as a request calls it, one call at a time and, for the reads and the
// toggle, from many goroutines at once (as under load: the parallel numbers
// include waiting for the pool). The data are those of cmd/loadtest: 100
// users with 20 tasks each. s must be empty. BenchmarkList covers long
// lists, filters and deep pages.
//
//	go test -run '^$' -bench BenchmarkQueries -benchmem ./postgres ./sqlite
func BenchmarkQueries(b *testing.B, s todoapi.Store) {
	ctx := context.Background()
	const users, perUser = 100, 20
	ids := make([][]int64, users)
	userID := func(u int) string { return fmt.Sprint("bench-user-", u) }
	for u := range users {
		if err := s.UpsertUser(ctx, todoapi.User{ID: userID(u), Email: "u@example.com"}, base); err != nil {
			b.Fatal(err)
		}
		for i := range perUser {
			t := newTask(userID(u), fmt.Sprintf("Task %d of user %d", i, u), base.Add(time.Duration(i)*time.Second))
			t.Tags = []string{"home", "work"}[:i%3%2+1]
			if i%2 == 0 {
				t.Description = ptr("Some details that a user wrote down so as not to forget them.")
			}
			created, err := CreateTask(s, ctx, t, todoapi.DefaultTaskQuota)
			if err != nil {
				b.Fatal(err)
			}
			ids[u] = append(ids[u], created.ID)
		}
	}
	pick := func(r *rand.Rand) (string, int64) {
		u := r.IntN(users)
		return userID(u), ids[u][r.IntN(perUser)]
	}
	now := base.Add(time.Hour)
	toggle := func(t *todoapi.Task) bool {
		t.Completed = !t.Completed
		t.CompletedAt = nil
		if t.Completed {
			t.CompletedAt = &now
		}
		t.UpdatedAt = now
		return true
	}
	calls := []struct {
		name     string
		parallel bool
		call     func(r *rand.Rand) error
	}{
		{"Task", true, func(r *rand.Rand) error {
			u, id := pick(r)
			_, err := s.Task(ctx, u, id)
			return err
		}},
		{"ListTasks/20", true, func(r *rand.Rand) error {
			page, err := s.ListTasks(ctx, userID(r.IntN(users)), todoapi.TaskFilter{})
			if err == nil && len(page.Tasks) != perUser {
				err = fmt.Errorf("listed %d tasks, want %d", len(page.Tasks), perUser)
			}
			return err
		}},
		{"UpdateTask/toggle", true, func(r *rand.Rand) error {
			u, id := pick(r)
			_, err := UpdateTask(s, ctx, u, id, toggle)
			return err
		}},
		{"UpdateTask/unchanged", false, func(r *rand.Rand) error {
			u, id := pick(r)
			_, err := UpdateTask(s, ctx, u, id, func(*todoapi.Task) bool { return false })
			return err
		}},
		{"CreateTask+DeleteTask", false, func(r *rand.Rand) error {
			u := r.IntN(users)
			t, err := CreateTask(s, ctx, newTask(userID(u), "short-lived", now), todoapi.DefaultTaskQuota)
			if err != nil {
				return err
			}
			return DeleteTask(s, ctx, userID(u), t.ID)
		}},
		{"UpsertUser", false, func(r *rand.Rand) error {
			return s.UpsertUser(ctx, todoapi.User{ID: userID(r.IntN(users)), Email: "u@example.com"}, now)
		}},
	}
	for _, c := range calls {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				if err := c.call(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		if !c.parallel {
			continue
		}
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16) // 16 × GOMAXPROCS goroutines: more than the pool holds
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 2))
				for pb.Next() {
					if err := c.call(r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
