package main

// Reminders against the real binary: three todoapi processes on one
// PostgreSQL database send 1 000 reminders that fall due in the same
// second, each exactly once, while one of the three is killed; and a
// reminder that fell due while no process ran goes out when one starts.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// post creates a task and returns its id; it may run off the test's
// goroutine.
func post(base, tok, body string) (int64, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/me/tasks", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("POST %s: %d %s", base, res.StatusCode, b)
	}
	var task struct{ ID int64 }
	return task.ID, json.Unmarshal(b, &task)
}

func TestRemindersAcrossReplicas(t *testing.T) {
	t.Parallel()
	// The third replica claims and sends through the transaction pooler.
	r := startReplicas(t, 8)
	procs, bases, direct := r.procs, r.bases, r.direct

	// Ten users with 100 reminders each, created through all three
	// replicas (so that each knows the time), all due at the same moment.
	const users, each = 10, 100
	toks := make([]string, users)
	for u := range toks {
		toks[u] = mintToken(t, fmt.Sprint("reminded-", u))
	}
	// Streams on the two replicas that survive: replica 1 is killed.
	type userStreams struct{ on []*eventStream }
	streams := make([]userStreams, users)
	for u, tok := range toks {
		streams[u].on = []*eventStream{openEvents(t, bases[0], tok, ""), openEvents(t, bases[2], tok, "")}
	}
	created := time.Now()
	due := created.Add(10 * time.Second).Truncate(time.Second)
	body := fmt.Sprintf(`{"title":"remind me","remind_at":%q}`, due.UTC().Format(time.RFC3339))
	ids := make([][]int64, users)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, users*each)
	work := make(chan [2]int)
	for range 16 {
		wg.Go(func() {
			for w := range work {
				u, i := w[0], w[1]
				id, err := post(bases[(i+u)%len(bases)], toks[u], body)
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				ids[u] = append(ids[u], id)
				mu.Unlock()
			}
		})
	}
	for i := range each { // users interleaved: each has a few requests in flight
		for u := range users {
			work <- [2]int{u, i}
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if time.Now().After(due) {
		t.Logf("creating the tasks took %v, past their reminders' time: the delays below include it", time.Since(created))
	}

	// Each stream sees its user's task.created events, then the reminders.
	type arrival struct {
		at   time.Time
		task int64
	}
	var killAt time.Time
	killed := make(chan struct{})
	var killOnce sync.Once
	kill := func() {
		killOnce.Do(func() {
			killAt = time.Now()
			if err := procs[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Error(err)
			}
			close(killed)
		})
	}
	var arrivals []arrival
	var amu sync.Mutex
	var rg sync.WaitGroup
	failures := make(chan string, 2*users)
	for u := range users {
		for si, s := range streams[u].on {
			rg.Go(func() {
				want := map[int64]bool{}
				for _, id := range ids[u] {
					want[id] = true
				}
				seen := map[int64]int{}
				deadline := time.After(2 * time.Minute)
				for len(seen) < each {
					select {
					case ev := <-s.events:
						if ev.event != "task.reminder" {
							continue
						}
						var task eventTask
						if err := json.Unmarshal([]byte(ev.data), &task); err != nil || !want[task.ID] {
							failures <- fmt.Sprintf("user %d, stream %d: reminder %q is not one of the user's tasks", u, si, ev.data)
							return
						}
						seen[task.ID]++
						if seen[task.ID] > 1 {
							failures <- fmt.Sprintf("user %d, stream %d: task %d reminded twice", u, si, task.ID)
							return
						}
						if si == 0 {
							amu.Lock()
							arrivals = append(arrivals, arrival{ev.at, task.ID})
							n := len(arrivals)
							amu.Unlock()
							if n == users*each/5 {
								kill() // a fifth of the way through
							}
						}
					case <-s.ended:
						failures <- fmt.Sprintf("user %d, stream %d ended", u, si)
						return
					case <-deadline:
						failures <- fmt.Sprintf("user %d, stream %d: %d of %d reminders within 2 minutes of their time", u, si, len(seen), each)
						return
					}
				}
			})
		}
	}
	rg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		return
	}
	<-killed
	<-procs[1].exited

	// Nothing is pending any more, so nothing more can be sent: a fresh
	// change is each stream's next event, with no duplicate before it.
	conn, err := pgx.Connect(t.Context(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var pending, unreminded int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE reminder_pending), count(*) FILTER (WHERE reminded_seq = 0) FROM tasks`).
		Scan(&pending, &unreminded); err != nil {
		t.Fatal(err)
	}
	if pending != 0 || unreminded != 0 {
		t.Fatalf("after every stream saw every reminder: %d still pending, %d never reminded", pending, unreminded)
	}
	for u, tok := range toks {
		marker, err := post(bases[0], tok, `{"title":"marker"}`)
		if err != nil {
			t.Fatal(err)
		}
		for si, s := range streams[u].on {
			for {
				ev := s.next(t)
				if ev.event == "task.updated" { // the first half of a reminder's pair
					continue
				}
				if ev.event != "task.created" || ev.task(t).ID != marker {
					t.Fatalf("user %d, stream %d: %s %s after all reminders, want the marker %d", u, si, ev.event, ev.data, marker)
				}
				break
			}
		}
	}
	// An initial sync of the change feed marks no task as reminded: it
	// would show every reminder ever sent (a read from a position marks
	// those sent since, as the http tests check).
	status, raw, _ := call(t, "GET", bases[2]+"/api/me/changes", toks[0], "")
	var feed struct {
		Changes []struct {
			Task     struct{ ID int64 }
			Reminder bool
		}
	}
	if status != http.StatusOK || json.Unmarshal(raw, &feed) != nil {
		t.Fatalf("changes: %d %s", status, raw)
	}
	marked := 0
	for _, ch := range feed.Changes {
		if ch.Reminder {
			marked++
		}
	}
	if len(feed.Changes) != each+1 || marked != 0 {
		t.Errorf("an initial sync has %d entries, %d marked as reminded; want %d, none marked", len(feed.Changes), marked, each+1)
	}

	delays := make([]time.Duration, len(arrivals))
	afterKill := 0
	for i, a := range arrivals {
		delays[i] = a.at.Sub(due)
		if a.at.After(killAt) {
			afterKill++
		}
	}
	slices.Sort(delays)
	within := func(d time.Duration) int {
		n, _ := slices.BinarySearch(delays, d)
		return n
	}
	t.Logf("%d reminders due at one instant, 3 replicas, one killed (SIGKILL) after %d had arrived; %d arrived after the kill",
		len(delays), users*each/5, afterKill)
	t.Logf("delay from remind_at to the task.reminder event on a stream: min %v, median %v, p90 %v, p99 %v, max %v; within 1 s: %d, within 5 s: %d",
		delays[0].Round(time.Millisecond), percentile(delays, 0.5).Round(time.Millisecond), percentile(delays, 0.9).Round(time.Millisecond),
		percentile(delays, 0.99).Round(time.Millisecond), delays[len(delays)-1].Round(time.Millisecond), within(time.Second), within(5*time.Second))
}

// TestReminderAfterDowntime: a reminder that fell due while no process
// sent reminders goes out, once, when one starts.
func TestReminderAfterDowntime(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + t.TempDir() + "/todo.db"
	tok := mintToken(t, "alice")
	off := startProcess(t, "DATABASE_URL="+dbURL, "REMINDER_POLL=0")
	base := off.ready(t)
	status, raw, _ := call(t, "GET", base+"/api/me/changes", tok, "")
	var start struct{ Next string }
	if status != http.StatusOK || json.Unmarshal(raw, &start) != nil {
		t.Fatalf("changes: %d %s", status, raw)
	}
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	id, err := post(base, tok, fmt.Sprintf(`{"title":"missed","remind_at":%q}`, past))
	if err != nil {
		t.Fatal(err)
	}
	off.stop(t)

	on := startProcess(t, "DATABASE_URL="+dbURL)
	s := openEvents(t, on.ready(t), tok, start.Next)
	if ev := s.next(t); ev.event != "task.created" || ev.task(t).ID != id {
		t.Fatalf("first event %s %s, want the task's creation", ev.event, ev.data)
	}
	// The stream may have caught up before the reminder went out: then the
	// reminder's task.updated comes first.
	ev := s.next(t)
	if ev.event == "task.updated" {
		ev = s.next(t)
	}
	if ev.event != "task.reminder" || ev.task(t).ID != id {
		t.Fatalf("then %s %s, want the task's reminder", ev.event, ev.data)
	}
}
