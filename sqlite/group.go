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
// commits them with one fsync. A write that fails (the quota, a missing
// task) leaves nothing behind and does not fail the others (see commit);
// every caller gets its answer only once the batch is committed or rolled
// back, so an answer still means the write is on disk.

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
//
// A write that fails before it changed anything (a missing task, the
// quota, a caller gone) just reports its error. One that fails after it
// changed rows must leave nothing behind: the transaction is rolled back
// and the batch runs again without it, every other write with fresh reads,
// as Store.Write allows. (A SAVEPOINT per write would undo it alone, but
// FTS5 writes its pending index data out at every savepoint release, which
// costs more than the rare rerun.)
func (c *committer) commit(batch []*job) {
	errs := make([]error, len(batch))
	done := make([]bool, len(batch)) // its error is final
	for {
		err := c.try(batch, errs, done)
		if err == errRerun {
			continue
		}
		if err != nil {
			err = c.s.fail("write: commit", err)
			for i := range errs {
				if !done[i] {
					errs[i] = err
				}
			}
		}
		for i, j := range batch {
			j.done <- errs[i]
		}
		return
	}
}

// errRerun asks commit to run the batch again.
var errRerun = errors.New("a write failed after changing rows; run the batch again without it")

// try runs the jobs of batch not done yet in one transaction and commits
// it. A job whose write failed after changing rows is marked done with its
// error and try returns errRerun, having rolled back.
func (c *committer) try(batch []*job, errs []error, done []bool) error {
	ctx := context.Background()
	tx, err := c.s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	changes := func() (int64, error) {
		var n int64
		err := tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&n)
		return n, err
	}
	before, err := changes()
	if err != nil {
		return err
	}
	ran := 0
	for i, j := range batch {
		if done[i] {
			continue
		}
		if err := j.ctx.Err(); err != nil {
			errs[i], done[i] = c.s.fail("write", err), true // gone before its write started: nothing written
			continue
		}
		errs[i] = j.fn(context.WithoutCancel(j.ctx), tx)
		after, err := changes()
		if err != nil {
			return err
		}
		if errs[i] != nil {
			done[i] = true
			if after != before {
				return errRerun // the deferred rollback undoes every write
			}
			continue
		}
		before = after
		ran++
	}
	if ran == 0 {
		return nil // nothing to commit; the deferred rollback ends tx
	}
	if err := c.s.syncSearch(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// syncSearch re-indexes, in tx, the tasks whose text the transaction's
// writes changed (noted in search_pending by triggers, migration 0011), so
// that the trigram index is written once per batch and commits with it.
// Whatever writes tasks must call it before committing.
func (s *Store) syncSearch(ctx context.Context, tx *sql.Tx) error {
	var pending bool
	if err := s.writes.txQueryRow(ctx, tx, searchPending).Scan(&pending); err != nil {
		return fmt.Errorf("update the search index: %w", err)
	}
	if !pending { // toggles and other writes that leave the text alone
		return nil
	}
	for _, q := range searchSync {
		if _, err := s.writes.txExec(ctx, tx, q); err != nil {
			return fmt.Errorf("update the search index: %w", err)
		}
	}
	return nil
}

const searchPending = `SELECT EXISTS (SELECT 1 FROM search_pending)`

var searchSync = []string{
	`DELETE FROM tasks_search WHERE rowid IN (SELECT id FROM search_pending WHERE indexed = 1)`,
	`INSERT INTO tasks_search (rowid, title, description)
		SELECT t.id, t.title_key, t.description_key FROM search_pending p JOIN tasks t ON t.id = p.id`,
	`DELETE FROM search_pending`,
}
