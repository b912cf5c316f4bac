package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/todoapi/todoapi/internal/storetest"
)

// go test -run '^$' -bench BenchmarkList ./sqlite
func BenchmarkList(b *testing.B) {
	storetest.BenchmarkList(b, openMigrated(b, filepath.Join(b.TempDir(), "todo.db")))
}

// go test -run '^$' -bench BenchmarkQueries -benchmem ./sqlite
func BenchmarkQueries(b *testing.B) {
	storetest.BenchmarkQueries(b, openMigrated(b, filepath.Join(b.TempDir(), "todo.db")))
}
