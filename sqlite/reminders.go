package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/todoapi/todoapi"
)

// remindTask marks a task's pending reminder sent under the user's next
// change number, only while the task is at the version read and its
// reminder still pending; the trigger on change_seq (migration 0009)
// moves the user's number.
const remindTask = `
	UPDATE tasks SET reminder_pending = 0, reminder_claimed_until = NULL,
		change_seq = (SELECT change_seq + 1 FROM users WHERE id = tasks.user_id),
		reminded_seq = (SELECT change_seq + 1 FROM users WHERE id = tasks.user_id)
	WHERE id = ? AND user_id = ? AND version = ? AND reminder_pending = 1`

func (w *writeTx) Remind(ctx context.Context, id, version int64) error {
	res, err := w.s.writes.txExec(w.ctx, w.tx, remindTask, id, w.userID, version)
	if err != nil {
		return w.s.fail("send reminder", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return w.s.fail("send reminder", err)
	} else if n == 0 {
		return w.stale(ctx, "send reminder", id)
	}
	return nil
}

// ClaimReminders runs on the single writer, which keeps concurrent claims
// (from other processes on the same file) apart.
func (s *Store) ClaimReminders(ctx context.Context, now, until time.Time, limit int) ([]todoapi.ReminderClaim, error) {
	rows, err := s.writer.QueryContext(ctx, `
		UPDATE tasks SET reminder_claimed_until = ?
		WHERE id IN (
			SELECT id FROM tasks
			WHERE reminder_pending = 1 AND completed = 0 AND remind_at <= ?
				AND (reminder_claimed_until IS NULL OR reminder_claimed_until <= ?)
			ORDER BY remind_at
			LIMIT ?)
		RETURNING user_id, id`, until.UnixMicro(), now.UnixMicro(), now.UnixMicro(), limit)
	if err != nil {
		return nil, s.fail("claim reminders", err)
	}
	defer rows.Close()
	var claims []todoapi.ReminderClaim
	for rows.Next() {
		var c todoapi.ReminderClaim
		if err := rows.Scan(&c.UserID, &c.TaskID); err != nil {
			return nil, s.fail("claim reminders", err)
		}
		claims = append(claims, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("claim reminders", err)
	}
	return claims, nil
}

// NextReminder reads two ends of the due-reminders index: the first
// reminder no one holds, and the first lapse of a claim on a due one.
func (s *Store) NextReminder(ctx context.Context, now time.Time) (time.Time, bool, error) {
	var at sql.NullInt64
	err := s.reads.queryRow(ctx, `
		SELECT min(
			coalesce((SELECT remind_at FROM tasks
				WHERE reminder_pending = 1 AND completed = 0
					AND (reminder_claimed_until IS NULL OR reminder_claimed_until <= ?1)
				ORDER BY remind_at LIMIT 1), 9223372036854775807),
			coalesce((SELECT min(reminder_claimed_until) FROM tasks
				WHERE reminder_pending = 1 AND completed = 0 AND remind_at <= ?1 AND reminder_claimed_until > ?1),
				9223372036854775807))`, now.UnixMicro()).Scan(&at)
	if err != nil {
		return time.Time{}, false, s.fail("find the next reminder", err)
	}
	if !at.Valid || at.Int64 == 1<<63-1 {
		return time.Time{}, false, nil
	}
	return time.UnixMicro(at.Int64).UTC(), true, nil
}
