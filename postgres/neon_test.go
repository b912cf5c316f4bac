package postgres_test

// Neon's conditions, reproduced on a throwaway cluster (pgtest.StartCluster):
// TLS with SCRAM-SHA-256-PLUS, PgBouncer in transaction mode, a server that
// closes connections or goes away and comes back.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/internal/storetest"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

// neonParams is what Neon's console appends to every connection string.
const neonParams = "sslmode=require&channel_binding=require"

func openURL(t *testing.T, url string, opt postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// smoke runs every kind of store operation once.
func smoke(t *testing.T, s todoapi.Store, user string) {
	t.Helper()
	ctx := t.Context()
	if err := s.UpsertUser(ctx, todoapi.User{ID: user}, time.Now()); err != nil {
		t.Fatalf("UpsertUser: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	task, err := storetest.CreateTask(s, ctx, todoapi.Task{
		UserID: user, Title: "t", Priority: todoapi.PriorityMedium,
		Tags: []string{"a", "b"}, CreatedAt: now, UpdatedAt: now,
	}, todoapi.DefaultTaskQuota)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	if _, err := s.Task(ctx, user, task.ID); err != nil {
		t.Fatalf("Task: %v", err)
	}
	if _, err := s.ListTasks(ctx, user, todoapi.TaskFilter{}); err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if _, err := storetest.UpdateTask(s, ctx, user, task.ID, func(t *todoapi.Task) bool {
		t.Completed = !t.Completed
		return true
	}); err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	if err := storetest.DeleteTask(s, ctx, user, task.ID); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
}

func TestNeonTLS(t *testing.T) {
	c := pgtest.StartCluster(t)

	t.Run("ConsoleURL", func(t *testing.T) {
		// The URL exactly as Neon prints it: TLS, and SCRAM-SHA-256-PLUS,
		// which pgx refuses to do without (see PgBouncer below).
		db := c.CreateDatabase(t)
		s := openURL(t, c.URL(db, neonParams), postgres.Options{})
		smoke(t, s, "alice")

		conn, err := pgx.Connect(t.Context(), c.URL(db, neonParams))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		var ssl bool
		var version string
		if err := conn.QueryRow(t.Context(),
			`SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version); err != nil || !ssl {
			t.Fatalf("connection is not TLS: ssl=%v %v", ssl, err)
		}
		t.Logf("TLS %s with channel binding", version)
	})

	t.Run("VerifyFull", func(t *testing.T) {
		db := c.CreateDatabase(t)
		for _, host := range []string{"localhost", "127.0.0.1"} {
			s := openURL(t, c.URLWithHost(host, db,
				"sslmode=verify-full&channel_binding=require&sslrootcert="+c.CAFile), postgres.Options{})
			smoke(t, s, "bob-"+host)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		db := c.CreateDatabase(t)
		for name, url := range map[string]string{
			"no TLS":         c.URL(db, "sslmode=disable"),
			"wrong password": strings.Replace(c.URL(db, neonParams), c.Password, "wrong-"+c.Password[4:], 1),
			"unknown CA":     c.URLWithHost("localhost", db, "sslmode=verify-full"),
			"wrong name":     c.URLWithHost("127.0.0.2", db, "sslmode=verify-full&sslrootcert="+c.CAFile+"&connect_timeout=2"),
		} {
			s, err := postgres.Open(t.Context(), url, postgres.Options{})
			if err == nil {
				s.Close()
				t.Errorf("%s: Open succeeded", name)
				continue
			}
			if errors.Is(err, todoapi.ErrDatabaseUnavailable) {
				t.Errorf("%s: a configuration error is not an outage: %v", name, err)
			}
			if strings.Contains(err.Error(), c.Password) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: error leaks the password or spans lines: %q", name, err)
			}
		}
	})

	t.Run("ServerClosedIdleConnections", func(t *testing.T) {
		// A server that ends idle sessions (Neon suspending a compute, a
		// restart, an idle timeout) must cost no request an error, writes
		// included, even when the connections were used a moment ago.
		db := c.CreateDatabase(t)
		s := openURL(t, c.URL(db, neonParams), postgres.Options{MaxConns: 4})
		smoke(t, s, "carol")
		for round := range 3 {
			warm(t, s, 4)
			// This returns once the server processes have exited, so
			// their goodbyes are already in the client's sockets
			// (loopback delivers as it sends).
			c.TerminateConnections(t, db)
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := range 16 {
				wg.Go(func() {
					now := time.Now()
					_, err := storetest.CreateTask(s, t.Context(), todoapi.Task{
						UserID: "carol", Title: fmt.Sprint("r", round, "-", i),
						Priority: todoapi.PriorityLow, CreatedAt: now, UpdatedAt: now,
					}, todoapi.DefaultTaskQuota)
					if err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("round %d: write after the server closed idle connections: %v", round, err)
			}
		}
	})

	t.Run("StopAndStart", func(t *testing.T) {
		db := c.CreateDatabase(t)
		s := openURL(t, c.URL(db, neonParams), postgres.Options{})
		smoke(t, s, "dave")
		warm(t, s, 4)

		c.Stop(t)
		for _, op := range []struct {
			name string
			fn   func(context.Context) error
		}{
			{"Ping", s.Ping},
			{"Task", func(ctx context.Context) error { _, err := s.Task(ctx, "dave", 1); return err }},
			{"CreateTask", func(ctx context.Context) error {
				_, err := storetest.CreateTask(s, ctx, todoapi.Task{UserID: "dave", Title: "x", Priority: todoapi.PriorityLow}, todoapi.DefaultTaskQuota)
				return err
			}},
		} {
			// A refused connection fails at once: the store must not
			// wait for the caller's deadline (or retry until it).
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			err := op.fn(ctx)
			if !errors.Is(err, todoapi.ErrDatabaseUnavailable) {
				t.Errorf("%s with the database stopped: err = %v, want ErrDatabaseUnavailable", op.name, err)
			}
			if ctx.Err() != nil {
				t.Errorf("%s with the database stopped waited for the caller's deadline; want a fast failure", op.name)
			}
			cancel()
		}

		c.Start(t)
		start := time.Now()
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping after the database came back: %v", err)
		}
		t.Logf("first ping after restart: %v", time.Since(start))
		smoke(t, s, "dave")
	})

	t.Run("ConnectTimeout", func(t *testing.T) {
		// Neon's proxy accepts a connection at once and answers when the
		// compute is up; if that takes too long, Open (and a request) fails
		// with ErrDatabaseUnavailable after connect_timeout instead of hanging.
		db := c.CreateDatabase(t)
		p := pgtest.StartProxy(t, fmt.Sprintf("127.0.0.1:%d", c.Port))
		p.Hold()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		start := time.Now()
		_, err := postgres.Open(ctx, c.URLAt(p.Port, db, neonParams), postgres.Options{ConnectTimeout: time.Second})
		took := time.Since(start)
		if !errors.Is(err, todoapi.ErrDatabaseUnavailable) {
			t.Errorf("Open through a proxy that never answers: %v, want ErrDatabaseUnavailable", err)
		}
		// It waited the connect timeout (no less), and gave up by itself
		// (not at the caller's deadline).
		if took < time.Second || ctx.Err() != nil {
			t.Errorf("Open gave up after %v (caller's context: %v); want the 1s connect timeout", took, ctx.Err())
		}
	})
}

// warm makes the pool open n connections by using them at once.
func warm(t *testing.T, s *postgres.Store, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := s.ListTasks(t.Context(), "nobody", todoapi.TaskFilter{}); err != nil {
				t.Errorf("warm: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestPgBouncer(t *testing.T) {
	c := pgtest.StartCluster(t)
	b := pgtest.StartPgBouncer(t, c, pgtest.PgBouncerOptions{PoolSize: 4})
	// Neon's pooler host names say -pooler, which todoapi recognizes; this
	// one is 127.0.0.1, so the URL says pgbouncer=true.
	pooled := func(db string) string { return b.URL(db, "sslmode=require&pgbouncer=true") }

	t.Run("NoChannelBinding", func(t *testing.T) {
		// PgBouncer cannot do SCRAM-SHA-256-PLUS, and pgx will not settle
		// for less when the URL requires it.
		_, err := postgres.Open(t.Context(), b.URL("postgres", neonParams+"&pgbouncer=true"), postgres.Options{})
		if err == nil || !strings.Contains(err.Error(), "channel binding") {
			t.Fatalf("Open with channel_binding=require through PgBouncer: %v; want a channel binding error", err)
		}
	})

	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) todoapi.Store {
			return openURL(t, pooled(c.CreateDatabase(t)), postgres.Options{})
		})
	})

	t.Run("ConcurrentMigrate", func(t *testing.T) {
		// The migration lock is transaction-scoped, so it holds through a
		// transaction pooler; five stores migrate one empty database at once.
		url := pooled(c.CreateDatabase(t))
		storetest.ConcurrentMigrate(t, func(t *testing.T) storetest.MigrationCounter {
			return open(t, url)
		}, os.DirFS("migrations"))
	})

	t.Run("ConcurrentLoad", func(t *testing.T) {
		// Many clients' statements interleave on PgBouncer's four server
		// connections; with the default exec mode for pooled URLs none fails.
		s := openURL(t, pooled(c.CreateDatabase(t)), postgres.Options{MaxConns: 20})
		if n := load(t, s, 20, 30); n != 0 {
			t.Fatalf("%d operations failed through PgBouncer", n)
		}
	})

	t.Run("DatabaseStopped", func(t *testing.T) {
		// With the server gone, PgBouncer queues a statement until its
		// query_wait_timeout (120s, as on Neon): the statement timeout
		// turns that into a prompt error. Then PgBouncer refuses logins for
		// server_login_retry, and the store recovers once it no longer does.
		// The connect timeout is ten times the query timeout, so that a
		// request bounded by the wrong one (the pre-use ping of an idle
		// connection used to be bounded by the connect timeout) cannot pass
		// for a slow one on a loaded machine.
		const queryTimeout, connectTimeout = time.Second, 10 * time.Second
		db := c.CreateDatabase(t)
		s := openURL(t, pooled(db), postgres.Options{QueryTimeout: queryTimeout, ConnectTimeout: connectTimeout})
		smoke(t, s, "erin")
		// Idle long enough for the pool to ping the connection before its
		// next use, as after any real outage.
		time.Sleep(1100 * time.Millisecond)
		c.Stop(t)
		for i := range 3 {
			// The caller would wait a minute, half PgBouncer's queue
			// time: the store must give up on its own, by its timeout.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			start := time.Now()
			_, err := s.Task(ctx, "erin", 1)
			took := time.Since(start)
			if !errors.Is(err, todoapi.ErrDatabaseUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("read %d with the database stopped: %v, want unavailable or a deadline", i, err)
			}
			if took >= connectTimeout/2 {
				t.Errorf("read %d with the database stopped took %v; want about the %v query timeout, far from the %v connect timeout", i, took, queryTimeout, connectTimeout)
			}
			if ctx.Err() != nil {
				t.Errorf("read %d with the database stopped waited for the caller's deadline; want the 1s statement timeout", i)
			}
			cancel()
			t.Logf("read %d through PgBouncer with the database stopped: %v after %v", i, err, took.Round(time.Millisecond))
		}
		c.Start(t)
		start := time.Now()
		for {
			_, err := s.ListTasks(t.Context(), "erin", todoapi.TaskFilter{})
			if err == nil {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("10s after the database came back: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("through PgBouncer, served again %v after the database accepted connections", time.Since(start).Round(time.Millisecond))
		smoke(t, s, "erin")
	})
}

// load runs workers goroutines that each record their user and then
// create, read and list rounds times, and returns how many failed.
func load(t *testing.T, s *postgres.Store, workers, rounds int) int64 {
	t.Helper()
	var failed atomic.Int64
	var first sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		user := fmt.Sprint("user", w%5)
		wg.Go(func() {
			if err := s.UpsertUser(t.Context(), todoapi.User{ID: user}, time.Now()); err != nil {
				failed.Add(1)
				first.Do(func() { t.Logf("first failure: %v", err) })
			}
			for i := range rounds {
				now := time.Now()
				task, err := storetest.CreateTask(s, t.Context(), todoapi.Task{
					UserID: user, Title: fmt.Sprint("w", w, "-", i), Priority: todoapi.PriorityHigh,
					Tags: []string{"x"}, CreatedAt: now, UpdatedAt: now,
				}, todoapi.DefaultTaskQuota)
				if err == nil {
					_, err = s.Task(t.Context(), user, task.ID)
				}
				if err == nil {
					_, err = s.ListTasks(t.Context(), user, todoapi.TaskFilter{Status: todoapi.StatusPending})
				}
				if err != nil {
					failed.Add(1)
					first.Do(func() { t.Logf("first failure: %v", err) })
				}
			}
		})
	}
	wg.Wait()
	return failed.Load()
}

func TestPoolConfig(t *testing.T) {
	const direct = "postgresql://neondb_owner:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?" + neonParams
	const pooler = "postgresql://neondb_owner:pw@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?" + neonParams
	for _, tc := range []struct {
		url  string
		want pgx.QueryExecMode
	}{
		{direct, pgx.QueryExecModeCacheStatement},
		{pooler, pgx.QueryExecModeExec},
		{direct + "&pgbouncer=true", pgx.QueryExecModeExec},
		{pooler + "&pgbouncer=false", pgx.QueryExecModeCacheStatement},
		{pooler + "&default_query_exec_mode=simple_protocol", pgx.QueryExecModeSimpleProtocol},
		{direct + "&default_query_exec_mode=exec", pgx.QueryExecModeExec},
		{"postgres://u:p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres", pgx.QueryExecModeExec},
		{"postgres://u:p@db.internal:6432/todo", pgx.QueryExecModeExec},
		{"postgres://u:p@db.internal:5432/todo", pgx.QueryExecModeCacheStatement},
	} {
		cfg, err := postgres.PoolConfig(tc.url, postgres.Options{})
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got := cfg.ConnConfig.DefaultQueryExecMode; got != tc.want {
			t.Errorf("%s: exec mode %v, want %v", tc.url, got, tc.want)
		}
		if _, ok := cfg.ConnConfig.RuntimeParams["pgbouncer"]; ok {
			t.Errorf("%s: pgbouncer would be sent to the server as a setting", tc.url)
		}
		if cfg.ConnConfig.ChannelBinding != "" && strings.Contains(tc.url, "channel_binding=require") && cfg.ConnConfig.ChannelBinding != "require" {
			t.Errorf("%s: channel_binding = %q", tc.url, cfg.ConnConfig.ChannelBinding)
		}
	}

	cfg, err := postgres.PoolConfig(direct, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 10 || cfg.MinConns != 0 || cfg.MaxConnIdleTime != time.Minute ||
		cfg.MaxConnLifetime != 30*time.Minute || cfg.MaxConnLifetimeJitter != 5*time.Minute ||
		cfg.HealthCheckPeriod != 30*time.Second || cfg.ConnConfig.ConnectTimeout != 5*time.Second ||
		cfg.PingTimeout != 5*time.Second || cfg.ConnConfig.ChannelBinding != "require" {
		t.Errorf("defaults: max %d min %d idle %v life %v+%v health %v connect %v ping %v cb %q",
			cfg.MaxConns, cfg.MinConns, cfg.MaxConnIdleTime, cfg.MaxConnLifetime, cfg.MaxConnLifetimeJitter,
			cfg.HealthCheckPeriod, cfg.ConnConfig.ConnectTimeout, cfg.PingTimeout, cfg.ConnConfig.ChannelBinding)
	}

	// URL parameters apply when the option is zero; options win over them.
	fromURL := direct + "&pool_max_conns=3&pool_max_conn_idle_time=10s&pool_max_conn_lifetime=5m&pool_health_check_period=7s&connect_timeout=2"
	cfg, err = postgres.PoolConfig(fromURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 3 || cfg.MaxConnIdleTime != 10*time.Second || cfg.MaxConnLifetime != 5*time.Minute ||
		cfg.HealthCheckPeriod != 7*time.Second || cfg.ConnConfig.ConnectTimeout != 2*time.Second {
		t.Errorf("from the URL: max %d idle %v life %v health %v connect %v",
			cfg.MaxConns, cfg.MaxConnIdleTime, cfg.MaxConnLifetime, cfg.HealthCheckPeriod, cfg.ConnConfig.ConnectTimeout)
	}
	cfg, err = postgres.PoolConfig(fromURL, postgres.Options{
		MaxConns: 4, MaxConnIdleTime: 20 * time.Second, MaxConnLifetime: 10 * time.Minute,
		HealthCheckPeriod: 9 * time.Second, ConnectTimeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 4 || cfg.MaxConnIdleTime != 20*time.Second || cfg.MaxConnLifetime != 10*time.Minute ||
		cfg.HealthCheckPeriod != 9*time.Second || cfg.ConnConfig.ConnectTimeout != 3*time.Second {
		t.Errorf("options: max %d idle %v life %v health %v connect %v",
			cfg.MaxConns, cfg.MaxConnIdleTime, cfg.MaxConnLifetime, cfg.HealthCheckPeriod, cfg.ConnConfig.ConnectTimeout)
	}

	// The pre-use ping is bounded like a statement: by the query timeout
	// when it is the shorter one, so a request after an outage is bounded
	// by DB_QUERY_TIMEOUT rather than the connect timeout.
	for _, tc := range []struct{ query, connect, want time.Duration }{
		{time.Second, 5 * time.Second, time.Second},
		{10 * time.Second, 5 * time.Second, 5 * time.Second},
		{0, 0, 5 * time.Second},
	} {
		c, err := postgres.PoolConfig(direct, postgres.Options{QueryTimeout: tc.query, ConnectTimeout: tc.connect})
		if err != nil {
			t.Fatal(err)
		}
		if c.PingTimeout != tc.want {
			t.Errorf("query timeout %v, connect timeout %v: ping timeout %v, want %v", tc.query, tc.connect, c.PingTimeout, tc.want)
		}
	}

	if cfg.ConnConfig.Tracer == nil {
		t.Error("no statement timeout")
	}
	if _, err := postgres.PoolConfig(direct+"&pgbouncer=maybe", postgres.Options{}); err == nil {
		t.Error("pgbouncer=maybe accepted")
	}
}
