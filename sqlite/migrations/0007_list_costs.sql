-- What keeps a list's cost from growing with the length of the list.
--
-- Counts: the user row already counts its tasks (task_count, 0003); it now
-- also counts the completed ones, kept by triggers like task_count, so that
-- the total of an unfiltered, pending or completed list is read from one
-- row instead of counted over every task of the user.
ALTER TABLE users ADD COLUMN completed_count INTEGER NOT NULL DEFAULT 0 CHECK (completed_count >= 0);

UPDATE users SET completed_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id AND tasks.completed = 1);

CREATE TRIGGER tasks_completed_insert AFTER INSERT ON tasks WHEN NEW.completed = 1
BEGIN
    UPDATE users SET completed_count = completed_count + 1 WHERE id = NEW.user_id;
END;

CREATE TRIGGER tasks_completed_delete AFTER DELETE ON tasks WHEN OLD.completed = 1
BEGIN
    UPDATE users SET completed_count = completed_count - 1 WHERE id = OLD.user_id;
END;

CREATE TRIGGER tasks_completed_update AFTER UPDATE OF completed ON tasks WHEN OLD.completed <> NEW.completed
BEGIN
    UPDATE users SET completed_count = completed_count + NEW.completed - OLD.completed WHERE id = NEW.user_id;
END;

-- Search: a trigram index of the folded title and description, so that a
-- search for three characters or more reads the tasks holding the search
-- term's rarest trigram instead of every task of the user. It is
-- contentless (the text stays in tasks only) and exact: case_sensitive 1
-- compares the folded text as stored, and the store still checks each
-- candidate with instr, so results are those of a scan. Kept by triggers,
-- so that every writer keeps it right.
CREATE VIRTUAL TABLE tasks_search USING fts5(
    title, description,
    content = '', contentless_delete = 1,
    tokenize = 'trigram case_sensitive 1'
);

-- How many tasks hold each trigram: the store asks it to choose, per
-- search, between the index and a scan of the user's tasks.
CREATE VIRTUAL TABLE tasks_search_terms USING fts5vocab(tasks_search, 'row');

INSERT INTO tasks_search (rowid, title, description) SELECT id, title_key, description_key FROM tasks;

CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks
BEGIN
    INSERT INTO tasks_search (rowid, title, description) VALUES (NEW.id, NEW.title_key, NEW.description_key);
END;

CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks
BEGIN
    DELETE FROM tasks_search WHERE rowid = OLD.id;
END;

CREATE TRIGGER tasks_search_update AFTER UPDATE OF title_key, description_key ON tasks
    WHEN OLD.title_key IS NOT NEW.title_key OR OLD.description_key IS NOT NEW.description_key
BEGIN
    DELETE FROM tasks_search WHERE rowid = OLD.id;
    INSERT INTO tasks_search (rowid, title, description) VALUES (NEW.id, NEW.title_key, NEW.description_key);
END;
