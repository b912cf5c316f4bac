// Command loadtest measures todoapi under load, end to end: it builds
// cmd/todoapi, starts it on PostgreSQL (a database it creates and drops)
// and on SQLite (a temporary file), creates fresh users with tasks through
// the API, and then sends each scenario's requests over a fixed number of
// keep-alive connections for a fixed time, printing requests per second,
// median and 99th percentile latency, failures, and the server's CPU time per
// request and resident memory, per scenario and store.
// It also runs pgbench with the very statement the PostgreSQL store sends
// for a list, so that every run reports how close the service comes to the
// database's own ceiling on the same machine at the same moment.
//
//	go run ./cmd/loadtest                      # everything, 32 connections, 10 s a scenario
//	go run ./cmd/loadtest -stores postgres -scenarios list,get -duration 5s
//	go run ./cmd/loadtest -profile /tmp/prof   # also save a CPU profile of the server per scenario
//	go run ./cmd/loadtest -smoke               # seconds; fails unless every request succeeded
//	go run ./cmd/loadtest -baseline OLDBIN     # also an older build, interleaved, with ratios
//	go run ./cmd/loadtest -scenarios bigpages  # one user's parallel largest pages against another user (bigpages.go)
//
// Scenarios (each request as a random one of the run's users, on a random
// one of that user's tasks):
//
//	list           GET /api/{user}/tasks (the user's 20 tasks)
//	get            GET /api/{user}/tasks/{id}
//	toggle         PATCH /api/{user}/tasks/{id}/complete
//	update         PUT /api/{user}/tasks/{id} with a new title and priority
//	mixed          80 % reads (list, get), 20 % writes (toggle, update)
//	list50         GET …/tasks?limit=50 of a user with 20 tasks
//	list50-1k      the same of a user with 1 000 tasks
//	list50-10k     the same of a user with 10 000 tasks
//	search         ?limit=50&q= a word in 10 of a user's 10 000 largest tasks
//	search-common  q= a word in every one of those tasks' titles
//	search-short   q= two letters, in 100 of them
//	search-starve  8 connections search while the others list; lists measured
//	toggle-256     toggle over 256 connections
//	mixed-256      mixed over 256 connections
//	storm          (PostgreSQL) clients that hang up before the answer: counts
//	               the database connections the server opens meanwhile
//	create         POST /api/{user}/tasks (last, as it makes every list longer)
//	create-256     create over 256 connections
//
// and, only when named in -scenarios, bigpages (bigpages.go): a user with
// 10 000 maximum-size tasks reads its largest page over 16, then 40,
// connections at once while another user lists its tasks.
//
// The server runs with the production code path: HS256 tokens, request
// logging (JSON, read through a pipe), metrics, CORS and the per-user rate
// limiter all on; the limiter's rate is raised out of the way
// (RATE_LIMIT_RPS=1000000), since a hundred users could not otherwise make
// more than 5 000 requests a second, and so is the bound on one user's
// requests in flight (USER_MAX_IN_FLIGHT=0), except for bigpages. PostgreSQL comes from
// TODOAPI_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

const usage = `loadtest measures todoapi under load, end to end, on PostgreSQL and SQLite.

  go run ./cmd/loadtest                         every scenario, both stores
  go run ./cmd/loadtest -scenarios list50,list50-10k -stores sqlite
  go run ./cmd/loadtest -baseline /tmp/todoapi-old   before/after in one run, with ratios

Scenarios: list, get, toggle, update, mixed (80 % reads), list50 (a page of
50 of 20 tasks), list50-1k and list50-10k (a page of 50 of a user's 1 000 or
10 000 tasks), search (a rare word among 10 000 tasks of the largest size),
search-common (a word in every title), search-short (two letters),
search-starve (eight connections search while the others list; the lists
are measured), toggle-256 and mixed-256 (256 connections), storm (PostgreSQL:
clients that disconnect before the answer; counts the database connections
the server opens), create, create-256.

Flags:
`

// defaultPostgresURL is the server on which the run's database is created
// when TODOAPI_TEST_POSTGRES_URL is unset.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -help asked for the usage, which is printed: not a failure
		}
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type options struct {
	stores, scenarios []string
	conns             int
	duration, warmup  time.Duration
	users, tasks      int
	pgbench           bool
	postgresURL       string
	bin               string
	baseline          string
	profileDir        string
	serverEnv         []string
	smoke             bool
	crash             int
	bigTasks          int
	bigParallel       []int
}

func parseFlags(args []string, out io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var o options
	stores := fs.String("stores", "postgres,sqlite", "stores to measure, comma-separated")
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	scen := fs.String("scenarios", strings.Join(names, ","), "scenarios to run, comma-separated (they always run in this order); "+bigPagesScenario+" runs only when named")
	fs.IntVar(&o.bigTasks, "bigpages-tasks", 10000, bigPagesScenario+": the heavy user's maximum-size tasks")
	bigParallel := fs.String("bigpages-parallel", "16,40", bigPagesScenario+": how many of the heavy user's pages at once, one level after another")
	fs.IntVar(&o.conns, "connections", 32, "concurrent keep-alive connections")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario's measurement")
	fs.IntVar(&o.users, "users", 100, "users created for the run")
	fs.IntVar(&o.tasks, "tasks", 20, "tasks created per user")
	fs.BoolVar(&o.pgbench, "pgbench", true, "measure the database's ceiling for the list query with pgbench (PostgreSQL only; skipped with a note when pgbench is missing)")
	fs.StringVar(&o.bin, "bin", "", "todoapi binary to run (default: build ./cmd/todoapi)")
	fs.StringVar(&o.baseline, "baseline", "", "a second todoapi binary (an older build, say) measured in the same run: each scenario runs on it and then on -bin, one after the other, and the report adds their ratios")
	fs.StringVar(&o.profileDir, "profile", "", "save a CPU profile of the server for each scenario in this directory (served through DEBUG_ADDR)")
	fs.Func("env", "NAME=VALUE for the server's environment, e.g. -env DB_MAX_CONNS=16 (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return errors.New("want NAME=VALUE")
		}
		o.serverEnv = append(o.serverEnv, s)
		return nil
	})
	fs.BoolVar(&o.smoke, "smoke", false, "a few seconds in all, for CI: 4 connections, 4 users with 5 tasks, 0.5 s per scenario, no pgbench; fails unless every request succeeded")
	fs.IntVar(&o.crash, "crash", 0, "instead of the scenarios: this many times, kill -9 the server (SQLite) in a burst of creates, restart it and check that every create answered 201 is there; fails if one is missing")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.smoke {
		o.conns, o.users, o.tasks = 4, 4, 5
		o.duration, o.warmup, o.pgbench = 500*time.Millisecond, 100*time.Millisecond, false
	}
	o.stores = strings.Split(*stores, ",")
	for _, s := range o.stores {
		if s != "postgres" && s != "sqlite" {
			return o, fmt.Errorf("unknown store %q (postgres, sqlite)", s)
		}
	}
	o.scenarios = strings.Split(*scen, ",")
	for _, s := range o.scenarios {
		if !slices.Contains(names, s) && s != bigPagesScenario {
			return o, fmt.Errorf("unknown scenario %q (%s, %s)", s, strings.Join(names, ", "), bigPagesScenario)
		}
	}
	for _, f := range strings.Split(*bigParallel, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-bigpages-parallel: %q is not a positive number", f)
		}
		o.bigParallel = append(o.bigParallel, n)
	}
	if o.bigTasks < 1000 {
		return o, errors.New("-bigpages-tasks must be at least 1000, a full page")
	}
	if o.conns < 1 || o.users < 1 || o.tasks < 1 || o.duration <= 0 || o.warmup < 0 {
		return o, errors.New("-connections, -users, -tasks and -duration must be positive")
	}
	// The servers run in directories of their own.
	for _, p := range []*string{&o.bin, &o.baseline} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return o, err
			}
			*p = abs
		}
	}
	o.postgresURL = os.Getenv("TODOAPI_TEST_POSTGRES_URL")
	if o.postgresURL == "" {
		o.postgresURL = defaultPostgresURL
	}
	return o, nil
}

// run measures every store and prints the results to out. It fails when
// any request failed.
func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "todoapi-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	bin := o.bin
	if bin == "" {
		fmt.Fprintln(out, "building cmd/todoapi …")
		if bin, err = buildServer(ctx, dir); err != nil {
			return err
		}
	}
	if o.crash > 0 {
		fmt.Fprintf(out, "kill -9 during creates, %d runs, %d connections, SQLite (synchronous=FULL)\n", o.crash, o.conns)
		results, err := crashRuns(ctx, bin, dir, o.crash, o.conns, out)
		if err != nil {
			return err
		}
		acked, missing := 0, 0
		for _, r := range results {
			acked += r.acked
			missing += r.missing
		}
		fmt.Fprintf(out, "%d runs: %d creates answered 201, %d missing after restarts\n", len(results), acked, missing)
		if missing > 0 {
			return fmt.Errorf("%d acknowledged creates were lost", missing)
		}
		return nil
	}
	bins := []namedBin{{"", bin}}
	if o.baseline != "" {
		bins = []namedBin{{"before", o.baseline}, {"after", bin}}
	}

	host, _ := os.Hostname()
	fmt.Fprintf(out, "todoapi load test on %s: %d CPUs, %d connections, %d users × %d tasks, %s per scenario after %s of warm-up\n",
		host, numCPU(), o.conns, o.users, o.tasks, o.duration, o.warmup)
	if o.baseline != "" {
		fmt.Fprintf(out, "before: %s\nafter:  %s\neach scenario runs on before, then on after, on servers started side by side\n", o.baseline, bin)
	}

	var results []result
	var big []bigPagesResult
	var bench pgbenchResult
	for _, store := range o.stores {
		rs, b, err := runStore(ctx, o, store, bins, dir, out, &big)
		results = append(results, rs...)
		if store == "postgres" {
			bench = b
		}
		if err != nil {
			report(out, o, results, bench)
			reportBigPages(out, o, big)
			return fmt.Errorf("%s: %w", store, err)
		}
	}
	report(out, o, results, bench)
	reportBigPages(out, o, big)
	failed := 0
	for _, r := range big {
		failed += r.failed
		if r.bystanderOK == 0 {
			return fmt.Errorf("%s/%s-%d: no bystander request completed", r.store, bigPagesScenario, r.parallel)
		}
	}
	for _, r := range results {
		failed += r.failed
		if r.ok == 0 {
			return fmt.Errorf("%s/%s: no request completed", r.store, r.scenario)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	return nil
}

// namedBin is a todoapi binary and its label in the report ("" when a run
// measures only one).
type namedBin struct{ name, path string }

// target is one server under test with its data.
type target struct {
	bin    namedBin
	srv    *server
	fx     *fixture
	dbURL  string
	env    []string
	srvDir string
	label  string // store, or store@name
	secret string // BETTER_AUTH_SECRET, for more users' tokens
}

// startTarget starts bin on a fresh database of store and seeds it.
func startTarget(ctx context.Context, o options, store string, bin namedBin, dir string, needs bigNeeds, out io.Writer, cleanup *[]func()) (*target, error) {
	label := store
	if bin.name != "" {
		label += "@" + bin.name
	}
	var dbURL string
	switch store {
	case "postgres":
		u, drop, err := postgresDatabase(ctx, o.postgresURL)
		if err != nil {
			return nil, err
		}
		*cleanup = append(*cleanup, drop)
		dbURL = u
	case "sqlite":
		dbURL = "sqlite:" + filepath.Join(dir, strings.ReplaceAll(label, "@", "-")+".db")
	}
	secret := randomHex(32)
	env := append([]string{
		"BETTER_AUTH_SECRET=" + secret,
		"APP_ENV=production",
		"HOST=127.0.0.1",
		"PORT=0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
		"RATE_LIMIT_RPS=1000000",
		"RATE_LIMIT_BURST=1000000",
	}, o.serverEnv...)
	if !slices.Contains(o.scenarios, bigPagesScenario) {
		// The long-list and search scenarios send one user's requests
		// over every connection, to measure what a request costs; the
		// bound on one user's requests in flight would refuse most of
		// them. bigpages is about that bound, and keeps it.
		env = append([]string{"USER_MAX_IN_FLIGHT=0"}, env...)
	}
	srvDir := filepath.Join(dir, strings.ReplaceAll(label, "@", "-"))
	if err := os.MkdirAll(srvDir, 0o755); err != nil {
		return nil, err
	}
	srv, err := startServer(ctx, bin.path, srvDir, append([]string{"DATABASE_URL=" + dbURL}, env...), o.profileDir != "")
	if err != nil {
		return nil, err
	}
	*cleanup = append(*cleanup, srv.stop)

	// Fresh users for every run: a random block of numeric ids. The
	// long-list users come after the ordinary ones.
	base := (rand.IntN(9_000) + 1_000) * 10_000
	users, err := newUsers(secret, base, o.users+3)
	if err != nil {
		return nil, err
	}
	fx := &fixture{host: srv.addr, users: users[:o.users]}
	fmt.Fprintf(out, "%s: seeding %d users × %d tasks …\n", label, o.users, o.tasks)
	if err := seed(ctx, fx, srv.addr, o.tasks, min(o.conns, o.users)); err != nil {
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, srv.logs)
	}
	if needs != 0 {
		fmt.Fprintf(out, "%s: seeding the users with long lists …\n", label)
		divide := 1
		if o.smoke {
			divide = 100
		}
		if err := seedBig(ctx, fx, srv.addr, needs, users[o.users:], min(o.conns, 16), divide); err != nil {
			return nil, fmt.Errorf("%w\nserver log:\n%s", err, srv.logs)
		}
	}
	if store == "postgres" {
		// As autovacuum soon would after a bulk load: every scenario and
		// the pgbench reference then meet a database in its steady state
		// (visibility map set, statistics current), not one whose rows
		// were all written a second ago.
		if err := vacuum(ctx, dbURL); err != nil {
			return nil, err
		}
	}
	return &target{bin: bin, srv: srv, fx: fx, dbURL: dbURL, env: env, srvDir: srvDir, label: label, secret: secret}, nil
}

// runStore starts a server per binary on one store and runs every
// scenario on each in turn.
func runStore(ctx context.Context, o options, store string, bins []namedBin, dir string, out io.Writer, big *[]bigPagesResult) ([]result, pgbenchResult, error) {
	var cleanup []func()
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}()
	var needs bigNeeds
	for _, sc := range scenarios {
		if slices.Contains(o.scenarios, sc.name) && (sc.only == "" || sc.only == store) {
			needs |= sc.needs
		}
	}
	var targets []*target
	for _, b := range bins {
		t, err := startTarget(ctx, o, store, b, dir, needs, out, &cleanup)
		if err != nil {
			return nil, pgbenchResult{}, err
		}
		targets = append(targets, t)
	}

	var bench pgbenchResult
	regular := slices.ContainsFunc(o.scenarios, func(s string) bool { return s != bigPagesScenario })
	if store == "postgres" && o.pgbench && regular {
		t := targets[len(targets)-1]
		fmt.Fprintf(out, "postgres: pgbench reference, list query, %d clients, %s …\n", o.conns, o.duration)
		base, _ := strconv.Atoi(t.fx.users[0].id)
		bench = pgbench(ctx, t.dbURL, dir, base-1, o.users, o.conns, o.duration)
	}

	var results []result
	for _, sc := range scenarios {
		if !slices.Contains(o.scenarios, sc.name) || (sc.only != "" && sc.only != store) {
			continue
		}
		for _, t := range targets {
			r, err := runOn(ctx, o, t, sc, store, dir)
			if err != nil {
				return results, bench, err
			}
			results = append(results, r)
			if sc.storm {
				fmt.Fprintf(out, "%s/%s: %s\n", t.label, sc.name, stormSummary(r))
			} else {
				fmt.Fprintf(out, "%s/%s: %.0f req/s, p50 %s, p99 %s, %d failed, server CPU %.0f µs/req\n",
					t.label, sc.name, r.rps(), ms(r.p50), ms(r.p99), r.failed, float64(r.cpuPerRequest().Nanoseconds())/1000)
			}
			if ctx.Err() != nil {
				return results, bench, ctx.Err()
			}
			select {
			case err := <-t.srv.exited:
				return results, bench, fmt.Errorf("the server exited (%v): %s", err, t.srv.logs)
			default:
			}
		}
	}
	if slices.Contains(o.scenarios, bigPagesScenario) {
		for _, t := range targets {
			// The heavy user: one more id after the run's users.
			base, _ := strconv.Atoi(t.fx.users[len(t.fx.users)-1].id)
			heavy, err := newUsers(t.secret, base+100, 1)
			if err != nil {
				return results, bench, err
			}
			rs, err := runBigPages(ctx, o, t.srv, t.fx, &heavy[0], t.label, out)
			*big = append(*big, rs...)
			if err != nil {
				return results, bench, err
			}
		}
	}
	for _, t := range targets {
		if hwm := procStatus(t.srv.cmd.Process.Pid, "VmHWM:"); hwm > 0 && regular {
			fmt.Fprintf(out, "%s: server peak RSS (VmHWM) %d MiB\n", t.label, hwm>>10)
		}
	}
	return results, bench, nil
}

// runOn runs one scenario on one target.
func runOn(ctx context.Context, o options, t *target, sc scenario, store, dir string) (result, error) {
	conns := o.conns
	if sc.conns > 0 && !o.smoke {
		conns = sc.conns
	}
	ro := runOptions{
		addr: t.srv.addr, conns: conns, warmup: o.warmup, dur: o.duration, timeout: 30 * time.Second,
		pid: t.srv.cmd.Process.Pid, profileURL: t.srv.profileURL, profileDir: o.profileDir,
		store: store, bin: t.bin.name, stdout: io.Discard, seed: rand.Uint64(),
	}
	if !sc.storm {
		return runScenario(ctx, t.fx, sc, ro), nil
	}
	// A storm runs on a server of its own, on the same database, whose
	// connections to PostgreSQL pass through a counting proxy.
	u, err := url.Parse(t.dbURL)
	if err != nil {
		return result{}, err
	}
	proxy, err := newConnCounter(u.Host)
	if err != nil {
		return result{}, err
	}
	defer proxy.close()
	u.Host = proxy.addr()
	srv, err := startServer(ctx, t.bin.path, t.srvDir, append([]string{"DATABASE_URL=" + u.String()}, t.env...), false)
	if err != nil {
		return result{}, err
	}
	defer srv.stop()
	fx := *t.fx
	fx.host = srv.addr
	ro.addr, ro.pid = srv.addr, srv.cmd.Process.Pid
	return runStorm(ctx, &fx, sc, ro, proxy, "http://"+srv.addr+"/metrics"), nil
}

func report(out io.Writer, o options, results []result, bench pgbenchResult) {
	if len(results) == 0 {
		return
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tbinary\tscenario\treq/s\tp50 ms\tp99 ms\tok\tfailed\tserver CPU µs/req\tserver RSS MiB\t")
	for _, r := range results {
		if r.statuses != nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\t%s\t%d\t%d\t%.0f\t%.1f\t\n",
			r.store, r.bin, r.scenario, r.rps(), ms(r.p50), ms(r.p99), r.ok, r.failed,
			float64(r.cpuPerRequest().Nanoseconds())/1000, float64(r.rssKB)/1024)
	}
	tw.Flush()
	for _, r := range results {
		if r.statuses != nil {
			fmt.Fprintf(out, "%s %s/%s: %s\n", r.bin, r.store, r.scenario, stormSummary(r))
		}
	}
	if o.baseline != "" {
		compare(out, results)
	}
	for _, r := range results {
		if r.failed > 0 {
			fmt.Fprintf(out, "%s %s/%s failures: %v\n", r.bin, r.store, r.scenario, r.failures)
		}
	}
	switch {
	case bench.tps > 0:
		fmt.Fprintf(out, "\npgbench, the store's list statement alone (%d clients, prepared): %.0f queries/s\n", o.conns, bench.tps)
		for _, r := range results {
			if r.store == "postgres" && r.scenario == "list" {
				fmt.Fprintf(out, "postgres/list (%s) reaches %.0f%% of that ceiling (%.0f req/s)\n", binLabel(r.bin), 100*r.rps()/bench.tps, r.rps())
			}
		}
	case bench.note != "":
		fmt.Fprintf(out, "\npgbench: %s\n", bench.note)
	}
}

// compare prints, per store and scenario, after's figures as ratios of
// before's: throughput (higher is better), p99 and CPU per request (lower
// is better).
func compare(out io.Writer, results []result) {
	fmt.Fprintln(out, "\nafter ÷ before (req/s: higher is better; p99 and CPU per request: lower is better)")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tscenario\treq/s before\treq/s after\treq/s ×\tp99 ms before\tp99 ms after\tp99 ×\tCPU/req ×\t")
	for i, b := range results {
		if b.bin != "before" || b.statuses != nil {
			continue
		}
		for _, a := range results[i+1:] {
			if a.bin != "after" || a.store != b.store || a.scenario != b.scenario {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", b.store, b.scenario,
				b.rps(), a.rps(), ratio(a.rps(), b.rps()), ms(b.p99), ms(a.p99),
				ratio(a.p99.Seconds(), b.p99.Seconds()),
				ratio(a.cpuPerRequest().Seconds(), b.cpuPerRequest().Seconds()))
			break
		}
	}
	tw.Flush()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func binLabel(name string) string {
	if name == "" {
		return "this build"
	}
	return name
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func numCPU() int { return runtime.NumCPU() }
