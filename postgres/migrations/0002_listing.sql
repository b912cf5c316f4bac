-- Listing.
--
-- Folded copies (todoapi.Fold) of the title, description and tags, which
-- the store writes with every task: filters and the title sort compare them
-- byte by byte (collation "C"), exactly as the SQLite store does, instead of
-- depending on the database's locale for lower(), ILIKE and text order. Rows
-- written before this migration are filled in by Go code that runs right
-- after it.
ALTER TABLE tasks
    ADD COLUMN title_key       text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN description_key text COLLATE "C",
    ADD COLUMN tag_keys        text[] COLLATE "C" NOT NULL DEFAULT '{}';

-- One index per sort key, each starting with user_id so that a list reads
-- only its user's rows, in order, from the cursor's position on; each is
-- scanned forwards for one direction and backwards for the other. A missing
-- due date sorts as 'infinity' ascending and as '-infinity' descending, so
-- that it comes last both ways; the store's ORDER BY repeats these
-- expressions. tasks_user_created (0001) serves the created order. Filters
-- (status, priority, tags, q, due bounds) are checked on the user's rows as
-- the scan reads them: a user holds at most TASK_QUOTA tasks.
CREATE INDEX tasks_user_updated  ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_title    ON tasks (user_id, title_key, id);
CREATE INDEX tasks_user_due_asc  ON tasks (user_id, COALESCE(due_date, 'infinity'), id);
CREATE INDEX tasks_user_due_desc ON tasks (user_id, COALESCE(due_date, '-infinity'), id);
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
