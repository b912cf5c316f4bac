package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// tagsQuery lists a user's distinct tags (todoapi.Store.ListTags). It reads
// the user's rows through an index starting with user_id (no other user's
// row is touched; a user holds at most TASK_QUOTA tasks of at most 20 tags)
// and unnests each task's tags beside their folded keys: DISTINCT ON the key
// keeps the first row in (created_at, id, position) order, the spelling on
// the oldest task, and the keys' collation "C" sorts them byte by byte, as
// todoapi.Fold's output compares in Go and in the SQLite store.
const tagsQuery = `
	SELECT tag FROM (
		SELECT DISTINCT ON (k.key) k.key, k.tag
		FROM tasks CROSS JOIN LATERAL unnest(tasks.tags, tasks.tag_keys) WITH ORDINALITY AS k (tag, key, n)
		WHERE tasks.user_id = $1
		ORDER BY k.key, tasks.created_at, tasks.id, k.n
	) first ORDER BY first.key COLLATE "C"`

func (s *Store) ListTags(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, tagsQuery, userID)
	if err != nil {
		return nil, fail("list tags", err)
	}
	tags, err := pgx.AppendRows(make([]string, 0, 16), rows, pgx.RowTo[string])
	if err != nil {
		return nil, fail("list tags", err)
	}
	return tags, nil
}
