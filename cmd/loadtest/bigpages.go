package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// The bigpages scenario measures what one user reading its largest pages
// in parallel costs everyone else. A heavy user holds -bigpages-tasks tasks
// of the largest size the API accepts (every text field at its limit, in
// four-byte characters: about 9 KB of JSON each), and reads its first page
// of 1 000 (about 9 MB) over each of -bigpages-parallel connections at
// once, while a bystander, one of the run's ordinary users, lists its own
// few tasks over one more connection. It reports the server's peak memory
// (VmHWM, reset before each level) and the bystander's latency. A heavy
// connection that is refused (429) waits 100 ms before its next request,
// as a client backing off would (and the default per-user rate limit would
// refuse a faster loop anyway).
//
//	go run ./cmd/loadtest -scenarios bigpages                 # 16 and 40 parallel pages, both stores
//	go run ./cmd/loadtest -scenarios bigpages -bin OLD_BINARY # the same against another build

const bigPagesScenario = "bigpages"

// bigPagesResult is what one level of parallel pages measured.
type bigPagesResult struct {
	store            string
	parallel         int
	pages, refused   int // heavy requests answered 200, and 429
	failed           int // heavy or bystander requests that failed otherwise
	failures         map[string]int
	bystanderOK      int
	p50, p99, maxLat time.Duration // the bystander's
	peakRSSKB        int64
	duration         time.Duration
}

// maxSizeTask is a POST body with every field at its largest.
func maxSizeTask(j int) []byte {
	var b bytes.Buffer
	emoji := func(n int) string { return strings.Repeat("😀", n) }
	prefix := strconv.Itoa(j) + " "
	fmt.Fprintf(&b, `{"title":%q,"description":%q,"priority":"%s","due_date":"2030-01-%02dT09:00:00Z","tags":[`,
		prefix+emoji(200-len(prefix)), emoji(1000), []string{"low", "medium", "high"}[j%3], j%28+1)
	for i := range 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		tag := strconv.Itoa(i)
		fmt.Fprintf(&b, "%q", tag+emoji(50-len(tag)))
	}
	b.WriteString("]}")
	return b.Bytes()
}

// seedHeavy creates n maximum-size tasks for u over conns connections.
func seedHeavy(ctx context.Context, fx *fixture, addr string, u *user, n, conns int) error {
	var next atomic.Int64
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			c := newRawConn(addr)
			defer c.close()
			w := &worker{fx: fx, buf: make([]byte, 0, 16<<10)}
			for ctx.Err() == nil {
				j := int(next.Add(1)) - 1
				if j >= n {
					return
				}
				w.request("POST", u)
				status, err := c.do(w.body("application/json", maxSizeTask(j)), 30*time.Second)
				if err == nil && status != 201 {
					err = fmt.Errorf("seeding the heavy user: POST answered %d", status)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// runBigPages seeds the heavy user and measures each level of parallel
// pages in turn.
func runBigPages(ctx context.Context, o options, srv *server, fx *fixture, heavy *user, store string, out io.Writer) ([]bigPagesResult, error) {
	fmt.Fprintf(out, "%s: seeding a heavy user with %d maximum-size tasks …\n", store, o.bigTasks)
	start := time.Now()
	if err := seedHeavy(ctx, fx, srv.addr, heavy, o.bigTasks, min(8, o.conns)); err != nil {
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, srv.logs)
	}
	fmt.Fprintf(out, "%s: seeded in %s\n", store, time.Since(start).Round(time.Second))
	bystander := &fx.users[0]
	var results []bigPagesResult
	for _, p := range o.bigParallel {
		r := bigPagesLevel(ctx, fx, srv, heavy, bystander, p, o)
		r.store = store
		results = append(results, r)
		fmt.Fprintf(out, "%s/%s-%d: %d pages (%.1f/s), %d refused, bystander p50 %s p99 %s max %s, peak RSS %d MiB\n",
			store, bigPagesScenario, p, r.pages, float64(r.pages)/r.duration.Seconds(), r.refused,
			ms(r.p50), ms(r.p99), ms(r.maxLat), r.peakRSSKB>>10)
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	return results, nil
}

// bigPagesLevel runs parallel heavy connections and one bystander for
// warmup+duration, measuring the last duration.
func bigPagesLevel(ctx context.Context, fx *fixture, srv *server, heavy, bystander *user, parallel int, o options) bigPagesResult {
	pid := srv.cmd.Process.Pid
	// Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current
	// RSS, so that each level reports its own peak.
	_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
	from := time.Now().Add(o.warmup)
	end := from.Add(o.duration)
	r := bigPagesResult{parallel: parallel, duration: o.duration, failures: map[string]int{}}
	var mu sync.Mutex
	count := func(measured bool, f func()) {
		if measured {
			mu.Lock()
			f()
			mu.Unlock()
		}
	}
	fail := func(measured bool, why string) { count(measured, func() { r.failed++; r.failures[why]++ }) }
	timeout := 60 * time.Second

	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			c := newRawConn(srv.addr)
			defer c.close()
			w := &worker{fx: fx, buf: make([]byte, 0, 1024)}
			for now := time.Now(); now.Before(end) && ctx.Err() == nil; now = time.Now() {
				w.request("GET", heavy, "?limit=1000")
				status, err := c.do(append(w.buf, "\r\n"...), timeout)
				measured := !now.Before(from)
				switch {
				case err != nil:
					fail(measured, "heavy: "+shortError(err))
				case status == 200:
					count(measured, func() { r.pages++ })
				case status == 429:
					count(measured, func() { r.refused++ })
					time.Sleep(100 * time.Millisecond)
				default:
					fail(measured, "heavy: HTTP "+strconv.Itoa(status))
				}
			}
		})
	}
	var lat []time.Duration
	wg.Go(func() {
		c := newRawConn(srv.addr)
		defer c.close()
		w := &worker{fx: fx, buf: make([]byte, 0, 1024)}
		for now := time.Now(); now.Before(end) && ctx.Err() == nil; {
			w.request("GET", bystander)
			status, err := c.do(append(w.buf, "\r\n"...), timeout)
			done := time.Now()
			measured := !now.Before(from)
			switch {
			case err != nil:
				fail(measured, "bystander: "+shortError(err))
			case status != 200:
				fail(measured, "bystander: HTTP "+strconv.Itoa(status))
			default:
				count(measured, func() { r.bystanderOK++; lat = append(lat, done.Sub(now)) })
			}
			now = done
		}
	})
	wg.Wait()
	slices.Sort(lat)
	pick := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		i := max(0, min(int(float64(len(lat))*p+0.5)-1, len(lat)-1))
		return lat[i]
	}
	r.p50, r.p99 = pick(0.50), pick(0.99)
	if len(lat) > 0 {
		r.maxLat = lat[len(lat)-1]
	}
	r.peakRSSKB = procStatus(pid, "VmHWM:")
	return r
}

func reportBigPages(out io.Writer, o options, results []bigPagesResult) {
	if len(results) == 0 {
		return
	}
	fmt.Fprintf(out, "\nbigpages: one user with %d maximum-size tasks reads limit=1000 pages over N connections; another user lists its %d tasks over one\n",
		o.bigTasks, o.tasks)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tN\tpages/s\trefused (429)\tbystander p50 ms\tbystander p99 ms\tbystander max ms\tbystander ok\tfailed\tpeak RSS MiB\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t\n", r.store, r.parallel,
			float64(r.pages)/r.duration.Seconds(), r.refused, ms(r.p50), ms(r.p99), ms(r.maxLat), r.bystanderOK, r.failed, r.peakRSSKB>>10)
	}
	tw.Flush()
	for _, r := range results {
		if r.failed > 0 {
			fmt.Fprintf(out, "%s/%s-%d failures: %v\n", r.store, bigPagesScenario, r.parallel, r.failures)
		}
	}
}
