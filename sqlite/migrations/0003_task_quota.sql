-- Per-user task quota (SPEC §5): each user row counts its tasks, so that a
-- create checks the quota with one indexed row instead of counting tasks.
-- Writes are serialised on the store's single writer connection, so the
-- check and the insert cannot interleave with another create.
ALTER TABLE users ADD COLUMN task_count INTEGER NOT NULL DEFAULT 0 CHECK (task_count >= 0);

UPDATE users SET task_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id);
