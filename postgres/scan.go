package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
)

// taskScanner reads rows of taskColumns, then any extra columns, into one
// set of destinations that it reuses from row to row: a list of 20 tasks
// then costs one destination list instead of twenty.
type taskScanner struct {
	t    todoapi.Task
	rank int16
	dest []any
}

func newTaskScanner(extra ...any) *taskScanner {
	s := &taskScanner{}
	s.dest = append(make([]any, 0, 18+len(extra)), &s.t.ID, &s.t.UserID, &s.t.Title, &s.t.Description,
		&s.t.Completed, &s.t.CompletedAt, &s.rank, &s.t.Tags, &s.t.DueDate, &s.t.CreatedAt, &s.t.UpdatedAt, &s.t.Version,
		&s.t.Recurrence, &s.t.Timezone, &s.t.RemindAt, &s.t.NextOccurrenceID, &s.t.SeriesStart, &s.t.ReminderPending)
	s.dest = append(s.dest, extra...)
	return s
}

func (s *taskScanner) scan(row pgx.Row) (todoapi.Task, error) {
	// Zeroed first, so that pgx allocates the description, times and tags
	// of every row afresh instead of writing into the previous row's.
	s.t = todoapi.Task{}
	if err := row.Scan(s.dest...); err != nil {
		return todoapi.Task{}, err
	}
	t := s.t
	var ok bool
	if t.Priority, ok = todoapi.PriorityFromRank(int(s.rank)); !ok {
		return todoapi.Task{}, fmt.Errorf("task %d has invalid priority rank %d", t.ID, s.rank)
	}
	// pgx returns times in the local zone; the API promises UTC. The
	// pointed-to times are this row's own.
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if t.CompletedAt != nil {
		*t.CompletedAt = t.CompletedAt.UTC()
	}
	for _, p := range []*time.Time{t.DueDate, t.RemindAt, t.SeriesStart} {
		if p != nil {
			*p = p.UTC()
		}
	}
	t.Tags = nonNil(t.Tags)
	return t, nil
}

// scanTask reads the taskColumns of row, then any extra columns into extra.
func scanTask(row pgx.Row, extra ...any) (todoapi.Task, error) {
	return newTaskScanner(extra...).scan(row)
}
