package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver, to read the database file afterwards

	"github.com/todoapi/todoapi/auth"
)

// TestGracefulShutdownUnderLoad runs the real binary on SQLite, sends a
// steady stream of task creations from several goroutines, sends SIGTERM
// in the middle of it, and checks what the README promises of a shutdown
// (every 201 is committed; in-flight requests finish): the
// process exits 0 within the drain timeout, every request that got a 2xx
// is in the database, and no request was processed without its client
// getting the answer (a reset mid-response). Requests that could not
// connect once shutdown began are expected.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	const secret = "shutdown-test-secret"
	const drain = 10 * time.Second
	dbPath := filepath.Join(dir, "todo.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var stdout, stderr bytes.Buffer
	// The test binary runs as todoapi (TestMain), which spares a build.
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Dir = dir
	cmd.Env = []string{
		runMainVar + "=1",
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=sqlite:" + dbPath,
		"BETTER_AUTH_SECRET=" + secret,
		"HOST=127.0.0.1",
		fmt.Sprintf("PORT=%d", port),
		"LOG_FORMAT=json",
		"LOG_LEVEL=warn",
		"RATE_LIMIT_RPS=0", // this test is about draining, not limits
		"SHUTDOWN_TIMEOUT=" + drain.String(),
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come up: %v\nstderr:\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	tok, err := auth.Mint(secret, auth.MintClaims{Subject: "loader", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	// Each worker records every request's outcome by its unique title.
	type outcome struct {
		title string
		kind  string // ok, refused, failed, midresponse, status
		err   string
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		okCount  int
		signaled = make(chan struct{})
	)
	record := func(o outcome) {
		mu.Lock()
		defer mu.Unlock()
		outcomes = append(outcomes, o)
		if o.kind == "ok" {
			okCount++
		}
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 16}
	client := &http.Client{Transport: transport, Timeout: 2 * drain}
	const workers = 8
	var wg sync.WaitGroup
	stopBy := time.Now().Add(60 * time.Second)
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(stopBy); i++ {
				title := fmt.Sprintf("w%d-%d", w, i)
				req, _ := http.NewRequest(http.MethodPost, base+"/api/me/tasks",
					strings.NewReader(`{"title":"`+title+`"}`))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					if errors.Is(err, syscall.ECONNREFUSED) {
						record(outcome{title: title, kind: "refused"})
						select {
						case <-signaled:
							return // the server is gone, as it should be
						default:
							t.Errorf("connection refused before SIGTERM: %v", err)
							return
						}
					}
					record(outcome{title: title, kind: "failed", err: err.Error()})
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					record(outcome{title: title, kind: "midresponse", err: err.Error()})
				case resp.StatusCode == http.StatusCreated:
					record(outcome{title: title, kind: "ok"})
				default:
					record(outcome{title: title, kind: "status", err: resp.Status})
				}
			}
		})
	}

	// Let the stream run, then signal in the middle of it.
	for {
		mu.Lock()
		n := okCount
		mu.Unlock()
		if n >= 300 {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("only %d requests succeeded before the signal\nstderr:\n%s", n, stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	beforeSignal := len(outcomes)
	mu.Unlock()
	signalAt := time.Now()
	close(signaled)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(drain + 5*time.Second):
		t.Fatalf("the process did not exit within the drain timeout (%v) after SIGTERM", drain)
	}
	exitAfter := time.Since(signalAt)
	wg.Wait()
	if exitErr != nil {
		t.Errorf("exit: %v (want status 0)\nstderr:\n%s", exitErr, stderr.String())
	}

	// Read the database the process left behind.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	rows, err := db.QueryContext(context.Background(), `SELECT title FROM tasks WHERE user_id = 'loader'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var title string
		if err := rows.Scan(&title); err != nil {
			t.Fatal(err)
		}
		stored[title] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	counts := map[string]int{}
	errs := map[string]int{}
	for _, o := range outcomes {
		counts[o.kind]++
		switch o.kind {
		case "ok":
			if !stored[o.title] {
				t.Errorf("%s got 201 but is not in the database", o.title)
			}
		case "failed":
			errs[o.err]++
			// No answer, which is fine only if the server never acted on it.
			if stored[o.title] {
				t.Errorf("%s was stored but its client got no answer: %s", o.title, o.err)
			}
		case "midresponse":
			t.Errorf("%s: the connection broke in the middle of the response: %s", o.title, o.err)
		case "status":
			t.Errorf("%s: unexpected status %s", o.title, o.err)
		}
	}
	if len(stored) != counts["ok"] {
		t.Errorf("%d tasks stored, %d requests got 201", len(stored), counts["ok"])
	}
	if counts["refused"] == 0 {
		t.Errorf("no request was refused after SIGTERM; did the listener stay open?")
	}
	t.Logf("%d requests before SIGTERM, %d after; outcomes %v; process exited %v after SIGTERM (drain timeout %v); %d tasks in the database",
		beforeSignal, len(outcomes)-beforeSignal, counts, exitAfter.Round(time.Millisecond), drain, len(stored))
	for e, n := range errs {
		t.Logf("  %d× %s", n, e)
	}
	if strings.Contains(stderr.String(), `"level":"ERROR"`) {
		t.Errorf("errors were logged:\n%s", stderr.String())
	}
}
