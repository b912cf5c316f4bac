package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/todoapi/todoapi"
)

// Writes run on the writer's single connection in a BEGIN IMMEDIATE
// transaction (see dsn): it holds the database's write lock from its first
// statement to its commit, so the steps of one write see no other write
// between them, and writes commit in the order they took their sequence
// numbers. No step can then find a task changed since it was read, and a
// write runs its function once.

// A write step numbers its task or tombstone with the user's change number
// plus one, read in the same statement; triggers (migration 0009) then move
// the user's number to it. Under the writer's lock no other write comes in
// between.
const (
	userExists = `SELECT 1 FROM users WHERE id = ?`
	// insertTask inserts only while the user holds fewer tasks than the
	// quota; task_count is kept by triggers.
	insertTask = `
		INSERT INTO tasks (user_id, title, description, completed, completed_at, priority, tags, due_date, created_at, updated_at,
			title_key, description_key, tag_keys, version, change_seq, created_seq,
			recurrence, timezone, remind_at, next_occurrence_id, series_start, reminder_pending)
		SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, change_seq + 1, change_seq + 1, ?, ?, ?, ?, ?, ?
		FROM users WHERE id = ? AND task_count < ?
		RETURNING ` + taskColumns
	saveTask = `
		UPDATE tasks SET title = ?, description = ?, completed = ?, completed_at = ?,
			priority = ?, tags = ?, due_date = ?, updated_at = ?,
			title_key = ?, description_key = ?, tag_keys = ?, version = ?,
			change_seq = (SELECT change_seq + 1 FROM users WHERE id = tasks.user_id),
			recurrence = ?, timezone = ?, remind_at = ?, next_occurrence_id = ?, series_start = ?, reminder_pending = ?
		WHERE id = ? AND user_id = ? AND version = ?
		RETURNING ` + taskColumns
	deleteTask = `DELETE FROM tasks WHERE id = ? AND user_id = ? AND version = ?`
	insertTomb = `
		INSERT INTO tombstones (user_id, seq, task_id, deleted_at)
		SELECT id, change_seq + 1, ?, ? FROM users WHERE id = ?`
	loadTask   = `SELECT ` + taskColumns + ` FROM tasks WHERE id = ? AND user_id = ?`
	taskExists = `SELECT 1 FROM tasks WHERE id = ? AND user_id = ?`
)

var writeStatements = append([]string{userExists, insertTask, saveTask, deleteTask, insertTomb, loadTask, taskExists, remindTask,
	searchPending}, searchSync...)

// Write runs fn in the committer's next batch (group.go), in one
// transaction with the other writes waiting at that moment, and returns
// once that transaction is committed; a failed fn leaves nothing behind.
func (s *Store) Write(ctx context.Context, userID string, fn func(todoapi.StoreTx) error) error {
	if s.closed.Load() {
		return s.fail("write", errStoreClosed)
	}
	// Prepared before the batch takes the writer's only connection, which
	// preparing needs.
	if err := s.writes.prepare(ctx, writeStatements...); err != nil {
		return s.fail("write", err)
	}
	return s.group.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return fn(&writeTx{s: s, tx: tx, userID: userID, ctx: ctx})
	})
}

// writeTx is the StoreTx of one Write. Its statements run with ctx, the
// batch's context for this write, not with the contexts fn passes: a
// statement interrupted inside the shared transaction could roll back the
// other writes of the batch.
type writeTx struct {
	s      *Store
	tx     *sql.Tx
	userID string
	ctx    context.Context
}

func (w *writeTx) row(_ context.Context, query string, args ...any) row {
	return w.s.writes.txQueryRow(w.ctx, w.tx, query, args...)
}

// MultiStep is true: a write is one transaction.
func (w *writeTx) MultiStep() bool { return true }

func (w *writeTx) Task(ctx context.Context, id int64) (todoapi.Task, error) {
	t, err := scanTask(w.row(ctx, loadTask, id, w.userID))
	if err != nil {
		return todoapi.Task{}, w.s.fail("get task", err)
	}
	return t, nil
}

func (w *writeTx) Insert(ctx context.Context, t todoapi.Task, maxTasks int) (todoapi.Task, error) {
	v, err := columnValues(t)
	if err != nil {
		return todoapi.Task{}, fmt.Errorf("create task: %w", err)
	}
	created, err := scanTask(w.row(ctx, insertTask,
		v.title, v.description, v.completed, v.completedAt, v.priority, v.tags, v.dueDate, v.createdAt, v.updatedAt,
		v.titleKey, v.descriptionKey, v.tagKeys,
		v.recurrence, v.timezone, v.remindAt, v.nextOccurrenceID, v.seriesStart, v.reminderPending,
		w.userID, maxTasks))
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		if err := w.row(ctx, userExists, w.userID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return todoapi.Task{}, fmt.Errorf("create task: user %q is not recorded", w.userID)
		}
		return todoapi.Task{}, fmt.Errorf("create task: %w", todoapi.ErrQuotaExceeded)
	}
	if err != nil {
		return todoapi.Task{}, w.s.fail("create task", err)
	}
	return created, nil
}

func (w *writeTx) Save(ctx context.Context, t todoapi.Task) (todoapi.Task, error) {
	v, err := columnValues(t)
	if err != nil {
		return todoapi.Task{}, fmt.Errorf("save task: %w", err)
	}
	saved, err := scanTask(w.row(ctx, saveTask,
		v.title, v.description, v.completed, v.completedAt, v.priority, v.tags, v.dueDate, v.updatedAt,
		v.titleKey, v.descriptionKey, v.tagKeys, t.Version,
		v.recurrence, v.timezone, v.remindAt, v.nextOccurrenceID, v.seriesStart, v.reminderPending,
		t.ID, w.userID, t.Version-1))
	if errors.Is(err, sql.ErrNoRows) {
		return todoapi.Task{}, w.stale(ctx, "save task", t.ID)
	}
	if err != nil {
		return todoapi.Task{}, w.s.fail("save task", err)
	}
	return saved, nil
}

func (w *writeTx) Delete(ctx context.Context, id, version int64, at time.Time) error {
	res, err := w.s.writes.txExec(w.ctx, w.tx, deleteTask, id, w.userID, version)
	if err != nil {
		return w.s.fail("delete task", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return w.s.fail("delete task", err)
	} else if n == 0 {
		return w.stale(ctx, "delete task", id)
	}
	if _, err := w.s.writes.txExec(w.ctx, w.tx, insertTomb, id, at.UnixMicro(), w.userID); err != nil {
		return w.s.fail("delete task: tombstone", err)
	}
	return nil
}

// stale tells a task that is gone (ErrNotFound) from one whose version
// moved (ErrStale), after a write step matched no row.
func (w *writeTx) stale(ctx context.Context, op string, id int64) error {
	var one int
	err := w.row(ctx, taskExists, id, w.userID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, todoapi.ErrNotFound)
	case err != nil:
		return w.s.fail(op, err)
	}
	return fmt.Errorf("%s: %w", op, todoapi.ErrStale)
}

func (s *Store) CollectionVersion(ctx context.Context, userID string) (int64, error) {
	var v int64
	err := s.reads.queryRow(ctx, `SELECT change_seq FROM users WHERE id = ?`, userID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail("read collection version", err)
	}
	return v, nil
}

// ChangesSince reads in one read transaction, which in WAL mode sees one
// snapshot of the file throughout.
func (s *Store) ChangesSince(ctx context.Context, userID string, after int64, live bool, limit int) (todoapi.ChangeLog, error) {
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return todoapi.ChangeLog{}, s.fail("read changes", err)
	}
	defer tx.Rollback()
	var log todoapi.ChangeLog
	err = tx.QueryRowContext(ctx, `SELECT change_seq, purged_seq FROM users WHERE id = ?`, userID).Scan(&log.Last, &log.Purged)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return todoapi.ChangeLog{}, s.fail("read changes", err)
	}
	// Each side reads one entry more than the limit; merged in sequence
	// order, more than limit entries means more follow.
	var tasks, tombs []todoapi.ChangeEntry
	rows, err := tx.QueryContext(ctx, `SELECT `+taskColumns+`, change_seq, created_seq, reminded_seq FROM tasks
		WHERE user_id = ? AND change_seq > ? ORDER BY change_seq LIMIT ?`, userID, after, limit+1)
	if err != nil {
		return todoapi.ChangeLog{}, s.fail("read changes", err)
	}
	for rows.Next() {
		var e todoapi.ChangeEntry
		t, err := scanTask(rows, &e.Seq, &e.CreatedSeq, &e.RemindedSeq)
		if err != nil {
			rows.Close()
			return todoapi.ChangeLog{}, s.fail("read changes", err)
		}
		e.Task, e.ID = &t, t.ID
		tasks = append(tasks, e)
	}
	if err := rows.Err(); err != nil {
		return todoapi.ChangeLog{}, s.fail("read changes", err)
	}
	if !live {
		rows, err := tx.QueryContext(ctx, `SELECT seq, task_id, deleted_at FROM tombstones
			WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?`, userID, after, limit+1)
		if err != nil {
			return todoapi.ChangeLog{}, s.fail("read changes", err)
		}
		for rows.Next() {
			var e todoapi.ChangeEntry
			var at int64
			if err := rows.Scan(&e.Seq, &e.ID, &at); err != nil {
				rows.Close()
				return todoapi.ChangeLog{}, s.fail("read changes", err)
			}
			e.DeletedAt = time.UnixMicro(at).UTC()
			tombs = append(tombs, e)
		}
		if err := rows.Err(); err != nil {
			return todoapi.ChangeLog{}, s.fail("read changes", err)
		}
	}
	log.Entries, log.HasMore = todoapi.MergeChanges(tasks, tombs, limit)
	return log, nil
}

func (s *Store) PurgeTombstones(ctx context.Context, before time.Time, limit int) (int, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.fail("purge tombstones", err)
	}
	defer tx.Rollback()
	// The oldest limit tombstones, by rowid-free key.
	const pick = `SELECT user_id, seq FROM tombstones WHERE deleted_at < ? ORDER BY deleted_at LIMIT ?`
	if _, err := tx.ExecContext(ctx, `
		UPDATE users SET purged_seq = max(purged_seq, gone.seq)
		FROM (SELECT user_id, max(seq) AS seq FROM (`+pick+`) GROUP BY user_id) AS gone
		WHERE users.id = gone.user_id`, before.UnixMicro(), limit); err != nil {
		return 0, s.fail("purge tombstones", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM tombstones WHERE (user_id, seq) IN (`+pick+`)`, before.UnixMicro(), limit)
	if err != nil {
		return 0, s.fail("purge tombstones", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.fail("purge tombstones", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, s.fail("purge tombstones: commit", err)
	}
	return int(n), nil
}

func (s *Store) SyncKey(ctx context.Context, candidate []byte) ([]byte, error) {
	if _, err := s.writer.ExecContext(ctx,
		`INSERT INTO sync_keys (id, key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, candidate); err != nil {
		return nil, s.fail("store change-feed key", err)
	}
	var key []byte
	if err := s.writer.QueryRowContext(ctx, `SELECT key FROM sync_keys WHERE id = 1`).Scan(&key); err != nil {
		return nil, s.fail("read change-feed key", err)
	}
	return key, nil
}
