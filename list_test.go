package todoapi_test

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/todoapi/todoapi"
)

func TestParseListQueryDefaults(t *testing.T) {
	for _, q := range []todoapi.ListQuery{
		{},
		{Status: "all", Priority: []string{"", ""}, Tag: []string{"", "  "}, Q: " \t "},
	} {
		f, err := todoapi.ParseListQuery(q)
		if err != nil {
			t.Fatalf("ParseListQuery(%+v): %v", q, err)
		}
		if f.Status != "" || f.Priorities != nil || f.Tags != nil || f.Search != "" ||
			f.DueBefore != nil || f.DueAfter != nil || f.Sort != (todoapi.Sort{}) || f.Limit != 0 || f.After != nil {
			t.Errorf("ParseListQuery(%+v) = %+v, want the zero filter", q, f)
		}
		if f.PageSize() != todoapi.DefaultLimit || f.Sort.String() != "-created" {
			t.Errorf("zero filter: page size %d, sort %s; want %d, -created", f.PageSize(), f.Sort, todoapi.DefaultLimit)
		}
	}
}

func TestParseListQueryCanonical(t *testing.T) {
	f, err := todoapi.ParseListQuery(todoapi.ListQuery{
		Status:    "completed",
		Priority:  []string{"HIGH", "low", "high", ""},
		Tag:       []string{" Work ", "ÄRGER", "work", "ärger", ""},
		Q:         "  50% ÖFF_\\ ",
		DueBefore: "2026-12-01",
		DueAfter:  "2026-11-01T10:00:00+02:00",
		Sort:      "-updated_at",
		Limit:     "007",
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != todoapi.StatusCompleted {
		t.Errorf("Status = %q", f.Status)
	}
	if !slices.Equal(f.Priorities, []todoapi.Priority{todoapi.PriorityLow, todoapi.PriorityHigh}) {
		t.Errorf("Priorities = %v, want [low high]", f.Priorities)
	}
	if !slices.Equal(f.Tags, []string{"work", "ärger"}) {
		t.Errorf("Tags = %q, want folded, trimmed, deduplicated and sorted", f.Tags)
	}
	if f.Search != `50% öff_\` {
		t.Errorf("Search = %q", f.Search)
	}
	if !f.DueBefore.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) ||
		!f.DueAfter.Equal(time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("due bounds = %v, %v", f.DueBefore, f.DueAfter)
	}
	if f.Sort != (todoapi.Sort{Key: todoapi.SortUpdated}) || f.Limit != 7 {
		t.Errorf("Sort = %v, Limit = %d", f.Sort, f.Limit)
	}
}

func TestParseListQueryOffset(t *testing.T) {
	for in, want := range map[string]int{"": 0, "0": 0, "1": 1, "250": 250, "2147483647": todoapi.MaxOffset} {
		f, err := todoapi.ParseListQuery(todoapi.ListQuery{Offset: in})
		if err != nil || f.Offset != want || f.After != nil {
			t.Errorf("offset=%q: Offset %d, After %v, err %v; want %d", in, f.Offset, f.After, err, want)
		}
	}
}

func TestParseSort(t *testing.T) {
	for in, want := range map[string]string{
		"": "-created", "created": "created", "-created": "-created", "created_at": "-created",
		"-created_at": "-created", "updated": "updated", "-updated_at": "-updated", "title": "title",
		"-title": "-title", "due_date": "due_date", "-due_date": "-due_date", "priority": "priority",
		"-priority": "-priority", "created_date": "-created", "-updated_date": "-updated",
		"updated_at": "-updated", "createdAt": "-created", "updatedAt": "-updated", "-createdAt": "-created",
		"dueDate": "due_date", "-dueDate": "-due_date",
	} {
		s, err := todoapi.ParseSort(in)
		if err != nil || s.String() != want {
			t.Errorf("ParseSort(%q) = %v, %v; want %s", in, s, err, want)
		}
	}
	// priority lists the most important first: descending by rank.
	if s, _ := todoapi.ParseSort("priority"); s.Asc {
		t.Errorf("sort=priority is ascending by rank (low first)")
	}
	if s, _ := todoapi.ParseSort("-priority"); !s.Asc {
		t.Errorf("sort=-priority is descending by rank (high first)")
	}
	for _, in := range []string{"owner", "-", "--created", "+created", "Created", "due", "id", " title", "title ", "createdat", "due-date"} {
		if _, err := todoapi.ParseSort(in); err == nil {
			t.Errorf("ParseSort(%q) succeeded", in)
		}
	}
}

// order sets the direction of a sort without a leading "-": asc is
// ascending by value, which for priority is low first; the Python design's
// spellings of created and updated are newest first unless order is asc.
func TestParseListQuerySortOrder(t *testing.T) {
	for _, c := range []struct {
		sort, order string
		want        todoapi.Sort
	}{
		{"", "", todoapi.Sort{Key: todoapi.SortCreated}},
		{"", "asc", todoapi.Sort{Key: todoapi.SortCreated, Asc: true}},
		{"", "desc", todoapi.Sort{Key: todoapi.SortCreated}},
		{"title", "desc", todoapi.Sort{Key: todoapi.SortTitle}},
		{"title", "ASC", todoapi.Sort{Key: todoapi.SortTitle, Asc: true}},
		{"-title", "asc", todoapi.Sort{Key: todoapi.SortTitle}},
		{"priority", "", todoapi.Sort{Key: todoapi.SortPriority}},
		{"priority", "desc", todoapi.Sort{Key: todoapi.SortPriority}},
		{"priority", "asc", todoapi.Sort{Key: todoapi.SortPriority, Asc: true}},
		{"-priority", "desc", todoapi.Sort{Key: todoapi.SortPriority, Asc: true}},
		{"created_date", "", todoapi.Sort{Key: todoapi.SortCreated}},
		{"-created_date", "", todoapi.Sort{Key: todoapi.SortCreated}},
		{"created_date", "asc", todoapi.Sort{Key: todoapi.SortCreated, Asc: true}},
		{"-created_at", "asc", todoapi.Sort{Key: todoapi.SortCreated, Asc: true}},
		{"updatedAt", "desc", todoapi.Sort{Key: todoapi.SortUpdated}},
		{"dueDate", "desc", todoapi.Sort{Key: todoapi.SortDueDate}},
		{"dueDate", "", todoapi.Sort{Key: todoapi.SortDueDate, Asc: true}},
	} {
		f, err := todoapi.ParseListQuery(todoapi.ListQuery{Sort: c.sort, Order: c.order})
		if err != nil || f.Sort != c.want {
			t.Errorf("sort=%q order=%q: %v, %v; want %v", c.sort, c.order, f.Sort, err, c.want)
		}
	}
	var invalid *todoapi.ValidationError
	_, err := todoapi.ParseListQuery(todoapi.ListQuery{Sort: "title", Order: "up"})
	if !errors.As(err, &invalid) || invalid.Fields["order"] == "" || len(invalid.Fields) != 1 {
		t.Errorf("order=up: %v, want a validation error naming order", err)
	}
}

// Every invalid parameter is reported, each under its own name.
func TestParseListQueryErrors(t *testing.T) {
	for _, c := range []struct {
		q    todoapi.ListQuery
		want []string
	}{
		{todoapi.ListQuery{Status: "done"}, []string{"status"}},
		{todoapi.ListQuery{Status: "Pending"}, []string{"status"}},
		{todoapi.ListQuery{Priority: []string{"high", "urgent"}}, []string{"priority"}},
		{todoapi.ListQuery{Priority: []string{"low,high"}}, []string{"priority"}},
		{todoapi.ListQuery{Tag: []string{strings.Repeat("x", todoapi.MaxTagLen+1)}}, []string{"tag"}},
		{todoapi.ListQuery{Tag: []string{"a\x00b"}}, []string{"tag"}},
		{todoapi.ListQuery{Tag: []string{"\xff"}}, []string{"tag"}},
		{todoapi.ListQuery{Q: "\xff"}, []string{"q"}},
		{todoapi.ListQuery{Q: "a\nb"}, []string{"q"}},
		{todoapi.ListQuery{Q: strings.Repeat("é", todoapi.MaxDescriptionLen+1)}, []string{"q"}},
		{todoapi.ListQuery{DueBefore: "tomorrow"}, []string{"due_before"}},
		{todoapi.ListQuery{DueAfter: "2026-13-01"}, []string{"due_after"}},
		{todoapi.ListQuery{Sort: "owner"}, []string{"sort"}},
		{todoapi.ListQuery{Limit: "0"}, []string{"limit"}},
		{todoapi.ListQuery{Limit: "1001"}, []string{"limit"}},
		{todoapi.ListQuery{Limit: "-1"}, []string{"limit"}},
		{todoapi.ListQuery{Limit: "+5"}, []string{"limit"}},
		{todoapi.ListQuery{Limit: "1e3"}, []string{"limit"}},
		{todoapi.ListQuery{Limit: "99999999999999999999"}, []string{"limit"}},
		{todoapi.ListQuery{Cursor: "nope"}, []string{"cursor"}},
		{todoapi.ListQuery{Offset: "-1"}, []string{"offset"}},
		{todoapi.ListQuery{Offset: "+1"}, []string{"offset"}},
		{todoapi.ListQuery{Offset: "ten"}, []string{"offset"}},
		{todoapi.ListQuery{Offset: "2147483648"}, []string{"offset"}},
		{todoapi.ListQuery{Offset: "3", Cursor: todoapi.CursorAfter(todoapi.Sort{}, todoapi.Task{ID: 1}).Encode()}, []string{"offset"}},
		{todoapi.ListQuery{
			Status: "done", Priority: []string{"x"}, Tag: []string{"\x01"}, Q: "\x7f",
			DueBefore: "x", DueAfter: "y", Sort: "x", Limit: "x", Cursor: "x",
		}, []string{"cursor", "due_after", "due_before", "limit", "priority", "q", "sort", "status", "tag"}},
	} {
		_, err := todoapi.ParseListQuery(c.q)
		var invalid *todoapi.ValidationError
		if !errors.As(err, &invalid) {
			t.Errorf("ParseListQuery(%+v): err = %v, want a ValidationError", c.q, err)
			continue
		}
		if got := invalid.Names(); !slices.Equal(got, c.want) {
			t.Errorf("ParseListQuery(%+v) names %v, want %v", c.q, got, c.want)
		}
		for name, msg := range invalid.Fields {
			if msg == "" {
				t.Errorf("no message for %s", name)
			}
		}
	}
}

func TestLimitBounds(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "1000": 1000, "50": 50} {
		f, err := todoapi.ParseListQuery(todoapi.ListQuery{Limit: in})
		if err != nil || f.PageSize() != want {
			t.Errorf("limit=%s: page size %d, %v; want %d", in, f.PageSize(), err, want)
		}
	}
}

// cursorTask has every field a cursor can record.
var cursorTask = todoapi.Task{
	ID:        42,
	Title:     "Ärger über «Straße» ☕ 日本 \"quoted\" <tag> & \\",
	Priority:  todoapi.PriorityHigh,
	DueDate:   &cursorDue,
	CreatedAt: time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
	UpdatedAt: time.Date(1999, 1, 2, 3, 4, 5, 6000, time.UTC),
}

var cursorDue = time.Date(2031, 12, 31, 23, 59, 59, 999999000, time.FixedZone("X", 3600))

func TestCursorRoundTrip(t *testing.T) {
	noDue := cursorTask
	noDue.DueDate = nil
	for _, task := range []todoapi.Task{cursorTask, noDue} {
		for _, name := range []string{"created", "updated", "title", "due_date", "priority"} {
			for _, prefix := range []string{"", "-"} {
				sort, err := todoapi.ParseSort(prefix + name)
				if err != nil {
					t.Fatal(err)
				}
				c := todoapi.CursorAfter(sort, task)
				enc := c.Encode()
				if strings.ContainsFunc(enc, func(r rune) bool {
					return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
				}) {
					t.Errorf("cursor %q needs escaping in a URL", enc)
				}
				f, err := todoapi.ParseListQuery(todoapi.ListQuery{Sort: sort.String(), Cursor: enc})
				if err != nil {
					t.Fatalf("sort=%s: cursor %q does not parse: %v", sort, enc, err)
				}
				got := f.After
				if got.Sort != c.Sort || got.ID != c.ID || got.Title != c.Title || got.Rank != c.Rank ||
					(got.Time == nil) != (c.Time == nil) || (got.Time != nil && !got.Time.Equal(*c.Time)) {
					t.Errorf("sort=%s: cursor round trip gave %+v, want %+v", sort, got, c)
				}
				if got.Time != nil && got.Time.Location() != time.UTC {
					t.Errorf("sort=%s: cursor time %v is not UTC", sort, got.Time)
				}
			}
		}
	}
}

// A cursor is only ever what Encode made: anything else is a 422 on the
// cursor parameter, never a value a store could choke on.
func TestCursorTampering(t *testing.T) {
	good := todoapi.CursorAfter(todoapi.Sort{Key: todoapi.SortTitle, Asc: true}, cursorTask).Encode()
	raw := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	bad := map[string]string{
		"truncated":             good[:len(good)-3],
		"padded":                good + "=",
		"standard base64":       base64.StdEncoding.EncodeToString([]byte(`{"s":"-created","v":"2025-01-01T00:00:00Z","id":1}`)),
		"not base64":            "!!!",
		"too long":              strings.Repeat("A", 5000),
		"not JSON":              raw("hello"),
		"JSON array":            raw(`[1,2]`),
		"trailing data":         raw(`{"s":"-created","v":"2025-01-01T00:00:00Z","id":1}{}`),
		"unknown field":         raw(`{"s":"-created","v":"2025-01-01T00:00:00Z","id":1,"user":"bob"}`),
		"missing id":            raw(`{"s":"-created","v":"2025-01-01T00:00:00Z"}`),
		"missing value":         raw(`{"s":"-created","id":1}`),
		"missing sort":          raw(`{"v":"2025-01-01T00:00:00Z","id":1}`),
		"zero id":               raw(`{"s":"-created","v":"2025-01-01T00:00:00Z","id":0}`),
		"negative id":           raw(`{"s":"-created","v":"2025-01-01T00:00:00Z","id":-5}`),
		"fractional id":         raw(`{"s":"-created","v":"2025-01-01T00:00:00Z","id":1.5}`),
		"huge id":               raw(`{"s":"-created","v":"2025-01-01T00:00:00Z","id":99999999999999999999}`),
		"string id":             raw(`{"s":"-created","v":"2025-01-01T00:00:00Z","id":"1"}`),
		"unknown sort":          raw(`{"s":"-owner","v":"x","id":1}`),
		"alias sort":            raw(`{"s":"-created_at","v":"2025-01-01T00:00:00Z","id":1}`),
		"null time":             raw(`{"s":"-created","v":null,"id":1}`),
		"number time":           raw(`{"s":"-created","v":12345,"id":1}`),
		"bad time":              raw(`{"s":"-created","v":"yesterday","id":1}`),
		"nanosecond time":       raw(`{"s":"-created","v":"2025-01-01T00:00:00.000000001Z","id":1}`),
		"number due date":       raw(`{"s":"due_date","v":1,"id":1}`),
		"null title":            raw(`{"s":"title","v":null,"id":1}`),
		"number title":          raw(`{"s":"title","v":7,"id":1}`),
		"unfolded title":        raw(`{"s":"title","v":"Buy","id":1}`),
		"long title":            raw(`{"s":"title","v":"` + strings.Repeat("a", todoapi.MaxTitleLen+1) + `","id":1}`),
		"priority out of range": raw(`{"s":"priority","v":4,"id":1}`),
		"priority zero":         raw(`{"s":"-priority","v":0,"id":1}`),
		"priority name":         raw(`{"s":"priority","v":"high","id":1}`),
		"null priority":         raw(`{"s":"priority","v":null,"id":1}`),
	}
	for name, c := range bad {
		_, err := todoapi.ParseListQuery(todoapi.ListQuery{Sort: sortOf(c), Cursor: c})
		var invalid *todoapi.ValidationError
		if !errors.As(err, &invalid) || invalid.Fields["cursor"] == "" || len(invalid.Fields) != 1 {
			t.Errorf("%s: err = %v, want a ValidationError for cursor only", name, err)
		}
	}
	// Every single-character change of a good cursor is either refused or
	// decodes to a well-formed position.
	for i := range good {
		for _, r := range "AZaz09-_" {
			c := good[:i] + string(r) + good[i+1:]
			f, err := todoapi.ParseListQuery(todoapi.ListQuery{Sort: "title", Cursor: c})
			if err == nil && (f.After.ID <= 0 || !utf8.ValidString(f.After.Title) || todoapi.Fold(f.After.Title) != f.After.Title) {
				t.Errorf("cursor %q decoded to %+v", c, f.After)
			}
		}
	}
}

// sortOf returns the sort a hand-made cursor claims, so that the tampering
// test checks the cursor itself and not the sort mismatch.
func sortOf(c string) string {
	for _, s := range []string{"title", "due_date", "-priority", "priority"} {
		if b, err := base64.RawURLEncoding.DecodeString(c); err == nil && strings.Contains(string(b), `"s":"`+s+`"`) {
			return s
		}
	}
	return ""
}

func TestCursorFromAnotherSort(t *testing.T) {
	c := todoapi.CursorAfter(todoapi.Sort{Key: todoapi.SortTitle, Asc: true}, cursorTask).Encode()
	for _, sort := range []string{"", "-title", "created", "priority"} {
		_, err := todoapi.ParseListQuery(todoapi.ListQuery{Sort: sort, Cursor: c})
		var invalid *todoapi.ValidationError
		if !errors.As(err, &invalid) || !strings.Contains(invalid.Fields["cursor"], "sort=title") {
			t.Errorf("sort=%q with a title cursor: err = %v, want a cursor error naming sort=title", sort, err)
		}
	}
	// A bad sort is reported as such, not as a cursor mismatch.
	_, err := todoapi.ParseListQuery(todoapi.ListQuery{Sort: "owner", Cursor: c})
	var invalid *todoapi.ValidationError
	if !errors.As(err, &invalid) || invalid.Fields["sort"] == "" || invalid.Fields["cursor"] != "" {
		t.Errorf("bad sort with a good cursor: err = %v, want a sort error only", err)
	}
}

// Fold maps every character so that strings.EqualFold's equivalences hold
// and folding twice changes nothing; it never changes the number of
// characters.
func TestFold(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		f := todoapi.Fold(string(r))
		if utf8.RuneCountInString(f) != 1 || todoapi.Fold(f) != f {
			t.Fatalf("Fold(%U) = %q, folded again %q", r, f, todoapi.Fold(f))
		}
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if todoapi.Fold(string(o)) != f {
				t.Fatalf("Fold(%U) = %q but Fold(%U) = %q; strings.EqualFold says they are equal", r, f, o, todoapi.Fold(string(o)))
			}
		}
	}
	for in, want := range map[string]string{"Buy MILK": "buy milk", "ÄRGER": "ärger", "ſ": "s", "K": "k", "ΣΑΣ": "σασ", "ς": "σ"} {
		if got := todoapi.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}
