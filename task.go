package todoapi

import (
	"context"
	"encoding/json"
	"reflect"
	"time"
)

// Task is one to-do item owned by one user. Its JSON form is the wire format
// the frontends were written against, so the field names must not change.
type Task struct {
	ID          int64      `json:"id"`
	UserID      string     `json:"user_id"`
	Title       string     `json:"title"`
	Description *string    `json:"description"`
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at"`
	Priority    Priority   `json:"priority"`
	Tags        []string   `json:"tags"`
	DueDate     *time.Time `json:"due_date"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Priority orders tasks by urgency.
type Priority string

const (
	PriorityLow    Priority = "low"
	PriorityMedium Priority = "medium"
	PriorityHigh   Priority = "high"
)

// Priorities lists every priority from least to most urgent.
var Priorities = []Priority{PriorityLow, PriorityMedium, PriorityHigh}

// Rank orders priorities from 1 (low) to 3 (high); it is 0 for an unknown value.
// Stores persist the rank so that sorting by priority is an index scan.
func (p Priority) Rank() int {
	switch p {
	case PriorityLow:
		return 1
	case PriorityMedium:
		return 2
	case PriorityHigh:
		return 3
	}
	return 0
}

// PriorityFromRank is the inverse of Priority.Rank.
func PriorityFromRank(rank int) (Priority, bool) {
	if rank < 1 || rank > len(Priorities) {
		return "", false
	}
	return Priorities[rank-1], true
}

// Status selects tasks by completion.
type Status string

const (
	StatusAll       Status = "all"
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
)

// Field is one field of a partial update as the client sent it: absent
// (Set is false), explicitly null (Set and Null), or a value. Invalid, when
// not empty, says why a value that was sent could not be read as a T (a
// number where text belongs, say); validation reports it with the other
// fields' problems, so a client learns everything wrong at once.
type Field[T any] struct {
	Set     bool
	Null    bool
	Value   T
	Invalid string
}

// UnmarshalJSON reads a field of a JSON object: null is Null, and a value
// of the wrong type is recorded in Invalid rather than returned as an
// error, so that decoding goes on and every field gets checked. Every
// transport decodes client JSON through it, so a wrong type reads the same
// whichever way it came.
func (f *Field[T]) UnmarshalJSON(b []byte) error {
	f.Set = true
	if string(b) == "null" {
		f.Null = true
		return nil
	}
	if err := json.Unmarshal(b, &f.Value); err != nil {
		var zero T
		f.Value, f.Invalid = zero, expectedType(reflect.TypeFor[T]().Kind())
	}
	return nil
}

// expectedType says what a value of a field of kind k must be.
func expectedType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Slice:
		return "must be an array of strings"
	}
	return "has the wrong type"
}

// Value returns a Field that is present with value v.
func Value[T any](v T) Field[T] { return Field[T]{Set: true, Value: v} }

// TaskPatch is a client's description of a task or of changes to one, before
// validation. Creating a task applies a patch to the defaults; PUT and PATCH
// apply one to the stored task. Null clears description, due_date and tags and
// is invalid for the other fields.
type TaskPatch struct {
	Title       Field[string]
	Description Field[string]
	Completed   Field[bool]
	Priority    Field[string]
	Tags        Field[[]string]
	DueDate     Field[string]
}

// User is an authenticated caller. ID comes from the token's subject; Email
// and Name are recorded when the token carries them.
type User struct {
	ID    string
	Email string
	Name  string
}

// TaskService is what the transport layer needs from the domain. Every method
// acts on behalf of user and can never see or change another user's tasks.
type TaskService interface {
	CreateTask(ctx context.Context, user User, p TaskPatch) (Task, error)
	Task(ctx context.Context, user User, id int64) (Task, error)
	// ListTasks returns one page of the user's tasks as q selects them, or
	// a *ValidationError naming each invalid parameter.
	ListTasks(ctx context.Context, user User, q ListQuery) (TaskPage, error)
	UpdateTask(ctx context.Context, user User, id int64, p TaskPatch) (Task, error)
	// CompleteTask sets completed to the value given, or flips it when
	// completed is absent.
	CompleteTask(ctx context.Context, user User, id int64, completed Field[bool]) (Task, error)
	DeleteTask(ctx context.Context, user User, id int64) error
	// ListTags returns the user's distinct tags as ListTags of Store
	// describes them.
	ListTags(ctx context.Context, user User) ([]string, error)
}

// Store persists users and tasks. Implementations scope every task query to
// the given user ID and report a missing or foreign task as ErrNotFound, and
// an unreachable database as ErrDatabaseUnavailable.
type Store interface {
	// UpsertUser records u, keeping the first-seen time of a known user and
	// moving its last-seen time to seen.
	UpsertUser(ctx context.Context, u User, seen time.Time) error

	// CreateTask stores t (whose UserID names an existing user) and returns
	// it with its assigned ID, unless the user already holds quota tasks:
	// then it stores nothing and returns ErrQuotaExceeded. The check and the
	// insert are atomic, so concurrent creates never overshoot the quota.
	CreateTask(ctx context.Context, t Task, quota int) (Task, error)

	Task(ctx context.Context, userID string, id int64) (Task, error)

	// ListTasks returns the page of the user's tasks that f selects, and
	// how many of the user's tasks match f on all pages. f is canonical, as
	// ParseListQuery makes it. The page holds at most f.PageSize() tasks,
	// never nil; Next is CursorAfter(f.Sort, last task) when more follow.
	// A list is scoped to userID whatever f.After says.
	ListTasks(ctx context.Context, userID string, f TaskFilter) (TaskPage, error)

	// UpdateTask loads the task, calls change on it and, when change reports
	// that it changed something, saves it. Load and save are atomic: no other
	// update of the same task interleaves. change must not block.
	UpdateTask(ctx context.Context, userID string, id int64, change func(*Task) bool) (Task, error)

	DeleteTask(ctx context.Context, userID string, id int64) error

	// ListTags returns the distinct tags of the user's tasks, never nil:
	// one per Fold(tag), spelled as on the oldest task having it (by
	// created_at, then id, then position in its list), sorted by
	// Fold(tag) byte by byte, as the title sort compares. It reads the
	// user's rows only, through an index.
	ListTags(ctx context.Context, userID string) ([]string, error)

	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	Close() error
}
