-- STRICT tables make SQLite reject values of the wrong type instead of
-- storing them, as PostgreSQL would. Times are unix microseconds (UTC), the
-- precision PostgreSQL keeps; tags are a JSON array of strings; priority is
-- its rank (1 low .. 3 high) so that it sorts numerically.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT,
    name          TEXT,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
) STRICT;

-- AUTOINCREMENT so that the id of a deleted task is never handed out again:
-- a client holding an old id must not reach a different task.
CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      TEXT NOT NULL REFERENCES users (id),
    title        TEXT NOT NULL,
    description  TEXT,
    completed    INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    completed_at INTEGER,
    priority     INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 3),
    tags         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    due_date     INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- The default list order, per user.
CREATE INDEX tasks_user_created ON tasks (user_id, created_at DESC, id DESC);
