package todoapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Listing. The rules live here once: ParseListQuery turns the
// client's parameters into a TaskFilter whose every value is canonical and
// valid, so a store only translates a TaskFilter into its SQL dialect, and
// the opaque cursor is encoded and decoded here and nowhere else.

// Page sizes.
const (
	DefaultLimit = 1000
	MaxLimit     = 1000
)

// maxSearchLen bounds q: a longer string can match neither a title nor a
// description.
const maxSearchLen = MaxDescriptionLen

// MaxOffset is the largest offset parameter accepted; any larger skips
// every task a user can hold just the same.
const MaxOffset = 1<<31 - 1

// maxCursorLen bounds the cursor parameter before it is decoded. The longest
// cursor this package issues (a title of MaxTitleLen four-byte characters,
// JSON-escaped) is well under it.
const maxCursorLen = 4096

// SortKey is a field tasks can be listed by.
type SortKey uint8

// The sort keys. SortCreated is the zero value, so that the zero Sort is the
// default order.
const (
	SortCreated SortKey = iota
	SortUpdated
	SortTitle
	SortDueDate
	SortPriority
)

var sortKeyNames = [...]string{
	SortCreated:  "created",
	SortUpdated:  "updated",
	SortTitle:    "title",
	SortDueDate:  "due_date",
	SortPriority: "priority",
}

// sortAlias is another spelling of a sort key that clients send. The
// Python design's spellings of the creation and update times list newest
// first whatever the sign, as that design does; only an explicit ascending
// order turns them around.
type sortAlias struct {
	key         SortKey
	newestFirst bool
}

var sortKeyAliases = map[string]sortAlias{
	"created_at":   {SortCreated, true},
	"created_date": {SortCreated, true},
	"createdAt":    {SortCreated, true},
	"updated_at":   {SortUpdated, true},
	"updated_date": {SortUpdated, true},
	"updatedAt":    {SortUpdated, true},
	"dueDate":      {SortDueDate, false},
}

func (k SortKey) String() string {
	if int(k) < len(sortKeyNames) {
		return sortKeyNames[k]
	}
	return "SortKey(" + strconv.Itoa(int(k)) + ")"
}

// naturallyAscending reports the direction a key's bare name lists in:
// ascending for every key but priority, whose bare name lists the most
// important tasks first (high, medium, low), which is what a user choosing
// "sort by priority" expects.
func (k SortKey) naturallyAscending() bool { return k != SortPriority }

// Sort is a list order: by Key, ascending when Asc, and then by task id in
// the same direction, so that the order is total and a cursor names exactly
// one position in it. The zero value is the default order, newest first.
//
// Two keys have rules of their own: SortTitle compares Fold(title) byte by
// byte, which is Unicode code point order (no locale: "é" sorts after "z"),
// and SortDueDate puts tasks without a due date after all dated tasks in
// both directions. SortPriority ascending is by rank, low, medium, high;
// its bare name "priority" is the other direction (see naturallyAscending).
type Sort struct {
	Key SortKey
	Asc bool
}

// String is the canonical spelling of s as the sort parameter takes it: the
// key's name for its natural direction, preceded by "-" for the other.
func (s Sort) String() string {
	if s.Asc == s.Key.naturallyAscending() {
		return s.Key.String()
	}
	return "-" + s.Key.String()
}

const sortMessage = `must be one of created, updated, title, due_date, priority, optionally preceded by "-" for the reverse order`

// ParseSort reads the sort parameter: a key name, optionally preceded by "-"
// for the reverse of the key's natural order. The empty string is the
// default order.
func ParseSort(s string) (Sort, error) {
	sort, err, _ := parseSort(s, "")
	return sort, err
}

// parseSort reads the sort parameter together with order ("asc", "desc"
// or empty), which sets the direction when sort has no leading "-": asc is
// ascending by value (oldest, A to Z, low priority first), desc the
// reverse. The Python design's spellings of created and updated list newest
// first unless order is asc, with or without a "-". It reports an invalid
// order separately from an invalid sort.
func parseSort(s, order string) (sort Sort, sortErr, orderErr error) {
	switch {
	case order == "", strings.EqualFold(order, "asc"), strings.EqualFold(order, "desc"):
	default:
		orderErr = errors.New(`must be "asc" or "desc"`)
		order = ""
	}
	asc := strings.EqualFold(order, "asc")
	if s == "" {
		if order == "" {
			return Sort{}, nil, orderErr
		}
		return Sort{Key: SortCreated, Asc: asc}, nil, orderErr
	}
	name, reverse := strings.CutPrefix(s, "-")
	key, found, newestFirst := SortKey(0), false, false
	for k, n := range sortKeyNames {
		if name == n {
			key, found = SortKey(k), true
		}
	}
	if a, ok := sortKeyAliases[name]; ok && !found {
		key, found, newestFirst = a.key, true, a.newestFirst
	}
	switch {
	case !found:
		return Sort{}, errors.New(sortMessage), orderErr
	case newestFirst:
		return Sort{Key: key, Asc: asc}, nil, orderErr
	case reverse:
		return Sort{Key: key, Asc: !key.naturallyAscending()}, nil, orderErr
	case order != "":
		return Sort{Key: key, Asc: asc}, nil, orderErr
	}
	return Sort{Key: key, Asc: key.naturallyAscending()}, nil, orderErr
}

// TaskFilter selects and orders the tasks a list returns. The zero value
// selects the first DefaultLimit tasks of a user, newest first. Values are
// canonical: ParseListQuery builds filters from client input, and stores may
// rely on its rules (folded text, no duplicates, Limit within bounds).
type TaskFilter struct {
	Status Status
	// Priorities selects tasks having any of these; empty selects all.
	Priorities []Priority
	// Tags selects tasks having every one of these, folded (see Fold).
	Tags []string
	// Search selects tasks whose folded title or description contains it;
	// it is folded and matched literally (no wildcards).
	Search string
	// DueBefore and DueAfter are exclusive bounds on the due date; a task
	// without one matches neither.
	DueBefore, DueAfter *time.Time
	// Recurring, when set, selects the tasks that have a recurrence rule
	// (true) or that have none (false).
	Recurring *bool
	// RemindBefore and RemindAfter are exclusive bounds on remind_at; a
	// task without a reminder matches neither.
	RemindBefore, RemindAfter *time.Time

	Sort Sort
	// Limit is the page size; zero means DefaultLimit.
	Limit int
	// After continues the list after this position; nil starts at the
	// beginning. Its Sort equals the filter's.
	After *Cursor
	// Offset skips this many matching tasks, in sort order, before the
	// page; it is zero whenever After is set. Clients that page by offset
	// use it; a cursor is exact even while tasks are added or
	// removed, an offset is not.
	Offset int
}

// PageSize is the number of tasks one page holds.
func (f TaskFilter) PageSize() int {
	if f.Limit <= 0 || f.Limit > MaxLimit {
		return DefaultLimit
	}
	return f.Limit
}

// TotalInPage reports whether a store should read the total with the page
// (as a subquery of the page's statement). After a cursor or an offset it
// must; on a first page it need not, since a first page that holds every
// match, as a user's whole list usually does, counts itself.
func (f TaskFilter) TotalInPage() bool {
	return f.After != nil || f.Offset > 0
}

// StatusOnly reports whether f filters by status at most, so that its
// total is one a store keeps per user (all, pending, completed tasks) and
// need not count.
func (f TaskFilter) StatusOnly() bool {
	return len(f.Priorities) == 0 && len(f.Tags) == 0 && f.Search == "" && f.DueBefore == nil && f.DueAfter == nil &&
		f.Recurring == nil && f.RemindBefore == nil && f.RemindAfter == nil
}

// FinishPage completes a page a store read with one row more than
// PageSize, which tells whether more follow: it trims that row, sets Next,
// and fills Total from the rows when TotalInPage was false. It reports
// whether Total is still unknown and the store must count separately: a
// full first page does not know how many follow, and a page past the end
// read no row to carry the subquery's count.
func (f TaskFilter) FinishPage(p *TaskPage) (needsCount bool) {
	counted := f.TotalInPage()
	if !counted {
		p.Total = len(p.Tasks)
	}
	if n := f.PageSize(); len(p.Tasks) > n {
		p.Tasks = p.Tasks[:n]
		p.Next = CursorAfter(f.Sort, p.Tasks[n-1])
	}
	return (counted && len(p.Tasks) == 0) || (!counted && p.Next != nil)
}

// TaskPage is one page of a list.
type TaskPage struct {
	Tasks []Task
	// Total counts the tasks matching the filter on all pages together.
	Total int
	// Next continues the list after the last task of this page; nil when no
	// task follows it.
	Next *Cursor
	// ETag identifies this page's content: the user's collection version
	// when it was read and the query. The Service sets it.
	ETag string
	// NextCursor is Next sealed for the client (CursorSealer), set by the
	// service: the value transports hand out; "" when Next is nil.
	NextCursor string
}

// ListQuery holds the list parameters as the client sent them, before
// validation. An empty string, or an empty element of a repeated parameter,
// counts as absent.
type ListQuery struct {
	Status    string
	Priority  []string
	Tag       []string
	Q         string
	DueBefore string
	DueAfter  string
	Recurring string
	// RemindBefore and RemindAfter take timestamps as DueBefore does.
	RemindBefore string
	RemindAfter  string
	Sort         string
	// Order is asc or desc: the direction of Sort when it has no
	// leading "-".
	Order  string
	Limit  string
	Cursor string
	Offset string

	// Invalid holds what a transport already found wrong while reading the
	// parameters (an alias with a bad value, an argument of the wrong
	// type), by the name the client used. It is reported in the same
	// *ValidationError as the rest, so that a client learns every mistake
	// at once, and the parameters are parsed once, here.
	Invalid map[string]string
}

// ParseListQuery checks every parameter of q and returns the filter it
// describes, or a *ValidationError naming each invalid parameter (status,
// priority, tag, q, due_before, due_after, recurring, remind_before,
// remind_after, sort, order, limit, cursor, offset).
//
// The cursor is read in its plain form (Cursor.Encode), as stores and their
// tests use it; the service opens sealed cursors (CursorSealer) instead.
func ParseListQuery(q ListQuery) (TaskFilter, error) {
	return parseListQuery(q, ParseCursor)
}

// parseListQuery is ParseListQuery with openCursor reading the cursor.
func parseListQuery(q ListQuery, openCursor func(string) (*Cursor, error)) (TaskFilter, error) {
	var f TaskFilter
	bad := problems{}
	for name, msg := range q.Invalid {
		bad.add(name, msg)
	}

	switch Status(q.Status) {
	case "", StatusAll:
	case StatusPending, StatusCompleted:
		f.Status = Status(q.Status)
	default:
		bad.add("status", `must be one of "all", "pending", "completed"`)
	}

	for _, v := range q.Priority {
		if v == "" {
			continue
		}
		p, ok := ParsePriority(v)
		if !ok {
			bad.add("priority", `each value must be one of "low", "medium", "high"`)
			continue
		}
		if !slices.Contains(f.Priorities, p) {
			f.Priorities = append(f.Priorities, p)
		}
	}
	// One order for a given set keeps the generated SQL, and so the
	// database's plan cache, the same.
	slices.SortFunc(f.Priorities, func(a, b Priority) int { return a.Rank() - b.Rank() })

	// Blank values are absent, as blank tags cannot be stored.
	tags := slices.DeleteFunc(slices.Clone(q.Tag), func(s string) bool { return strings.TrimSpace(s) == "" })
	if clean, msg := cleanTags(tags); msg != "" {
		bad.add("tag", msg)
	} else {
		for _, tag := range clean {
			if key := Fold(tag); !slices.Contains(f.Tags, key) {
				f.Tags = append(f.Tags, key)
			}
		}
		slices.Sort(f.Tags)
	}

	switch search, msg := cleanText(q.Q, false); {
	case msg != "":
		bad.add("q", msg)
	case utf8.RuneCountInString(search) > maxSearchLen:
		bad.add("q", fmt.Sprintf("must be at most %d characters", maxSearchLen))
	default:
		f.Search = Fold(search)
	}

	for _, p := range []struct {
		name  string
		value string
		dst   **time.Time
	}{
		{"due_before", q.DueBefore, &f.DueBefore}, {"due_after", q.DueAfter, &f.DueAfter},
		{"remind_before", q.RemindBefore, &f.RemindBefore}, {"remind_after", q.RemindAfter, &f.RemindAfter},
	} {
		if p.value == "" {
			continue
		}
		if t, err := ParseTime(p.value); err != nil {
			bad.add(p.name, err.Error())
		} else {
			*p.dst = &t
		}
	}

	switch strings.ToLower(q.Recurring) {
	case "":
	case "true", "1":
		f.Recurring = new(true)
	case "false", "0":
		f.Recurring = new(false)
	default:
		bad.add("recurring", "must be true or false")
	}

	sortOK := true
	s, sortErr, orderErr := parseSort(q.Sort, q.Order)
	if sortErr != nil {
		bad.add("sort", sortErr.Error())
		sortOK = false
	} else {
		f.Sort = s
	}
	if orderErr != nil {
		bad.add("order", orderErr.Error())
	}

	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > MaxLimit || q.Limit[0] == '+' {
			bad.add("limit", fmt.Sprintf("must be an integer from 1 to %d", MaxLimit))
		} else {
			f.Limit = n
		}
	}

	if q.Cursor != "" {
		c, err := openCursor(q.Cursor)
		switch {
		case err != nil:
			bad.add("cursor", err.Error())
		case sortOK && c.Sort != f.Sort:
			// The position is a value of another field: continuing from it
			// would return an arbitrary slice of this order.
			bad.add("cursor", fmt.Sprintf("belongs to sort=%s; send it with that sort, or start again without a cursor", c.Sort))
		default:
			f.After = c
		}
	}

	if q.Offset != "" {
		n, err := strconv.Atoi(q.Offset)
		switch {
		case err != nil || n < 0 || n > MaxOffset || q.Offset[0] == '+':
			bad.add("offset", fmt.Sprintf("must be an integer from 0 to %d", MaxOffset))
		case q.Cursor != "":
			bad.add("offset", "cannot be combined with cursor; send one or the other")
		default:
			f.Offset = n
		}
	}

	return f, bad.err()
}

// Fold returns s case-folded, the form in which list filters and the title
// sort compare text. Each character becomes the lower case of its upper case
// (so "ſ", "S" and "s" all fold to "s", as strings.EqualFold has it), which
// keeps the number of characters. Stores keep folded copies of titles,
// descriptions and tags and compare them byte by byte, so both databases
// agree with each other and with Go, whatever their collation or locale.
func Fold(s string) string {
	return strings.Map(foldRune, s)
}

func foldRune(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }

// FoldedText is the folded form of a task's title, description and tags,
// which list filters and the title sort compare. Stores keep it beside the
// task and rewrite it whenever they write the task.
type FoldedText struct {
	Title       string
	Description *string
	Tags        []string // never nil
}

// FoldedText returns t's text folded with Fold.
func (t Task) FoldedText() FoldedText {
	k := FoldedText{Title: Fold(t.Title), Tags: make([]string, len(t.Tags))}
	if t.Description != nil {
		k.Description = ptrTo(Fold(*t.Description))
	}
	for i, tag := range t.Tags {
		k.Tags[i] = Fold(tag)
	}
	return k
}

// Cursor is a position in one sort order: just after a task with the
// recorded sort value and id. Only the value of Sort.Key is meaningful:
//
//   - SortCreated, SortUpdated: Time
//   - SortDueDate: Time, or nil for a task without a due date
//   - SortTitle: Title, the folded title
//   - SortPriority: Rank, the priority's rank
//
// A cursor carries no user: stores scope every list to the caller, so a
// cursor only ever positions the caller within the caller's own tasks.
type Cursor struct {
	Sort  Sort
	ID    int64
	Time  *time.Time
	Title string
	Rank  int
}

// CursorAfter returns the position just after t in sort order s.
func CursorAfter(s Sort, t Task) *Cursor {
	c := &Cursor{Sort: s, ID: t.ID}
	switch s.Key {
	case SortCreated:
		c.Time = ptrTo(t.CreatedAt.UTC())
	case SortUpdated:
		c.Time = ptrTo(t.UpdatedAt.UTC())
	case SortDueDate:
		if t.DueDate != nil {
			c.Time = ptrTo(t.DueDate.UTC())
		}
	case SortTitle:
		c.Title = Fold(t.Title)
	case SortPriority:
		c.Rank = t.Priority.Rank()
	}
	return c
}

func ptrTo[T any](v T) *T { return &v }

// cursorJSON is a cursor's wire form, base64url-encoded without padding:
// the sort it belongs to, the sort value of the last task and its id.
type cursorJSON struct {
	Sort  *string         `json:"s"`
	Value json.RawMessage `json:"v"`
	ID    *int64          `json:"id"`
}

// Encode returns c as the opaque string the cursor parameter takes.
func (c *Cursor) Encode() string {
	var v any
	switch c.Sort.Key {
	case SortCreated, SortUpdated, SortDueDate:
		if c.Time != nil {
			v = c.Time.UTC().Format(time.RFC3339Nano)
		}
	case SortTitle:
		v = c.Title
	case SortPriority:
		v = c.Rank
	}
	value, err := json.Marshal(v)
	if err != nil {
		panic("todoapi: encode cursor: " + err.Error()) // strings, numbers and null always encode
	}
	s := c.Sort.String()
	b, err := json.Marshal(cursorJSON{Sort: &s, Value: value, ID: &c.ID})
	if err != nil {
		panic("todoapi: encode cursor: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = errors.New("is not a cursor from this list; use the one in the previous response's Link header")

// ParseCursor decodes a cursor made by Encode. Anything else, including a
// cursor edited by hand, is an error: every field must be present, of the
// right type and in range, so that a store never sees a value it cannot
// compare.
func ParseCursor(s string) (*Cursor, error) {
	if len(s) > maxCursorLen {
		return nil, errBadCursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errBadCursor
	}
	var w cursorJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || w.Sort == nil || w.ID == nil || w.Value == nil {
		return nil, errBadCursor
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errBadCursor
	}
	sort, err := ParseSort(*w.Sort)
	if err != nil || *w.Sort != sort.String() || *w.ID <= 0 {
		return nil, errBadCursor
	}
	c := &Cursor{Sort: sort, ID: *w.ID}
	null := string(w.Value) == "null"
	switch sort.Key {
	case SortCreated, SortUpdated, SortDueDate:
		if null && sort.Key == SortDueDate {
			break
		}
		var v string
		if err := json.Unmarshal(w.Value, &v); err != nil {
			return nil, errBadCursor
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || !t.Equal(t.Truncate(time.Microsecond)) || t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
			return nil, errBadCursor
		}
		c.Time = ptrTo(t.UTC())
	case SortTitle:
		var v *string
		if err := json.Unmarshal(w.Value, &v); err != nil || v == nil {
			return nil, errBadCursor
		}
		// No title holds a control character (U+0000 in particular, which
		// PostgreSQL text cannot even compare against).
		if !utf8.ValidString(*v) || utf8.RuneCountInString(*v) > MaxTitleLen || Fold(*v) != *v ||
			strings.ContainsFunc(*v, unicode.IsControl) {
			return nil, errBadCursor
		}
		c.Title = *v
	case SortPriority:
		var v *int
		if err := json.Unmarshal(w.Value, &v); err != nil || v == nil {
			return nil, errBadCursor
		}
		if _, ok := PriorityFromRank(*v); !ok {
			return nil, errBadCursor
		}
		c.Rank = *v
	}
	return c, nil
}
