package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/todoapi/todoapi/postgres"
)

// dbOptions reads the PostgreSQL pool settings (DB_*), adding a message to
// bad for each invalid one. An unset variable leaves its option zero, so
// that the matching DATABASE_URL parameter (pool_max_conns=…,
// connect_timeout=…), or else the store's default, applies.
func dbOptions(env func(name, def string) string, bad *[]string) postgres.Options {
	var o postgres.Options
	if v := env("DB_MAX_CONNS", ""); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 || n > 10_000 {
			*bad = append(*bad, "DB_MAX_CONNS must be a whole number from 1 to 10000")
		}
		o.MaxConns = int32(n)
	}
	duration := func(name string, dst *time.Duration) {
		v := env(name, "")
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			*bad = append(*bad, fmt.Sprintf("%s must be a positive duration such as 30s or 2m", name))
		}
		*dst = d
	}
	duration("DB_MAX_CONN_IDLE_TIME", &o.MaxConnIdleTime)
	duration("DB_MAX_CONN_LIFETIME", &o.MaxConnLifetime)
	duration("DB_HEALTH_CHECK_PERIOD", &o.HealthCheckPeriod)
	duration("DB_CONNECT_TIMEOUT", &o.ConnectTimeout)
	duration("DB_QUERY_TIMEOUT", &o.QueryTimeout)
	return o
}
