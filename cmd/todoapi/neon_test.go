package main

// Neon's conditions against the real binary: todoapi runs as a child
// process (this test binary re-executed as the program) against a
// throwaway PostgreSQL cluster with TLS and SCRAM, through PgBouncer in
// transaction mode, and through a proxy that imitates a compute scaling to
// zero and waking up.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi/auth"
	migrations "github.com/todoapi/todoapi/internal/migrate"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

// runMainVar makes the test binary run main instead of the tests, so that
// tests can start todoapi as a separate process without building it.
const runMainVar = "TODOAPI_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainVar) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	stopSharedAgent()      // mcp_test.go's Node process, shared by its tests
	stopSharedBetterAuth() // betterauth_test.go's, shared likewise
	os.Exit(code)
}

const testSecret = "neon-test-secret"

// neonParams is what Neon's console appends to every connection string.
const neonParams = "sslmode=require&channel_binding=require"

// process is a running todoapi.
type process struct {
	cmd       *exec.Cmd
	stderr    *syncBuffer
	listening chan string // its base URL, once it listens
	exited    chan struct{}
}

// startProcess starts `todoapi serve` with env added to a clean
// environment. It returns at once; ready waits for it to listen.
func startProcess(t *testing.T, env ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), runMainVar+"=1", "PORT=0", "LOG_FORMAT=json", "LOG_LEVEL=warn",
		"BETTER_AUTH_SECRET="+testSecret, "RATE_LIMIT_RPS=0", "SHUTDOWN_DELAY=0s")
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &syncBuffer{}, listening: make(chan string, 1), exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		re := regexp.MustCompile(`todoapi listening on (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				p.listening <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("todoapi stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// ready waits until the process listens and returns its base URL.
func (p *process) ready(t *testing.T) string {
	t.Helper()
	select {
	case u := <-p.listening:
		return u
	case <-p.exited:
		t.Fatalf("todoapi exited before listening (%v):\n%s", p.cmd.ProcessState, p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("todoapi did not listen within 30s:\n%s", p.stderr.String())
	}
	return ""
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if !p.cmd.ProcessState.Success() {
			t.Errorf("todoapi exited with %v after SIGTERM", p.cmd.ProcessState)
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("todoapi did not exit within 20s of SIGTERM")
	}
}

// cleanEnv is the environment without todoapi's own variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if slices.ContainsFunc(settings, func(s setting) bool { return s.name == name }) ||
			name == runMainVar {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func mintToken(t *testing.T, user string) string {
	t.Helper()
	tok, err := auth.Mint(testSecret, auth.MintClaims{Subject: user, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client's timeout only ends a hung test: it stays above every timeout of
// todoapi's that a test waits out (TestNeonReplicas' DB_QUERY_TIMEOUT).
var client = &http.Client{
	Timeout:   60 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
}

// call sends a request and returns the status, body and how long it took.
func call(t *testing.T, method, url, tok, body string) (int, []byte, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := client.Do(req)
	took := time.Since(start)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return 0, nil, took
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, took
}

// TestNeonConsoleURL serves through the URL exactly as Neon prints it
// (TLS, SCRAM-SHA-256-PLUS), and with verify-full and the CA file.
func TestNeonConsoleURL(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t)
	for name, url := range map[string]string{
		"require":     c.URL(c.CreateDatabase(t), neonParams),
		"verify-full": c.URLWithHost("localhost", c.CreateDatabase(t), "sslmode=verify-full&channel_binding=require&sslrootcert="+c.CAFile),
	} {
		t.Run(name, func(t *testing.T) {
			base := startProcess(t, "DATABASE_URL="+url).ready(t)
			tok := mintToken(t, "alice")
			status, body, _ := call(t, "POST", base+"/api/me/tasks", tok, `{"title":"over TLS"}`)
			if status != http.StatusCreated {
				t.Fatalf("create: %d %s", status, body)
			}
			status, body, _ = call(t, "GET", base+"/api/me/tasks", tok, "")
			if status != http.StatusOK || !strings.Contains(string(body), "over TLS") {
				t.Fatalf("list: %d %s", status, body)
			}
			if status, body, _ := call(t, "GET", base+"/readyz", "", ""); status != http.StatusOK {
				t.Fatalf("readyz: %d %s", status, body)
			}
		})
	}
}

// TestNeonScaleToZero stops the database under a running todoapi and starts
// it again, closes its connections, and makes it wait for a "waking"
// database: requests fail fast with 503 while the database is away and
// succeed again without restarting todoapi.
func TestNeonScaleToZero(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t)
	db := c.CreateDatabase(t)
	proxy := pgtest.StartProxy(t, fmt.Sprintf("127.0.0.1:%d", c.Port))
	// DB_CONNECT_TIMEOUT also bounds todoapi's first connection and every
	// reconnection after a wake-up: a TLS handshake and SCRAM under the race
	// detector on a busy machine can take seconds, which must not fail the
	// test. It stays far below the HTTP client's timeout, so a 503 while
	// the database does not answer can only be this timeout acting.
	// DB_QUERY_TIMEOUT, which also bounds a request's wait for a
	// connection, is kept well above it, so that the connect timeout is
	// the one that acts while the database does not answer.
	const connectTimeout, queryTimeout = 10 * time.Second, 30 * time.Second
	base := startProcess(t,
		"DATABASE_URL="+c.URLAt(proxy.Port, db, neonParams),
		"DB_CONNECT_TIMEOUT="+connectTimeout.String(),
		"DB_QUERY_TIMEOUT="+queryTimeout.String(),
	).ready(t)
	tok := mintToken(t, "alice")

	// requests sends one of each kind of request, at once, and returns
	// their statuses and the slowest one's time.
	requests := func() (map[string]int, time.Duration) {
		var mu sync.Mutex
		got := map[string]int{}
		var slowest time.Duration
		var wg sync.WaitGroup
		for _, r := range []struct{ name, method, path, body string }{
			{"create", "POST", "/api/me/tasks", `{"title":"t"}`},
			{"list", "GET", "/api/me/tasks", ""},
			{"get", "GET", "/api/me/tasks/1", ""},
			{"update", "PATCH", "/api/me/tasks/1/complete", ""},
			{"readyz", "GET", "/readyz", ""},
		} {
			wg.Go(func() {
				status, _, took := call(t, r.method, base+r.path, tok, r.body)
				mu.Lock()
				defer mu.Unlock()
				got[r.name] = status
				slowest = max(slowest, took)
			})
		}
		wg.Wait()
		return got, slowest
	}
	allOK := func(got map[string]int) bool {
		for _, s := range got {
			if s >= 300 {
				return false
			}
		}
		return true
	}
	all503 := func(got map[string]int) bool {
		for _, s := range got {
			if s != http.StatusServiceUnavailable {
				return false
			}
		}
		return true
	}

	if got, _ := requests(); !allOK(got) { // the first create makes task 1
		if got, _ := requests(); !allOK(got) {
			t.Fatalf("before the outage: %v", got)
		}
	}

	t.Run("DatabaseStopped", func(t *testing.T) {
		c.Stop(t)
		var worst time.Duration
		for range 3 {
			got, slowest := requests()
			if !all503(got) {
				t.Errorf("with the database stopped: %v, want 503 everywhere", got)
			}
			worst = max(worst, slowest)
		}
		// A refused connection is not retried until DB_CONNECT_TIMEOUT:
		// the answer comes before it, however busy the machine.
		if worst >= connectTimeout {
			t.Errorf("503s took up to %v with the database stopped; a refused connection must not wait out DB_CONNECT_TIMEOUT (%v)", worst, connectTimeout)
		}
		t.Logf("database stopped: 503 in at most %v", worst)

		c.Start(t)
		start := time.Now()
		for attempt := 1; ; attempt++ {
			got, _ := requests()
			if allOK(got) {
				t.Logf("database started: every request succeeded %v after it accepted connections (round %d)",
					time.Since(start).Round(time.Millisecond), attempt)
				break
			}
			// A budget for a busy machine, not a speed requirement.
			if time.Since(start) > time.Minute {
				t.Fatalf("a minute after the database came back: %v", got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("ConnectionsClosed", func(t *testing.T) {
		// Neon suspends an idle compute; a restart or an idle timeout ends
		// sessions too. The next requests, writes included, must not fail.
		for round := range 3 {
			requests()
			c.TerminateConnections(t, db)
			// Let the proxy relay the server's goodbyes; still well under
			// the second of idleness after which the pool pings anyway.
			time.Sleep(200 * time.Millisecond)
			if got, _ := requests(); !allOK(got) {
				t.Errorf("round %d, after the server closed todoapi's connections: %v", round, got)
			}
		}
	})

	t.Run("SlowWake", func(t *testing.T) {
		// The compute is suspended (connections cut) and takes 500ms to
		// wake, well within DB_CONNECT_TIMEOUT: requests wait for it and
		// succeed.
		proxy.Hold()
		proxy.CutAll()
		time.AfterFunc(500*time.Millisecond, proxy.Release)
		got, slowest := requests()
		if !allOK(got) {
			t.Errorf("while the database woke up within the connect timeout: %v", got)
		}
		t.Logf("wake-up of 500ms absorbed: slowest request %v", slowest.Round(time.Millisecond))
	})

	t.Run("WakeTooSlow", func(t *testing.T) {
		// The compute does not come up within DB_CONNECT_TIMEOUT: 503
		// after about that long, never a hang; then service resumes.
		proxy.Hold()
		proxy.CutAll()
		got, slowest := requests()
		if !all503(got) {
			t.Errorf("while the database did not answer: %v, want 503 everywhere", got)
		}
		// Without the timeout the requests would hang until the HTTP
		// client gave up, which is not a 503: the 503s are the timeout
		// acting, and how long they took is for the log.
		t.Logf("database not answering: 503 in at most %v (DB_CONNECT_TIMEOUT=%v)", slowest.Round(time.Millisecond), connectTimeout)
		proxy.Release()
		if got, _ := requests(); !allOK(got) {
			t.Errorf("after the database answered again: %v", got)
		}
	})
}

// TestNeonReplicas starts three todoapi processes at the same moment on one
// empty database behind PgBouncer in transaction mode, and spreads writes
// over them: migrations run once, and every 201 is in the database.
func TestNeonReplicas(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t)
	b := pgtest.StartPgBouncer(t, c, pgtest.PgBouncerOptions{PoolSize: 4})
	db := c.CreateDatabase(t)
	// Neon's -pooler host names are recognized; 127.0.0.1 needs the hint.
	url := b.URL(db, "sslmode=require&pgbouncer=true")

	// The creates below must not fail because the machine is slow, and the
	// outage at the end must show that a statement stuck in PgBouncer's
	// queue is cut off by DB_QUERY_TIMEOUT. Both hold with one value far
	// above anything a busy machine makes 24 clients queued at a pool of 4
	// wait, and far below what else could answer during the outage:
	// PgBouncer gives up on a queued statement only after 120 s, and the
	// test's HTTP client after 60 s, so a 503 then can only be the timeout.
	const queryTimeout = 15 * time.Second
	procs := make([]*process, 3)
	for i := range procs {
		procs[i] = startProcess(t, "DATABASE_URL="+url, "DB_QUERY_TIMEOUT="+queryTimeout.String())
	}
	bases := make([]string, len(procs))
	for i, p := range procs {
		bases[i] = p.ready(t)
	}

	// Migrations ran exactly once.
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, c.URL(db, neonParams))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT version, count(*)::int FROM schema_migrations GROUP BY version`)
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
		var v [2]int64
		return v, r.Scan(&v[0], &v[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := migrations.Load(os.DirFS("../../postgres"), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	got, want := map[int64]int64{}, map[int64]int64{}
	for _, vc := range counts {
		got[vc[0]] = vc[1]
	}
	for _, m := range files {
		want[m.Version] = 1
	}
	if !maps.Equal(got, want) {
		t.Fatalf("schema_migrations rows per version = %v, want %v", got, want)
	}

	// 600 creates from 24 clients, spread round-robin over the replicas.
	const total, workers, users = 600, 24, 6
	type created struct {
		user string
		id   int64
	}
	var mu sync.Mutex
	var ok []created
	failures := map[int]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			user := fmt.Sprint("user-", w%users)
			tok := mintToken(t, user)
			for i := w; i < total; i += workers {
				status, body, _ := call(t, "POST", bases[i%len(bases)]+"/api/me/tasks", tok,
					fmt.Sprintf(`{"title":"task %d","tags":["replica-%d"]}`, i, i%len(bases)))
				mu.Lock()
				if status == http.StatusCreated {
					var task struct {
						ID     int64  `json:"id"`
						UserID string `json:"user_id"`
					}
					if err := json.Unmarshal(body, &task); err != nil || task.UserID != user {
						t.Errorf("create answered %s", body)
					}
					ok = append(ok, created{user, task.ID})
				} else {
					failures[status]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d creates over %d replicas through PgBouncer in %v: %d × 201, failures by status %v",
		total, len(bases), time.Since(start).Round(time.Millisecond), len(ok), failures)
	if len(failures) > 0 {
		t.Errorf("failed creates by status: %v", failures)
	}

	// Every 201 is in the database, and nothing else is.
	rows, _ = conn.Query(ctx, `SELECT user_id, id FROM tasks`)
	stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (created, error) {
		var c created
		return c, r.Scan(&c.user, &c.id)
	})
	if err != nil {
		t.Fatal(err)
	}
	key := func(c created) string { return fmt.Sprint(c.user, "/", c.id) }
	inDB := map[string]bool{}
	for _, s := range stored {
		inDB[key(s)] = true
	}
	for _, c := range ok {
		if !inDB[key(c)] {
			t.Errorf("task %d of %s was answered 201 but is not in the database", c.id, c.user)
		}
	}
	if len(stored) != len(ok) {
		t.Errorf("database holds %d tasks, %d creates were answered 201", len(stored), len(ok))
	}

	// Any replica serves what another stored.
	get := func(i int) (int, []byte, time.Duration) {
		c := ok[i]
		return call(t, "GET", fmt.Sprintf("%s/api/me/tasks/%d", bases[i], c.id), mintToken(t, c.user), "")
	}
	for i := range bases {
		status, body, _ := get(i)
		if status != http.StatusOK || !bytes.Contains(body, []byte(ok[i].user)) {
			t.Errorf("replica %d: GET task %d: %d %s", i, ok[i].id, status, body)
		}
	}

	// The database goes away behind the pooler: PgBouncer would queue the
	// statements for 120s; DB_QUERY_TIMEOUT answers 503 instead.
	// The replicas are asked at once, so that the test waits for one
	// query timeout rather than one per replica.
	c.Stop(t)
	var slowest time.Duration
	var stopped sync.WaitGroup
	for i := range bases {
		stopped.Go(func() {
			status, body, took := get(i)
			if status != http.StatusServiceUnavailable {
				t.Errorf("replica %d with the database stopped: %d %s, want 503", i, status, body)
			}
			if status, _, _ := call(t, "GET", bases[i]+"/readyz", "", ""); status != http.StatusServiceUnavailable {
				t.Errorf("replica %d: /readyz with the database stopped: %d, want 503", i, status)
			}
			mu.Lock()
			slowest = max(slowest, took)
			mu.Unlock()
		})
	}
	stopped.Wait()
	// A 503 at all (not a client timeout, nor PgBouncer's error after
	// 120 s) is the query timeout acting; how long it took is for the log.
	t.Logf("database stopped behind PgBouncer: 503 from every replica in at most %v (DB_QUERY_TIMEOUT=%v)", slowest.Round(time.Millisecond), queryTimeout)
	c.Start(t)
	start = time.Now()
	for i := range bases {
		for {
			status, _, _ := get(i)
			if status == http.StatusOK {
				break
			}
			// A budget for a busy machine, not a speed requirement.
			if time.Since(start) > time.Minute {
				t.Fatalf("replica %d: %d a minute after the database came back", i, status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("database started behind PgBouncer: every replica served again within %v", time.Since(start).Round(time.Millisecond))
}
