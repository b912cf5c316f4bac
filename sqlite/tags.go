package sqlite

import (
	"context"
)

// tagsQuery lists a user's distinct tags (todoapi.Store.ListTags). It reads
// the user's rows through an index starting with user_id (no other user's
// row is touched; a user holds at most TASK_QUOTA tasks of at most 20 tags)
// and pairs each tag with its folded key by position: the first row of each
// key in (created_at, id, position) order is the spelling on the oldest
// task, and keys compare byte by byte (BINARY), as todoapi.Fold's output
// compares in Go and in the PostgreSQL store.
const tagsQuery = `
	SELECT tag FROM (
		SELECT t.value AS tag, k.value AS key,
			row_number() OVER (PARTITION BY k.value ORDER BY tasks.created_at, tasks.id, t.key) AS n
		FROM tasks, json_each(tasks.tags) AS t, json_each(tasks.tag_keys) AS k
		WHERE tasks.user_id = ? AND k.key = t.key
	) WHERE n = 1 ORDER BY key`

func (s *Store) ListTags(ctx context.Context, userID string) ([]string, error) {
	release, err := s.readers.enter(ctx, userID)
	if err != nil {
		return nil, s.fail("list tags", err)
	}
	defer release()
	rows, err := s.reader.QueryContext(ctx, tagsQuery, userID)
	if err != nil {
		return nil, s.fail("list tags", err)
	}
	defer rows.Close()
	tags := make([]string, 0, 16)
	for rows.Next() {
		var tag string
		if err := rows.Scan(&tag); err != nil {
			return nil, s.fail("list tags", err)
		}
		tags = append(tags, tag)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list tags", err)
	}
	return tags, nil
}
