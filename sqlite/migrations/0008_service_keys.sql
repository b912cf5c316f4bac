-- Secrets the service generates for itself, such as the key that makes list
-- cursors opaque. The first process to need one stores it; every other
-- process, and every later start, reads the same one, so a cursor issued by
-- one replica is understood by all.
CREATE TABLE service_keys (
    name       TEXT PRIMARY KEY,
    key        BLOB NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
