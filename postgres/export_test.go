package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
)

// LookupUser implements storetest.UserReader.
func (s *Store) LookupUser(ctx context.Context, id string) (todoapi.User, time.Time, time.Time, error) {
	var (
		u           = todoapi.User{ID: id}
		email, name *string
		first, last time.Time
	)
	err := s.pool.QueryRow(ctx,
		`SELECT email, name, first_seen_at, last_seen_at FROM users WHERE id = $1`, id).
		Scan(&email, &name, &first, &last)
	if email != nil {
		u.Email = *email
	}
	if name != nil {
		u.Name = *name
	}
	return u, first.UTC(), last.UTC(), err
}

// MigrationCounts implements storetest.MigrationCounter.
func (s *Store) MigrationCounts(ctx context.Context) (map[int64]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, count(*) FROM schema_migrations GROUP BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var v int64
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			return nil, err
		}
		out[v] = n
	}
	return out, rows.Err()
}

// InsertTasks implements storetest.BulkInserter with COPY.
func (s *Store) InsertTasks(ctx context.Context, tasks []todoapi.Task) error {
	rows := make([][]any, len(tasks))
	for i, t := range tasks {
		k := t.FoldedText()
		rows[i] = []any{t.UserID, t.Title, t.Description, t.Completed, t.CompletedAt, int16(t.Priority.Rank()),
			nonNil(t.Tags), t.DueDate, t.CreatedAt, t.UpdatedAt, k.Title, k.Description, k.Tags}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"tasks"}, []string{
		"user_id", "title", "description", "completed", "completed_at", "priority",
		"tags", "due_date", "created_at", "updated_at", "title_key", "description_key", "tag_keys",
	}, pgx.CopyFromRows(rows))
	if err != nil {
		return err
	}
	// COPY bypasses the store's writes, which keep the users' counts: it
	// recounts, as after any bulk load (0011_counts_in_writes.sql).
	_, err = s.pool.Exec(ctx, `
		UPDATE users SET task_count = counts.n, completed_count = counts.done
		FROM (SELECT user_id, count(*) AS n, count(*) FILTER (WHERE completed) AS done FROM tasks GROUP BY user_id) AS counts
		WHERE users.id = counts.user_id`)
	if err != nil {
		return err
	}
	// As autovacuum would soon: plans then match a database in use.
	_, err = s.pool.Exec(ctx, "ANALYZE tasks")
	return err
}

// ExplainList returns PostgreSQL's plan for the list query of f, as EXPLAIN
// (FORMAT JSON) gives it.
func (s *Store) ExplainList(ctx context.Context, userID string, f todoapi.TaskFilter) ([]byte, error) {
	query, args := listQuery(userID, f, true) // with the count: the plan of both statements
	var plan []byte
	err := s.pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+query, args...).Scan(&plan)
	return plan, err
}

// ExplainTags returns PostgreSQL's plan for the tag list query of userID,
// as EXPLAIN (FORMAT JSON) gives it.
func (s *Store) ExplainTags(ctx context.Context, userID string) ([]byte, error) {
	var plan []byte
	err := s.pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+tagsQuery, userID).Scan(&plan)
	return plan, err
}

// Exec runs a statement, for tests that set up data in bulk.
func (s *Store) Exec(ctx context.Context, sql string, args ...any) error {
	_, err := s.pool.Exec(ctx, sql, args...)
	return err
}

// UserIndexes lists the indexes on tasks whose first column is user_id.
func (s *Store) UserIndexes(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.relname
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = 'tasks'::regclass AND a.attname = 'user_id'
		ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// MigrateTo applies the migrations up to version v only.
func (s *Store) MigrateTo(ctx context.Context, v int64) error { return s.migrate(ctx, v) }

// Sleep runs pg_sleep through the pool, as any statement of the store.
func (s *Store) Sleep(ctx context.Context, d time.Duration) error {
	_, err := s.pool.Exec(ctx, `SELECT pg_sleep($1)`, d.Seconds())
	return err
}

// NewConns counts the connections the pool has opened.
func (s *Store) NewConns() int64 { return s.pool.Stat().NewConnsCount() }

// Query runs a one-row, one-column query.
func (s *Store) Query(ctx context.Context, sql string, dest any, args ...any) error {
	return s.pool.QueryRow(ctx, sql, args...).Scan(dest)
}

// SetIdle makes a Listener close its connection after d without followers
// and call onIdle when it has.
func (l *Listener) SetIdle(d time.Duration, onIdle func()) {
	l.idle, l.onIdle = d, onIdle
}
