package postgres

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/internal/schema"
)

// ListTasks runs one statement, in one round trip and one snapshot: the
// page, read with a seek on the sort index from the cursor's position (never
// OFFSET, so rows inserted or deleted before the position cannot shift the
// page), and, after a cursor or an offset, the total as an uncorrelated
// subquery, which PostgreSQL evaluates once. count(*) OVER () would count
// only the rows after the cursor.
//
// A first page needs no count when it holds every match, as a user's whole
// list does (the default page is 1 000 tasks): the total is then the number
// of rows. The count costs the database a fifth of a 20-task list's time,
// so it is asked for separately, and only when the first page is full.
func (s *Store) ListTasks(ctx context.Context, userID string, f todoapi.TaskFilter) (todoapi.TaskPage, error) {
	counted := f.TotalInPage()
	query, args := listQuery(userID, f, counted)
	rows, err := s.pool.Query(ctx, query, planned(f, args)...)
	if err != nil {
		return todoapi.TaskPage{}, fail("list tasks", err)
	}
	// Room for a typical list; AppendRows grows it for longer ones.
	page := todoapi.TaskPage{Tasks: make([]todoapi.Task, 0, min(f.PageSize()+1, 32))}
	var extra []any
	if counted {
		extra = append(extra, &page.Total)
	}
	scanner := newTaskScanner(extra...)
	page.Tasks, err = pgx.AppendRows(page.Tasks, rows, func(row pgx.CollectableRow) (todoapi.Task, error) {
		return scanner.scan(row)
	})
	if err != nil {
		return todoapi.TaskPage{}, fail("list tasks", err)
	}
	if f.FinishPage(&page) {
		query, args := countQuery(userID, f)
		if err := s.pool.QueryRow(ctx, query, planned(f, args)...).Scan(&page.Total); err != nil {
			return todoapi.TaskPage{}, fail("count tasks", err)
		}
	}
	return page, nil
}

// planned returns args for a query of f, asking pgx to send a search that
// the trigram indexes may serve as an unnamed statement, which PostgreSQL
// plans for the term it is given. A cached prepared statement soon gets a
// generic plan, made without the term, which cannot tell a rare word (read
// the index) from a common one (read the list in order and stop at the
// page's end): either choice is a hundred times too slow for the other.
func planned(f todoapi.TaskFilter, args []any) []any {
	if utf8.RuneCountInString(f.Search) < 3 {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// sortExpr is the ORDER BY expression for each sort: a fixed whitelist, so
// no client text ever reaches the SQL. Each has an index in
// migrations/0002_listing.sql. A missing due date sorts as the largest
// value ascending and the smallest descending, so that it comes last both
// ways; param is the same expression for the cursor's value.
func sortExpr(s todoapi.Sort) (expr, param string) {
	switch s.Key {
	case todoapi.SortUpdated:
		return "updated_at", "%s"
	case todoapi.SortTitle:
		return "title_key", "%s"
	case todoapi.SortDueDate:
		none := "'-infinity'"
		if s.Asc {
			none = "'infinity'"
		}
		return "COALESCE(due_date, " + none + ")", "COALESCE(%s::timestamptz, " + none + ")"
	case todoapi.SortPriority:
		return "priority", "%s"
	}
	return "created_at", "%s"
}

// params collects bound parameters; add returns the placeholder of one.
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// ListSQL returns the statement and arguments ListTasks sends to list f for
// userID, so that a benchmark of the database alone (cmd/loadtest's pgbench
// reference) runs exactly the query the service runs.
func ListSQL(userID string, f todoapi.TaskFilter) (string, []any) {
	return listQuery(userID, f, f.After != nil || f.Offset > 0)
}

// listQuery builds the page query for f, with the total as its last column
// when counted. It fetches one task more than a page so that the store
// knows whether another page follows.
func listQuery(userID string, f todoapi.TaskFilter, counted bool) (string, []any) {
	var args params
	cond := where(&args, userID, f)
	expr, param := sortExpr(f.Sort)
	dir, cmp := " DESC", "<"
	if f.Sort.Asc {
		dir, cmp = " ASC", ">"
	}
	var b strings.Builder
	b.WriteString("SELECT " + taskColumns)
	if counted {
		b.WriteString(", " + total(&args, userID, f, cond))
	}
	b.WriteString(" FROM tasks WHERE " + cond)
	if c := f.After; c != nil {
		// A row comparison on the index's columns is an index condition:
		// the scan starts right after the cursor, even among many equal
		// sort values.
		value := strings.Replace(param, "%s", args.add(cursorValue(c)), 1)
		b.WriteString(" AND (" + expr + ", id) " + cmp + " (" + value + ", " + args.add(c.ID) + ")")
	}
	b.WriteString(" ORDER BY " + expr + dir + ", id" + dir)
	b.WriteString(" LIMIT " + args.add(f.PageSize()+1))
	if f.Offset > 0 {
		// Skips rows of the user's index range only: bounded by the quota.
		b.WriteString(" OFFSET " + args.add(f.Offset))
	}
	return b.String(), args
}

func countQuery(userID string, f todoapi.TaskFilter) (string, []any) {
	var args params
	if f.StatusOnly() {
		return "SELECT " + total(&args, userID, f, ""), args
	}
	return "SELECT " + total(&args, userID, f, where(&args, userID, f)), args
}

// total is an expression for the number of the user's tasks that match f:
// read from the user row when it keeps that number (schema.KeptTotal),
// else counted with cond, f's conditions.
func total(args *params, userID string, f todoapi.TaskFilter, cond string) string {
	if count, ok := schema.KeptTotal(f); ok {
		return "coalesce((SELECT " + count + " FROM users WHERE id = " + args.add(userID) + "), 0)"
	}
	return "(SELECT count(*) FROM tasks WHERE " + cond + ")"
}

// where returns the filter conditions of f; every value is a bound
// parameter.
func where(args *params, userID string, f todoapi.TaskFilter) string {
	conds := []string{"user_id = " + args.add(userID)}
	switch f.Status {
	case todoapi.StatusPending:
		conds = append(conds, "NOT completed")
	case todoapi.StatusCompleted:
		conds = append(conds, "completed")
	}
	if len(f.Priorities) > 0 {
		ranks := make([]int16, len(f.Priorities))
		for i, p := range f.Priorities {
			ranks[i] = int16(p.Rank())
		}
		conds = append(conds, "priority = ANY("+args.add(ranks)+"::smallint[])")
	}
	if len(f.Tags) > 0 {
		conds = append(conds, "tag_keys @> "+args.add(f.Tags)+"::text[]")
	}
	if f.Search != "" {
		if utf8.RuneCountInString(f.Search) >= 3 {
			// LIKE with every wildcard escaped matches what strpos
			// would, and the trigram indexes serve it.
			p := args.add("%"+likeEscaper.Replace(f.Search)+"%") + "::text"
			conds = append(conds, "(title_key LIKE "+p+" OR description_key LIKE "+p+")")
		} else {
			// strpos finds the string as it is: %, _, \ and quotes have
			// no special meaning, unlike in a LIKE pattern. A term this
			// short has no trigram to look up.
			q := args.add(f.Search) + "::text"
			conds = append(conds, "(strpos(title_key, "+q+") > 0 OR strpos(description_key, "+q+") > 0)")
		}
	}
	if f.DueBefore != nil {
		conds = append(conds, "due_date < "+args.add(*f.DueBefore))
	}
	if f.DueAfter != nil {
		conds = append(conds, "due_date > "+args.add(*f.DueAfter))
	}
	if f.Recurring != nil {
		if *f.Recurring {
			conds = append(conds, "recurrence IS NOT NULL")
		} else {
			conds = append(conds, "recurrence IS NULL")
		}
	}
	if f.RemindBefore != nil {
		conds = append(conds, "remind_at < "+args.add(*f.RemindBefore))
	}
	if f.RemindAfter != nil {
		conds = append(conds, "remind_at > "+args.add(*f.RemindAfter))
	}
	return strings.Join(conds, " AND ")
}

// likeEscaper makes a search term a literal LIKE pattern: \ is LIKE's
// default escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// cursorValue is the stored form of the cursor's sort value.
func cursorValue(c *todoapi.Cursor) any {
	switch c.Sort.Key {
	case todoapi.SortTitle:
		return c.Title
	case todoapi.SortPriority:
		return int16(c.Rank)
	}
	return c.Time // nil for a task without a due date
}
