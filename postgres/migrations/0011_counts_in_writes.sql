-- The user's counts of tasks and of completed tasks are kept by the
-- statements that write tasks (counted, in postgres/write.go), in the one
-- UPDATE of the user's row that also records the write's number in the
-- change feed. The triggers that kept them (0003, 0007) updated the same
-- row once more, through a PL/pgSQL call, in every create, deletion and
-- change of completion: a second row version, a second WAL record and a
-- trigger call per write.
--
-- Only the store's writes keep the counts now. Tasks written by other SQL
-- (a bulk load, say) need the recount below run again; so do the counts
-- after a rolling deploy in which a replica of an older release wrote
-- after this migration.
DROP TRIGGER tasks_count_user_tasks ON tasks;
DROP TRIGGER tasks_count_completed ON tasks;
DROP FUNCTION count_user_tasks();
DROP FUNCTION count_completed_tasks();

UPDATE users SET task_count = coalesce(counts.n, 0), completed_count = coalesce(counts.done, 0)
FROM users AS u
LEFT JOIN (SELECT user_id, count(*) AS n, count(*) FILTER (WHERE completed) AS done FROM tasks GROUP BY user_id) AS counts
    ON counts.user_id = u.id
WHERE users.id = u.id
    AND (users.task_count, users.completed_count) IS DISTINCT FROM (coalesce(counts.n, 0), coalesce(counts.done, 0));
