// Package pgtest gives tests a PostgreSQL database of their own, so that
// tests and parallel runs never see each other's data.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi/internal/testenv"
)

// URLVar names the environment variable with the URL of a server on which
// tests may create and drop databases.
const URLVar = "TODOAPI_TEST_POSTGRES_URL"

// DefaultURL is used when URLVar is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the URL of the test server.
func ServerURL() string {
	if u := os.Getenv(URLVar); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates an empty database with a random name on the test
// server and returns its URL; the database is dropped when t ends. When the
// server cannot be reached the test is skipped (failed under
// TODOAPI_NO_SKIP=1).
func NewDatabase(t testing.TB) string {
	t.Helper()
	server, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("%s is not a URL", URLVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server.String())
	if err != nil {
		testenv.Skip(t, "PostgreSQL not reachable at "+server.Host+": "+err.Error())
	}
	defer admin.Close(ctx)

	name := "todoapi_test_" + randomHex()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, server.String())
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		// FORCE ends connections a test left open, such as a pool whose
		// Close has not run.
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})

	db := *server
	db.Path = "/" + name
	db.RawPath = ""
	return db.String()
}

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
