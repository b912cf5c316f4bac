-- Tickets for live event streams: a browser's EventSource cannot send a
-- bearer token, so it opens its stream with a short-lived single-use
-- ticket instead. Only a hash of the ticket is kept; expires_at is in
-- microseconds since the Unix epoch, as the other times.
CREATE TABLE event_tickets (
    hash       BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL,
    email      TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Minting a ticket removes the expired ones through this index.
CREATE INDEX event_tickets_expires_at ON event_tickets (expires_at);
