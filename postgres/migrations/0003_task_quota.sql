-- Per-user task quota.
--
-- Each user row counts its tasks, kept by a trigger so that every writer
-- keeps it right: this release, an older replica during a rolling deploy,
-- or an operator's SQL. A create locks the user's row and checks the count
-- in the same statement (see CreateTask), so a user's concurrent creates
-- queue on that row and never overshoot the quota.
ALTER TABLE users ADD COLUMN task_count integer NOT NULL DEFAULT 0 CHECK (task_count >= 0);

UPDATE users SET task_count = counts.n
FROM (SELECT user_id, count(*) AS n FROM tasks GROUP BY user_id) AS counts
WHERE users.id = counts.user_id;

CREATE FUNCTION count_user_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET task_count = task_count + 1 WHERE id = NEW.user_id;
    ELSE
        UPDATE users SET task_count = task_count - 1 WHERE id = OLD.user_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_count_user_tasks AFTER INSERT OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION count_user_tasks();
