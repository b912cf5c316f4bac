package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
	todohttp "github.com/todoapi/todoapi/http"
	"github.com/todoapi/todoapi/mcp"
	"github.com/todoapi/todoapi/metrics"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/recur"
	"github.com/todoapi/todoapi/sqlite"
)

// store is a todoapi.Store that can bring its schema up to date.
type store interface {
	todoapi.Store
	todoapi.TicketStore
	Migrate(ctx context.Context) error
}

// openStore opens the database DATABASE_URL names.
func openStore(ctx context.Context, c config) (store, error) {
	kind, path, err := parseDatabaseURL(c.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if kind == "postgres" {
		return postgres.Open(ctx, c.DatabaseURL, c.DB)
	}
	return sqlite.Open(ctx, path)
}

// databaseKind names the store for the start-up log line.
func databaseKind(databaseURL string) string {
	kind, _, _ := parseDatabaseURL(databaseURL)
	return kind
}

// parseDatabaseURL says which store DATABASE_URL names and, for SQLite,
// the file: sqlite:PATH, sqlite:///rel.db and sqlite:////abs.db (as
// SQLAlchemy spells them), file:PATH, or file:///abs.db (RFC 8089).
func parseDatabaseURL(s string) (kind, path string, err error) {
	scheme, rest, _ := strings.Cut(s, ":")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return "postgres", "", nil
	case "sqlite":
		path = strings.TrimPrefix(rest, "///")
	case "file":
		path = rest
		if strings.HasPrefix(rest, "//") {
			u, err := url.Parse(s)
			if err != nil || (u.Host != "" && u.Host != "localhost") {
				return "", "", fmt.Errorf("DATABASE_URL %q is not a local file URL", s)
			}
			path = u.Path
		}
	default:
		return "", "", fmt.Errorf("DATABASE_URL must start with postgres://, postgresql://, sqlite: or file: (got %q)", redact(s))
	}
	if strings.ContainsRune(path, '?') {
		return "", "", fmt.Errorf("DATABASE_URL %q: SQLite takes no parameters here; todoapi sets its own", s)
	}
	if path == "" {
		return "", "", fmt.Errorf("DATABASE_URL %q names no file", s)
	}
	return "sqlite", path, nil
}

// redact keeps a URL recognisable in an error without its password.
func redact(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "…@" + rest[at+1:]
	}
	return scheme + "://" + rest
}

func migrate(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if err := newFlags("migrate", stdout).Parse(args); err != nil {
		return err
	}
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func serve(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if err := newFlags("serve", stdout).Parse(args); err != nil {
		return err
	}
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := c.newLogger()

	devMode := c.AuthSecret == "" && c.JWKSURL == ""
	if devMode {
		if c.Production {
			return errors.New("APP_ENV=production needs auth configuration: set BETTER_AUTH_URL (or JWKS_URL) to accept tokens signed by Better Auth's JWKS, and/or BETTER_AUTH_SECRET to accept HS256 tokens signed with that secret")
		}
		c.AuthSecret = randomSecret()
	}
	// With a JWKS this starts fetching it in the background: an auth
	// server that is not up yet is not an error.
	m := metrics.New()
	authConfig := c.authConfig(log)
	if authConfig.JWKS.URL != "" {
		authConfig.JWKS.OnRefresh = m.JWKSRefresh
	}
	verifier, err := auth.NewVerifier(authConfig)
	if err != nil {
		return err
	}
	defer verifier.Close()
	if c.JWKSURL != "" {
		log.Info("accepting tokens signed by the JWKS", "jwks_url", c.JWKSURL,
			"issuer", c.JWKSIssuer, "audience", c.JWKSAudience, "algorithms", verifier.Algorithms())
	}
	if c.Sessions.URL != "" {
		log.Info("accepting Better Auth session tokens", "get_session_url", c.Sessions.URL,
			"cache_ttl", c.Sessions.CacheTTL, "lookups_per_second", c.Sessions.LookupRPS, "lookup_burst", c.Sessions.LookupBurst)
	}

	db, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}

	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	baseURL := "http://" + ln.Addr().String()
	if c.PublicURL == "" {
		c.PublicURL = "http://" + net.JoinHostPort(c.Host, listenPort(ln.Addr()))
	}
	var authServers []string
	if c.AuthorizationServer != "" {
		authServers = []string{c.AuthorizationServer}
	}

	m.SetPoolStats(poolStats(db))
	tasks := todoapi.NewService(db)
	tasks.TaskQuota = c.TaskQuota
	tasks.TombstoneRetention = c.TombstoneRetention
	tasks.Rules = recur.Engine{}
	// The hub wakes this process's live event streams after each write
	// here and, on PostgreSQL, after each write anywhere (listen).
	hub := todoapi.NewHub()
	tasks.Hub = hub
	if stopListening, err := listen(c, hub, log); err != nil {
		return err
	} else {
		defer stopListening()
	}
	if c.ReminderPoll > 0 {
		stopReminders := runReminders(tasks, c.ReminderPoll, m, log)
		defer stopReminders()
	}
	drain := &drainer{}
	events := c.Events
	events.WriteTimeout = c.Edge.WriteTimeout
	events.Stop = drain.Stopping()
	srv := newHTTPServer(c.Edge, todohttp.NewHandler(todohttp.Config{
		Tasks:            tasks,
		Verifier:         verifier,
		Database:         db,
		Logger:           log,
		MaxBodyBytes:     c.MaxBodyBytes,
		BodyReadTimeout:  c.Edge.ReadTimeout,
		Version:          versionString(),
		CORSOrigins:      c.Edge.CORSOrigins,
		UserRateLimit:    c.Edge.UserRateLimit,
		UserMaxInFlight:  c.Edge.UserMaxInFlight,
		AuthFailureLimit: c.Edge.AuthFailureLimit,
		TrustedProxies:   c.Edge.TrustedProxies,
		Metrics:          m,
		Draining:         drain.Draining,
		MCP: mcp.NewHandler(mcp.Config{
			Tasks: tasks, Logger: log, Metrics: m, Version: versionString(), MaxBodyBytes: c.MaxBodyBytes,
		}),
		PublicURL:            c.PublicURL,
		AuthorizationServers: authServers,
		Hub:                  hub,
		Tickets:              todoapi.NewTickets(db),
		Events:               events,
	}), log, drain)

	if c.DebugAddr != "" {
		stopDebug, err := serveDebug(c.DebugAddr, stdout, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}

	log.Info("todoapi listening", "url", baseURL, "database", databaseKind(c.DatabaseURL), "version", versionString(),
		"cors_origins", c.Edge.CORSOrigins)
	fmt.Fprintf(stdout, "todoapi listening on %s\n", baseURL)
	if devMode {
		if err := printDevToken(stdout, c.AuthSecret, c, baseURL); err != nil {
			return err
		}
		log.Warn("DEVELOPMENT MODE: neither BETTER_AUTH_SECRET nor BETTER_AUTH_URL/JWKS_URL is set, so tokens are signed with a random secret that dies with this process; set APP_ENV=production to forbid this")
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain_timeout", c.ShutdownTimeout, "delay", c.Edge.ShutdownDelay)
	drain.shutdown(srv, c.Edge.ShutdownDelay, c.ShutdownTimeout, log)
	return nil
}

// runReminders runs the reminder scheduler until stop is called; stop
// waits for the round in progress, so that no reminder is half sent when
// the database closes.
func runReminders(tasks *todoapi.Service, poll time.Duration, m *metrics.Metrics, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		tasks.RunReminders(ctx, todoapi.Reminders{
			Poll: poll,
			Sent: m.ReminderSent,
			Failed: func(err error) {
				m.ReminderRoundFailed()
				log.Warn("sending reminders failed; retrying", "err", err)
			},
		})
	}()
	return func() {
		cancel()
		<-ended
	}
}

func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// printDevToken gives a developer something to paste: a token for a demo
// user and a curl line that lists that user's tasks.
func printDevToken(w io.Writer, secret string, c config, baseURL string) error {
	tok, err := auth.Mint(secret, auth.MintClaims{
		Subject: "demo-user", Email: "demo@example.com", Name: "Demo User",
		Issuer: c.Issuer, Audience: c.Audience, TTL: 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, `
  DEVELOPMENT MODE: neither BETTER_AUTH_SECRET nor BETTER_AUTH_URL/JWKS_URL
  is set. Tokens are signed with a random secret made for this run, so they
  stop working when it stops.

  Demo token (user "demo-user", valid 24h):
    export TOKEN=%s

  Try:
    curl -H "Authorization: Bearer $TOKEN" %s/api/me/tasks

`, tok, baseURL)
	return nil
}

// serveDebug serves Go's profiler (net/http/pprof) on a listener of its own
// at addr, never on the API's: profiles show code paths and timings, and a
// CPU profile costs the server while it runs. It prints where it listens,
// as serve does for the API, so that tools such as cmd/loadtest can use
// DEBUG_ADDR=127.0.0.1:0.
func serveDebug(addr string, stdout io.Writer, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("DEBUG_ADDR: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/debug/pprof/"
	log.Warn("serving profiles (DEBUG_ADDR)", "url", url)
	fmt.Fprintf(stdout, "todoapi profiles on %s\n", url)
	return func() { _ = srv.Close() }, nil
}

// listenPort is the port a listener listens on.
func listenPort(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return strconv.Itoa(tcp.Port)
	}
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// listen carries "user U changed" between replicas: on PostgreSQL, a LISTEN
// on a session connection feeds hub with every write's NOTIFY, whichever
// replica made it. SQLite serves one process, whose own writes are all
// there is. A transaction-mode pooler cannot hold a LISTEN: without a
// session URL the streams of this replica hear only its own writes, which
// is said loudly, since it looks like working until there are two.
func listen(c config, hub *todoapi.Hub, log *slog.Logger) (stop func(), err error) {
	if databaseKind(c.DatabaseURL) != "postgres" {
		return func() {}, nil
	}
	u, err := postgres.ListenURL(c.DatabaseURL, c.DatabaseDirect)
	if errors.Is(err, postgres.ErrNoSessionURL) {
		log.Warn("LIVE EVENTS STAY ON THIS REPLICA: DATABASE_URL is a transaction-mode pooler, which cannot hold the LISTEN that brings other replicas' changes; set DATABASE_DIRECT_URL to a direct (session) URL of the same database")
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("DATABASE_DIRECT_URL: %w", err)
	}
	l, err := postgres.Listen(u, c.DB, hub, log)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_DIRECT_URL: %w", err)
	}
	log.Info("listening for other replicas' changes", "via", redact(u))
	return l.Close, nil
}
