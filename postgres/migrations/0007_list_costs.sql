-- What keeps a list's cost from growing with the length of the list.
--
-- Counts: the user row already counts its tasks (task_count, 0003); it now
-- also counts the completed ones, kept by a trigger like task_count, so
-- that the total of an unfiltered, pending or completed list is read from
-- one row instead of counted over every task of the user.
ALTER TABLE users ADD COLUMN completed_count integer NOT NULL DEFAULT 0 CHECK (completed_count >= 0);

UPDATE users SET completed_count = counts.n
FROM (SELECT user_id, count(*) AS n FROM tasks WHERE completed GROUP BY user_id) AS counts
WHERE users.id = counts.user_id;

CREATE FUNCTION count_completed_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.completed THEN
            UPDATE users SET completed_count = completed_count + 1 WHERE id = NEW.user_id;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.completed THEN
            UPDATE users SET completed_count = completed_count - 1 WHERE id = OLD.user_id;
        END IF;
    ELSIF NEW.completed IS DISTINCT FROM OLD.completed THEN
        UPDATE users SET completed_count = completed_count + CASE WHEN NEW.completed THEN 1 ELSE -1 END
        WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_count_completed AFTER INSERT OR DELETE OR UPDATE OF completed ON tasks
    FOR EACH ROW EXECUTE FUNCTION count_completed_tasks();

-- Search: trigram indexes of the folded title and description, led by
-- user_id (btree_gin), so that a search for three characters or more reads
-- the user's tasks that hold the term's trigrams instead of all of them.
-- The store writes such a search as LIKE, which these indexes serve, with
-- %, _ and \ escaped: the same matches as strpos. Shorter terms have no
-- trigram and keep strpos, which the planner answers with a scan of the
-- user's tasks. The planner chooses between these indexes and the sort
-- indexes by its statistics (a common word is cheaper to find by reading
-- the list in order).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE INDEX tasks_user_title_trgm ON tasks USING gin (user_id, title_key gin_trgm_ops);
CREATE INDEX tasks_user_description_trgm ON tasks USING gin (user_id, description_key gin_trgm_ops);
