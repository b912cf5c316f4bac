-- Secrets the service generates for itself, such as the key that makes list
-- cursors opaque. The first replica to need one stores it; every other
-- replica, and every later start, reads the same one, so a cursor issued by
-- one replica is understood by all.
CREATE TABLE service_keys (
    name       text PRIMARY KEY,
    key        bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
