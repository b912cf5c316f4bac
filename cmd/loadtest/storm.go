package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// connCounter is a TCP proxy in front of PostgreSQL that counts the
// connections the server opens: on Neon each new one costs a TLS and SCRAM
// handshake, so a server that replaces connections whenever a client goes
// away pays for it under a storm of disconnects.
type connCounter struct {
	ln     net.Listener
	target string
	opened atomic.Int64
	wg     sync.WaitGroup
}

func newConnCounter(target string) (*connCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &connCounter{ln: ln, target: target}
	p.wg.Go(p.serve)
	return p, nil
}

func (p *connCounter) addr() string { return p.ln.Addr().String() }

func (p *connCounter) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.opened.Add(1)
		go func() {
			defer c.Close()
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { io.Copy(c, up); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

func (p *connCounter) close() { p.ln.Close(); p.wg.Wait() }

// runStorm sends sc's requests over o.conns connections, each request on a
// new connection that is closed a moment (0 to 4 ms) after the request was
// sent, mostly before the answer: clients that give up. It counts the
// database connections the server opened while measuring (through proxy)
// and, from the server's metrics, the statuses it recorded for the storm's
// requests.
func runStorm(ctx context.Context, fx *fixture, sc scenario, o runOptions, proxy *connCounter, metricsURL string) result {
	start := time.Now()
	from := start.Add(o.warmup)
	end := from.Add(o.dur)
	var sent atomic.Int64
	var opened0 int64
	var statuses0 map[string]float64
	var wg sync.WaitGroup
	for i := range o.conns {
		wg.Go(func() {
			w := &worker{fx: fx, id: i, rng: rand.New(rand.NewPCG(o.seed, uint64(i))), buf: make([]byte, 0, 1024)}
			for time.Now().Before(end) && ctx.Err() == nil {
				req, _ := sc.build(w)
				c, err := net.DialTimeout("tcp", o.addr, o.timeout)
				if err != nil {
					continue
				}
				if _, err := c.Write(req); err == nil && !time.Now().Before(from) {
					sent.Add(1)
				}
				time.Sleep(time.Duration(w.rng.IntN(4000)) * time.Microsecond)
				// RST rather than FIN: the server learns at once that
				// nobody waits for the answer.
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		})
	}
	time.Sleep(time.Until(from))
	opened0 = proxy.opened.Load()
	statuses0 = scrapeStatuses(metricsURL)
	wg.Wait()
	// Let the requests that were cut finish in the server and be counted.
	time.Sleep(2 * time.Second)
	r := result{store: o.store, bin: o.bin, scenario: sc.name, duration: o.dur, failures: map[string]int{}}
	r.ok = int(sent.Load())
	r.opened = proxy.opened.Load() - opened0
	r.statuses = map[string]int{}
	for k, v := range scrapeStatuses(metricsURL) {
		if d := int(v - statuses0[k]); d > 0 {
			r.statuses[k] = d
		}
	}
	return r
}

var requestsLine = regexp.MustCompile(`^todoapi_http_requests_total\{(.*)\} ([0-9.e+]+)$`)
var statusLabel = regexp.MustCompile(`status="([0-9]+)"`)

// scrapeStatuses sums the server's answered-request counter by status,
// leaving out /metrics itself.
func scrapeStatuses(url string) map[string]float64 {
	m := map[string]float64{}
	resp, err := http.Get(url)
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		g := requestsLine.FindStringSubmatch(sc.Text())
		if g == nil || strings.Contains(g[1], `route="/metrics"`) || strings.Contains(g[1], `route="GET /metrics"`) {
			continue
		}
		s := statusLabel.FindStringSubmatch(g[1])
		if s == nil {
			continue
		}
		v, _ := strconv.ParseFloat(g[2], 64)
		m[s[1]] += v
	}
	return m
}

// stormSummary formats what a storm measured.
func stormSummary(r result) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.statuses)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, r.statuses[k]))
	}
	return fmt.Sprintf("%d requests cut short, %d database connections opened (%.1f per 1 000), server recorded: %s",
		r.ok, r.opened, 1000*float64(r.opened)/max(1, float64(r.ok)), strings.Join(parts, " "))
}
