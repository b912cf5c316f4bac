package postgres

import (
	"context"
	"time"

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

// MigrationCounts returns how many schema_migrations rows each version has.
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
