-- Per-user task quota: each user row counts its tasks, kept by
-- triggers so that every writer keeps it right, and a create checks it in
-- the same statement. Writes are serialised on the store's single writer
-- connection, so the check and the insert cannot interleave with another
-- create.
ALTER TABLE users ADD COLUMN task_count INTEGER NOT NULL DEFAULT 0 CHECK (task_count >= 0);

UPDATE users SET task_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id);

CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
BEGIN
    UPDATE users SET task_count = task_count + 1 WHERE id = NEW.user_id;
END;

CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks
BEGIN
    UPDATE users SET task_count = task_count - 1 WHERE id = OLD.user_id;
END;
