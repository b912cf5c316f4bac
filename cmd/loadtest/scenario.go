package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// user is one of the run's users, with what requests for it need.
type user struct {
	id    string
	auth  string // "Authorization: Bearer …\r\n"
	tasks []int64
}

// fixture is the data every scenario works on.
type fixture struct {
	host  string // for the Host header
	users []user
	// Users with long lists, seeded only when a chosen scenario needs them
	// (see bigUsers): 1 000 and 10 000 ordinary tasks, and 10 000 tasks of
	// the largest size a task may have.
	big1k, big10k, max10k *user
}

// scenario builds the next request of one kind. want is the status that
// counts as success.
type scenario struct {
	name  string
	build func(w *worker) (req []byte, want int)
	// conns, when not zero, is the scenario's own number of connections,
	// in place of -connections.
	conns int
	// needs names the long-list users the scenario works on.
	needs bigNeeds
	// storm: each request is sent on a new connection that the client
	// closes before the answer comes (see runStorm).
	storm bool
	// only, when set, is the one store the scenario means something on.
	only string
}

// worker is one connection's state while a scenario runs.
type worker struct {
	fx    *fixture
	rng   *rand.Rand
	buf   []byte
	n     int // requests built, for unique titles
	id    int // the connection's index in the scenario
	conns int // and how many the scenario runs
	// unmeasured is set by a scenario's build for a request that makes
	// load but whose latency is not what the scenario measures.
	unmeasured bool
}

func (w *worker) pickUser() *user { return &w.fx.users[w.rng.IntN(len(w.fx.users))] }

func (w *worker) pickTask() (*user, int64) {
	u := w.pickUser()
	return u, u.tasks[w.rng.IntN(len(u.tasks))]
}

// request appends a request line and the common headers to w.buf.
func (w *worker) request(method string, u *user, path ...string) {
	w.buf = append(w.buf[:0], method...)
	w.buf = append(w.buf, " /api/"...)
	w.buf = append(w.buf, u.id...)
	w.buf = append(w.buf, "/tasks"...)
	for _, p := range path {
		w.buf = append(w.buf, p...)
	}
	w.buf = append(w.buf, " HTTP/1.1\r\nHost: "...)
	w.buf = append(w.buf, w.fx.host...)
	w.buf = append(w.buf, "\r\n"...)
	w.buf = append(w.buf, u.auth...)
}

func (w *worker) body(contentType string, body []byte) []byte {
	w.buf = append(w.buf, "Content-Type: "...)
	w.buf = append(w.buf, contentType...)
	w.buf = append(w.buf, "\r\nContent-Length: "...)
	w.buf = strconv.AppendInt(w.buf, int64(len(body)), 10)
	w.buf = append(w.buf, "\r\n\r\n"...)
	return append(w.buf, body...)
}

func list(w *worker) ([]byte, int) {
	w.request("GET", w.pickUser())
	return append(w.buf, "\r\n"...), http.StatusOK
}

func get(w *worker) ([]byte, int) {
	u, id := w.pickTask()
	w.request("GET", u, "/", strconv.FormatInt(id, 10))
	return append(w.buf, "\r\n"...), http.StatusOK
}

func toggle(w *worker) ([]byte, int) {
	u, id := w.pickTask()
	w.request("PATCH", u, "/", strconv.FormatInt(id, 10), "/complete")
	return append(w.buf, "Content-Length: 0\r\n\r\n"...), http.StatusOK
}

// update renames a task to a title it has not had before, so that every
// request really writes (an update that changes nothing writes nothing).
func update(w *worker) ([]byte, int) {
	u, id := w.pickTask()
	w.n++
	w.request("PUT", u, "/", strconv.FormatInt(id, 10))
	body := fmt.Appendf(nil, `{"title":"Task %d, revision %d-%d","priority":"%s"}`,
		id, w.rng.Uint32(), w.n, []string{"low", "medium", "high"}[w.n%3])
	return w.body("application/json", body), http.StatusOK
}

func create(w *worker) ([]byte, int) {
	u := w.pickUser()
	w.n++
	w.request("POST", u)
	body := fmt.Appendf(nil, `{"title":"Load test task %d-%d","description":"Created by cmd/loadtest","priority":"high","tags":["load","test"]}`,
		w.rng.Uint32(), w.n)
	return w.body("application/json", body), http.StatusCreated
}

// mixed is 80 % reads and 20 % writes: half the reads list, half get one
// task; half the writes toggle, half rename. The writes change tasks but
// never add any, so every list keeps its length.
func mixed(w *worker) ([]byte, int) {
	switch r := w.rng.IntN(100); {
	case r < 40:
		return list(w)
	case r < 80:
		return get(w)
	case r < 90:
		return toggle(w)
	default:
		return update(w)
	}
}

// scenarios in the order they run: the creates come last because they make
// every list longer.
var scenarios = []scenario{
	{name: "list", build: list},
	{name: "get", build: get},
	{name: "toggle", build: toggle},
	{name: "update", build: update},
	{name: "mixed", build: mixed},
	{name: "list50", build: list50},
	{name: "list50-1k", build: listBig(func(fx *fixture) *user { return fx.big1k }), needs: need1k},
	{name: "list50-10k", build: listBig(func(fx *fixture) *user { return fx.big10k }), needs: need10k},
	{name: "search", build: search(searchRare), needs: needMax},
	{name: "search-common", build: search(searchCommon), needs: needMax},
	{name: "search-short", build: search(searchShort), needs: needMax},
	{name: "search-starve", build: searchStarve, needs: needMax},
	{name: "toggle-256", build: toggle, conns: 256},
	{name: "mixed-256", build: mixed, conns: 256},
	{name: "storm", build: listBig(func(fx *fixture) *user { return fx.big10k }), needs: need10k, storm: true, only: "postgres"},
	{name: "create", build: create},
	{name: "create-256", build: create, conns: 256},
}

// result is what one scenario measured.
type result struct {
	store, scenario string
	bin             string // the binary's label, "" when only one is measured
	duration        time.Duration
	ok, failed      int
	// failures counts failed requests by status, or by error text for
	// requests that got no response.
	failures map[string]int
	p50, p99 time.Duration
	rssKB    int64 // largest VmRSS of the server seen while measuring
	// cpu is the server's CPU time (user and system) while measuring.
	// Per request, it is the figure least disturbed by whatever else the
	// machine is doing.
	cpu time.Duration
	// A storm's: database connections the server opened, and the
	// statuses its metrics recorded for the requests.
	opened   int64
	statuses map[string]int
}

func (r result) rps() float64 { return float64(r.ok) / r.duration.Seconds() }

// cpuPerRequest is the server's CPU time per successful request.
func (r result) cpuPerRequest() time.Duration {
	if r.ok == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ok)
}

// run sends sc's requests over conns connections for warmup+duration and
// measures the last duration of it.
type runOptions struct {
	addr        string
	conns       int
	warmup, dur time.Duration
	timeout     time.Duration
	pid         int    // the server's, for RSS; 0: not measured
	profileURL  string // the server's pprof base URL, or ""
	profileDir  string
	store, bin  string
	stdout      io.Writer
	seed        uint64
}

func runScenario(ctx context.Context, fx *fixture, sc scenario, o runOptions) result {
	start := time.Now()
	from := start.Add(o.warmup)
	end := from.Add(o.dur)

	type tally struct {
		lat        []uint32 // microseconds
		ok, failed int
		failures   map[string]int
	}
	tallies := make([]tally, o.conns)
	var wg sync.WaitGroup
	for i := range o.conns {
		wg.Go(func() {
			t := &tallies[i]
			t.failures = map[string]int{}
			t.lat = make([]uint32, 0, 1<<14)
			w := &worker{fx: fx, id: i, conns: o.conns, rng: rand.New(rand.NewPCG(o.seed, uint64(i))), buf: make([]byte, 0, 1024)}
			c := newRawConn(o.addr)
			defer c.close()
			for now := time.Now(); now.Before(end) && ctx.Err() == nil; {
				w.unmeasured = false
				req, want := sc.build(w)
				status, err := c.do(req, o.timeout)
				done := time.Now()
				if !now.Before(from) && !w.unmeasured {
					switch {
					case err != nil:
						t.failed++
						t.failures[shortError(err)]++
					case status != want:
						t.failed++
						t.failures["HTTP "+strconv.Itoa(status)]++
					default:
						t.ok++
						t.lat = append(t.lat, uint32(min(done.Sub(now).Microseconds(), 1<<32-1)))
					}
				}
				now = done
			}
		})
	}

	// While the measured part runs: the server's memory and CPU time, and
	// a CPU profile.
	var rss int64
	var cpu time.Duration
	var side sync.WaitGroup
	sideCtx, stopSide := context.WithDeadline(ctx, end)
	if o.pid > 0 {
		side.Go(func() {
			select {
			case <-sideCtx.Done():
				return
			case <-time.After(time.Until(from)):
			}
			cpu0 := readCPU(o.pid)
			<-sideCtx.Done()
			cpu = readCPU(o.pid) - cpu0
		})
		side.Go(func() {
			for {
				if time.Now().After(from) {
					rss = max(rss, readRSS(o.pid))
				}
				select {
				case <-sideCtx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		})
	}
	if o.profileURL != "" && o.profileDir != "" {
		side.Go(func() {
			if err := profile(ctx, from, o, sc.name); err != nil {
				fmt.Fprintf(o.stdout, "  (no profile of %s/%s: %v)\n", o.store, sc.name, err)
			}
		})
	}
	wg.Wait()
	stopSide()
	side.Wait()

	r := result{store: o.store, bin: o.bin, scenario: sc.name, duration: o.dur, failures: map[string]int{}, rssKB: rss, cpu: cpu}
	var all []uint32
	for _, t := range tallies {
		r.ok += t.ok
		r.failed += t.failed
		for k, v := range t.failures {
			r.failures[k] += v
		}
		all = append(all, t.lat...)
	}
	slices.Sort(all)
	r.p50, r.p99 = percentile(all, 0.50), percentile(all, 0.99)
	return r
}

func percentile(sorted []uint32, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return time.Duration(sorted[i]) * time.Microsecond
}

func shortError(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// readCPU returns the process's user and system CPU time so far, or 0.
func readCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may contain spaces; fields count
	// from after it. utime and stime are fields 14 and 15, in clock ticks
	// (USER_HZ, 100 on Linux).
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// readRSS returns the process's resident set size in KiB, or 0.
func readRSS(pid int) int64 {
	return procStatus(pid, "VmRSS:")
}

func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// profile saves a CPU profile of the server covering the measured part.
func profile(ctx context.Context, from time.Time, o runOptions, name string) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(from)):
	}
	secs := max(1, int(o.dur.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.profileURL+"profile?seconds="+strconv.Itoa(secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	path := filepath.Join(o.profileDir, o.store+"-"+name+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
