-- Tickets for live event streams: a browser's EventSource cannot send a
-- bearer token, so it opens its stream with a short-lived single-use
-- ticket instead. They live here, not in a replica's memory, so that a
-- ticket minted on one replica works on any other and is used only once
-- across all of them. Only a hash of the ticket is kept.
CREATE TABLE event_tickets (
    hash       bytea PRIMARY KEY,
    user_id    text NOT NULL,
    email      text NOT NULL DEFAULT '',
    name       text NOT NULL DEFAULT '',
    expires_at timestamptz NOT NULL
);

-- Minting a ticket removes the expired ones through this index.
CREATE INDEX event_tickets_expires_at ON event_tickets (expires_at);
