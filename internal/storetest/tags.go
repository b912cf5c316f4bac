package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// Tags and offsets: the tag list for tag pickers, and offset
// pagination for clients that page that way.

func listTags(t *testing.T, s todoapi.Store, user string) []string {
	t.Helper()
	tags, err := s.ListTags(ctxFor(t), user)
	if err != nil {
		t.Fatalf("ListTags(%q): %v", user, err)
	}
	if tags == nil {
		t.Fatalf("ListTags(%q) returned nil", user)
	}
	return tags
}

// testListTags checks that ListTags returns one spelling per folded tag,
// the one on the oldest task (by created_at, then id, then position),
// sorted by the folded form byte by byte, for the user's tasks only, and
// that it follows updates and deletes.
func testListTags(t *testing.T, s todoapi.Store) {
	addUser(t, s, "alice")
	addUser(t, s, "bob")
	if got := listTags(t, s, "alice"); len(got) != 0 {
		t.Fatalf("tags of a user without tasks: %q", got)
	}
	at := func(d time.Duration, tags ...string) todoapi.Task {
		task := newTask("alice", "t", base.Add(d))
		task.Tags = tags
		return task
	}
	// bob's older tasks would win every first spelling if scoping failed.
	bob := newTask("bob", "b", base.Add(-time.Hour))
	bob.Tags = []string{"WORK", "HOME", "bob only"}
	create(t, s, bob)
	// Ids ascend in this order, created_at does not: t1 is younger than t2
	// and t3, which share created_at, so the id decides between them.
	t1 := create(t, s, at(2*time.Second, "Work", "home"))
	t2 := create(t, s, at(time.Second, "WORK", "Zeta"))
	t3 := create(t, s, at(time.Second, "work", "Äpfel", "apfel"))
	// One task with two spellings of one folded tag (ſ and S fold to s):
	// the earlier position wins.
	create(t, s, at(3*time.Second, "ſ", "S"))
	create(t, s, at(0))

	// "äpfel" sorts after every ASCII key, as Fold's bytes compare.
	want := []string{"apfel", "home", "ſ", "WORK", "Zeta", "Äpfel"}
	if got := listTags(t, s, "alice"); !slices.Equal(got, want) {
		t.Errorf("ListTags = %q, want %q", got, want)
	}
	if got, want := listTags(t, s, "bob"), []string{"bob only", "HOME", "WORK"}; !slices.Equal(got, want) {
		t.Errorf("bob's ListTags = %q, want %q", got, want)
	}

	if _, err := UpdateTask(s, ctxFor(t), "alice", t2.ID, func(task *todoapi.Task) bool {
		task.Tags = []string{"other"}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	want = []string{"apfel", "home", "other", "ſ", "work", "Äpfel"}
	if got := listTags(t, s, "alice"); !slices.Equal(got, want) {
		t.Errorf("after an update: ListTags = %q, want %q", got, want)
	}
	if err := DeleteTask(s, ctxFor(t), "alice", t3.ID); err != nil {
		t.Fatal(err)
	}
	want = []string{"home", "other", "ſ", "Work"}
	if got := listTags(t, s, "alice"); !slices.Equal(got, want) {
		t.Errorf("after a delete: ListTags = %q, want %q", got, want)
	}
	if err := DeleteTask(s, ctxFor(t), "alice", t1.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := listTags(t, s, "alice"), []string{"other", "ſ"}; !slices.Equal(got, want) {
		t.Errorf("after another delete: ListTags = %q, want %q", got, want)
	}
	if got := listTags(t, s, "nobody"); len(got) != 0 {
		t.Errorf("tags of an unknown user: %q", got)
	}
}

// testListOffset checks offset pagination in every sort: the page is the
// slice of the whole order at the offset, Total counts every match (also
// on an empty page past the end), and Next continues after the page's last
// task, as a cursor.
func testListOffset(t *testing.T, s todoapi.Store) {
	tasks := seedList(t, s, "alice", "bob")
	for _, sort := range allSorts {
		for _, filter := range []struct {
			q     todoapi.ListQuery
			match func(todoapi.Task) bool
		}{
			{todoapi.ListQuery{}, func(todoapi.Task) bool { return true }},
			{todoapi.ListQuery{Status: "pending", Tag: []string{"HOME"}}, func(task todoapi.Task) bool {
				return !task.Completed && hasTag(task, "home")
			}},
		} {
			want := expect(tasks, filter.match, sort)
			for _, offset := range []int{0, 1, 4, len(want) - 3, len(want) - 1, len(want), len(want) + 7} {
				q := filter.q
				q.Sort, q.Limit, q.Offset = sort, "3", fmt.Sprint(offset)
				f := mustParse(t, q)
				if f.Offset != offset {
					t.Fatalf("ParseListQuery(offset=%d).Offset = %d", offset, f.Offset)
				}
				page := listPage(t, s, "alice", f)
				lo, hi := min(offset, len(want)), min(offset+3, len(want))
				what := fmt.Sprintf("sort=%s %+v offset=%d", sort, filter.q, offset)
				if !slices.Equal(ids(page.Tasks), ids(want[lo:hi])) {
					t.Errorf("%s: %s, want %s", what, showIDs(page.Tasks), showIDs(want[lo:hi]))
				}
				if page.Total != len(want) {
					t.Errorf("%s: Total = %d, want %d", what, page.Total, len(want))
				}
				switch {
				case hi < len(want) && page.Next == nil:
					t.Errorf("%s: no Next with %d tasks after the page", what, len(want)-hi)
				case hi < len(want) && page.Next.Encode() != todoapi.CursorAfter(f.Sort, want[hi-1]).Encode():
					t.Errorf("%s: Next does not continue after the page's last task", what)
				case hi == len(want) && page.Next != nil:
					t.Errorf("%s: Next on the last page", what)
				}
			}
		}
	}
}
