package postgres_test

import (
	"testing"

	"github.com/todoapi/todoapi/internal/storetest"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

// go test -run '^$' -bench BenchmarkList ./postgres
func BenchmarkList(b *testing.B) {
	storetest.BenchmarkList(b, openMigrated(b, pgtest.NewDatabase(b)))
}

// go test -run '^$' -bench BenchmarkQueries -benchmem ./postgres
func BenchmarkQueries(b *testing.B) {
	storetest.BenchmarkQueries(b, openMigrated(b, pgtest.NewDatabase(b)))
}
