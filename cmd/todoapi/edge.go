package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/todoapi/todoapi"
	todohttp "github.com/todoapi/todoapi/http"
	"github.com/todoapi/todoapi/metrics"
)

// edgeConfig is how the service faces clients: which browser
// origins may call it, how fast each user and each failing address may
// go, which proxies' X-Forwarded-For to believe, and how long a client may
// take over each part of an exchange.
type edgeConfig struct {
	CORSOrigins      []string
	UserRateLimit    todohttp.RateLimit
	UserMaxInFlight  int // requests of one user in flight at once; 0: no limit
	AuthFailureLimit todohttp.RateLimit
	TrustedProxies   []netip.Prefix

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	// ShutdownDelay is how long the server keeps serving after SIGTERM,
	// answering /readyz with 503 and closing connections after each
	// response, before it stops accepting.
	ShutdownDelay time.Duration
}

// maxHeaderBytes caps request headers. The largest legitimate header is a
// bearer token (8 KiB at most: a larger one is refused unread); 64 KiB leaves room for cookies
// while denying the 1 MiB net/http would otherwise buffer per connection.
const maxHeaderBytes = 64 << 10

// parseOrigins reads a comma-separated list of browser origins. Each must be
// an origin as browsers send it (scheme://host[:port], no path); a trailing
// slash is forgiven, case and default ports are normalised so that the
// configured text matches the Origin header. "*" allows every origin.
func parseOrigins(list string) ([]string, error) {
	var out []string
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if raw == "*" {
			out = append(out, raw)
			continue
		}
		u, err := url.Parse(strings.TrimSuffix(raw, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
			u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("origins such as https://app.example.com (got %q)", raw)
		}
		scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
			port = ""
		}
		origin := scheme + "://" + host
		if strings.Contains(host, ":") {
			origin = scheme + "://[" + host + "]"
		}
		if port != "" {
			origin += ":" + port
		}
		out = append(out, origin)
	}
	return out, nil
}

// parseProxies reads TRUSTED_PROXIES: addresses or CIDR prefixes.
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if p, err := netip.ParsePrefix(raw); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(raw)
		if err != nil {
			return nil, fmt.Errorf("a list of IP addresses or CIDR prefixes such as 10.0.0.0/8 (got %q)", raw)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// newHTTPServer is the server with every timeout set, so that a client that
// sends its headers or body slowly, or never reads the answer, or holds an
// idle connection, is cut off instead of holding a connection and a
// goroutine for ever.
func newHTTPServer(e edgeConfig, h http.Handler, log *slog.Logger, d *drainer) *http.Server {
	return &http.Server{
		ConnState:         d.track,
		Handler:           h,
		ReadHeaderTimeout: e.ReadHeaderTimeout,
		ReadTimeout:       e.ReadTimeout,
		WriteTimeout:      e.WriteTimeout,
		IdleTimeout:       e.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// drainer stops the server in two steps, so that a deploy or a scale-down
// loses no request: stop accepting, then finish what is in flight, within
// a bound. For ShutdownDelay it keeps serving
// while /readyz answers 503 and every response closes its connection, so
// that load balancers take the replica out and clients stop reusing its
// keep-alive connections (on which a request can cross the server's close
// and be lost unanswered). Then it closes the listener, so new connections
// are refused, and waits for the requests in flight. The delay ends early
// once no connection has been open for a moment, so an idle server stops at
// once.
type drainer struct {
	draining atomic.Bool
	open     atomic.Int64 // connections accepted and not yet closed

	stopOnce sync.Once
	stop     chan struct{}
}

// Stopping is closed when shutdown begins: live event streams end then,
// at once, instead of holding the drain until its timeout, and their
// clients resume on another replica (todohttp.EventsConfig.Stop).
func (d *drainer) Stopping() <-chan struct{} {
	d.stopOnce.Do(func() { d.stop = make(chan struct{}) })
	return d.stop
}

// Draining is what the handler asks (todohttp.Config.Draining).
func (d *drainer) Draining() bool { return d.draining.Load() }

// track is the server's ConnState hook.
func (d *drainer) track(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		d.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		d.open.Add(-1)
	}
}

// shutdown drains srv within timeout, of which the delay takes at most
// half. Requests still running at the end are cut off by closing their
// connections, which also cancels their contexts and so their database
// calls, so that closing the database afterwards cannot hang.
func (d *drainer) shutdown(srv *http.Server, delay, timeout time.Duration, log *slog.Logger) {
	deadline := time.Now().Add(timeout)
	d.draining.Store(true)
	d.Stopping()
	close(d.stop)
	// Under load connections come and go (each response now closes its
	// own), so "no connection open" counts only once it has lasted a while.
	const quiet = 100 * time.Millisecond
	var idleSince time.Time
	for end := time.Now().Add(min(delay, timeout/2)); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if d.open.Load() > 0 {
			idleSince = time.Time{}
		} else if idleSince.IsZero() {
			idleSince = time.Now()
		} else if time.Since(idleSince) >= quiet {
			break
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("requests still running at the drain timeout were cut off", "err", err)
		_ = srv.Close()
	}
}

// poolStats returns what /metrics reports about db's connection pools, or
// nil when db has none to report.
func poolStats(db any) func() []metrics.PoolStats {
	if p, ok := db.(interface{ PoolStats() []todoapi.PoolStats }); ok {
		return p.PoolStats
	}
	return nil
}
