package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies the embedded migrations that the database lacks, all in
// one transaction: a failure leaves the schema as it was. The transaction
// begins IMMEDIATE, so processes migrating the same file at once take turns
// (waiting up to the busy timeout) and each applies a version at most once.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, math.MaxInt64)
}

// searchInBatches is the migration from which writes leave the search
// index to syncSearch.
const searchInBatches = 11

// migrate applies the pending migrations up to version upTo; tests use it
// to build a database as an older release left it.
func (s *Store) migrate(ctx context.Context, upTo int64) error {
	all, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// The writer begins every transaction IMMEDIATE (_txlock in
	// openPool): this one takes the file's write lock before it reads
	// which versions are applied.
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
	if err := migrate.Apply(ctx, migrationTx{tx}, all, upTo, afterMigration, s.fail); err != nil {
		return err
	}
	if upTo >= searchInBatches {
		// Steps that rewrote tasks' text leave them to re-index.
		if err := s.syncSearch(ctx, tx); err != nil {
			return s.fail("migrate", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.fail("migrate: commit", err)
	}
	return nil
}

// migrationTx is the migration transaction as migrate.Apply uses it. The
// steps of afterMigration get it too, and use the *sql.Tx it embeds.
type migrationTx struct{ *sql.Tx }

func (tx migrationTx) Applied(ctx context.Context) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var applied []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied = append(applied, v)
	}
	return applied, rows.Err()
}

func (tx migrationTx) Run(ctx context.Context, sql string) error {
	_, err := tx.ExecContext(ctx, sql)
	return err
}

func (tx migrationTx) Record(ctx context.Context, m migrate.Migration) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro())
	return err
}

// afterMigration holds the steps of a migration that SQL cannot do. Each
// runs right after its migration's SQL, in the same transaction.
var afterMigration = map[int64]migrate.Step[migrationTx]{
	2: fillFolded,
}

// fillFolded computes the folded columns that migration 2 adds for the rows
// that existed before it, with todoapi.Fold: no SQLite function folds the
// same way. It reads in batches by id, so that it never updates the rows of
// a scan in progress.
func fillFolded(ctx context.Context, tx migrationTx) error {
	type row struct {
		id          int64
		title, tags string
		description *string
	}
	var last int64
	for {
		rows, err := tx.QueryContext(ctx,
			`SELECT id, title, description, tags FROM tasks WHERE id > ? ORDER BY id LIMIT 500`, last)
		if err != nil {
			return err
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.title, &r.description, &r.tags); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, r := range batch {
			t := todoapi.Task{Title: r.title, Description: r.description}
			if err := json.Unmarshal([]byte(r.tags), &t.Tags); err != nil {
				return fmt.Errorf("task %d has invalid tags: %w", r.id, err)
			}
			v, err := columnValues(t)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE tasks SET title_key = ?, description_key = ?, tag_keys = ? WHERE id = ?`,
				v.titleKey, v.descriptionKey, v.tagKeys, r.id); err != nil {
				return err
			}
		}
		last = batch[len(batch)-1].id
	}
}
