package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
)

// Writes are optimistic. Each write step (insert, save, delete) is one
// statement that takes the user's next sequence number under the user's
// row lock, writes the task with the number, keeps a tombstone for a
// deletion, and records the write in the user's row with one UPDATE
// (recordWrite): one round trip, atomic by itself, and holding the user's
// row lock until it commits, so that a user's writes commit in sequence
// order. A save or delete happens only
// when the task still has the version the write read; when it has not, the
// step stores nothing and reports ErrStale, and Write runs the write again
// with fresh reads. An update is then two round trips (read, then save)
// with no transaction to open and close, where locking first (BEGIN,
// SELECT … FOR UPDATE, UPDATE, COMMIT) would be four. After a few
// conflicts in a row (one task hammered by many clients at once), Write
// falls back to a transaction that locks the user's row first, which
// queues the writers and so guarantees progress. Once a write is
// committed, the notifier tells other processes (notify.go).

const optimisticTries = 3

func (s *Store) Write(ctx context.Context, userID string, fn func(todoapi.StoreTx) error) error {
	for range optimisticTries {
		w := &writeTx{q: s.pool, userID: userID, optimistic: true}
		err := fn(w)
		if w.committed {
			s.notify.add(userID)
		}
		if errors.Is(err, todoapi.ErrNeedsTransaction) {
			break // several steps: they must commit together
		}
		if !errors.Is(err, todoapi.ErrStale) {
			return err
		}
	}
	return s.writeLocked(ctx, userID, fn)
}

// writeLocked runs fn in a transaction that holds the user's row lock from
// its first statement, so that no other write of the user comes between
// fn's reads and its writes.
func (s *Store) writeLocked(ctx context.Context, userID string, fn func(todoapi.StoreTx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail("write", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
		return fail("write: lock user", err)
	}
	w := &writeTx{q: tx, userID: userID}
	if err := fn(w); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fail("write: commit", err)
	}
	if w.wrote {
		s.notify.add(userID)
	}
	return nil
}

// querier is the pool, or the transaction of a locked write.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// writeTx is the StoreTx of one Write.
type writeTx struct {
	q      querier
	userID string
	// optimistic means every step commits by itself, so a write may hold
	// one write step only.
	optimistic bool
	// wrote records that a write step was taken; committed, that one
	// stored something and has committed (optimistic steps commit by
	// themselves).
	wrote, committed bool
}

// step admits one more write step.
func (w *writeTx) step(op string) error {
	if w.optimistic && w.wrote {
		return fmt.Errorf("%s: a write of this store holds one write step", op)
	}
	w.wrote = true
	return nil
}

// MultiStep is false for an optimistic write, whose every step commits by
// itself, and true inside the locked transaction.
func (w *writeTx) MultiStep() bool { return !w.optimistic }

func (w *writeTx) Task(ctx context.Context, id int64) (todoapi.Task, error) {
	t, err := scanTask(w.q.QueryRow(ctx,
		`SELECT `+taskColumns+` FROM tasks WHERE id = $1 AND user_id = $2`, id, w.userID))
	if err != nil {
		return todoapi.Task{}, fail("get task", err)
	}
	return t, nil
}

// qualified is taskColumns, each prefixed with "tasks.", for RETURNING
// clauses of statements that join other tables.
var qualified = "tasks." + strings.ReplaceAll(taskColumns, ", ", ", tasks.")

// recordWrite is the SET list of the one UPDATE of the user's row that
// every write step makes, and the one place where that row follows the
// user's tasks: it stores seq, the number the step took, as the user's
// latest (change_seq, the collection version), and adds what the step
// changed to the user's counts of tasks and of completed tasks, which the
// quota and the totals of lists read (list.go). tasks and completed are
// those changes, as SQL expressions.
//
// Triggers kept the counts before (0011_counts_in_writes.sql), with a
// second UPDATE of the row, and a PL/pgSQL call, in every write.
func recordWrite(seq, tasks, completed string) string {
	return `change_seq = ` + seq + `, task_count = users.task_count + ` + tasks +
		`, completed_count = users.completed_count + ` + completed
}

// counted ends the statement of a save or a deletion: once the step has
// written, it records the write in the user's row (recordWrite). change is
// a query of one row (seq, tasks, completed) when the step wrote, of none
// when it did not. The step locked the user's row before it wrote (owner)
// and holds the lock until it commits, so no other write of the user
// comes between the number it took there and the row it updates here.
func counted(user, change string) string {
	return `counted AS (
		UPDATE users SET ` + recordWrite("c.seq", "c.tasks", "c.completed") + `
		FROM (` + change + `) AS c
		WHERE users.id = ` + user + `
	)`
}

// insertTask records the write in the user's row first, and only while the
// user holds fewer tasks than the quota; the insert that follows cannot
// fail but with an error, which undoes the statement. The UPDATE's row
// lock makes a user's concurrent inserts queue there; after the wait
// PostgreSQL re-reads the row, so each sees the count that the insert
// before it left. The casts type the parameters, which an INSERT … SELECT
// does not infer from the target columns.
var insertTask = `
	WITH owner AS (
		UPDATE users SET ` + recordWrite("users.change_seq + 1", "1", "$4::boolean::int") + `
		WHERE id = $1 AND task_count < $14
		RETURNING change_seq
	), created AS (
		INSERT INTO tasks (user_id, title, description, completed, completed_at, priority, tags, due_date, created_at, updated_at,
			title_key, description_key, tag_keys, version, change_seq, created_seq,
			recurrence, timezone, remind_at, next_occurrence_id, series_start, reminder_pending)
		SELECT $1::text, $2::text, $3::text, $4::boolean, $5::timestamptz, $6::smallint, $7::text[], $8::timestamptz,
			$9::timestamptz, $10::timestamptz, $11::text, $12::text, $13::text[], 1, owner.change_seq, owner.change_seq,
			$15::text, $16::text, $17::timestamptz, $18::bigint, $19::timestamptz, $20::boolean
		FROM owner
		RETURNING ` + taskColumns + `
	)
	SELECT ` + taskColumns + ` FROM created`

func (w *writeTx) Insert(ctx context.Context, t todoapi.Task, maxTasks int) (todoapi.Task, error) {
	if err := w.step("create task"); err != nil {
		return todoapi.Task{}, err
	}
	keys := t.FoldedText()
	created, err := scanTask(w.q.QueryRow(ctx, insertTask,
		w.userID, t.Title, t.Description, t.Completed, t.CompletedAt, t.Priority.Rank(),
		nonNil(t.Tags), t.DueDate, t.CreatedAt, t.UpdatedAt,
		keys.Title, keys.Description, keys.Tags, maxTasks,
		t.Recurrence, zone(t.Timezone), t.RemindAt, t.NextOccurrenceID, t.SeriesStart, t.ReminderPending))
	if errors.Is(err, pgx.ErrNoRows) {
		var one int
		err := w.q.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1`, w.userID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return todoapi.Task{}, fmt.Errorf("create task: user %q is not recorded", w.userID)
		}
		return todoapi.Task{}, fmt.Errorf("create task: %w", todoapi.ErrQuotaExceeded)
	}
	if err != nil {
		return todoapi.Task{}, fail("create task", err)
	}
	w.committed = w.optimistic
	return created, nil
}

// saveTask writes a task's changeable columns and its new version when its
// stored version is the one expected. The user's row is locked, and its
// number taken, only when that version is there to be replaced; owner also
// reads whether that version was completed, for the count. A write that
// loses a race after this check (another write of the task committed while
// this one waited for the lock) saves nothing and counts nothing.
var saveTask = `
	WITH owner AS (
		SELECT users.change_seq + 1 AS seq, tasks.completed AS was_completed
		FROM users JOIN tasks ON tasks.user_id = users.id
		WHERE users.id = $13 AND tasks.id = $12 AND tasks.version = $15
		FOR UPDATE OF users
	), saved AS (
		UPDATE tasks SET title = $1, description = $2, completed = $3, completed_at = $4,
			priority = $5, tags = $6, due_date = $7, updated_at = $8,
			title_key = $9, description_key = $10, tag_keys = $11, version = $14, change_seq = owner.seq,
			recurrence = $16, timezone = $17, remind_at = $18, next_occurrence_id = $19, series_start = $20,
			reminder_pending = $21
		FROM owner
		WHERE tasks.id = $12 AND tasks.user_id = $13 AND tasks.version = $15
		RETURNING ` + qualified + `, tasks.change_seq, tasks.completed::int - owner.was_completed::int AS completed_change
	), ` + counted("$13", `SELECT change_seq AS seq, 0 AS tasks, completed_change AS completed FROM saved`) + `
	SELECT ` + taskColumns + ` FROM saved`

func (w *writeTx) Save(ctx context.Context, t todoapi.Task) (todoapi.Task, error) {
	if err := w.step("save task"); err != nil {
		return todoapi.Task{}, err
	}
	keys := t.FoldedText()
	saved, err := scanTask(w.q.QueryRow(ctx, saveTask,
		t.Title, t.Description, t.Completed, t.CompletedAt, t.Priority.Rank(),
		nonNil(t.Tags), t.DueDate, t.UpdatedAt,
		keys.Title, keys.Description, keys.Tags,
		t.ID, w.userID, t.Version, t.Version-1,
		t.Recurrence, zone(t.Timezone), t.RemindAt, t.NextOccurrenceID, t.SeriesStart, t.ReminderPending))
	if errors.Is(err, pgx.ErrNoRows) {
		// Changed or deleted since it was read: the write reads again.
		return todoapi.Task{}, fmt.Errorf("save task: %w", todoapi.ErrStale)
	}
	if err != nil {
		return todoapi.Task{}, fail("save task", err)
	}
	w.committed = w.optimistic
	return saved, nil
}

var deleteTask = `
	WITH owner AS (
		SELECT change_seq + 1 AS seq FROM users
		WHERE id = $2 AND EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND user_id = $2 AND version = $3)
		FOR UPDATE
	), gone AS (
		DELETE FROM tasks USING owner WHERE tasks.id = $1 AND tasks.user_id = $2 AND tasks.version = $3
		RETURNING tasks.id, owner.seq, tasks.completed
	), tomb AS (
		INSERT INTO tombstones (user_id, seq, task_id, deleted_at)
		SELECT $2, seq, id, $4 FROM gone
		RETURNING task_id
	), ` + counted("$2", `SELECT seq, -1 AS tasks, -completed::int AS completed FROM gone`) + `
	SELECT task_id FROM tomb`

func (w *writeTx) Delete(ctx context.Context, id, version int64, at time.Time) error {
	if err := w.step("delete task"); err != nil {
		return err
	}
	var deleted int64
	err := w.q.QueryRow(ctx, deleteTask, id, w.userID, version, at).Scan(&deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("delete task: %w", todoapi.ErrStale)
	}
	if err != nil {
		return fail("delete task", err)
	}
	w.committed = w.optimistic
	return nil
}

func (s *Store) CollectionVersion(ctx context.Context, userID string) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT change_seq FROM users WHERE id = $1`, userID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fail("read collection version", err)
	}
	return v, nil
}

// ChangesSince reads in one REPEATABLE READ transaction: one snapshot, in
// which the user's committed numbers are a prefix of the sequence, since
// each write held the user's row lock until it committed.
func (s *Store) ChangesSince(ctx context.Context, userID string, after int64, live bool, limit int) (todoapi.ChangeLog, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return todoapi.ChangeLog{}, fail("read changes", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var log todoapi.ChangeLog
	err = tx.QueryRow(ctx, `SELECT change_seq, purged_seq FROM users WHERE id = $1`, userID).Scan(&log.Last, &log.Purged)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return todoapi.ChangeLog{}, fail("read changes", err)
	}
	var tasks, tombs []todoapi.ChangeEntry
	var e todoapi.ChangeEntry
	sc := newTaskScanner(&e.Seq, &e.CreatedSeq, &e.RemindedSeq)
	rows, err := tx.Query(ctx, `SELECT `+taskColumns+`, change_seq, created_seq, reminded_seq FROM tasks
		WHERE user_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3`, userID, after, limit+1)
	if err != nil {
		return todoapi.ChangeLog{}, fail("read changes", err)
	}
	for rows.Next() {
		t, err := sc.scan(rows)
		if err != nil {
			rows.Close()
			return todoapi.ChangeLog{}, fail("read changes", err)
		}
		entry := e
		entry.Task, entry.ID = &t, t.ID
		tasks = append(tasks, entry)
	}
	if err := rows.Err(); err != nil {
		return todoapi.ChangeLog{}, fail("read changes", err)
	}
	if !live {
		rows, err := tx.Query(ctx, `SELECT seq, task_id, deleted_at FROM tombstones
			WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, userID, after, limit+1)
		if err != nil {
			return todoapi.ChangeLog{}, fail("read changes", err)
		}
		for rows.Next() {
			var e todoapi.ChangeEntry
			if err := rows.Scan(&e.Seq, &e.ID, &e.DeletedAt); err != nil {
				rows.Close()
				return todoapi.ChangeLog{}, fail("read changes", err)
			}
			e.DeletedAt = e.DeletedAt.UTC()
			tombs = append(tombs, e)
		}
		if err := rows.Err(); err != nil {
			return todoapi.ChangeLog{}, fail("read changes", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return todoapi.ChangeLog{}, fail("read changes", err)
	}
	log.Entries, log.HasMore = todoapi.MergeChanges(tasks, tombs, limit)
	return log, nil
}

// purgeLock is the transaction-level advisory lock that lets one process
// purge at a time; the others skip their turn rather than queue.
const purgeLock = 0x746f646f_70757267 // "todopurg"

func (s *Store) PurgeTombstones(ctx context.Context, before time.Time, limit int) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fail("purge tombstones", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var mine bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(purgeLock)).Scan(&mine); err != nil {
		return 0, fail("purge tombstones", err)
	}
	if !mine {
		return 0, nil
	}
	var n int
	err = tx.QueryRow(ctx, `
		WITH gone AS (
			DELETE FROM tombstones t
			USING (SELECT user_id, seq FROM tombstones WHERE deleted_at < $1 ORDER BY deleted_at LIMIT $2) AS pick
			WHERE t.user_id = pick.user_id AND t.seq = pick.seq
			RETURNING t.user_id, t.seq
		), marked AS (
			UPDATE users SET purged_seq = GREATEST(users.purged_seq, g.seq)
			FROM (SELECT user_id, max(seq) AS seq FROM gone GROUP BY user_id) AS g
			WHERE users.id = g.user_id
		)
		SELECT count(*) FROM gone`, before, limit).Scan(&n)
	if err != nil {
		return 0, fail("purge tombstones", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fail("purge tombstones: commit", err)
	}
	return n, nil
}

func (s *Store) SyncKey(ctx context.Context, candidate []byte) ([]byte, error) {
	if _, err := s.pool.Exec(ctx,
		`INSERT INTO sync_keys (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, candidate); err != nil {
		return nil, fail("store change-feed key", err)
	}
	var key []byte
	if err := s.pool.QueryRow(ctx, `SELECT key FROM sync_keys WHERE id = 1`).Scan(&key); err != nil {
		return nil, fail("read change-feed key", err)
	}
	return key, nil
}
