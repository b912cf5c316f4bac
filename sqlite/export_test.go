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

// AppliedVersions lists schema_migrations, one entry per row.
func (s *Store) AppliedVersions(ctx context.Context) ([]int64, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
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
