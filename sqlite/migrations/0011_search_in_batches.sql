-- The trigram index (0007) is brought up to date once per batch of writes,
-- not by each write. FTS5 writes its pending index data out at every
-- statement savepoint, and every write of a batch runs under one (its
-- triggers make it a multi-row change), so index maintenance by trigger
-- wrote a tiny index segment per write, which FTS5 then had to merge.
-- Instead the triggers note which tasks' text changed, and the batch's
-- last statements, in the same transaction, re-index those tasks
-- (syncSearch in group.go): one segment per batch, and the index commits
-- with the writes, as before.
--
-- indexed says whether the index held the task when the batch noted it
-- first: a task created in the batch has nothing to remove.
DROP TRIGGER tasks_search_insert;
DROP TRIGGER tasks_search_delete;
DROP TRIGGER tasks_search_update;

CREATE TABLE search_pending (
    id      INTEGER PRIMARY KEY,
    indexed INTEGER NOT NULL
) STRICT;

CREATE TRIGGER tasks_search_insert AFTER INSERT ON tasks
BEGIN
    INSERT OR IGNORE INTO search_pending (id, indexed) VALUES (NEW.id, 0);
END;

CREATE TRIGGER tasks_search_delete AFTER DELETE ON tasks
BEGIN
    INSERT OR IGNORE INTO search_pending (id, indexed) VALUES (OLD.id, 1);
END;

CREATE TRIGGER tasks_search_update AFTER UPDATE OF title_key, description_key ON tasks
    WHEN OLD.title_key IS NOT NEW.title_key OR OLD.description_key IS NOT NEW.description_key
BEGIN
    INSERT OR IGNORE INTO search_pending (id, indexed) VALUES (NEW.id, 1);
END;
