package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// crashResult is what one kill -9 run found.
type crashResult struct {
	acked, missing int
}

// crashRuns proves that an answered create is on disk: runs times, it
// starts the server on a fresh SQLite file, sends creates over conns
// connections, kills the server with SIGKILL in the middle of the burst,
// starts it again on the same file and checks that every task whose 201
// came back is there.
func crashRuns(ctx context.Context, bin, dir string, runs, conns int, out io.Writer) ([]crashResult, error) {
	var results []crashResult
	for i := range runs {
		r, err := crashRun(ctx, bin, filepath.Join(dir, "crash-"+strconv.Itoa(i)), conns)
		if err != nil {
			return results, fmt.Errorf("kill -9 run %d: %w", i+1, err)
		}
		fmt.Fprintf(out, "kill -9 run %d: %d creates answered 201 before the kill, %d of them missing after the restart\n", i+1, r.acked, r.missing)
		results = append(results, r)
	}
	return results, nil
}

func crashRun(ctx context.Context, bin, dir string, conns int) (crashResult, error) {
	secret := randomHex(32)
	env := []string{
		"DATABASE_URL=sqlite:" + filepath.Join(dir, "crash.db"),
		"BETTER_AUTH_SECRET=" + secret,
		"APP_ENV=production", "HOST=127.0.0.1", "PORT=0", "LOG_LEVEL=warn",
		"RATE_LIMIT_RPS=1000000", "RATE_LIMIT_BURST=1000000",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return crashResult{}, err
	}
	srv, err := startServer(ctx, bin, dir, env, false)
	if err != nil {
		return crashResult{}, err
	}
	users, err := newUsers(secret, (rand.IntN(9_000)+1_000)*10_000, 16)
	if err != nil {
		srv.stop()
		return crashResult{}, err
	}
	fx := &fixture{host: srv.addr, users: users}

	// The burst: creates until the server dies, each acknowledged id kept.
	var (
		mu     sync.Mutex
		acked  = map[string][]int64{}
		total  atomic.Int64
		wg     sync.WaitGroup
		killed atomic.Bool
	)
	for i := range conns {
		wg.Go(func() {
			c := newRawConn(srv.addr)
			c.body = new(bytes.Buffer)
			defer c.close()
			w := &worker{fx: fx, rng: rand.New(rand.NewPCG(rand.Uint64(), uint64(i))), buf: make([]byte, 0, 1024)}
			for !killed.Load() {
				u := &fx.users[w.rng.IntN(len(fx.users))]
				w.n++
				w.request("POST", u)
				status, err := c.do(w.body("application/json", fmt.Appendf(nil, `{"title":"crash %d-%d"}`, i, w.n)), 10*time.Second)
				if err != nil || status != http.StatusCreated {
					continue // refused or cut off by the kill: not acknowledged
				}
				var created struct{ ID int64 }
				if json.Unmarshal(c.body.Bytes(), &created) != nil || created.ID == 0 {
					continue
				}
				mu.Lock()
				acked[u.id] = append(acked[u.id], created.ID)
				mu.Unlock()
				total.Add(1)
			}
		})
	}
	// Kill once a few hundred creates are in, at a random moment after.
	for total.Load() < 300 && ctx.Err() == nil {
		select {
		case err := <-srv.exited:
			killed.Store(true)
			wg.Wait()
			return crashResult{}, fmt.Errorf("the server exited (%v): %s", err, srv.logs)
		case <-time.After(5 * time.Millisecond):
		}
	}
	time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
	_ = srv.cmd.Process.Kill()
	killed.Store(true)
	<-srv.exited
	wg.Wait()

	// The restart reads the file the killed process left.
	again, err := startServer(ctx, bin, dir, env, false)
	if err != nil {
		return crashResult{}, err
	}
	defer again.stop()
	r := crashResult{}
	c := newRawConn(again.addr)
	c.body = new(bytes.Buffer)
	defer c.close()
	fx.host = again.addr
	w := &worker{fx: fx, buf: make([]byte, 0, 1024)}
	for i := range fx.users {
		u := &fx.users[i]
		ids := acked[u.id]
		r.acked += len(ids)
		if len(ids) == 0 {
			continue
		}
		if len(ids) > 1000 {
			return r, fmt.Errorf("user %s has %d tasks, more than one page", u.id, len(ids))
		}
		w.request("GET", u, "?limit=1000")
		status, err := c.do(append(w.buf, "\r\n"...), 30*time.Second)
		if err != nil || status != http.StatusOK {
			return r, fmt.Errorf("list after the restart: %d %v", status, err)
		}
		var listed []struct{ ID int64 }
		if err := json.Unmarshal(c.body.Bytes(), &listed); err != nil {
			return r, fmt.Errorf("list after the restart: %w", err)
		}
		present := map[int64]bool{}
		for _, t := range listed {
			present[t.ID] = true
		}
		for _, id := range ids {
			if !present[id] {
				r.missing++
			}
		}
	}
	return r, nil
}
