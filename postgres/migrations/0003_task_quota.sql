-- Per-user task quota (SPEC §5).
--
-- Each user row counts its tasks, so that a create can check the quota and
-- claim a slot in one statement: the UPDATE of the user's row takes a row
-- lock, which serialises concurrent creates by the same user, and a count
-- that is already at the quota makes the insert add nothing.
ALTER TABLE users ADD COLUMN task_count integer NOT NULL DEFAULT 0 CHECK (task_count >= 0);

UPDATE users SET task_count = counts.n
FROM (SELECT user_id, count(*) AS n FROM tasks GROUP BY user_id) AS counts
WHERE users.id = counts.user_id;
