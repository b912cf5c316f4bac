package storetest

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"sync"
	"testing"

	"github.com/todoapi/todoapi/internal/migrate"
)

// MigrationCounter is a Migrator whose schema_migrations a test can read.
// Stores implement it in a _test.go file so that it is not part of their
// API.
type MigrationCounter interface {
	Migrator
	// MigrationCounts returns how many schema_migrations rows each version
	// has.
	MigrationCounts(ctx context.Context) (map[int64]int, error)
}

// ConcurrentMigrate opens five stores with open, all on the same empty
// database, and has them migrate it at the same moment, as replicas
// starting together do. Every Migrate must succeed and each migration in
// files (a store's migrations directory) must end up recorded exactly once.
// open must not migrate, and must close the store when t ends.
func ConcurrentMigrate(t *testing.T, open func(t *testing.T) MigrationCounter, files fs.FS) {
	t.Helper()
	const n = 5
	stores := make([]MigrationCounter, n)
	for i := range stores {
		stores[i] = open(t)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Migrate: %v", err)
	}
	checkMigratedOnce(t, stores[0], files)
}

// checkMigratedOnce fails t unless schema_migrations of s records each
// migration in files (a store's migrations directory) exactly once, and
// nothing else.
func checkMigratedOnce(t *testing.T, s MigrationCounter, files fs.FS) {
	t.Helper()
	got, err := s.MigrationCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	all, err := migrate.Load(files, ".")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]int{}
	for _, m := range all {
		want[m.Version] = 1
	}
	if !maps.Equal(got, want) {
		t.Fatalf("schema_migrations rows per version = %v, want %v", got, want)
	}
}
