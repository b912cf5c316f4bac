-- Versions and the change feed.
--
-- Every task carries its version (1 when created, one more with every
-- stored change) and the number, in its user's sequence, of its creation
-- and of its latest change. The user's row keeps the sequence's latest
-- number (the collection version) and the highest number of a tombstone
-- purged from the feed. Deleted tasks leave a tombstone, kept for the
-- retention the service is configured with.
ALTER TABLE tasks ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE tasks ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN created_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN purged_seq INTEGER NOT NULL DEFAULT 0;

-- Existing tasks: numbered per user in id order (creation order), each its
-- own creation and latest change.
UPDATE tasks SET change_seq = numbered.seq, created_seq = numbered.seq
FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS seq FROM tasks) AS numbered
WHERE tasks.id = numbered.id;
UPDATE users SET change_seq = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id);

-- The change feed reads a user's tasks in sequence order.
CREATE INDEX tasks_user_change ON tasks (user_id, change_seq);

CREATE TABLE tombstones (
    user_id    TEXT NOT NULL REFERENCES users (id),
    seq        INTEGER NOT NULL,
    task_id    INTEGER NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
) STRICT, WITHOUT ROWID;
-- The purge finds expired tombstones, oldest first.
CREATE INDEX tombstones_deleted_at ON tombstones (deleted_at);

-- The key that makes change-feed tokens tamper-evident; one per database,
-- so that every process accepts the others' tokens.
CREATE TABLE sync_keys (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
) STRICT;
