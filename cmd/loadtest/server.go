package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi/auth"
)

// buildServer compiles cmd/todoapi into dir.
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := dir + "/todoapi"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/todoapi/todoapi/cmd/todoapi")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/todoapi: %w", err)
	}
	return bin, nil
}

// server is a running todoapi process.
type server struct {
	cmd        *exec.Cmd
	addr       string // host:port of the API
	profileURL string // …/debug/pprof/ when DEBUG_ADDR is set
	logs       *tail
	exited     chan error
}

var (
	listeningLine = regexp.MustCompile(`todoapi listening on http://(\S+)`)
	profilesLine  = regexp.MustCompile(`todoapi profiles on (\S+)`)
)

// startServer runs bin serve in an empty directory (so that no .env is
// read) with only the environment given, plus PATH, HOME and the Go
// runtime's own variables (GOGC, GOMAXPROCS, …) from ours.
func startServer(ctx context.Context, bin, dir string, env []string, profile bool) (*server, error) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "PATH" || name == "HOME" || name == "TMPDIR" || strings.HasPrefix(name, "GO") {
			env = append([]string{kv}, env...)
		}
	}
	if profile {
		env = append(env, "DEBUG_ADDR=127.0.0.1:0")
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir, cmd.Env = dir, env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, logs: &tail{max: 16 << 10}, exited: make(chan error, 1)}
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.exited <- cmd.Wait() }()

	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := profilesLine.FindStringSubmatch(sc.Text()); m != nil {
				s.profileURL = m[1]
			}
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				s.addr = m[1]
				close(found)
			}
		}
	}()
	select {
	case <-found:
		return s, nil
	case err := <-s.exited:
		return nil, fmt.Errorf("todoapi exited before listening (%v): %s", err, s.logs)
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("todoapi did not listen within 60s: %s", s.logs)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop asks the server to shut down and waits for it.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// tail keeps the last max bytes written to it: the server's log, shown
// when something goes wrong. Reading the log through a pipe, as a log
// collector would, keeps the cost of writing it in the measurement.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// postgresDatabase creates a database with a fresh name on the server at
// serverURL and returns its URL and a function that drops it.
func postgresDatabase(ctx context.Context, serverURL string) (string, func(), error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, errors.New("the PostgreSQL URL does not parse")
	}
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL at %s: %w", u.Host, err)
	}
	defer admin.Close(ctx)
	name := "todoapi_load_" + randomHex(6)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: drop database %s: %v\n", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: drop database %s: %v\n", name, err)
		}
	}
	db := *u
	db.Path, db.RawPath = "/"+name, ""
	return db.String(), drop, nil
}

// vacuum vacuums and analyzes the run's tables.
func vacuum(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "VACUUM (ANALYZE) users, tasks")
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUsers makes n users with HS256 tokens signed with secret. Their ids
// are numbers (from base+1), so that pgbench's random() can name them.
func newUsers(secret string, base, n int) ([]user, error) {
	users := make([]user, n)
	for i := range users {
		id := strconv.Itoa(base + i + 1)
		tok, err := auth.Mint(secret, auth.MintClaims{
			Subject: id, Email: "load" + id + "@example.com", Name: "Load User " + id, TTL: 2 * time.Hour,
		})
		if err != nil {
			return nil, err
		}
		users[i] = user{id: id, auth: "Authorization: Bearer " + tok + "\r\n"}
	}
	return users, nil
}

// seed creates tasksPer tasks for every user through the API, over conns
// connections, and records their ids. The tasks look like real ones: some
// have a description, tags or a due date.
func seed(ctx context.Context, fx *fixture, addr string, tasksPer, conns int) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	next := feed(ctx, len(fx.users))
	for range conns {
		wg.Go(func() {
			c := newRawConn(addr)
			body := new(bytes.Buffer)
			c.body = body
			defer c.close()
			w := &worker{fx: fx, buf: make([]byte, 0, 1024)}
			for i := range next {
				u := &fx.users[i]
				for j := range tasksPer {
					w.request("POST", u)
					req := w.body("application/json", seedTask(j))
					status, err := c.do(req, 30*time.Second)
					if err == nil && status != 201 {
						err = fmt.Errorf("seeding: POST answered %d: %s", status, body.String())
					}
					var created struct{ ID int64 }
					if err == nil {
						err = json.Unmarshal(body.Bytes(), &created)
					}
					if err != nil {
						mu.Lock()
						first = cmp(first, err)
						mu.Unlock()
						return
					}
					u.tasks = append(u.tasks, created.ID)
				}
			}
		})
	}
	wg.Wait()
	return first
}

// feed hands out 0 … n-1 to the workers that range over the channel it
// returns, and closes it after the last, or once ctx is done.
func feed(ctx context.Context, n int) <-chan int {
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	return next
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func seedTask(j int) []byte {
	b := fmt.Appendf(nil, `{"title":"Task number %d: %s"`, j+1,
		[]string{"buy milk and bread", "call the plumber about the sink", "write the quarterly report", "book train tickets"}[j%4])
	if j%2 == 0 {
		b = append(b, `,"description":"Some details that a user wrote down so as not to forget them."`...)
	}
	b = append(b, `,"priority":"`...)
	b = append(b, []string{"low", "medium", "high"}[j%3]...)
	b = append(b, `","tags":`...)
	b = append(b, []string{`["home"]`, `["work","urgent"]`, `[]`}[j%3]...)
	if j%3 == 0 {
		b = fmt.Appendf(b, `,"due_date":"2030-%02d-%02dT17:00:00Z"`, j%12+1, j%28+1)
	}
	return append(b, '}')
}
