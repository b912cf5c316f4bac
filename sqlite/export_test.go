package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/todoapi/todoapi"
)

// LookupUser implements storetest.UserReader.
func (s *Store) LookupUser(ctx context.Context, id string) (todoapi.User, time.Time, time.Time, error) {
	var (
		u           = todoapi.User{ID: id}
		email, name sql.NullString
		first, last int64
	)
	err := s.reader.QueryRowContext(ctx,
		`SELECT email, name, first_seen_at, last_seen_at FROM users WHERE id = ?`, id).
		Scan(&email, &name, &first, &last)
	u.Email, u.Name = email.String, name.String
	return u, time.UnixMicro(first).UTC(), time.UnixMicro(last).UTC(), err
}

// MigrationCounts implements storetest.MigrationCounter.
func (s *Store) MigrationCounts(ctx context.Context) (map[int64]int, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT version, count(*) FROM schema_migrations GROUP BY version`)
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

// Pragma returns the value of a pragma on a writer or reader connection.
func (s *Store) Pragma(ctx context.Context, writer bool, name string) (string, error) {
	db := s.reader
	if writer {
		db = s.writer
	}
	var v string
	err := db.QueryRowContext(ctx, `PRAGMA `+name).Scan(&v)
	return v, err
}

// WriterMaxOpen is the writer pool's connection limit.
func (s *Store) WriterMaxOpen() int { return s.writer.Stats().MaxOpenConnections }

// ExplainList returns SQLite's query plan for the list query of f, one
// line per plan step.
func (s *Store) ExplainList(ctx context.Context, userID string, f todoapi.TaskFilter) ([]string, error) {
	query, args := listQuery(userID, f, true, "") // with the count: the plan of both statements
	rows, err := s.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

// InsertTasks stores tasks in one transaction, much faster than CreateTask
// one by one, for benchmarks. The users must exist.
func (s *Store) InsertTasks(ctx context.Context, tasks []todoapi.Task) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO tasks (user_id, title, description, completed, completed_at, priority, tags, due_date, created_at, updated_at,
			title_key, description_key, tag_keys)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, t := range tasks {
		v, err := columnValues(t)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, t.UserID, v.title, v.description, v.completed, v.completedAt,
			v.priority, v.tags, v.dueDate, v.createdAt, v.updatedAt, v.titleKey, v.descriptionKey, v.tagKeys); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// MigrateTo applies the migrations up to version v only.
func (s *Store) MigrateTo(ctx context.Context, v int64) error { return s.migrate(ctx, v) }

// Exec runs a statement on the writer, for tests that write rows as an
// older release would.
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.writer.ExecContext(ctx, query, args...)
	return err
}

var DecodeTags = decodeTags

// ForceSearchIndex makes every search of three characters or more read
// the trigram index (use true) or scan the user's tasks (false), instead
// of choosing per search.
func (s *Store) ForceSearchIndex(use bool) {
	s.searchIndex = searchIndexNever
	if use {
		s.searchIndex = searchIndexAlways
	}
}

// SetAfterListQuery makes every list call f while it holds its reader
// connection.
func (s *Store) SetAfterListQuery(f func(userID string)) { s.afterListQuery = f }

// SetReadersPerUser replaces the bound on one user's readers.
func (s *Store) SetReadersPerUser(n int) { s.readers = newReaderGate(n) }

// ReaderPoolSize is the read pool's connection limit.
func (s *Store) ReaderPoolSize() int { return s.reader.Stats().MaxOpenConnections }

// ReadersPerUser is the bound on one user's readers.
func (s *Store) ReadersPerUser() int { return s.readers.perUser }
