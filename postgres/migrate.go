package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the pg_advisory_xact_lock key that serializes migrations
// ("todoapi" in ASCII). It is a transaction lock because a session lock does
// not hold through PgBouncer in transaction mode: the session is not ours.
const migrationLock int64 = 0x746f646f617069

// Migrate applies the embedded migrations that the database lacks, all in
// one transaction: a failure leaves the schema as it was. Replicas starting
// at once queue on the advisory lock; each then finds what the previous one
// applied and has nothing left to do.
func (s *Store) Migrate(ctx context.Context) error {
	all, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail("migrate", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fail("migrate: lock", err)
	}
	if _, err := tx.Exec(ctx, `
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    bigint PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
		return fail("migrate: create schema_migrations", err)
	}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fail("migrate: read applied versions", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fail("migrate: read applied versions", err)
	}

	for _, m := range migrate.Pending(all, applied) {
		// Without arguments pgx sends the simple protocol, which runs a file
		// of several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fail("migrate: apply "+m.Name, err)
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
			m.Version, m.Name); err != nil {
			return fail("migrate: record "+m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fail("migrate: commit", err)
	}
	return nil
}
