// Package postgres stores tasks in PostgreSQL. It is built for small
// serverless databases such as Neon: TLS with channel binding as Neon's URLs
// ask, a small pool that lets idle connections go and replaces those the
// server closed, and nothing that breaks behind PgBouncer in transaction
// mode (Neon's -pooler hosts).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
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
	// QueryTimeout bounds each statement sent outside a transaction and the
	// first statement of each transaction, so that a request fails with 503
	// instead of hanging when a pooler queues it with no server to run it on,
	// or a server stops answering. Default 10s.
	QueryTimeout time.Duration
}

// Store is a todoapi.Store backed by a PostgreSQL connection pool.
type Store struct {
	pool *pgxpool.Pool
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
	return &Store{pool: pool}, nil
}

// Close closes every connection, waiting for those in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Stat reports the pool's statistics, for metrics.
func (s *Store) Stat() *pgxpool.Stat { return s.pool.Stat() }

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

const taskColumns = `id, user_id, title, description, completed, completed_at, priority, tags, due_date, created_at, updated_at`

// CreateTask inserts the task unless the user is at the quota, in one
// statement. Locking the user's row makes a user's concurrent creates queue
// there; after the wait PostgreSQL re-reads the row, so each sees the count
// the trigger of the create before it left. A user with no row gets a
// count of -1 and reaches the insert, where the foreign key refuses it.
// The casts type the parameters, which an INSERT … SELECT does not infer
// from the target columns.
func (s *Store) CreateTask(ctx context.Context, t todoapi.Task, quota int) (todoapi.Task, error) {
	keys := t.FoldedText()
	created, err := scanTask(s.pool.QueryRow(ctx, `
		WITH owner AS (SELECT task_count FROM users WHERE id = $1 FOR UPDATE)
		INSERT INTO tasks (user_id, title, description, completed, completed_at, priority, tags, due_date, created_at, updated_at,
			title_key, description_key, tag_keys)
		SELECT $1::text, $2::text, $3::text, $4::boolean, $5::timestamptz, $6::smallint, $7::text[], $8::timestamptz,
			$9::timestamptz, $10::timestamptz, $11::text, $12::text, $13::text[]
		WHERE coalesce((SELECT task_count FROM owner), -1) < $14
		RETURNING `+taskColumns,
		t.UserID, t.Title, t.Description, t.Completed, t.CompletedAt, t.Priority.Rank(),
		nonNil(t.Tags), t.DueDate, t.CreatedAt, t.UpdatedAt,
		keys.Title, keys.Description, keys.Tags, quota))
	if errors.Is(err, pgx.ErrNoRows) {
		return todoapi.Task{}, fmt.Errorf("create task: %w", todoapi.ErrQuotaExceeded)
	}
	if err != nil {
		return todoapi.Task{}, fail("create task", err)
	}
	return created, nil
}

func (s *Store) Task(ctx context.Context, userID string, id int64) (todoapi.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx,
		`SELECT `+taskColumns+` FROM tasks WHERE id = $1 AND user_id = $2`, id, userID))
	if err != nil {
		return todoapi.Task{}, fail("get task", err)
	}
	return t, nil
}

// UpdateTask is optimistic: it reads the task with its row version (xmin,
// which every UPDATE changes), applies change, and writes the result back
// only if the version is still the one it read, in a single UPDATE. That is
// two statements and no transaction to open and close, where locking the
// row first (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT) is four round
// trips, and a row lock even when nothing changes. When another update got
// in between, the UPDATE matches no row and the task is read again, so no
// update is ever lost; after a few such conflicts (one task hammered by many
// clients at once) it falls back to locking, which queues them and so
// guarantees progress. The version is compared as text, which needs no
// parameter type and so works in every query exec mode.
func (s *Store) UpdateTask(ctx context.Context, userID string, id int64, change func(*todoapi.Task) bool) (todoapi.Task, error) {
	const optimisticTries = 3
	for range optimisticTries {
		var version string
		cur, err := scanTask(s.pool.QueryRow(ctx,
			`SELECT `+taskColumns+`, xmin::text FROM tasks WHERE id = $1 AND user_id = $2`, id, userID), &version)
		if err != nil {
			return todoapi.Task{}, fail("update task", err)
		}
		next := cur
		next.Tags = slices.Clone(cur.Tags)
		if !change(&next) {
			return cur, nil
		}
		saved, err := scanTask(s.pool.QueryRow(ctx, updateTask+` AND xmin::text = $14 RETURNING `+taskColumns,
			updateArgs(cur, next, version)...))
		if errors.Is(err, pgx.ErrNoRows) {
			continue // changed or deleted since it was read
		}
		if err != nil {
			return todoapi.Task{}, fail("update task", err)
		}
		return saved, nil
	}
	return s.updateLocked(ctx, userID, id, change)
}

// updateTask writes a task's changeable columns; updateArgs gives its
// parameters. The WHERE clause uses the loaded identity, not next's, so
// change cannot move a task to another user or id.
const updateTask = `
	UPDATE tasks SET title = $1, description = $2, completed = $3, completed_at = $4,
		priority = $5, tags = $6, due_date = $7, updated_at = $8,
		title_key = $9, description_key = $10, tag_keys = $11
	WHERE id = $12 AND user_id = $13`

func updateArgs(cur, next todoapi.Task, extra ...any) []any {
	keys := next.FoldedText()
	return append([]any{next.Title, next.Description, next.Completed, next.CompletedAt, next.Priority.Rank(),
		nonNil(next.Tags), next.DueDate, next.UpdatedAt,
		keys.Title, keys.Description, keys.Tags,
		cur.ID, cur.UserID}, extra...)
}

// updateLocked is UpdateTask with the row locked from the read to the
// write, so that concurrent updates of one task wait for each other.
func (s *Store) updateLocked(ctx context.Context, userID string, id int64, change func(*todoapi.Task) bool) (todoapi.Task, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return todoapi.Task{}, fail("update task", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	cur, err := scanTask(tx.QueryRow(ctx,
		`SELECT `+taskColumns+` FROM tasks WHERE id = $1 AND user_id = $2 FOR UPDATE`, id, userID))
	if err != nil {
		return todoapi.Task{}, fail("update task", err)
	}
	next := cur
	next.Tags = slices.Clone(cur.Tags)
	if !change(&next) {
		return cur, nil
	}
	saved, err := scanTask(tx.QueryRow(ctx, updateTask+` RETURNING `+taskColumns, updateArgs(cur, next)...))
	if err != nil {
		return todoapi.Task{}, fail("update task", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return todoapi.Task{}, fail("update task", err)
	}
	return saved, nil
}

func (s *Store) DeleteTask(ctx context.Context, userID string, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tasks WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fail("delete task", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete task: %w", todoapi.ErrNotFound)
	}
	return nil
}

// nonNil keeps a nil tag list from becoming NULL, which the column refuses.
func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}
