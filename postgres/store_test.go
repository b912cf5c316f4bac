package postgres_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/internal/storetest"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openMigrated opens a fresh database with its schema in place.
func openMigrated(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s := open(t, url)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) todoapi.Store {
		return openMigrated(t, pgtest.NewDatabase(t))
	})
}

func TestConcurrentMigrate(t *testing.T) {
	url := pgtest.NewDatabase(t)
	storetest.ConcurrentMigrate(t, func(t *testing.T) storetest.MigrationCounter {
		return open(t, url)
	}, os.DirFS("migrations"))
}

func TestOpenUnreachable(t *testing.T) {
	const password = "s3cr3t-Pa55"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, url := range []string{
		"postgres://alice:" + password + "@127.0.0.1:1/todo?sslmode=disable",
		"postgresql://alice:" + password + "@127.0.0.1:1/todo?sslmode=disable&connect_timeout=2",
	} {
		s, err := postgres.Open(ctx, url, postgres.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open of an unreachable server succeeded")
		}
		msg := err.Error()
		if !errors.Is(err, todoapi.ErrDatabaseUnavailable) {
			t.Errorf("err = %v, want ErrDatabaseUnavailable", err)
		}
		if strings.Contains(msg, password) {
			t.Errorf("error contains the password: %s", msg)
		}
		if !strings.HasPrefix(msg, "connect to PostgreSQL at 127.0.0.1:1: ") || strings.Contains(msg, "\n") {
			t.Errorf("error = %q, want one line starting with the address", msg)
		}
	}
}

func TestOpenBadURL(t *testing.T) {
	const password = "s3cr3t-Pa55"
	for _, url := range []string{
		"mysql://alice:" + password + "@127.0.0.1/todo",
		"postgres://alice:" + password + "@127.0.0.1/todo?sslmode=bogus",
		"postgres://alice:" + password + "@127.0.0.1/todo?pool_max_conns=many",
		"postgres://alice:" + password + "@127.0.0.1:99999999/todo",
		"postgres://alice:" + password + "@[::1/todo",
	} {
		s, err := postgres.Open(t.Context(), url, postgres.Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", url)
			continue
		}
		if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(%q) error leaks the password or spans lines: %q", url, err)
		}
		if errors.Is(err, todoapi.ErrDatabaseUnavailable) {
			t.Errorf("Open(%q): a malformed URL is not an outage: %v", url, err)
		}
	}
}

func TestOpenMissingDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t)
	url = strings.Replace(url, "todoapi_test_", "todoapi_missing_", 1)
	_, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err == nil {
		t.Fatal("Open of a database that does not exist succeeded")
	}
	if errors.Is(err, todoapi.ErrDatabaseUnavailable) {
		t.Errorf("a missing database is a configuration error, not an outage: %v", err)
	}
}

func TestPoolOptions(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.PoolStats()[0].MaxOpen; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}
	def := open(t, url)
	if got := def.PoolStats()[0].MaxOpen; got != 10 {
		t.Errorf("default MaxConns = %d, want 10", got)
	}
	fromURL := open(t, url+"&pool_max_conns=7")
	if got := fromURL.PoolStats()[0].MaxOpen; got != 7 {
		t.Errorf("MaxConns from the URL = %d, want 7", got)
	}
}

func TestTickets(t *testing.T) {
	storetest.Tickets(t, func(t *testing.T) todoapi.TicketStore {
		return openMigrated(t, pgtest.NewDatabase(t))
	})
}

// TestCallerHangsUp cancels a caller's context while its statement runs:
// the statement finishes and its connection goes back to the pool, instead
// of being closed (as pgx does with a cancelled statement) and replaced by
// a new one, which on Neon costs a TLS and SCRAM handshake. A statement
// that outlasts DB_QUERY_TIMEOUT is still cut off.
func TestCallerHangsUp(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 1, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pid int
	if err := s.Query(t.Context(), `SELECT pg_backend_pid()`, &pid); err != nil {
		t.Fatal(err)
	}
	opened := s.NewConns()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Sleep(ctx, 300*time.Millisecond) }()
	// Wait until the server runs the sleep, then hang up.
	admin, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for {
		var n int
		if err := admin.Query(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep%' AND state = 'active'`, &n, pid); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the statement whose caller hung up: %v, want it to finish", err)
	}
	var again int
	if err := s.Query(t.Context(), `SELECT pg_backend_pid()`, &again); err != nil {
		t.Fatal(err)
	}
	if again != pid || s.NewConns() != opened {
		t.Errorf("after a caller hung up: backend %d (was %d), %d connections opened (was %d); want the same connection",
			again, pid, s.NewConns(), opened)
	}

	// A caller that hung up before its statement started fails at once.
	if err := s.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("a statement of a caller gone before it started: %v, want context.Canceled", err)
	}
	// DB_QUERY_TIMEOUT still bounds a statement whose caller is gone.
	short, err := postgres.Open(t.Context(), url, postgres.Options{QueryTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	if err := short.Sleep(t.Context(), time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an hour's statement with DB_QUERY_TIMEOUT 200ms: %v, want a deadline error", err)
	}
}
