package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/todoapi/todoapi/postgres"
)

func TestDBSettings(t *testing.T) {
	isolate(t)
	c, err := loadConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != (postgres.Options{}) {
		t.Errorf("unset DB_* variables gave %+v; want zero options, so that DATABASE_URL and the defaults apply", c.DB)
	}

	t.Setenv("DB_MAX_CONNS", "25")
	t.Setenv("DB_MAX_CONN_IDLE_TIME", "15s")
	t.Setenv("DB_MAX_CONN_LIFETIME", "1h")
	t.Setenv("DB_HEALTH_CHECK_PERIOD", "10s")
	t.Setenv("DB_CONNECT_TIMEOUT", "3s")
	t.Setenv("DB_QUERY_TIMEOUT", "4s")
	c, err = loadConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	want := postgres.Options{MaxConns: 25, MaxConnIdleTime: 15 * time.Second, MaxConnLifetime: time.Hour,
		HealthCheckPeriod: 10 * time.Second, ConnectTimeout: 3 * time.Second, QueryTimeout: 4 * time.Second}
	if c.DB != want {
		t.Errorf("DB options = %+v, want %+v", c.DB, want)
	}

	t.Setenv("DB_MAX_CONNS", "0")
	t.Setenv("DB_MAX_CONN_IDLE_TIME", "soon")
	t.Setenv("DB_CONNECT_TIMEOUT", "0s")
	_, err = loadConfig(os.Getenv)
	for _, name := range []string{"DB_MAX_CONNS", "DB_MAX_CONN_IDLE_TIME", "DB_CONNECT_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s: err = %v", name, err)
		}
	}
}
