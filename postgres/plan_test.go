package postgres_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

// TestListPlansUseUserIndexes seeds 50 000 tasks over 500 users, one of
// whom holds 5 000, and checks PostgreSQL's plan for the list query of
// every filter and sort, on the first page and after a cursor: no plan
// reads the tasks table except through an index that starts with user_id
// and is searched by it, so no list ever scans other users' rows.
// For a page of 50 of the user with many tasks, the sort's own index also
// gives the order, from the cursor on: no sort step. (With a page as large
// as a user's whole list, reading it all and sorting is the planner's
// rightful choice.) The tag list query is held to the same rule.
func TestListPlansUseUserIndexes(t *testing.T) {
	ctx := t.Context()
	// The seed is one statement that writes every index, trigram indexes
	// included: more than the default statement timeout on a busy machine.
	s, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{QueryTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, stmt := range []string{
		`INSERT INTO users (id, first_seen_at, last_seen_at)
		 SELECT 'user' || i, now(), now() FROM generate_series(0, 499) i`,
		// user0 holds 5 000 tasks, the other 499 users 90 each.
		`INSERT INTO tasks (user_id, title, description, completed, priority, tags, due_date,
			created_at, updated_at, title_key, description_key, tag_keys, recurrence, remind_at)
		 SELECT 'user' || CASE WHEN i < 5000 THEN 0 ELSE 1 + i % 499 END,
			'Task ' || md5(i::text),
			CASE WHEN i % 3 = 0 THEN 'About ' || md5((i * 7)::text) END,
			i % 10 < 3,
			1 + i % 3,
			CASE i % 4 WHEN 0 THEN ARRAY['work', 'home'] WHEN 1 THEN ARRAY['Work', 'x']
				WHEN 2 THEN ARRAY['home', 'y'] ELSE ARRAY['z', 'w'] END,
			CASE WHEN i % 5 <> 0 THEN timestamptz '2026-01-01' + (i % 1000) * interval '1 hour' END,
			timestamptz '2025-01-01' + (i / 3) * interval '1 minute',
			timestamptz '2025-06-01' + (i % 777) * interval '1 minute',
			lower('Task ' || md5(i::text)),
			CASE WHEN i % 3 = 0 THEN lower('About ' || md5((i * 7)::text)) END,
			CASE i % 4 WHEN 0 THEN ARRAY['work', 'home'] WHEN 1 THEN ARRAY['work', 'x']
				WHEN 2 THEN ARRAY['home', 'y'] ELSE ARRAY['z', 'w'] END,
			CASE WHEN i % 7 = 0 THEN 'FREQ=DAILY' END,
			CASE WHEN i % 6 = 0 THEN timestamptz '2026-01-01' + (i % 1000) * interval '1 hour' END
		 FROM generate_series(0, 49999) i`,
		`ANALYZE users`,
		`ANALYZE tasks`,
	} {
		if err := s.Exec(ctx, stmt); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	t.Logf("seeded 50 000 tasks in %v", time.Since(start).Round(time.Millisecond))

	userIndexes, err := s.UserIndexes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(userIndexes) < 6 {
		t.Fatalf("indexes starting with user_id: %v, want one per sort", userIndexes)
	}

	filters := map[string]todoapi.ListQuery{
		"none":            {},
		"status=pending":  {Status: "pending"},
		"status=complete": {Status: "completed"},
		"priority":        {Priority: []string{"high"}},
		"priorities":      {Priority: []string{"low", "high"}},
		"tag":             {Tag: []string{"work"}},
		"tags":            {Tag: []string{"work", "home"}},
		"q":               {Q: "ab"},
		"q one char":      {Q: "a"},
		"q trigrams":      {Q: "k 3a"},
		"q rare":          {Q: "about 9f2c"},
		"due_before":      {DueBefore: "2026-01-10"},
		"due_after":       {DueAfter: "2026-01-10"},
		"due range":       {DueAfter: "2026-01-02", DueBefore: "2026-01-10"},
		"recurring":       {Recurring: "true"},
		"not recurring":   {Recurring: "false"},
		"remind_before":   {RemindBefore: "2026-01-10"},
		"remind range":    {RemindAfter: "2026-01-02", RemindBefore: "2026-01-10"},
		"everything": {Status: "pending", Priority: []string{"medium"}, Tag: []string{"home"}, Q: "e",
			DueAfter: "2026-01-01", DueBefore: "2026-02-01"},
	}
	sortIndex := map[string]string{
		"created": "tasks_user_created", "updated": "tasks_user_updated", "title": "tasks_user_title",
		"due_date": "tasks_user_due_asc", "-due_date": "tasks_user_due_desc", "priority": "tasks_user_priority",
	}
	checked := 0
	for _, user := range []string{"user0", "user7"} {
		for name, q := range filters {
			for _, sort := range []string{"created", "-created", "updated", "-updated", "title", "-title",
				"due_date", "-due_date", "priority", "-priority"} {
				q.Sort = sort
				f, err := todoapi.ParseListQuery(q)
				if err != nil {
					t.Fatal(err)
				}
				after := todoapi.Task{ID: 25000, Title: "task 8", Priority: todoapi.PriorityMedium,
					CreatedAt: time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC)}
				for _, c := range []struct {
					limit  int
					cursor *todoapi.Cursor
				}{{0, nil}, {0, todoapi.CursorAfter(f.Sort, after)}, {50, nil}, {50, todoapi.CursorAfter(f.Sort, after)}} {
					f.Limit, f.After = c.limit, c.cursor
					raw, err := s.ExplainList(ctx, user, f)
					if err != nil {
						t.Fatalf("EXPLAIN: %v", err)
					}
					var plans []struct{ Plan planNode }
					if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
						t.Fatalf("EXPLAIN output: %v: %s", err, raw)
					}
					what := fmt.Sprintf("%s, %s, sort=%s, limit=%d, cursor=%v", user, name, sort, f.PageSize(), c.cursor != nil)
					for _, problem := range checkPlan(&plans[0].Plan, userIndexes) {
						t.Errorf("%s: %s\nplan: %s", what, problem, raw)
					}
					if user == "user0" && name == "none" && c.limit == 50 {
						main := plans[0].Plan.mainScan()
						want := sortIndex[sort]
						if want == "" {
							want = sortIndex[strings.TrimPrefix(sort, "-")]
						}
						if main == nil || main.IndexName != want || plans[0].Plan.has("Sort") {
							t.Errorf("%s: the page is not read in order from %s\nplan: %s", what, want, raw)
						}
					}
					checked++
				}
			}
		}
	}
	t.Logf("checked %d plans", checked)

	// The tag list reads only the user's rows, through a user_id index.
	for _, user := range []string{"user0", "user7"} {
		raw, err := s.ExplainTags(ctx, user)
		if err != nil {
			t.Fatalf("EXPLAIN tags: %v", err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
			t.Fatalf("EXPLAIN output: %v: %s", err, raw)
		}
		if plans[0].Plan.mainScan() == nil {
			t.Errorf("%s: the tag list plan reads no tasks?\nplan: %s", user, raw)
		}
		for _, problem := range checkPlan(&plans[0].Plan, userIndexes) {
			t.Errorf("%s, tags: %s\nplan: %s", user, problem, raw)
		}
	}
}

// planNode is the part of an EXPLAIN (FORMAT JSON) node the test reads.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	IndexCond    string     `json:"Index Cond"`
	ParentRel    string     `json:"Parent Relationship"`
	Plans        []planNode `json:"Plans"`
}

// checkPlan lists every way in which the plan under n reads tasks other
// than through a user_id index searched by user_id.
func checkPlan(n *planNode, userIndexes []string) []string {
	var problems []string
	byUser := func(n *planNode) bool {
		return slices.Contains(userIndexes, n.IndexName) && strings.Contains(n.IndexCond, "user_id = ")
	}
	// bitmapByUser: does the bitmap under n contain only rows found
	// through a user index?
	var bitmapByUser func(n *planNode) bool
	bitmapByUser = func(n *planNode) bool {
		switch n.NodeType {
		case "Bitmap Index Scan":
			return byUser(n)
		case "BitmapAnd":
			return slices.ContainsFunc(n.Plans, func(c planNode) bool { return bitmapByUser(&c) })
		case "BitmapOr":
			return len(n.Plans) > 0 && !slices.ContainsFunc(n.Plans, func(c planNode) bool { return !bitmapByUser(&c) })
		}
		return false
	}
	switch {
	case n.RelationName != "tasks":
	case n.NodeType == "Index Scan" || n.NodeType == "Index Only Scan":
		if !byUser(n) {
			problems = append(problems, fmt.Sprintf("%s using %s (%s)", n.NodeType, n.IndexName, n.IndexCond))
		}
	case n.NodeType == "Bitmap Heap Scan":
		if len(n.Plans) != 1 || !bitmapByUser(&n.Plans[0]) {
			problems = append(problems, "bitmap heap scan not bounded by a user_id index")
		}
	default:
		problems = append(problems, n.NodeType+" on tasks")
	}
	for i := range n.Plans {
		problems = append(problems, checkPlan(&n.Plans[i], userIndexes)...)
	}
	return problems
}

// mainScan is the scan of tasks that produces the page, outside the
// count's subplan.
func (n *planNode) mainScan() *planNode {
	if n.RelationName == "tasks" {
		return n
	}
	for i := range n.Plans {
		if n.Plans[i].ParentRel == "InitPlan" || n.Plans[i].ParentRel == "SubPlan" {
			continue
		}
		if m := n.Plans[i].mainScan(); m != nil {
			return m
		}
	}
	return nil
}

func (n *planNode) has(nodeType string) bool {
	if n.NodeType == nodeType {
		return true
	}
	for i := range n.Plans {
		if n.Plans[i].ParentRel != "InitPlan" && n.Plans[i].has(nodeType) {
			return true
		}
	}
	return false
}

// The plan check itself: it must refuse what it exists to catch.
func TestCheckPlan(t *testing.T) {
	idx := []string{"tasks_user_created"}
	for plan, wantOK := range map[string]bool{
		`{"Node Type":"Seq Scan","Relation Name":"tasks"}`:                                                                          false,
		`{"Node Type":"Index Scan","Relation Name":"tasks","Index Name":"tasks_pkey","Index Cond":"(id = 1)"}`:                      false,
		`{"Node Type":"Index Scan","Relation Name":"tasks","Index Name":"tasks_user_created","Index Cond":"(created_at > now())"}`:  false,
		`{"Node Type":"Index Scan","Relation Name":"tasks","Index Name":"tasks_user_created","Index Cond":"(user_id = 'a'::text)"}`: true,
		`{"Node Type":"Limit","Plans":[{"Node Type":"Seq Scan","Relation Name":"tasks"}]}`:                                          false,
		`{"Node Type":"Bitmap Heap Scan","Relation Name":"tasks","Plans":[{"Node Type":"BitmapOr","Plans":[
			{"Node Type":"Bitmap Index Scan","Index Name":"tasks_user_created","Index Cond":"(user_id = 'a'::text)"},
			{"Node Type":"Bitmap Index Scan","Index Name":"tasks_title_trgm","Index Cond":"(title_key ~~ '%a%')"}]}]}`: false,
		`{"Node Type":"Bitmap Heap Scan","Relation Name":"tasks","Plans":[{"Node Type":"BitmapAnd","Plans":[
			{"Node Type":"Bitmap Index Scan","Index Name":"tasks_user_created","Index Cond":"(user_id = 'a'::text)"},
			{"Node Type":"Bitmap Index Scan","Index Name":"tasks_title_trgm","Index Cond":"(title_key ~~ '%a%')"}]}]}`: true,
	} {
		var n planNode
		if err := json.Unmarshal([]byte(plan), &n); err != nil {
			t.Fatal(err)
		}
		if got := len(checkPlan(&n, idx)) == 0; got != wantOK {
			t.Errorf("checkPlan(%s) ok = %v, want %v", plan, got, wantOK)
		}
	}
}
