package todoapi

import "time"

// PoolStats is one database connection pool's state, as /metrics reports
// it. Both stores report theirs with a PoolStats method, so that the
// program that wires a store to the metrics need not know which one it
// holds.
type PoolStats struct {
	// Pool names the pool: "postgres", or "writer"/"reader" for SQLite's two.
	Pool string
	// MaxOpen is the pool's cap on connections (0: unlimited).
	MaxOpen int
	// Open is every connection the pool holds; InUse + Idle for most pools.
	Open, InUse, Idle int
	// WaitCount counts acquisitions that had to wait for a connection, and
	// WaitDuration is their total waiting time; both only ever grow.
	WaitCount    int64
	WaitDuration time.Duration
}
