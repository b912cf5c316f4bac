package sqlite

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/todoapi/todoapi/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies the embedded migrations that the database lacks, all in
// one transaction: a failure leaves the schema as it was. The transaction
// begins IMMEDIATE, so processes migrating the same file at once take turns
// (waiting up to the busy timeout) and each applies a version at most once.
func (s *Store) Migrate(ctx context.Context) error {
	all, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return s.fail("migrate", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY NOT NULL,
			name       TEXT NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
		return s.fail("migrate: create schema_migrations", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return s.fail("migrate: read applied versions", err)
	}
	var applied []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return s.fail("migrate: read applied versions", err)
		}
		applied = append(applied, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.fail("migrate: read applied versions", err)
	}

	for _, m := range migrate.Pending(all, applied) {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return s.fail("migrate: apply "+m.Name, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return s.fail("migrate: record "+m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail("migrate: commit", err)
	}
	return nil
}
