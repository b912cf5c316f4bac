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
//
// Scenarios (each request as a random one of the run's users, on a random
// one of that user's tasks):
//
//	list    GET /api/{user}/tasks (the user's 20 tasks)
//	get     GET /api/{user}/tasks/{id}
//	toggle  PATCH /api/{user}/tasks/{id}/complete
//	update  PUT /api/{user}/tasks/{id} with a new title and priority
//	mixed   80 % reads (list, get), 20 % writes (toggle, update)
//	create  POST /api/{user}/tasks (last, as it makes every list longer)
//
// The server runs with the production code path: HS256 tokens, request
// logging (JSON, read through a pipe), metrics, CORS and the per-user rate
// limiter all on; the limiter's rate is raised out of the way
// (RATE_LIMIT_RPS=1000000), since a hundred users could not otherwise make
// more than 5 000 requests a second. PostgreSQL comes from
// TODOAPI_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// defaultPostgresURL is the server on which the run's database is created
// when TODOAPI_TEST_POSTGRES_URL is unset.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
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
	profileDir        string
	serverEnv         []string
	smoke             bool
}

func parseFlags(args []string, out io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(out)
	var o options
	stores := fs.String("stores", "postgres,sqlite", "stores to measure, comma-separated")
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	scen := fs.String("scenarios", strings.Join(names, ","), "scenarios to run, comma-separated (they always run in this order)")
	fs.IntVar(&o.conns, "connections", 32, "concurrent keep-alive connections")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario's measurement")
	fs.IntVar(&o.users, "users", 100, "users created for the run")
	fs.IntVar(&o.tasks, "tasks", 20, "tasks created per user")
	fs.BoolVar(&o.pgbench, "pgbench", true, "measure the database's ceiling for the list query with pgbench (PostgreSQL only; skipped with a note when pgbench is missing)")
	fs.StringVar(&o.bin, "bin", "", "todoapi binary to run (default: build ./cmd/todoapi)")
	fs.StringVar(&o.profileDir, "profile", "", "save a CPU profile of the server for each scenario in this directory (served through DEBUG_ADDR)")
	fs.Func("env", "NAME=VALUE for the server's environment, e.g. -env DB_MAX_CONNS=16 (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return errors.New("want NAME=VALUE")
		}
		o.serverEnv = append(o.serverEnv, s)
		return nil
	})
	fs.BoolVar(&o.smoke, "smoke", false, "a few seconds in all, for CI: 4 connections, 4 users with 5 tasks, 0.5 s per scenario, no pgbench; fails unless every request succeeded")
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
		if !slices.Contains(names, s) {
			return o, fmt.Errorf("unknown scenario %q (%s)", s, strings.Join(names, ", "))
		}
	}
	if o.conns < 1 || o.users < 1 || o.tasks < 1 || o.duration <= 0 || o.warmup < 0 {
		return o, errors.New("-connections, -users, -tasks and -duration must be positive")
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

	host, _ := os.Hostname()
	fmt.Fprintf(out, "todoapi load test on %s: %d CPUs, %d connections, %d users × %d tasks, %s per scenario after %s of warm-up\n",
		host, numCPU(), o.conns, o.users, o.tasks, o.duration, o.warmup)

	var results []result
	var bench pgbenchResult
	for _, store := range o.stores {
		rs, b, err := runStore(ctx, o, store, bin, dir, out)
		results = append(results, rs...)
		if store == "postgres" {
			bench = b
		}
		if err != nil {
			report(out, o, results, bench)
			return fmt.Errorf("%s: %w", store, err)
		}
	}
	report(out, o, results, bench)
	failed := 0
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

// runStore starts the server on one store and runs every scenario.
func runStore(ctx context.Context, o options, store, bin, dir string, out io.Writer) ([]result, pgbenchResult, error) {
	var dbURL string
	switch store {
	case "postgres":
		u, drop, err := postgresDatabase(ctx, o.postgresURL)
		if err != nil {
			return nil, pgbenchResult{}, err
		}
		defer drop()
		dbURL = u
	case "sqlite":
		dbURL = "sqlite:" + filepath.Join(dir, "load.db")
	}
	secret := randomHex(32)
	env := append([]string{
		"DATABASE_URL=" + dbURL,
		"BETTER_AUTH_SECRET=" + secret,
		"APP_ENV=production",
		"HOST=127.0.0.1",
		"PORT=0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
		"RATE_LIMIT_RPS=1000000",
		"RATE_LIMIT_BURST=1000000",
	}, o.serverEnv...)
	srvDir := filepath.Join(dir, store)
	if err := os.MkdirAll(srvDir, 0o755); err != nil {
		return nil, pgbenchResult{}, err
	}
	srv, err := startServer(ctx, bin, srvDir, env, o.profileDir != "")
	if err != nil {
		return nil, pgbenchResult{}, err
	}
	defer srv.stop()

	// Fresh users for every run: a random block of numeric ids.
	base := (rand.IntN(9_000) + 1_000) * 10_000
	users, err := newUsers(secret, base, o.users)
	if err != nil {
		return nil, pgbenchResult{}, err
	}
	fx := &fixture{host: srv.addr, users: users}
	fmt.Fprintf(out, "%s: seeding %d users × %d tasks …\n", store, o.users, o.tasks)
	if err := seed(ctx, fx, srv.addr, o.tasks, min(o.conns, o.users)); err != nil {
		return nil, pgbenchResult{}, fmt.Errorf("%w\nserver log:\n%s", err, srv.logs)
	}

	if store == "postgres" {
		// As autovacuum soon would after a bulk load: every scenario and
		// the pgbench reference then meet a database in its steady state
		// (visibility map set, statistics current), not one whose rows
		// were all written a second ago.
		if err := vacuum(ctx, dbURL); err != nil {
			return nil, pgbenchResult{}, err
		}
	}

	var bench pgbenchResult
	if store == "postgres" && o.pgbench {
		fmt.Fprintf(out, "postgres: pgbench reference, list query, %d clients, %s …\n", o.conns, o.duration)
		bench = pgbench(ctx, dbURL, dir, base, o.users, o.conns, o.duration)
	}

	var results []result
	for _, sc := range scenarios {
		if !slices.Contains(o.scenarios, sc.name) {
			continue
		}
		r := runScenario(ctx, fx, sc, runOptions{
			addr: srv.addr, conns: o.conns, warmup: o.warmup, dur: o.duration, timeout: 30 * time.Second,
			pid: srv.cmd.Process.Pid, profileURL: srv.profileURL, profileDir: o.profileDir,
			store: store, stdout: out, seed: rand.Uint64(),
		})
		results = append(results, r)
		fmt.Fprintf(out, "%s/%s: %.0f req/s, p50 %s, p99 %s, %d failed, server CPU %.0f µs/req\n",
			store, sc.name, r.rps(), ms(r.p50), ms(r.p99), r.failed, float64(r.cpuPerRequest().Nanoseconds())/1000)
		if ctx.Err() != nil {
			return results, bench, ctx.Err()
		}
		select {
		case err := <-srv.exited:
			return results, bench, fmt.Errorf("the server exited (%v): %s", err, srv.logs)
		default:
		}
	}
	if hwm := procStatus(srv.cmd.Process.Pid, "VmHWM:"); hwm > 0 {
		fmt.Fprintf(out, "%s: server peak RSS (VmHWM) %d MiB\n", store, hwm>>10)
	}
	return results, bench, nil
}

func report(out io.Writer, o options, results []result, bench pgbenchResult) {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tscenario\treq/s\tp50 ms\tp99 ms\tok\tfailed\tserver CPU µs/req\tserver RSS MiB\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%d\t%d\t%.0f\t%.1f\t\n",
			r.store, r.scenario, r.rps(), ms(r.p50), ms(r.p99), r.ok, r.failed,
			float64(r.cpuPerRequest().Nanoseconds())/1000, float64(r.rssKB)/1024)
	}
	tw.Flush()
	for _, r := range results {
		if r.failed > 0 {
			fmt.Fprintf(out, "%s/%s failures: %v\n", r.store, r.scenario, r.failures)
		}
	}
	switch {
	case bench.tps > 0:
		fmt.Fprintf(out, "\npgbench, the store's list statement alone (%d clients, prepared): %.0f queries/s\n", o.conns, bench.tps)
		for _, r := range results {
			if r.store == "postgres" && r.scenario == "list" {
				fmt.Fprintf(out, "postgres/list reaches %.0f%% of that ceiling (%.0f req/s)\n", 100*r.rps()/bench.tps, r.rps())
			}
		}
	case bench.note != "":
		fmt.Fprintf(out, "\npgbench: %s\n", bench.note)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func numCPU() int { return runtime.NumCPU() }
