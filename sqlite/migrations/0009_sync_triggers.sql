-- The user's change number (users.change_seq, 0004) follows the writes by
-- triggers: a write numbers its task or tombstone with the user's number
-- plus one, read in the same statement, and the trigger moves the user's
-- number to it. Each write is then one statement fewer than a separate
-- increment, on the store's single writer, where every statement counts.
DROP TRIGGER tasks_count_insert;
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
BEGIN
    UPDATE users SET task_count = task_count + 1, change_seq = max(change_seq, NEW.change_seq)
    WHERE id = NEW.user_id;
END;

CREATE TRIGGER tasks_change_update AFTER UPDATE OF change_seq ON tasks
BEGIN
    UPDATE users SET change_seq = max(change_seq, NEW.change_seq) WHERE id = NEW.user_id;
END;

CREATE TRIGGER tombstones_change_insert AFTER INSERT ON tombstones
BEGIN
    UPDATE users SET change_seq = max(change_seq, NEW.seq) WHERE id = NEW.user_id;
END;
