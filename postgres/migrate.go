package postgres

import (
	"context"
	"embed"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
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
	return s.migrate(ctx, math.MaxInt64)
}

// migrate applies the pending migrations up to version upTo; tests use it
// to build a database as an older release left it.
func (s *Store) migrate(ctx context.Context, upTo int64) error {
	all, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail("migrate", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Waiting for another replica's migration, or building an index on a
	// large table, may take longer than a statement normally may.
	ctx = withoutStatementTimeout(ctx)

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
	if err := migrate.Apply(ctx, migrationTx{tx}, all, upTo, afterMigration, fail); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fail("migrate: commit", err)
	}
	return nil
}

// migrationTx is the migration transaction as migrate.Apply uses it. The
// steps of afterMigration get it too, and use the pgx.Tx it embeds.
type migrationTx struct{ pgx.Tx }

func (tx migrationTx) Applied(ctx context.Context) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (tx migrationTx) Run(ctx context.Context, sql string) error {
	// Without arguments pgx sends the simple protocol, which runs a file of
	// several statements.
	_, err := tx.Exec(ctx, sql)
	return err
}

func (tx migrationTx) Record(ctx context.Context, m migrate.Migration) error {
	_, err := tx.Exec(ctx,
		`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
		m.Version, m.Name)
	return err
}

// afterMigration holds the steps of a migration that SQL cannot do. Each
// runs right after its migration's SQL, in the same transaction.
var afterMigration = map[int64]migrate.Step[migrationTx]{
	2: fillFolded,
}

// fillFolded computes the folded columns that migration 2 adds for the rows
// that existed before it, with todoapi.Fold: lower() depends on the
// database's locale and does not fold the same way. It works in batches by
// id, one round trip for the updates of each.
func fillFolded(ctx context.Context, tx migrationTx) error {
	var last int64
	for {
		rows, err := tx.Query(ctx,
			`SELECT id, title, description, tags FROM tasks WHERE id > $1 ORDER BY id LIMIT 500`, last)
		if err != nil {
			return err
		}
		type row struct {
			id int64
			t  todoapi.Task
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.t.Title, &x.t.Description, &x.t.Tags)
			return x, err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		var updates pgx.Batch
		for _, r := range batch {
			k := r.t.FoldedText()
			updates.Queue(`UPDATE tasks SET title_key = $1, description_key = $2, tag_keys = $3 WHERE id = $4`,
				k.Title, k.Description, k.Tags, r.id)
		}
		if err := tx.SendBatch(ctx, &updates).Close(); err != nil {
			return err
		}
		last = batch[len(batch)-1].id
	}
}
