-- Sending reminders.
--
-- reminded_seq is the user's change number under which the task's latest
-- reminder was sent (0: none), so that the change feed and the live event
-- streams can tell a reminder from an edit. reminder_claimed_until is how
-- long the process that claimed the task's due reminder keeps the others
-- off it; once it has passed, any process may claim the reminder again (its
-- claimer died before sending it).
ALTER TABLE tasks ADD COLUMN reminded_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN reminder_claimed_until timestamptz;
