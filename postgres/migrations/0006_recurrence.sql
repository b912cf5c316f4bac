-- Recurring tasks and reminders.
--
-- recurrence is an RFC 5545 recurrence rule or NULL; timezone the IANA zone
-- its occurrences are computed in; series_start the due date of the first
-- task of the series (NULL on that first task itself), from which the rule
-- counts; next_occurrence_id the task that completing this one created
-- (set once, so that completing it again creates no second one).
-- remind_at is when a reminder is due, and reminder_pending says it has not
-- been sent: set when remind_at is set or moved, cleared when the reminder
-- is sent.
ALTER TABLE tasks ADD COLUMN recurrence text;
ALTER TABLE tasks ADD COLUMN timezone text NOT NULL DEFAULT 'UTC';
ALTER TABLE tasks ADD COLUMN series_start timestamptz;
ALTER TABLE tasks ADD COLUMN next_occurrence_id bigint;
ALTER TABLE tasks ADD COLUMN remind_at timestamptz;
ALTER TABLE tasks ADD COLUMN reminder_pending boolean NOT NULL DEFAULT false;

-- The reminder filters read one user's reminders in time order.
CREATE INDEX tasks_user_remind ON tasks (user_id, remind_at) WHERE remind_at IS NOT NULL;
-- recurring=true reads one user's recurring tasks only.
CREATE INDEX tasks_user_recurring ON tasks (user_id, created_at DESC, id DESC) WHERE recurrence IS NOT NULL;
-- The reminder scheduler finds the reminders falling due, across users,
-- in time order, without reading any other task.
CREATE INDEX tasks_reminders_due ON tasks (remind_at) WHERE reminder_pending AND NOT completed;
