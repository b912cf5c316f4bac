package sqlite

import (
	"context"
	"slices"
	"strings"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/internal/schema"
)

// ListTasks runs one statement: the page, read with a seek on the sort
// index from the cursor's position (never OFFSET, so rows inserted or
// deleted before the position cannot shift the page), and, after a cursor
// or an offset, the total as an uncorrelated subquery, which SQLite
// evaluates once, in the same snapshot. A first page that holds every match
// (a user's whole list, usually) needs no count: the total is its length.
// Only a full first page asks for the count, in a second statement.
//
// Totals of lists filtered by status at most are not counted: the user row
// keeps them (task_count, completed_count). A search of three characters
// or more may read the trigram index instead of every task (searchTrigram).
func (s *Store) ListTasks(ctx context.Context, userID string, f todoapi.TaskFilter) (todoapi.TaskPage, error) {
	release, err := s.readers.enter(ctx, userID)
	if err != nil {
		return todoapi.TaskPage{}, s.fail("list tasks", err)
	}
	defer release()
	counted := f.TotalInPage()
	tri, err := s.searchTrigram(ctx, userID, f.Search)
	if err != nil {
		return todoapi.TaskPage{}, s.fail("list tasks", err)
	}
	query, args := listQuery(userID, f, counted, tri)
	rows, err := s.reads.query(ctx, query, args...)
	if err != nil {
		return todoapi.TaskPage{}, s.fail("list tasks", err)
	}
	defer rows.Close()
	if s.afterListQuery != nil {
		s.afterListQuery(userID)
	}
	page := todoapi.TaskPage{Tasks: make([]todoapi.Task, 0, min(f.PageSize()+1, 32))}
	var extra []any
	if counted {
		extra = append(extra, &page.Total)
	}
	for rows.Next() {
		t, err := scanTask(rows, extra...)
		if err != nil {
			return todoapi.TaskPage{}, s.fail("list tasks", err)
		}
		page.Tasks = append(page.Tasks, t)
	}
	if err := rows.Err(); err != nil {
		return todoapi.TaskPage{}, s.fail("list tasks", err)
	}
	if f.FinishPage(&page) {
		query, args := countQuery(userID, f, tri)
		if err := s.reads.queryRow(ctx, query, args...).Scan(&page.Total); err != nil {
			return todoapi.TaskPage{}, s.fail("count tasks", err)
		}
	}
	return page, nil
}

// sortExpr is the ORDER BY expression for each sort: a fixed whitelist, so
// no client text ever reaches the SQL. Each expression has an index in
// migrations/0002_listing.sql whose text it must match exactly.
func sortExpr(s todoapi.Sort) string {
	switch s.Key {
	case todoapi.SortUpdated:
		return "updated_at"
	case todoapi.SortTitle:
		return "title_key"
	case todoapi.SortDueDate:
		return "COALESCE(due_date, " + noDueDate(s) + ")"
	case todoapi.SortPriority:
		return "priority"
	}
	return "created_at"
}

// noDueDate is the value a missing due date sorts as: after every real date
// (at most year 9999, far below these) in either direction.
func noDueDate(s todoapi.Sort) string {
	if s.Asc {
		return "9223372036854775807"
	}
	return "-9223372036854775807"
}

// listQuery builds the page query for f, with the total as its last column
// when counted. It fetches one task more than a
// page so that the store knows whether another page follows.
func listQuery(userID string, f todoapi.TaskFilter, counted bool, tri string) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString("SELECT " + taskColumns)
	if counted {
		b.WriteString(", ")
		args = total(&b, args, userID, f, tri)
	}
	b.WriteString(" FROM tasks WHERE ")
	args = where(&b, args, userID, f, tri)

	expr, dir, cmp := sortExpr(f.Sort), " DESC", "<"
	if f.Sort.Asc {
		dir, cmp = " ASC", ">"
	}
	if c := f.After; c != nil {
		// (expr, id) > (value, id), spelled out: SQLite turns the first
		// conjunct into the start of the index range, which it does not do
		// for an expression inside a row value (as for due dates). A missing
		// due date is the same sentinel as in expr.
		value := "?"
		if f.Sort.Key == todoapi.SortDueDate {
			value = "COALESCE(?, " + noDueDate(f.Sort) + ")"
		}
		b.WriteString(" AND " + expr + " " + cmp + "= " + value +
			" AND (" + expr + " " + cmp + " " + value + " OR id " + cmp + " ?)")
		v := cursorValue(c)
		args = append(args, v, v, c.ID)
	}
	b.WriteString(" ORDER BY " + expr + dir + ", id" + dir + " LIMIT ?")
	args = append(args, f.PageSize()+1)
	if f.Offset > 0 {
		// Skips rows of the user's index range only: bounded by the quota.
		b.WriteString(" OFFSET ?")
		args = append(args, f.Offset)
	}
	return b.String(), args
}

func countQuery(userID string, f todoapi.TaskFilter, tri string) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT ")
	args := total(&b, nil, userID, f, tri)
	return b.String(), args
}

// total writes an expression for the number of the user's tasks that
// match f: read from the user row when it keeps that number
// (schema.KeptTotal), else counted.
func total(b *strings.Builder, args []any, userID string, f todoapi.TaskFilter, tri string) []any {
	if count, ok := schema.KeptTotal(f); ok {
		b.WriteString("coalesce((SELECT " + count + " FROM users WHERE id = ?), 0)")
		return append(args, userID)
	}
	b.WriteString("(SELECT count(*) FROM tasks WHERE ")
	args = where(b, args, userID, f, tri)
	b.WriteString(")")
	return args
}

// where writes the filter conditions of f to b and returns args with their
// values appended. Every value is a bound parameter. tri, when not empty,
// is a trigram of the search term to look up in the trigram index first.
func where(b *strings.Builder, args []any, userID string, f todoapi.TaskFilter, tri string) []any {
	b.WriteString("user_id = ?")
	args = append(args, userID)
	switch f.Status {
	case todoapi.StatusPending:
		b.WriteString(" AND completed = 0")
	case todoapi.StatusCompleted:
		b.WriteString(" AND completed = 1")
	}
	if len(f.Priorities) > 0 {
		b.WriteString(" AND priority IN (?" + strings.Repeat(", ?", len(f.Priorities)-1) + ")")
		for _, p := range f.Priorities {
			args = append(args, p.Rank())
		}
	}
	for _, tag := range f.Tags {
		b.WriteString(" AND EXISTS (SELECT 1 FROM json_each(tasks.tag_keys) WHERE json_each.value = ?)")
		args = append(args, tag)
	}
	if f.Search != "" {
		if tri != "" {
			// Only tasks holding the trigram can hold the term; instr
			// below then decides exactly, as a scan would.
			b.WriteString(" AND id IN (SELECT rowid FROM tasks_search WHERE tasks_search MATCH ?)")
			args = append(args, `"`+strings.ReplaceAll(tri, `"`, `""`)+`"`)
		}
		// instr finds the string as it is: %, _, \ and quotes have no
		// special meaning, unlike in a LIKE pattern.
		b.WriteString(" AND (instr(title_key, ?) > 0 OR instr(description_key, ?) > 0)")
		args = append(args, f.Search, f.Search)
	}
	if f.DueBefore != nil {
		b.WriteString(" AND due_date < ?")
		args = append(args, f.DueBefore.UnixMicro())
	}
	if f.DueAfter != nil {
		b.WriteString(" AND due_date > ?")
		args = append(args, f.DueAfter.UnixMicro())
	}
	if f.Recurring != nil {
		if *f.Recurring {
			b.WriteString(" AND recurrence IS NOT NULL")
		} else {
			b.WriteString(" AND recurrence IS NULL")
		}
	}
	if f.RemindBefore != nil {
		b.WriteString(" AND remind_at < ?")
		args = append(args, f.RemindBefore.UnixMicro())
	}
	if f.RemindAfter != nil {
		b.WriteString(" AND remind_at > ?")
		args = append(args, f.RemindAfter.UnixMicro())
	}
	return args
}

// cursorValue is the stored form of the cursor's sort value.
func cursorValue(c *todoapi.Cursor) any {
	switch c.Sort.Key {
	case todoapi.SortTitle:
		return c.Title
	case todoapi.SortPriority:
		return c.Rank
	}
	if c.Time == nil {
		return nil // no due date
	}
	return c.Time.UnixMicro()
}

// maxProbedTrigrams bounds the trigrams of a long search term whose
// frequency is looked up.
const maxProbedTrigrams = 24

// searchTrigram chooses, per search, how to find the matching tasks. It
// returns the trigram of term that the fewest tasks (of all users) hold,
// for the store to look up in the trigram index, or "" when a scan of the
// user's own tasks reads no more: for a term shorter than three characters,
// which has no trigram, and for a term whose every trigram is in at least
// as many tasks as the user has (a common word), where the index would
// hand back every task of the user and more. A trigram no task holds
// makes the index answer at once that nothing matches.
func (s *Store) searchTrigram(ctx context.Context, userID, term string) (string, error) {
	runes := []rune(term)
	if len(runes) < 3 || s.searchIndex == searchIndexNever {
		return "", nil
	}
	var tris []string
	n := len(runes) - 2
	step := max(1, n/maxProbedTrigrams)
	for i := 0; i < n && len(tris) < maxProbedTrigrams; i += step {
		if t := string(runes[i : i+3]); !slices.Contains(tris, t) {
			tris = append(tris, t)
		}
	}
	query := "SELECT coalesce((SELECT task_count FROM users WHERE id = ?), 0), term, doc FROM tasks_search_terms WHERE term IN (?" +
		strings.Repeat(", ?", len(tris)-1) + ")"
	args := make([]any, 0, len(tris)+1)
	args = append(args, userID)
	for _, t := range tris {
		args = append(args, t)
	}
	rows, err := s.reads.query(ctx, query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	best, bestDocs, tasks := "", int64(-1), int64(-1)
	found := map[string]bool{}
	for rows.Next() {
		var t string
		var docs int64
		if err := rows.Scan(&tasks, &t, &docs); err != nil {
			return "", err
		}
		found[t] = true
		if bestDocs < 0 || docs < bestDocs {
			best, bestDocs = t, docs
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, t := range tris {
		if !found[t] {
			return t, nil // in no task: nothing matches
		}
	}
	if s.searchIndex == searchIndexAuto && bestDocs >= tasks {
		return "", nil
	}
	return best, nil
}
