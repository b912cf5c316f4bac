package main

// Live events across replicas, against the real binary: three todoapi
// processes on one PostgreSQL cluster, one of them writing through
// PgBouncer in transaction mode (its LISTEN goes to DATABASE_DIRECT_URL).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/todoapi/todoapi/postgres/pgtest"
)

// sseEvent is one event of a stream, with the time it arrived.
type sseEvent struct {
	id, event, data string
	at              time.Time
}

// eventStream reads a text/event-stream in the background.
type eventStream struct {
	events chan sseEvent
	ended  chan struct{}
	cancel context.CancelFunc
}

// openEvents opens GET base/api/me/events for tok, resuming after lastID
// when it is not empty, and waits for the stream's ready event.
func openEvents(t *testing.T, base, tok, lastID string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/me/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := (&http.Client{}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s/api/me/events: %v", base, err)
	}
	if res.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET %s/api/me/events: %d", base, res.StatusCode)
	}
	s := &eventStream{events: make(chan sseEvent, 10_000), ended: make(chan struct{}), cancel: cancel}
	t.Cleanup(func() { cancel(); res.Body.Close() })
	go func() {
		defer close(s.ended)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if ev.event != "" {
					ev.at = time.Now()
					s.events <- ev
				}
				ev = sseEvent{}
				continue
			}
			name, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch name {
			case "id":
				ev.id = value
			case "event":
				ev.event = value
			case "data":
				ev.data = value
			}
		}
	}()
	if ev := s.next(t); ev.event != "ready" {
		t.Fatalf("first event %+v, want ready", ev)
	}
	return s
}

// next waits for the next event, generously: the test asserts arrival, not
// speed (speed is measured and printed).
func (s *eventStream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-s.ended:
		select {
		case ev := <-s.events:
			return ev
		default:
		}
		t.Fatal("the stream ended")
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	return sseEvent{}
}

// eventTask is what the tests read from an event's data.
type eventTask struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
}

func (ev sseEvent) task(t *testing.T) eventTask {
	t.Helper()
	var task eventTask
	if err := json.Unmarshal([]byte(ev.data), &task); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	return task
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// replicas is three todoapi processes on one PostgreSQL database: the
// first two connect directly, the third through PgBouncer in transaction
// mode, with its LISTEN (which a transaction pooler cannot carry) on
// DATABASE_DIRECT_URL.
type replicas struct {
	procs  []*process
	bases  []string // each one's base URL
	direct string   // the database's direct URL
}

// startReplicas starts the three processes, each with env as well, on a
// cluster of their own, and waits until each listens.
func startReplicas(t *testing.T, bouncerPool int, env ...string) replicas {
	t.Helper()
	c := pgtest.StartCluster(t)
	b := pgtest.StartPgBouncer(t, c, pgtest.PgBouncerOptions{PoolSize: bouncerPool})
	db := c.CreateDatabase(t)
	r := replicas{direct: c.URL(db, neonParams)}
	pooled := b.URL(db, "sslmode=require&pgbouncer=true")
	r.procs = []*process{
		startProcess(t, append(env, "DATABASE_URL="+r.direct)...),
		startProcess(t, append(env, "DATABASE_URL="+r.direct)...),
		startProcess(t, append(env, "DATABASE_URL="+pooled, "DATABASE_DIRECT_URL="+r.direct)...),
	}
	for _, p := range r.procs {
		r.bases = append(r.bases, p.ready(t))
	}
	return r
}

func TestEventsAcrossReplicas(t *testing.T) {
	t.Parallel()
	r := startReplicas(t, 4, "SHUTDOWN_TIMEOUT=60s", "LOG_LEVEL=info")
	procs, bases := r.procs, r.bases
	tok := mintToken(t, "alice")

	create := func(replica int, title string) eventTask {
		t.Helper()
		status, body, _ := call(t, "POST", bases[replica]+"/api/me/tasks", tok, fmt.Sprintf(`{"title":%q}`, title))
		if status != http.StatusCreated {
			t.Fatalf("create through replica %d: %d %s", replica, status, body)
		}
		var task eventTask
		_ = json.Unmarshal(body, &task)
		return task
	}

	// A change through any replica reaches a stream on every replica.
	streams := make([]*eventStream, len(bases))
	for i, base := range bases {
		streams[i] = openEvents(t, base, tok, "")
	}
	for w := range bases {
		created := create(w, fmt.Sprint("written through replica ", w))
		for r, s := range streams {
			ev := s.next(t)
			if ev.event != "task.created" || ev.task(t).ID != created.ID {
				t.Fatalf("replica %d's stream after a create through replica %d: %+v", r, w, ev)
			}
		}
	}

	// Delivery latency to the other replicas, from the moment the write
	// request is sent: measured and printed, not asserted.
	const changes = 200
	var latencies []time.Duration
	for i := range changes {
		w := i % len(bases)
		sent := time.Now()
		created := create(w, fmt.Sprint("latency ", i))
		for r, s := range streams {
			ev := s.next(t)
			if ev.task(t).ID != created.ID {
				t.Fatalf("replica %d's stream: %+v, want task %d", r, ev, created.ID)
			}
			if r != w {
				latencies = append(latencies, ev.at.Sub(sent))
			}
		}
	}
	slices.Sort(latencies)
	t.Logf("cross-replica delivery of %d changes (%d deliveries, write request sent → event received on another replica): median %v, p99 %v, max %v",
		changes, len(latencies), percentile(latencies, 0.5).Round(10*time.Microsecond),
		percentile(latencies, 0.99).Round(10*time.Microsecond), latencies[len(latencies)-1].Round(10*time.Microsecond))

	// A replica dies mid-stream (kill -9, no goodbye): the client resumes
	// on another with the last id it saw and misses nothing, sees nothing
	// twice.
	victim := streams[1]
	before := create(0, "before the kill")
	last := victim.next(t)
	if last.task(t).ID != before.ID {
		t.Fatalf("victim stream: %+v", last)
	}
	for _, s := range []*eventStream{streams[0], streams[2]} {
		s.next(t)
	}
	if err := procs[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-procs[1].exited
	var missed []eventTask
	for i := range 6 {
		missed = append(missed, create(i%2*2, fmt.Sprint("while replica 1 was dead ", i)))
	}
	// An update of a task created before the kill, and a deletion.
	if status, body, _ := call(t, "PATCH", fmt.Sprintf("%s/api/me/tasks/%d", bases[2], before.ID), tok, `{"title":"renamed"}`); status != http.StatusOK {
		t.Fatalf("patch: %d %s", status, body)
	}
	if status, body, _ := call(t, "DELETE", fmt.Sprintf("%s/api/me/tasks/%d", bases[0], missed[0].ID), tok, ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}
	resumed := openEvents(t, bases[2], tok, last.id)
	// One entry per task, in commit order of each task's latest change:
	// missed[0] was deleted after missed[1..5] were created, and "before"
	// renamed before that.
	var want []string
	for _, m := range missed[1:] {
		want = append(want, fmt.Sprint("task.created ", m.ID))
	}
	want = append(want, fmt.Sprint("task.updated ", before.ID), fmt.Sprint("task.deleted ", missed[0].ID))
	var got []string
	for range want {
		ev := resumed.next(t)
		got = append(got, fmt.Sprint(ev.event, " ", ev.task(t).ID))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after resuming on another replica:\n got %q\nwant %q", got, want)
	}
	// Nothing more is pending: the next event is a fresh change.
	marker := create(2, "marker")
	if ev := resumed.next(t); ev.task(t).ID != marker.ID {
		t.Fatalf("after the missed changes: %+v, want the marker %d (a duplicate?)", ev, marker.ID)
	}

	// SIGTERM ends open streams at once, though SHUTDOWN_TIMEOUT would let
	// them run a minute: the stream closes and the process exits.
	start := time.Now()
	if err := procs[0].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-streams[0].ended:
	case <-time.After(30 * time.Second):
		t.Fatal("a stream was still open 30s after SIGTERM")
	}
	select {
	case <-procs[0].exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the replica did not exit within 30s of SIGTERM")
	}
	if !procs[0].cmd.ProcessState.Success() {
		t.Errorf("replica exited with %v after SIGTERM", procs[0].cmd.ProcessState)
	}
	t.Logf("SIGTERM with an open stream: stream closed and process exited in %v (SHUTDOWN_TIMEOUT=60s)", time.Since(start).Round(time.Millisecond))
}

// memoryVar turns on TestEventsMemoryPerStream, which opens 10 000 streams
// and takes a while; it measures, it does not check.
const memoryVar = "TODOAPI_EVENTS_MEMORY"

// TestEventsMemoryPerStream measures what an idle event stream costs the
// server: it opens 10 000 streams (100 users × 100) to a todoapi process on
// SQLite and prints the growth of the process's resident memory and Go
// heap, divided by the number of streams. Run it with
//
//	TODOAPI_EVENTS_MEMORY=1 go test ./cmd/todoapi -run TestEventsMemoryPerStream -v
func TestEventsMemoryPerStream(t *testing.T) {
	if os.Getenv(memoryVar) == "" {
		t.Skip("a measurement, not a check: set " + memoryVar + "=1 to run it")
	}
	const users, perUser = 100, 100
	debugAddr := fmt.Sprintf("127.0.0.1:%d", pgtest.FreePort(t))
	p := startProcess(t, "DATABASE_URL=sqlite:"+t.TempDir()+"/todo.db", "DEBUG_ADDR="+debugAddr,
		fmt.Sprint("EVENTS_MAX_STREAMS_PER_USER=", perUser), "EVENTS_MAX_STREAMS=20000")
	base := p.ready(t)
	pid := p.cmd.Process.Pid
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = mintToken(t, fmt.Sprint("user-", i))
		// Each user exists and has a task before the measurement starts.
		if status, body, _ := call(t, "POST", base+"/api/me/tasks", tokens[i], `{"title":"x"}`); status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
	}
	before := serverMemory(t, pid, debugAddr)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1, DisableKeepAlives: true}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := map[string]int{}
	ready := make(chan struct{}, users*perUser)
	sem := make(chan struct{}, 200) // connects in flight
	for i := range users * perUser {
		wg.Go(func() {
			sem <- struct{}{}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/me/events", nil)
			req.Header.Set("Authorization", "Bearer "+tokens[i%users])
			res, err := client.Do(req)
			if err != nil || res.StatusCode != http.StatusOK {
				<-sem
				mu.Lock()
				failures[fmt.Sprint(err, res != nil && res.StatusCode != 200)]++
				mu.Unlock()
				ready <- struct{}{}
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() && sc.Text() != "event: ready" {
			}
			<-sem
			ready <- struct{}{}
			for sc.Scan() { // hold the stream open until the test ends
			}
		})
	}
	start := time.Now()
	for range users * perUser {
		select {
		case <-ready:
		case <-time.After(2 * time.Minute):
			t.Fatal("streams did not open within 2 minutes")
		}
	}
	opened := time.Since(start)
	if len(failures) > 0 {
		t.Fatalf("failed streams: %v", failures)
	}
	after := serverMemory(t, pid, debugAddr)
	n := int64(users * perUser)
	t.Logf("%d streams opened in %v", n, opened.Round(time.Millisecond))
	t.Logf("server RSS %d → %d KiB: %.1f KiB per stream", before.rssKiB, after.rssKiB, float64(after.rssKiB-before.rssKiB)/float64(n))
	t.Logf("server Go heap in use %d → %d KiB: %.1f KiB per stream; goroutines %d → %d",
		before.heapKiB, after.heapKiB, float64(after.heapKiB-before.heapKiB)/float64(n), before.goroutines, after.goroutines)
	cancel()
	wg.Wait()
}

type memory struct {
	rssKiB, heapKiB int64
	goroutines      int
}

// serverMemory reads the process's VmRSS, and from its profiler the Go
// heap in use (after a GC the heap profile forces) and the goroutines.
func serverMemory(t *testing.T, pid int, debugAddr string) memory {
	t.Helper()
	var m memory
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &m.rssKiB)
		}
	}
	code, body, _ := call(t, "GET", "http://"+debugAddr+"/debug/pprof/heap?debug=1&gc=1", "", "")
	if code != http.StatusOK {
		t.Fatalf("heap profile: %d", code)
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "# HeapInuse = "); ok {
			fmt.Sscan(v, &m.heapKiB)
			m.heapKiB /= 1024
		}
	}
	_, body, _ = call(t, "GET", "http://"+debugAddr+"/debug/pprof/goroutine?debug=1", "", "")
	fmt.Sscanf(string(body), "goroutine profile: total %d", &m.goroutines)
	return m
}
