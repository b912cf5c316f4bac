package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each statement text once per pool and keeps it, so
// that a request does not pay for SQLite parsing and planning its SQL
// again (a third of the CPU time of a 20-task list without it).
// database/sql prepares a cached statement on each connection of the pool
// the first time it runs there. The list statement's text varies with the
// filters; past maxCachedStmts distinct texts, further ones run unprepared.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

const maxCachedStmts = 256

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for query, or nil when the cache is
// full.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, full := c.m[query], len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if st != nil || full {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if other := c.m[query]; other != nil { // prepared meanwhile by another request
		st.Close()
		return other, nil
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.get(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return c.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// row is what QueryRow returns, or the error that kept the query from
// running.
type row interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (c *stmtCache) queryRow(ctx context.Context, query string, args ...any) row {
	st, err := c.get(ctx, query)
	switch {
	case err != nil:
		return errRow{err}
	case st == nil:
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// prepare makes sure the queries are cached, for txQueryRow: preparing
// needs a connection of the pool, which a transaction on the writer (a
// pool of one) holds.
func (c *stmtCache) prepare(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if _, err := c.get(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// txQueryRow runs query in tx: prepared when prepare cached it, else as it
// is. It never prepares, which could wait for tx's own connection.
func (c *stmtCache) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) row {
	c.mu.Lock()
	st := c.m[query]
	c.mu.Unlock()
	if st == nil {
		return tx.QueryRowContext(ctx, query, args...)
	}
	return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

// txExec is txQueryRow for statements that return no rows.
func (c *stmtCache) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	c.mu.Lock()
	st := c.m[query]
	c.mu.Unlock()
	if st == nil {
		return tx.ExecContext(ctx, query, args...)
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}
