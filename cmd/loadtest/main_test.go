package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi/internal/testenv"
)

// TestSmoke runs the load test's short version, as CI does: the real
// binary on both stores, every scenario for half a second. It checks only
// that every request succeeded (run fails otherwise), never how fast: CI
// machines are slow and shared.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	url := os.Getenv("TODOAPI_TEST_POSTGRES_URL")
	if url == "" {
		url = defaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		testenv.Skip(t, "PostgreSQL not reachable: "+err.Error())
	}
	conn.Close(ctx)

	var out bytes.Buffer
	if err := run(t.Context(), []string{"-smoke"}, &out); err != nil {
		t.Fatalf("loadtest -smoke: %v\n%s", err, out.String())
	}
	for _, want := range []string{"postgres/list", "postgres/create", "sqlite/mixed", "sqlite/toggle"} {
		if !strings.Contains(out.String(), want+":") {
			t.Errorf("no result for %s in:\n%s", want, out.String())
		}
	}
	t.Log(out.String())
}

// TestKillDuringCreates is the durability check of the SQLite store
// through the real binary: five times, the server is killed with SIGKILL
// in the middle of a burst of creates and started again on the same file,
// and every create that was answered 201 must be there. It shows that no
// write is answered before its (group) commit.
func TestKillDuringCreates(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-crash", "5", "-connections", "32"}, &out); err != nil {
		t.Fatalf("loadtest -crash 5: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "5 runs:") {
		t.Errorf("no summary of 5 runs in:\n%s", out.String())
	}
	t.Log(out.String())
}
