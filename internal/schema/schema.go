// Package schema holds what the PostgreSQL and SQLite stores' schemas share
// and both dialects read alike, so that a rule about the stored data is
// written once for both stores.
package schema

import "github.com/todoapi/todoapi"

// KeptTotal is the SQL expression, over a users row, of how many of the
// user's tasks a list filtered by status at most holds: the row keeps the
// user's task count (for the quota) and completed count, so no list of
// that kind counts tasks. ok is false for any other filter, which the
// store counts.
func KeptTotal(f todoapi.TaskFilter) (expr string, ok bool) {
	if !f.StatusOnly() {
		return "", false
	}
	switch f.Status {
	case todoapi.StatusPending:
		return "task_count - completed_count", true
	case todoapi.StatusCompleted:
		return "completed_count", true
	}
	return "task_count", true
}
