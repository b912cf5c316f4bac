// Package migrate reads the numbered SQL migrations that each store embeds.
// Applying them is left to the stores, because locking and transaction
// semantics differ between databases.
package migrate

import (
	"cmp"
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
