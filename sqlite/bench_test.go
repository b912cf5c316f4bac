package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/todoapi/todoapi/internal/storetest"
	"github.com/todoapi/todoapi/sqlite"
)

// go test -run '^$' -bench BenchmarkList ./sqlite
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "todo.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkList(b, s)
}

// go test -run '^$' -bench BenchmarkQueries -benchmem ./sqlite
func BenchmarkQueries(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "todo.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkQueries(b, s)
}
