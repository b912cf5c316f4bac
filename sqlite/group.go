package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commit.
//
// With synchronous=FULL every commit waits for the disk to confirm the
// write-ahead log (an fsync), and SQLite commits one transaction at a time:
// one write per fsync caps the write rate at the disk's fsync rate however
// many clients wait. Writes therefore go through one committer goroutine,
// which takes every write waiting at that moment into one transaction and
// commits them with one fsync. Each write runs inside a SAVEPOINT of its
// own, so a write that fails (a stale version, the quota, a missing task)
// rolls back only itself; its caller gets its error at once, and the
// others' callers get their answer only after the commit, so an answer
// still means the write is on disk.

// maxBatch bounds the writes of one transaction, so that one batch cannot
// hold the write lock (and its callers) for long.
const maxBatch = 256

// job is one write waiting for the committer.
type job struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// committer runs batches of writes on the writer pool.
type committer struct {
	s     *Store
	jobs  chan *job
	quit  chan struct{}
	ended chan struct{}
	once  sync.Once
}

func newCommitter(s *Store) *committer {
	c := &committer{s: s, jobs: make(chan *job), quit: make(chan struct{}), ended: make(chan struct{})}
	go c.run()
	return c
}

// do runs fn in the next batch and returns its error, or the commit's
// error, once the batch is committed or rolled back. A caller whose ctx is
// done before its write starts gets ctx's error and writes nothing; once
// started, a write runs to the end of its batch with a context of its own
// (ctx's values, not its cancellation), since interrupting a statement
// inside a transaction may roll back the whole transaction, and with it
// the other callers' writes.
func (c *committer) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return c.s.fail("write", err)
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case c.jobs <- j:
	case <-c.quit:
		return c.s.fail("write", errStoreClosed)
	case <-ctx.Done():
		return c.s.fail("write", ctx.Err())
	}
	return <-j.done
}

var errStoreClosed = errors.New("store is closed")

// close stops the committer after the batch it is running; closing
// again does nothing.
func (c *committer) close() {
	c.once.Do(func() { close(c.quit) })
	<-c.ended
}

func (c *committer) run() {
	defer close(c.ended)
	batch := make([]*job, 0, maxBatch)
	for {
		select {
		case j := <-c.jobs:
			batch = append(batch[:0], j)
		case <-c.quit:
			return
		}
		// Every write waiting right now joins the batch. The channel is
		// unbuffered: a write is taken only when it is here to be taken.
	gather:
		for len(batch) < maxBatch {
			select {
			case j := <-c.jobs:
				batch = append(batch, j)
			default:
				break gather
			}
		}
		c.commit(batch)
		clear(batch)
	}
}

// commit runs batch in one transaction and answers every job.
func (c *committer) commit(batch []*job) {
	errs := make([]error, len(batch))
	answer := func() {
		for i, j := range batch {
			j.done <- errs[i]
		}
	}
	fail := func(err error) {
		err = c.s.fail("write: commit", err)
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		answer()
	}
	ctx := context.Background()
	tx, err := c.s.writer.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	defer tx.Rollback()
	ran := 0
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = c.s.fail("write", err) // gone before its write started: nothing written
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT write"); err != nil {
			fail(err)
			return
		}
		if errs[i] = j.fn(context.WithoutCancel(j.ctx), tx); errs[i] != nil {
			// Undo this write alone. If SQLite has already rolled back the
			// whole transaction (as it does on some I/O and full-disk
			// errors), the savepoint is gone and so is every write of the
			// batch: each caller learns that nothing was written.
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO write"); err != nil {
				fail(fmt.Errorf("%w (and undoing a failed write: %w)", errs[i], err))
				return
			}
		} else {
			ran++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE write"); err != nil {
			fail(err)
			return
		}
	}
	if ran == 0 {
		answer() // nothing to commit; the deferred rollback ends tx
		return
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	answer()
}
