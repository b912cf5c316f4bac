// Package migrate reads the numbered SQL migrations that each store embeds
// and applies the pending ones. Opening the transaction they are applied in
// is left to the stores, because locking and transaction semantics differ
// between databases; so is the SQL of schema_migrations, which differs by
// dialect.
package migrate

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Migration is one schema change, identified by the number its file name
// starts with.
type Migration struct {
	Version int64
	Name    string // file name without ".sql", e.g. "0001_init"
	SQL     string
}

// fileName is strict so that a misnamed file fails loudly instead of being
// skipped, which would leave a database silently behind its code.
var fileName = regexp.MustCompile(`^([0-9]+)_[a-z0-9_]+\.sql$`)

// Load returns the migrations in directory dir of fsys, in version order. It
// rejects names not shaped like 0001_init.sql, version 0, duplicate versions
// and empty files.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	seen := make(map[int64]string)
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migration %q: name must look like 0001_description.sql", e.Name())
		}
		version, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || version == 0 {
			return nil, fmt.Errorf("migration %q: version must be a positive number", e.Name())
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("migrations %q and %q have the same version %d", other, e.Name(), version)
		}
		seen[version] = e.Name()
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		if strings.TrimSpace(string(body)) == "" {
			return nil, fmt.Errorf("migration %q is empty", e.Name())
		}
		out = append(out, Migration{
			Version: version,
			Name:    strings.TrimSuffix(e.Name(), ".sql"),
			SQL:     string(body),
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations in %q", dir)
	}
	slices.SortFunc(out, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	return out, nil
}

// Pending returns the migrations whose versions are not in applied, in
// version order. Versions in applied that all lacks are ignored: during a
// rolling deploy an older binary must keep running against a newer schema.
func Pending(all []Migration, applied []int64) []Migration {
	var out []Migration
	for _, m := range all {
		if !slices.Contains(applied, m.Version) {
			out = append(out, m)
		}
	}
	return out
}

// Tx is the transaction a store migrates in. The store begins it, takes
// whatever lock keeps two processes from migrating the same database at
// once, and creates schema_migrations if it is missing; Apply then does the
// rest, and the store commits.
type Tx interface {
	// Applied returns the versions recorded in schema_migrations.
	Applied(ctx context.Context) ([]int64, error)
	// Run executes the SQL of a migration file, which may hold several
	// statements.
	Run(ctx context.Context, sql string) error
	// Record adds m to schema_migrations.
	Record(ctx context.Context, m Migration) error
}

// Step is the part of a migration that SQL cannot do. It runs right after
// the migration's SQL, in the same transaction, and gets the store's own Tx
// so that it can use the database's API.
type Step[T Tx] func(ctx context.Context, tx T) error

// Apply applies in tx, in version order, the migrations of all up to version
// upTo that tx has not recorded: for each it runs the SQL, then the step
// that steps holds for its version, if any, then records it. Recording in
// the same transaction that applies means a migration is recorded if and
// only if it took effect. fail wraps each error with the operation that
// failed, such as "migrate: apply 0002_listing"; stores pass the function
// that classifies their database's errors.
func Apply[T Tx](ctx context.Context, tx T, all []Migration, upTo int64, steps map[int64]Step[T], fail func(op string, err error) error) error {
	applied, err := tx.Applied(ctx)
	if err != nil {
		return fail("migrate: read applied versions", err)
	}
	for _, m := range Pending(all, applied) {
		if m.Version > upTo {
			break
		}
		if err := tx.Run(ctx, m.SQL); err != nil {
			return fail("migrate: apply "+m.Name, err)
		}
		if step := steps[m.Version]; step != nil {
			if err := step(ctx, tx); err != nil {
				return fail("migrate: apply "+m.Name, err)
			}
		}
		if err := tx.Record(ctx, m); err != nil {
			return fail("migrate: record "+m.Name, err)
		}
	}
	return nil
}
