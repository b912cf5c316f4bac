-- Priority is stored as its rank (1 low .. 3 high) so that it sorts
-- numerically.

CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text,
    name          text,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL
);

CREATE TABLE tasks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id),
    title        text NOT NULL,
    description  text,
    completed    boolean NOT NULL DEFAULT false,
    completed_at timestamptz,
    priority     smallint NOT NULL CHECK (priority BETWEEN 1 AND 3),
    tags         text[] NOT NULL DEFAULT '{}',
    due_date     timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- The default list order, per user.
CREATE INDEX tasks_user_created ON tasks (user_id, created_at DESC, id DESC);
