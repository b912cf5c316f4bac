// Package postgres stores tasks in PostgreSQL. It is built for small
// serverless databases such as Neon: TLS with channel binding as Neon's URLs
// ask, a small pool that lets idle connections go and replaces those the
// server closed, and nothing that breaks behind PgBouncer in transaction
// mode (Neon's -pooler hosts).
package postgres

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/todoapi/todoapi"
)

// Options tunes the connection pool. A zero field selects the value of the
// URL parameter named beside it when the URL has one, else the default.
type Options struct {
	// MaxConns caps open connections per process (pool_max_conns).
	// Default 10: serverless databases and their poolers allow few
	// connections, shared by every replica.
	MaxConns int32
	// MaxConnIdleTime closes connections idle this long, so that a database
	// that scales to zero can do so (pool_max_conn_idle_time). Default 1m.
	MaxConnIdleTime time.Duration
	// MaxConnLifetime replaces connections this old, with up to a quarter
	// more (at most 5m) of random jitter (pool_max_conn_lifetime).
	// Default 30m.
	MaxConnLifetime time.Duration
	// HealthCheckPeriod is how often idle and expired connections are
	// closed (pool_health_check_period). Default 30s.
	HealthCheckPeriod time.Duration
	// ConnectTimeout bounds each new connection, TLS and authentication
	// included (connect_timeout, in whole seconds). Default 5s: room for a
	// serverless database to wake up, while a request to a database that is
	// down fails fast with 503 instead of hanging.
	ConnectTimeout time.Duration
	// QueryTimeout bounds each statement (a migration's excepted), so that
	// a request fails with 503 instead of hanging when a pooler queues it
	// with no server to run it on, or a server stops answering; it is also
	// how long a statement whose caller went away may run on. Default 10s.
	QueryTimeout time.Duration
}

// Store is a todoapi.Store backed by a PostgreSQL connection pool.
type Store struct {
	pool   *pgxpool.Pool
	notify *notifier
}

var _ todoapi.Store = (*Store)(nil)

// Open connects to the database at rawURL (postgres:// or postgresql://) and
// checks that it answers. It does not migrate; call Migrate. Errors never
// contain the password.
func Open(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	cfg, password, err := configure(rawURL, opt)
	if err != nil {
		return nil, redact(fmt.Errorf("open PostgreSQL: %w", err), password)
	}

	where := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, redact(fmt.Errorf("connect to PostgreSQL at %s: %w", where, classify(err)), password)
	}
	// Behind a pooler the login succeeds without a server; the ping then
	// waits for one, which must not hold start-up for the pooler's queue
	// timeout.
	pingCtx, cancel := context.WithTimeout(ctx, cfg.ConnConfig.ConnectTimeout+opt.queryTimeout())
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, redact(fmt.Errorf("connect to PostgreSQL at %s: %w", where, classify(err)), password)
	}
	return &Store{pool: pool, notify: newNotifier(pool)}, nil
}

// Close closes every connection, waiting for those in use to be released.
func (s *Store) Close() error {
	s.notify.close()
	s.pool.Close()
	return nil
}

// PoolStats reports the connection pool, for the metrics endpoint.
func (s *Store) PoolStats() []todoapi.PoolStats {
	st := s.pool.Stat()
	return []todoapi.PoolStats{{
		Pool:         "postgres",
		MaxOpen:      int(st.MaxConns()),
		Open:         int(st.TotalConns()),
		InUse:        int(st.AcquiredConns()),
		Idle:         int(st.IdleConns()),
		WaitCount:    st.EmptyAcquireCount(),
		WaitDuration: st.EmptyAcquireWaitTime(),
	}}
}

func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fail("ping", err)
	}
	return nil
}

func (s *Store) UpsertUser(ctx context.Context, u todoapi.User, seen time.Time) error {
	// Empty email or name means the token did not carry one, which must not
	// erase a value learned from an earlier token.
	_, err := s.pool.Exec(ctx, `
		INSERT INTO users (id, email, name, first_seen_at, last_seen_at)
		VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), $4, $4)
		ON CONFLICT (id) DO UPDATE SET
			email = COALESCE(excluded.email, users.email),
			name = COALESCE(excluded.name, users.name),
			last_seen_at = excluded.last_seen_at`,
		u.ID, u.Email, u.Name, seen)
	if err != nil {
		return fail("upsert user", err)
	}
	return nil
}

// ServiceKey returns the key stored under name, storing candidate there
// first when there is none. The insert and the read are two statements, so
// that the read sees a key another replica committed while the insert
// waited on it (one statement's snapshot would not); concurrent callers all
// get the first key committed.
func (s *Store) ServiceKey(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	if _, err := s.pool.Exec(ctx,
		`INSERT INTO service_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, candidate); err != nil {
		return nil, fail("store service key", err)
	}
	var key []byte
	if err := s.pool.QueryRow(ctx, `SELECT key FROM service_keys WHERE name = $1`, name).Scan(&key); err != nil {
		return nil, fail("read service key", err)
	}
	return key, nil
}

const taskColumns = `id, user_id, title, description, completed, completed_at, priority, tags, due_date, created_at, updated_at, version, ` +
	`recurrence, timezone, remind_at, next_occurrence_id, series_start, reminder_pending`

func (s *Store) Task(ctx context.Context, userID string, id int64) (todoapi.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx,
		`SELECT `+taskColumns+` FROM tasks WHERE id = $1 AND user_id = $2`, id, userID))
	if err != nil {
		return todoapi.Task{}, fail("get task", err)
	}
	return t, nil
}

// zone is a task's time zone as stored: UTC when the task names none.
func zone(name string) string {
	if name == "" {
		return todoapi.DefaultTimezone
	}
	return name
}

// nonNil keeps a nil tag list from becoming NULL, which the column refuses.
func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}
