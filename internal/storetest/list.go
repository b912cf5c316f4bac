package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// The listing contract. Expected results are computed here in
// Go, from the fixture, with rules written independently of the stores: a
// case-insensitive comparison is strings.ToLower or strings.EqualFold, which
// agree with todoapi.Fold on every character the fixture uses.

// allSorts lists every sort key in both directions.
var allSorts = []string{
	"created", "-created", "updated", "-updated", "title", "-title",
	"due_date", "-due_date", "priority", "-priority",
}

// fixture is a user's tasks chosen to exercise every rule: titles equal but
// for case, tags in several spellings, missing and equal due dates, and
// created_at values shared by several tasks so that only the id orders them.
type fixture struct {
	title       string
	description string // empty: none
	priority    todoapi.Priority
	tags        []string
	due         int // hours after base; 0: none
	completed   bool
}

var fixtures = []fixture{
	{"Buy milk", "Two litres", todoapi.PriorityHigh, []string{"Home", "shopping"}, 24, false},
	{"buy milk", "", todoapi.PriorityLow, []string{"home"}, 0, true},
	{"BUY MILK", "semi-skimmed MILK", todoapi.PriorityMedium, []string{"HOME", "Urgent"}, 24, false},
	{"Äpfel kaufen", "Boskop", todoapi.PriorityMedium, []string{"Ärger", "shopping"}, 48, false},
	{"äpfel KAUFEN", "", todoapi.PriorityHigh, []string{"ärger"}, 0, false},
	{"apfel", "no umlaut", todoapi.PriorityLow, []string{}, 12, true},
	{"Zebra crossing", "", todoapi.PriorityLow, []string{"work"}, 72, false},
	{"zebra crossing", "Stripes", todoapi.PriorityHigh, []string{"Work", "urgent"}, 72, true},
	{"50% off", "sale at 100%", todoapi.PriorityMedium, []string{"shopping"}, 6, false},
	{"50 percent", "not a wildcard", todoapi.PriorityMedium, []string{}, 0, false},
	{"snake_case", "under_score", todoapi.PriorityLow, []string{"code"}, 36, false},
	{"snakeXcase", "no underscore", todoapi.PriorityLow, []string{"code"}, 36, false},
	{`back\slash`, `C:\path`, todoapi.PriorityHigh, []string{"code", "WORK"}, 0, true},
	{"backslash", "plain", todoapi.PriorityHigh, []string{}, 96, false},
	{"it's quoted", `say "hi"`, todoapi.PriorityMedium, []string{"quotes"}, 1, false},
	{"its not", "say hi", todoapi.PriorityMedium, []string{}, 0, false},
	{"report", "Quarterly report", todoapi.PriorityHigh, []string{"work", "Urgent", "home"}, 2, false},
	{"Report", "", todoapi.PriorityLow, []string{"work"}, 2, false},
	{"_underscore first", "", todoapi.PriorityMedium, []string{}, 120, true},
	{"zz last", "MiLk in description", todoapi.PriorityLow, []string{"URGENT"}, 0, false},
	{"Groceries", "eggs, milk, bread", todoapi.PriorityHigh, []string{"shopping", "home"}, 240, false},
	{"call mom", "", todoapi.PriorityMedium, []string{"family"}, 3, true},
}

// seedList creates the fixture for user and a few tasks for other, which
// would match every filter if scoping failed. created_at advances every
// third task, updated_at every second, so both have ties.
func seedList(t *testing.T, s todoapi.Store, user, other string) []todoapi.Task {
	t.Helper()
	addUser(t, s, user)
	addUser(t, s, other)
	var out []todoapi.Task
	for i, f := range fixtures {
		task := newTask(user, f.title, base.Add(time.Duration(i/3)*time.Second))
		task.UpdatedAt = base.Add(time.Hour + time.Duration(i%7/2)*time.Minute)
		if f.description != "" {
			task.Description = ptr(f.description)
		}
		task.Priority = f.priority
		task.Tags = f.tags
		if f.due != 0 {
			task.DueDate = ptr(base.Add(time.Duration(f.due) * time.Hour))
		}
		if f.completed {
			task.Completed, task.CompletedAt = true, ptr(base)
		}
		out = append(out, create(t, s, task))
		// The other user's copy, interleaved so ids alternate.
		task.UserID = other
		create(t, s, task)
	}
	return out
}

// compareTasks orders a before b in sort order by (a todoapi.Sort string),
// written from the listing rules (README: Listing) independently of the
// stores.
func compareTasks(by string) func(a, b todoapi.Task) int {
	key, desc := strings.CutPrefix(by, "-")
	if key == "priority" {
		// priority lists high first; -priority low first.
		desc = !desc
	}
	dir := func(c int) int {
		if desc {
			return -c
		}
		return c
	}
	return func(a, b todoapi.Task) int {
		var c int
		switch key {
		case "created":
			c = a.CreatedAt.Compare(b.CreatedAt)
		case "updated":
			c = a.UpdatedAt.Compare(b.UpdatedAt)
		case "title":
			c = strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title))
		case "priority":
			c = cmp.Compare(a.Priority.Rank(), b.Priority.Rank())
		case "due_date":
			switch {
			case a.DueDate == nil && b.DueDate == nil:
			case a.DueDate == nil:
				return 1 // last, whatever the direction
			case b.DueDate == nil:
				return -1
			default:
				c = a.DueDate.Compare(*b.DueDate)
			}
		default:
			panic("unknown sort " + by)
		}
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		return dir(c)
	}
}

// listCase is a filter, as query parameters, with the predicate that says
// which tasks it selects.
type listCase struct {
	name  string
	query todoapi.ListQuery
	match func(todoapi.Task) bool
}

func hasTag(task todoapi.Task, tag string) bool {
	return slices.ContainsFunc(task.Tags, func(t string) bool { return strings.EqualFold(t, tag) })
}

func contains(task todoapi.Task, q string) bool {
	q = strings.ToLower(q)
	return strings.Contains(strings.ToLower(task.Title), q) ||
		(task.Description != nil && strings.Contains(strings.ToLower(*task.Description), q))
}

func dueBefore(task todoapi.Task, at time.Time) bool {
	return task.DueDate != nil && task.DueDate.Before(at)
}

func dueAfter(task todoapi.Task, at time.Time) bool {
	return task.DueDate != nil && task.DueDate.After(at)
}

var listCases = []listCase{
	{"no filter", todoapi.ListQuery{}, func(todoapi.Task) bool { return true }},
	{"status=all", todoapi.ListQuery{Status: "all"}, func(todoapi.Task) bool { return true }},
	{"status=pending", todoapi.ListQuery{Status: "pending"}, func(t todoapi.Task) bool { return !t.Completed }},
	{"status=completed", todoapi.ListQuery{Status: "completed"}, func(t todoapi.Task) bool { return t.Completed }},
	{"priority=high", todoapi.ListQuery{Priority: []string{"high"}},
		func(t todoapi.Task) bool { return t.Priority == todoapi.PriorityHigh }},
	{"priority=low&priority=HIGH", todoapi.ListQuery{Priority: []string{"low", "HIGH"}},
		func(t todoapi.Task) bool { return t.Priority != todoapi.PriorityMedium }},
	{"priority=medium&priority=&priority=medium", todoapi.ListQuery{Priority: []string{"medium", "", "medium"}},
		func(t todoapi.Task) bool { return t.Priority == todoapi.PriorityMedium }},
	{"tag=home", todoapi.ListQuery{Tag: []string{"home"}}, func(t todoapi.Task) bool { return hasTag(t, "home") }},
	{"tag=URGENT&tag=Work", todoapi.ListQuery{Tag: []string{"URGENT", "Work"}},
		func(t todoapi.Task) bool { return hasTag(t, "urgent") && hasTag(t, "work") }},
	{"tag=ÄRGER", todoapi.ListQuery{Tag: []string{"ÄRGER"}}, func(t todoapi.Task) bool { return hasTag(t, "ärger") }},
	{"tag=home&tag=hOmE", todoapi.ListQuery{Tag: []string{"home", "hOmE"}}, func(t todoapi.Task) bool { return hasTag(t, "home") }},
	{"tag=nosuch", todoapi.ListQuery{Tag: []string{"nosuch"}}, func(todoapi.Task) bool { return false }},
	{"tag=hom (no prefix match)", todoapi.ListQuery{Tag: []string{"hom"}}, func(todoapi.Task) bool { return false }},
	{"q=milk", todoapi.ListQuery{Q: "milk"}, func(t todoapi.Task) bool { return contains(t, "milk") }},
	{"q=MILK", todoapi.ListQuery{Q: "MILK"}, func(t todoapi.Task) bool { return contains(t, "milk") }},
	{"q= milk (trimmed)", todoapi.ListQuery{Q: " milk "}, func(t todoapi.Task) bool { return contains(t, "milk") }},
	{"q=ÄPFEL", todoapi.ListQuery{Q: "ÄPFEL"}, func(t todoapi.Task) bool { return contains(t, "äpfel") }},
	{"q=%", todoapi.ListQuery{Q: "%"}, func(t todoapi.Task) bool { return contains(t, "%") }},
	{"q=50%", todoapi.ListQuery{Q: "50%"}, func(t todoapi.Task) bool { return contains(t, "50%") }},
	{"q=_", todoapi.ListQuery{Q: "_"}, func(t todoapi.Task) bool { return contains(t, "_") }},
	{"q=snake_case", todoapi.ListQuery{Q: "snake_case"}, func(t todoapi.Task) bool { return contains(t, "snake_case") }},
	{`q=\`, todoapi.ListQuery{Q: `\`}, func(t todoapi.Task) bool { return contains(t, `\`) }},
	{`q=k\s`, todoapi.ListQuery{Q: `k\s`}, func(t todoapi.Task) bool { return contains(t, `k\s`) }},
	{"q='", todoapi.ListQuery{Q: "'"}, func(t todoapi.Task) bool { return contains(t, "'") }},
	{`q="hi"`, todoapi.ListQuery{Q: `"hi"`}, func(t todoapi.Task) bool { return contains(t, `"hi"`) }},
	{"q=nothing matches", todoapi.ListQuery{Q: "nothing matches"}, func(todoapi.Task) bool { return false }},
	// Three characters or more: what a trigram index may serve, with
	// exactly a scan's results.
	{"q=ilk", todoapi.ListQuery{Q: "ilk"}, func(t todoapi.Task) bool { return contains(t, "ilk") }},
	{"q=SKIMMED", todoapi.ListQuery{Q: "SKIMMED"}, func(t todoapi.Task) bool { return contains(t, "skimmed") }},
	{"q=pfel", todoapi.ListQuery{Q: "pfel"}, func(t todoapi.Task) bool { return contains(t, "pfel") }},
	{"q=ÄPF", todoapi.ListQuery{Q: "ÄPF"}, func(t todoapi.Task) bool { return contains(t, "äpf") }},
	{"q=0% o", todoapi.ListQuery{Q: "0% o"}, func(t todoapi.Task) bool { return contains(t, "0% o") }},
	{"q=e_c", todoapi.ListQuery{Q: "e_c"}, func(t todoapi.Task) bool { return contains(t, "e_c") }},
	{"q=0%", todoapi.ListQuery{Q: "0%"}, func(t todoapi.Task) bool { return contains(t, "0%") }},
	{`q=:\p`, todoapi.ListQuery{Q: `:\p`}, func(t todoapi.Task) bool { return contains(t, `:\p`) }},
	{`q="hi`, todoapi.ListQuery{Q: `"hi`}, func(t todoapi.Task) bool { return contains(t, `"hi`) }},
	{"q=milk two (not across fields)", todoapi.ListQuery{Q: "milk two"}, func(todoapi.Task) bool { return false }},
	{"q=mi%k (no wildcard)", todoapi.ListQuery{Q: "mi%k"}, func(todoapi.Task) bool { return false }},
	{"q=s_le (no wildcard)", todoapi.ListQuery{Q: "s_le"}, func(todoapi.Task) bool { return false }},
	{"q=milk&status=completed", todoapi.ListQuery{Q: "milk", Status: "completed"},
		func(t todoapi.Task) bool { return t.Completed && contains(t, "milk") }},
	{"due_before", todoapi.ListQuery{DueBefore: base.Add(24 * time.Hour).Format(time.RFC3339Nano)},
		func(t todoapi.Task) bool { return dueBefore(t, base.Add(24*time.Hour)) }},
	{"due_after", todoapi.ListQuery{DueAfter: base.Add(24 * time.Hour).Format(time.RFC3339Nano)},
		func(t todoapi.Task) bool { return dueAfter(t, base.Add(24*time.Hour)) }},
	{"due_after&due_before", todoapi.ListQuery{
		DueAfter:  base.Add(2 * time.Hour).Format(time.RFC3339Nano),
		DueBefore: base.Add(72 * time.Hour).Format(time.RFC3339Nano)},
		func(t todoapi.Task) bool {
			return dueAfter(t, base.Add(2*time.Hour)) && dueBefore(t, base.Add(72*time.Hour))
		}},
	{"due_before as a date", todoapi.ListQuery{DueBefore: base.Add(48 * time.Hour).Format("2006-01-02")},
		func(t todoapi.Task) bool { return dueBefore(t, base.Add(48*time.Hour).Truncate(24*time.Hour)) }},
	{"everything at once", todoapi.ListQuery{Status: "pending", Priority: []string{"high", "medium"},
		Tag: []string{"Shopping"}, Q: "O", DueAfter: base.Format(time.RFC3339Nano)},
		func(t todoapi.Task) bool {
			return !t.Completed && t.Priority != todoapi.PriorityLow && hasTag(t, "shopping") &&
				contains(t, "o") && dueAfter(t, base)
		}},
}

func mustParse(t *testing.T, q todoapi.ListQuery) todoapi.TaskFilter {
	t.Helper()
	f, err := todoapi.ParseListQuery(q)
	if err != nil {
		t.Fatalf("ParseListQuery(%+v): %v", q, err)
	}
	return f
}

func listPage(t *testing.T, s todoapi.Store, user string, f todoapi.TaskFilter) todoapi.TaskPage {
	t.Helper()
	page, err := s.ListTasks(ctxFor(t), user, f)
	if err != nil {
		t.Fatalf("ListTasks(%q, %+v): %v", user, f, err)
	}
	if page.Tasks == nil {
		t.Fatalf("ListTasks(%q, %+v) returned a nil slice", user, f)
	}
	for _, task := range page.Tasks {
		if task.UserID != user {
			t.Fatalf("ListTasks(%q) returned task %d of %q", user, task.ID, task.UserID)
		}
	}
	return page
}

// walk lists every page of q for user with page size limit, passing each
// page's cursor on as a client would (encoded and parsed again), and
// checks the shape of every page. between, when not nil, runs after each
// page.
func walk(t *testing.T, s todoapi.Store, user string, q todoapi.ListQuery, limit, wantTotal int, between func(page int)) []todoapi.Task {
	t.Helper()
	q.Limit = fmt.Sprint(limit)
	q.Cursor = ""
	var all []todoapi.Task
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatalf("walk of %+v does not end", q)
		}
		page := listPage(t, s, user, mustParse(t, q))
		if len(page.Tasks) > limit {
			t.Fatalf("page %d of %+v has %d tasks, over the limit", n, q, len(page.Tasks))
		}
		if wantTotal >= 0 && page.Total != wantTotal {
			t.Errorf("page %d of %+v: Total = %d, want %d", n, q, page.Total, wantTotal)
		}
		all = append(all, page.Tasks...)
		if page.Next == nil {
			return all
		}
		if len(page.Tasks) != limit {
			t.Fatalf("page %d of %+v has %d tasks and a next page", n, q, len(page.Tasks))
		}
		if last := page.Tasks[len(page.Tasks)-1]; page.Next.Encode() != todoapi.CursorAfter(mustParse(t, q).Sort, last).Encode() {
			t.Fatalf("page %d of %+v: Next = %+v, want the position of its last task %d", n, q, page.Next, last.ID)
		}
		q.Cursor = page.Next.Encode()
		if between != nil {
			between(n)
		}
	}
}

func expect(tasks []todoapi.Task, match func(todoapi.Task) bool, sort string) []todoapi.Task {
	var out []todoapi.Task
	for _, task := range tasks {
		if match(task) {
			out = append(out, task)
		}
	}
	slices.SortFunc(out, compareTasks(sort))
	return out
}

func showIDs(tasks []todoapi.Task) string {
	var b strings.Builder
	for i, task := range tasks {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d", task.ID)
	}
	return "[" + b.String() + "]"
}

// testListFilters checks every filter, alone and combined, in the default
// order and unpaginated; Total is the number of matches.
func testListFilters(t *testing.T, s todoapi.Store) {
	tasks := seedList(t, s, "alice", "bob")
	for _, c := range listCases {
		want := expect(tasks, c.match, "-created")
		page := listPage(t, s, "alice", mustParse(t, c.query))
		if !slices.Equal(ids(page.Tasks), ids(want)) {
			t.Errorf("%s: ids = %s, want %s", c.name, showIDs(page.Tasks), showIDs(want))
		}
		if page.Total != len(want) || page.Next != nil {
			t.Errorf("%s: Total = %d, Next = %v; want %d, nil", c.name, page.Total, page.Next, len(want))
		}
	}
	// The fixture makes every filter select some tasks but not all, except
	// those meant to select none.
	none := []string{"tag=nosuch", "tag=hom (no prefix match)", "q=nothing matches",
		"q=milk two (not across fields)", "q=mi%k (no wildcard)", "q=s_le (no wildcard)"}
	for _, c := range listCases[2:] {
		n := len(expect(tasks, c.match, "-created"))
		if n == len(tasks) || (n == 0) != slices.Contains(none, c.name) {
			t.Errorf("fixture: %s selects %d of %d tasks", c.name, n, len(tasks))
		}
	}
	// A returned task is complete, as Task returns it.
	for _, got := range listPage(t, s, "alice", todoapi.TaskFilter{}).Tasks {
		checkTask(t, "listed task", got, get(t, s, "alice", got.ID))
	}
}

// testListSorts checks every sort key in both directions, with and without
// filters, unpaginated and walked three tasks at a time: the walk returns
// exactly the unpaginated list.
func testListSorts(t *testing.T, s todoapi.Store) {
	tasks := seedList(t, s, "alice", "bob")
	var cases []listCase
	for _, c := range listCases {
		switch c.name {
		case "no filter", "status=pending", "priority=low&priority=HIGH", "tag=home", "q=milk", "due_after&due_before":
			cases = append(cases, c)
		}
	}
	for _, sort := range allSorts {
		for _, c := range cases {
			q := c.query
			q.Sort = sort
			want := expect(tasks, c.match, sort)
			page := listPage(t, s, "alice", mustParse(t, q))
			if !slices.Equal(ids(page.Tasks), ids(want)) {
				t.Errorf("sort=%s, %s: ids = %s, want %s", sort, c.name, showIDs(page.Tasks), showIDs(want))
			}
			if page.Total != len(want) {
				t.Errorf("sort=%s, %s: Total = %d, want %d", sort, c.name, page.Total, len(want))
			}
			for _, limit := range []int{1, 3, len(want)} {
				if limit == 0 {
					continue
				}
				got := walk(t, s, "alice", q, limit, len(want), nil)
				if !slices.Equal(ids(got), ids(want)) {
					t.Errorf("sort=%s, %s, walked %d at a time: ids = %s, want %s",
						sort, c.name, limit, showIDs(got), showIDs(want))
				}
			}
		}
	}
	// The aliases sort as their canonical names; the Python design's
	// spellings of created and updated list newest first.
	for alias, canonical := range map[string]string{"created_at": "-created", "-updated_at": "-updated", "dueDate": "due_date"} {
		got := listPage(t, s, "alice", mustParse(t, todoapi.ListQuery{Sort: alias}))
		want := expect(tasks, func(todoapi.Task) bool { return true }, canonical)
		if !slices.Equal(ids(got.Tasks), ids(want)) {
			t.Errorf("sort=%s: ids = %s, want %s", alias, showIDs(got.Tasks), showIDs(want))
		}
	}
}

// testListLimit checks the page size bounds and that the last full page
// has no Next.
func testListLimit(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	var tasks []todoapi.Task
	for i := range todoapi.MaxLimit + 2 {
		tasks = append(tasks, newTask("alice", fmt.Sprint("t", i), base.Add(time.Duration(i)*time.Microsecond)))
	}
	insertTasks(t, s, tasks)
	page := listPage(t, s, "alice", todoapi.TaskFilter{})
	if len(page.Tasks) != todoapi.DefaultLimit || page.Total != len(tasks) || page.Next == nil {
		t.Fatalf("default page: %d tasks, Total %d, Next %v; want %d, %d, a cursor",
			len(page.Tasks), page.Total, page.Next, todoapi.DefaultLimit, len(tasks))
	}
	rest := listPage(t, s, "alice", todoapi.TaskFilter{After: page.Next})
	if len(rest.Tasks) != 2 || rest.Next != nil || rest.Total != len(tasks) {
		t.Fatalf("second page: %d tasks, Total %d, Next %v; want 2, %d, nil", len(rest.Tasks), rest.Total, rest.Next, len(tasks))
	}
	exact := listPage(t, s, "alice", todoapi.TaskFilter{Limit: 2, After: page.Next})
	if len(exact.Tasks) != 2 || exact.Next != nil {
		t.Fatalf("a page that holds exactly the rest: %d tasks, Next %v; want 2, nil", len(exact.Tasks), exact.Next)
	}
}

// BulkInserter stores many tasks at once, for fixtures too large to create
// one by one. Stores implement it in a _test.go file.
type BulkInserter interface {
	InsertTasks(ctx context.Context, tasks []todoapi.Task) error
}

func insertTasks(t testing.TB, s todoapi.Store, tasks []todoapi.Task) {
	t.Helper()
	b, ok := s.(BulkInserter)
	if !ok {
		t.Fatalf("%T does not implement storetest.BulkInserter", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := b.InsertTasks(ctx, tasks); err != nil {
		t.Fatalf("InsertTasks: %v", err)
	}
}

// testListCursorScope checks that a cursor positions only within the
// caller's own tasks: another user who sends it gets their own tasks after
// that position, and the store never needs the cursor's owner.
func testListCursorScope(t *testing.T, s todoapi.Store) {
	alice := seedList(t, s, "alice", "bob")
	bob := listPage(t, s, "bob", todoapi.TaskFilter{}).Tasks
	for _, sort := range allSorts {
		q := todoapi.ListQuery{Sort: sort, Limit: "4"}
		first := listPage(t, s, "alice", mustParse(t, q))
		if first.Next == nil {
			t.Fatalf("sort=%s: alice's first page has no next page", sort)
		}
		// bob replays alice's cursor.
		q.Cursor, q.Limit = first.Next.Encode(), ""
		got := listPage(t, s, "bob", mustParse(t, q))
		after := first.Tasks[len(first.Tasks)-1]
		var want []todoapi.Task
		for _, task := range expect(bob, func(todoapi.Task) bool { return true }, sort) {
			if compareTasks(sort)(task, after) > 0 {
				want = append(want, task)
			}
		}
		if !slices.Equal(ids(got.Tasks), ids(want)) {
			t.Errorf("sort=%s: bob with alice's cursor gets %s, want his own tasks after it %s",
				sort, showIDs(got.Tasks), showIDs(want))
		}
		if got.Total != len(bob) {
			t.Errorf("sort=%s: bob with alice's cursor: Total = %d, want his %d", sort, got.Total, len(bob))
		}
	}
	// A user with no tasks learns nothing from a cursor either.
	addUser(t, s, "carol")
	f := mustParse(t, todoapi.ListQuery{Cursor: todoapi.CursorAfter(todoapi.Sort{}, alice[0]).Encode()})
	if got := listPage(t, s, "carol", f); len(got.Tasks) != 0 || got.Total != 0 || got.Next != nil {
		t.Errorf("carol with alice's cursor: %d tasks, Total %d, Next %v; want nothing", len(got.Tasks), got.Total, got.Next)
	}
}

// testListEmptyPageAfterCursor checks Total on a page that comes back empty
// because the tasks after the cursor were deleted meanwhile.
func testListEmptyPageAfterCursor(t *testing.T, s todoapi.Store) {
	tasks := seedList(t, s, "alice", "bob")
	q := todoapi.ListQuery{Sort: "title", Limit: "5"}
	first := listPage(t, s, "alice", mustParse(t, q))
	want := expect(tasks, func(todoapi.Task) bool { return true }, "title")
	for _, task := range want[5:] {
		if err := DeleteTask(s, ctxFor(t), "alice", task.ID); err != nil {
			t.Fatal(err)
		}
	}
	q.Cursor = first.Next.Encode()
	got := listPage(t, s, "alice", mustParse(t, q))
	if len(got.Tasks) != 0 || got.Next != nil || got.Total != 5 {
		t.Errorf("after deleting the rest: %d tasks, Next %v, Total %d; want 0, nil, 5", len(got.Tasks), got.Next, got.Total)
	}
}

// testListWalkWhileChanging walks every sort three tasks at a time while,
// between pages, tasks are inserted at both ends of the order (so before
// and after the cursor), tasks already listed and still to come are
// deleted, and other tasks change their sort values; meanwhile a goroutine
// keeps inserting, updating and deleting tasks of its own. Keyset pagination must return every task that
// existed at the start, still exists and did not change exactly once, in
// order: OFFSET pagination would repeat or skip some.
func testListWalkWhileChanging(t *testing.T, s todoapi.Store) {
	rng := rand.New(rand.NewPCG(1, 2))
	for si, sort := range allSorts {
		// A deadline per walk, as churn has: it only ends a hung walk, and
		// one shared by every sort's walk was reached on a busy machine.
		ctx := ctxFor(t)
		// A user of its own per sort, so that every walk starts from the
		// whole fixture.
		user := fmt.Sprint("walker", si)
		seedList(t, s, user, "other"+user)
		stop := churn(t, s, user)

		var stable []todoapi.Task
		for _, task := range listPage(t, s, user, todoapi.TaskFilter{}).Tasks {
			if !isChurn(task) {
				stable = append(stable, task)
			}
		}
		slices.SortFunc(stable, compareTasks(sort))
		gone := map[int64]bool{}
		moved := map[int64]bool{}

		n := 0
		between := func(int) {
			n++
			// New tasks at both ends of every order.
			for _, edge := range []int{-1, 1} {
				task := newTask(user, fmt.Sprintf("%s new %d", map[int]string{-1: "0", 1: "~"}[edge], n),
					base.Add(time.Duration(edge*(1000+n))*time.Second))
				task.UpdatedAt = base.Add(time.Duration(edge*(1000+n)) * time.Hour)
				task.Priority = map[int]todoapi.Priority{-1: todoapi.PriorityLow, 1: todoapi.PriorityHigh}[edge]
				if edge > 0 {
					task.DueDate = ptr(base.Add(-time.Duration(n) * time.Hour))
				}
				create(t, s, task)
			}
			alive := slices.DeleteFunc(slices.Clone(stable), func(x todoapi.Task) bool { return gone[x.ID] || moved[x.ID] })
			if len(alive) < len(stable)/2 {
				return
			}
			pick := alive[rng.IntN(len(alive))]
			if n%2 == 1 {
				// Delete a task at random, listed already or still to come.
				if err := DeleteTask(s, ctx, user, pick.ID); err != nil {
					t.Fatal(err)
				}
				gone[pick.ID] = true
				return
			}
			// Move one to a new place in every order.
			moved[pick.ID] = true
			_, err := UpdateTask(s, ctx, user, pick.ID, func(task *todoapi.Task) bool {
				task.Title = fmt.Sprint("moved ", rng.IntN(1000))
				task.Priority = todoapi.Priorities[rng.IntN(3)]
				task.DueDate = ptr(base.Add(time.Duration(rng.IntN(300)) * time.Hour))
				task.UpdatedAt = base.Add(time.Duration(rng.IntN(3000)-1500) * time.Minute)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		seen := walk(t, s, user, todoapi.ListQuery{Sort: sort}, 3, -1, between)
		stop()

		count := map[int64]int{}
		for _, task := range seen {
			count[task.ID]++
		}
		var want, got []int64
		for _, task := range stable {
			if !gone[task.ID] && !moved[task.ID] {
				want = append(want, task.ID)
			}
		}
		for _, task := range seen {
			if slices.Contains(want, task.ID) {
				got = append(got, task.ID)
			}
			if count[task.ID] > 1 && !moved[task.ID] && !isChurn(task) {
				t.Errorf("sort=%s: task %d listed %d times", sort, task.ID, count[task.ID])
			}
		}
		if len(gone) == 0 || len(moved) == 0 || len(want) < len(stable)/3 {
			t.Fatalf("sort=%s: %d deleted, %d moved, %d of %d unchanged: the check is too weak",
				sort, len(gone), len(moved), len(want), len(stable))
		}
		if !slices.Equal(got, want) {
			t.Errorf("sort=%s: unchanged tasks came as %v, want each once in order: %v", sort, got, want)
		}
	}
}

// churn starts a goroutine that keeps inserting, updating and deleting
// tasks of user (titled "churn …"), until the returned function is called.
// It deletes what it inserts, so that the list never grows faster than a
// walk can read it.
func churn(t *testing.T, s todoapi.Store, user string) (stop func()) {
	ctx := ctxFor(t)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			task := newTask(user, fmt.Sprint("churn ", i), base.Add(time.Duration(i%40-20)*time.Second))
			task.DueDate = ptr(base.Add(time.Duration(i%50) * time.Hour))
			created, err := CreateTask(s, ctx, task, todoapi.DefaultTaskQuota)
			if err != nil {
				t.Errorf("churn: CreateTask: %v", err)
				return
			}
			_, err = UpdateTask(s, ctx, user, created.ID, func(task *todoapi.Task) bool {
				task.Title = fmt.Sprint("Churned ", i)
				task.Priority = todoapi.PriorityHigh
				task.UpdatedAt = base.Add(time.Duration(i) * time.Millisecond)
				return true
			})
			if err != nil {
				t.Errorf("churn: UpdateTask: %v", err)
				return
			}
			time.Sleep(time.Millisecond)
			if err := DeleteTask(s, ctx, user, created.ID); err != nil {
				t.Errorf("churn: DeleteTask: %v", err)
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// isChurn reports whether task is one of churn's.
func isChurn(task todoapi.Task) bool {
	return strings.HasPrefix(strings.ToLower(task.Title), "churn")
}

// BenchmarkList measures listing the tasks of a user who holds 10 000,
// among 20 000 tasks of other users: the first page and a deep one (after
// 9 000 tasks), 100 tasks a page, for several sorts and a filter. s must
// be empty and implement BulkInserter.
func BenchmarkList(b *testing.B, s todoapi.Store) {
	ctx := context.Background()
	const mine, others = 10_000, 20
	var tasks []todoapi.Task
	for u := range others + 1 {
		user := fmt.Sprint("user", u)
		if err := s.UpsertUser(ctx, todoapi.User{ID: user}, base); err != nil {
			b.Fatal(err)
		}
		n := 1000
		if u == 0 {
			n = mine
		}
		for i := range n {
			task := newTask(user, fmt.Sprintf("Task %d %x", i, i*2654435761), base.Add(time.Duration(i)*time.Second))
			task.UpdatedAt = base.Add(time.Duration(i%977) * time.Minute)
			task.Priority = todoapi.Priorities[i%3]
			task.Tags = [][]string{{"work"}, {"home", "Urgent"}, {}, {"Work", "later"}}[i%4]
			if i%5 != 0 {
				task.DueDate = ptr(base.Add(time.Duration(i%1000) * time.Hour))
			}
			if i%3 == 0 {
				task.Description = ptr(fmt.Sprintf("Details of task %d", i))
			}
			tasks = append(tasks, task)
		}
	}
	insertTasks(b, s, tasks)

	for _, c := range []struct {
		name string
		q    todoapi.ListQuery
	}{
		{"sort=-created", todoapi.ListQuery{}},
		{"sort=title", todoapi.ListQuery{Sort: "title"}},
		{"sort=-due_date", todoapi.ListQuery{Sort: "-due_date"}},
		{"sort=-priority", todoapi.ListQuery{Sort: "-priority"}},
		{"tag=work", todoapi.ListQuery{Tag: []string{"work"}}},
		{"q=task_1", todoapi.ListQuery{Q: "task 1"}},
	} {
		c.q.Limit = "100"
		f, err := todoapi.ParseListQuery(c.q)
		if err != nil {
			b.Fatal(err)
		}
		// The deep page's cursor: walk there, as a client would.
		deep := f
		for skipped := 0; skipped < 9000; {
			page, err := s.ListTasks(ctx, "user0", deep)
			if err != nil {
				b.Fatal(err)
			}
			if page.Next == nil {
				deep.After = nil
				break
			}
			deep.After = page.Next
			skipped += len(page.Tasks)
		}
		for _, p := range []struct {
			name string
			f    todoapi.TaskFilter
		}{{"first", f}, {"after9000", deep}} {
			if p.name == "after9000" && p.f.After == nil {
				continue // the filter leaves fewer than 9 000 tasks
			}
			b.Run(c.name+"/"+p.name, func(b *testing.B) {
				for b.Loop() {
					page, err := s.ListTasks(ctx, "user0", p.f)
					if err != nil {
						b.Fatal(err)
					}
					if len(page.Tasks) == 0 {
						b.Fatal("empty page")
					}
				}
			})
		}
	}
}

// CheckListFilters runs the filter cases of the contract on s, for a
// store to run them again with a setting of its own (say, with an index
// forced on or off).
func CheckListFilters(t *testing.T, s todoapi.Store) {
	t.Helper()
	testListFilters(t, s)
}

// OldTasks are tasks as a release before the listing migration stored them
// (no folded columns), for CheckUpgrade; stores insert them with their own
// SQL at schema version 1.
var OldTasks = []todoapi.Task{
	{UserID: "alice", Title: "ÄRGER im Büro", Description: ptr("ÜBER alles"), Tags: []string{"ÉTÉ", "Work"}},
	{UserID: "alice", Title: "apfel", Tags: []string{}},
	{UserID: "alice", Title: "Zebra", Tags: []string{"été"}},
}

// CheckUpgrade checks that OldTasks, stored before the listing migration
// and listed after it, filter and sort by their folded text exactly as new
// tasks do: the migration must fold existing rows the way todoapi.Fold
// does, non-ASCII letters included.
func CheckUpgrade(t *testing.T, s todoapi.Store) {
	t.Helper()
	titles := func(q todoapi.ListQuery) []string {
		var out []string
		for _, task := range listPage(t, s, "alice", mustParse(t, q)).Tasks {
			out = append(out, task.Title)
		}
		return out
	}
	for _, c := range []struct {
		q    todoapi.ListQuery
		want []string
	}{
		{todoapi.ListQuery{Q: "ärger"}, []string{"ÄRGER im Büro"}},
		{todoapi.ListQuery{Q: "über"}, []string{"ÄRGER im Büro"}},
		{todoapi.ListQuery{Tag: []string{"Été"}, Sort: "title"}, []string{"Zebra", "ÄRGER im Büro"}},
		{todoapi.ListQuery{Tag: []string{"work"}}, []string{"ÄRGER im Büro"}},
		{todoapi.ListQuery{Sort: "title"}, []string{"apfel", "Zebra", "ÄRGER im Büro"}},
	} {
		if got := titles(c.q); !slices.Equal(got, c.want) {
			t.Errorf("after the upgrade, %+v lists %q, want %q", c.q, got, c.want)
		}
	}
}

// testListTotalsFollowWrites checks the totals of status lists, which a
// store may keep per user instead of counting, as tasks are created,
// completed, reopened and deleted: on a full first page and after a
// cursor, always the number of matching tasks.
func testListTotalsFollowWrites(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	done := map[int64]bool{}
	for i := range 30 {
		task := newTask("alice", fmt.Sprintf("task %d", i), base.Add(time.Duration(i)*time.Second))
		if i%4 == 0 {
			task.Completed, task.CompletedAt = true, ptr(base)
		}
		done[create(t, s, task).ID] = task.Completed
		create(t, s, newTask("bob", "bob's", base)) // must not count for alice
	}
	check := func(when string) {
		t.Helper()
		counts := map[todoapi.Status]int{}
		for _, c := range done {
			counts[todoapi.StatusAll]++
			if c {
				counts[todoapi.StatusCompleted]++
			} else {
				counts[todoapi.StatusPending]++
			}
		}
		for _, st := range []todoapi.Status{todoapi.StatusAll, todoapi.StatusPending, todoapi.StatusCompleted} {
			f := todoapi.TaskFilter{Status: st, Limit: 3}
			first := listPage(t, s, "alice", f)
			if first.Total != counts[st] {
				t.Errorf("%s: status %v, first page: Total = %d, want %d", when, st, first.Total, counts[st])
			}
			if first.Next == nil {
				continue
			}
			f.After = first.Next
			if next := listPage(t, s, "alice", f); next.Total != counts[st] {
				t.Errorf("%s: status %v, after a cursor: Total = %d, want %d", when, st, next.Total, counts[st])
			}
		}
	}
	check("after creating")

	ctx := ctxFor(t)
	n := 0
	for id := range done {
		n++
		switch n % 3 {
		case 0:
			if err := DeleteTask(s, ctx, "alice", id); err != nil {
				t.Fatal(err)
			}
			delete(done, id)
		case 1:
			if _, err := UpdateTask(s, ctx, "alice", id, func(task *todoapi.Task) bool {
				task.Completed = !task.Completed
				return true
			}); err != nil {
				t.Fatal(err)
			}
			done[id] = !done[id]
		}
	}
	check("after toggling and deleting")
}

// testListTotalsUnderRacingWrites races toggles of a few tasks against
// each other and against creates and deletions of the same user: writes
// that lose a race and run again must count once, so the totals of status
// lists still match the tasks.
func testListTotalsUnderRacingWrites(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	ctx := ctxFor(t)
	var ids []int64
	for i := range 4 {
		ids = append(ids, create(t, s, newTask("alice", fmt.Sprint("hot ", i), base)).ID)
	}
	var kept atomic.Int32
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 12 {
				var err error
				switch id := ids[(w+i)%len(ids)]; {
				case i%6 == 5 && w%2 == 0:
					var task todoapi.Task
					if task, err = CreateTask(s, ctx, newTask("alice", fmt.Sprint("new ", w, i), base), todoapi.DefaultTaskQuota); err == nil {
						err = DeleteTask(s, ctx, "alice", task.ID)
					}
				case i%6 == 5:
					task := newTask("alice", fmt.Sprint("kept ", w, i), base)
					task.Completed, task.CompletedAt = true, ptr(base)
					if _, err = CreateTask(s, ctx, task, todoapi.DefaultTaskQuota); err == nil {
						kept.Add(1)
					}
				default:
					_, err = UpdateTask(s, ctx, "alice", id, func(task *todoapi.Task) bool {
						task.Completed = !task.Completed
						return true
					})
				}
				if err != nil {
					t.Errorf("writer %d, write %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// list fails unless each status list's total is its number of tasks.
	all := list(t, s, "alice", todoapi.StatusAll)
	pending := list(t, s, "alice", todoapi.StatusPending)
	completed := list(t, s, "alice", todoapi.StatusCompleted)
	if want := len(ids) + int(kept.Load()); len(pending)+len(completed) != len(all) || len(all) != want {
		t.Errorf("alice holds %d tasks, %d pending and %d completed; want %d in all",
			len(all), len(pending), len(completed), want)
	}
}
