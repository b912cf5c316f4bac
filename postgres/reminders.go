package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
)

// remindTask marks a task's pending reminder sent under the user's next
// change number, as saveTask saves a task: only while the task is at the
// version read and its reminder still pending, with the user's row locked
// from the check to the commit. Of two processes sending the same
// reminder, the second waits for the first's lock, finds the reminder no
// longer pending and stores nothing. The write changes no count.
var remindTask = `
	WITH owner AS (
		SELECT change_seq + 1 AS seq FROM users
		WHERE id = $2 AND EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND user_id = $2 AND version = $3 AND reminder_pending)
		FOR UPDATE
	), reminded AS (
		UPDATE tasks SET reminder_pending = false, reminder_claimed_until = NULL,
			change_seq = owner.seq, reminded_seq = owner.seq
		FROM owner
		WHERE tasks.id = $1 AND tasks.user_id = $2 AND tasks.version = $3 AND tasks.reminder_pending
		RETURNING tasks.id, owner.seq
	), ` + counted("$2", `SELECT seq, 0 AS tasks, 0 AS completed FROM reminded`) + `
	SELECT id FROM reminded`

func (w *writeTx) Remind(ctx context.Context, id, version int64) error {
	if err := w.step("send reminder"); err != nil {
		return err
	}
	var reminded int64
	err := w.q.QueryRow(ctx, remindTask, id, w.userID, version).Scan(&reminded)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("send reminder: %w", todoapi.ErrStale)
	}
	if err != nil {
		return fail("send reminder", err)
	}
	w.committed = w.optimistic
	return nil
}

// ClaimReminders locks the due reminders it picks with SKIP LOCKED, so
// that processes claiming at the same moment take different ones instead
// of queueing behind each other, and marks them claimed until until.
func (s *Store) ClaimReminders(ctx context.Context, now, until time.Time, limit int) ([]todoapi.ReminderClaim, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE tasks SET reminder_claimed_until = $2
		WHERE id IN (
			SELECT id FROM tasks
			WHERE reminder_pending AND NOT completed AND remind_at <= $1
				AND (reminder_claimed_until IS NULL OR reminder_claimed_until <= $1)
			ORDER BY remind_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING user_id, id`, now, until, limit)
	if err != nil {
		return nil, fail("claim reminders", err)
	}
	claims, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (todoapi.ReminderClaim, error) {
		var c todoapi.ReminderClaim
		err := row.Scan(&c.UserID, &c.TaskID)
		return c, err
	})
	if err != nil {
		return nil, fail("claim reminders", err)
	}
	return claims, nil
}

// NextReminder reads two ends of the due-reminders index: the first
// reminder no one holds, and the first lapse of a claim on a due one (the
// due ones are few: they are being sent).
func (s *Store) NextReminder(ctx context.Context, now time.Time) (time.Time, bool, error) {
	var at *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT least(
			(SELECT remind_at FROM tasks
				WHERE reminder_pending AND NOT completed
					AND (reminder_claimed_until IS NULL OR reminder_claimed_until <= $1)
				ORDER BY remind_at LIMIT 1),
			(SELECT min(reminder_claimed_until) FROM tasks
				WHERE reminder_pending AND NOT completed AND remind_at <= $1 AND reminder_claimed_until > $1))`,
		now).Scan(&at)
	if err != nil {
		return time.Time{}, false, fail("find the next reminder", err)
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return at.UTC(), true, nil
}
