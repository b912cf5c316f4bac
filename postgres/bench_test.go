package postgres_test

import (
	"context"
	"testing"

	"github.com/todoapi/todoapi/internal/storetest"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

// go test -run '^$' -bench BenchmarkList ./postgres
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.NewDatabase(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkList(b, s)
}

// go test -run '^$' -bench BenchmarkQueries -benchmem ./postgres
func BenchmarkQueries(b *testing.B) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.NewDatabase(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkQueries(b, s)
}
