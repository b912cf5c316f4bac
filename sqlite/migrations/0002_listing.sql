-- Listing.
--
-- Folded copies (todoapi.Fold) of the title, description and tags, which
-- the store writes with every task: filters and the title sort compare them
-- byte by byte, exactly as the PostgreSQL store does, instead of relying on
-- SQLite's lower() and LIKE, which fold ASCII only. Rows written before this
-- migration are filled in by Go code that runs right after it.
ALTER TABLE tasks ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN description_key TEXT;
ALTER TABLE tasks ADD COLUMN tag_keys TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(tag_keys) AND json_type(tag_keys) = 'array');

-- One index per sort key, each starting with user_id so that a list reads
-- only its user's rows, in order, from the cursor's position on. Each is
-- scanned forwards for one direction and backwards for the other. A missing
-- due date sorts as the largest value ascending and as the smallest
-- descending, so that it comes last both ways; the expressions must match
-- the store's ORDER BY text exactly for SQLite to use these indexes.
-- tasks_user_created (0001) serves the created order.
CREATE INDEX tasks_user_updated ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_title ON tasks (user_id, title_key, id);
CREATE INDEX tasks_user_due_asc ON tasks (user_id, COALESCE(due_date, 9223372036854775807), id);
CREATE INDEX tasks_user_due_desc ON tasks (user_id, COALESCE(due_date, -9223372036854775807), id);
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
