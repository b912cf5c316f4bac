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
	// Recurrence is an RFC 5545 recurrence rule (an RRULE value such as
	// "FREQ=WEEKLY;BYDAY=MO"), or nil for a task that does not repeat.
	// Completing a recurring task creates its next occurrence.
	Recurrence *string `json:"recurrence"`
	// Timezone is the IANA zone the task's occurrences are computed in, so
	// that a task due at 09:00 stays at 09:00 local time across
	// daylight-saving changes.
	Timezone string `json:"timezone"`
	// RemindAt is when the owner wants a reminder, or nil for none.
	RemindAt *time.Time `json:"remind_at"`
	// NextOccurrenceID names the task that completing this recurring task
	// created; it is set once, so that completing the task again after
	// reopening it creates no second occurrence.
	NextOccurrenceID *int64 `json:"next_occurrence_id"`
	// SeriesStart is the due date of the first task of this task's series,
	// from which the recurrence rule counts; nil when this task is the
	// first (its own due date starts the series). It is the server's
	// bookkeeping and not shown to clients.
	SeriesStart *time.Time `json:"-"`
	// ReminderPending reports that a reminder is due at RemindAt and has
	// not been sent; it is set whenever RemindAt changes and cleared when
	// the reminder is sent, so that each reminder is sent once.
	ReminderPending bool      `json:"-"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	// Version is 1 when the task is created and grows by one with every
	// stored change, so that a client can tell whether the copy it holds is
	// current and make its edits conditional on it.
	Version int64 `json:"version"`
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
	case reflect.Int:
		return "must be a whole number"
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
	Recurrence  Field[string]
	Timezone    Field[string]
	RemindAt    Field[string]
	// RemindMinutesBefore sets RemindAt that many minutes before the due
	// date the task has after the patch, as older frontends ask for a
	// reminder ("reminder_minutes").
	RemindMinutesBefore Field[int]
}

// Completion is what completing (or reopening) a task did: the task as
// saved and, when completing it created the task's next occurrence, that
// task. Transports answer with both, so the next occurrence is decided here,
// once, and never derived again at the edge.
type Completion struct {
	Task Task
	// NextOccurrence is the task this completion created, or nil.
	NextOccurrence *Task
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
	// ListETag returns the ETag that ListTasks would give the same query
	// now, without listing.
	ListETag(ctx context.Context, user User, q ListQuery) (string, error)
	// UpdateTask, CompleteTask and DeleteTask take at most one
	// Precondition: the write happens only when it holds, else they
	// return a *PreconditionFailedError and change nothing.
	UpdateTask(ctx context.Context, user User, id int64, p TaskPatch, cond ...Precondition) (Task, error)
	// CompleteTask sets completed to the value given, or flips it when
	// completed is absent.
	CompleteTask(ctx context.Context, user User, id int64, completed Field[bool], cond ...Precondition) (Completion, error)
	DeleteTask(ctx context.Context, user User, id int64, cond ...Precondition) error
	// ListTags returns the user's distinct tags as ListTags of Store
	// describes them.
	ListTags(ctx context.Context, user User) ([]string, error)
	ChangeFeed
}

// Store persists users and tasks. Implementations scope every task query to
// the given user ID and report a missing or foreign task as ErrNotFound, and
// an unreachable database as ErrDatabaseUnavailable.
//
// A store holds no write rule: the Service decides what a write stores, and
// a store offers only the small transactional steps of Write (StoreTx), so
// that every write, whichever database keeps it, follows one path.
type Store interface {
	// UpsertUser records u, keeping the first-seen time of a known user and
	// moving its last-seen time to seen.
	UpsertUser(ctx context.Context, u User, seen time.Time) error

	Task(ctx context.Context, userID string, id int64) (Task, error)

	// ListTasks returns the page of the user's tasks that f selects, and
	// how many of the user's tasks match f on all pages. f is canonical, as
	// ParseListQuery makes it. The page holds at most f.PageSize() tasks,
	// never nil; Next is CursorAfter(f.Sort, last task) when more follow.
	// A list is scoped to userID whatever f.After says.
	ListTasks(ctx context.Context, userID string, f TaskFilter) (TaskPage, error)

	// ListTags returns the distinct tags of the user's tasks, never nil:
	// one per Fold(tag), spelled as on the oldest task having it (by
	// created_at, then id, then position in its list), sorted by
	// Fold(tag) byte by byte, as the title sort compares. It reads the
	// user's rows only, through an index.
	ListTags(ctx context.Context, userID string) ([]string, error)

	// Write runs fn with the steps of one write of userID's tasks (whose
	// user row exists) and commits what they stored as one unit: all of it
	// or, when fn returns an error, none of it. Writes of one user commit
	// in the order of the sequence numbers their changes took, so that a
	// reader of the change feed that has seen sequence number n will never
	// see a later commit take a number at or below n.
	//
	// fn may run more than once: a store that reads optimistically runs it
	// again when one of its writes finds that the task changed after fn
	// read it (ErrStale), each time with fresh reads. fn must therefore
	// derive everything it stores from what it reads through tx, and have
	// no other effect. Such a store may also commit a write step as it
	// runs, so fn takes at most one write step (Insert, Save or Delete),
	// as its last action.
	Write(ctx context.Context, userID string, fn func(tx StoreTx) error) error

	// CollectionVersion returns the sequence number of the user's latest
	// change (0 when there was none): it grows with every change to any of
	// the user's tasks. It is one read of the user's row.
	CollectionVersion(ctx context.Context, userID string) (int64, error)

	// ChangesSince returns, in sequence order, the user's live tasks whose
	// latest change has a sequence number above after, and the tombstones
	// of tasks deleted above after (unless live is set: then tasks only),
	// at most limit of them, and whether more follow. It reads one
	// consistent snapshot: no entry past a missing one.
	ChangesSince(ctx context.Context, userID string, after int64, live bool, limit int) (ChangeLog, error)

	// PurgeTombstones removes the tombstones of deletions made before
	// before, at most limit of them, remembering for each user the highest
	// sequence number it removed (ChangeLog.Purged), and returns how many
	// it removed.
	PurgeTombstones(ctx context.Context, before time.Time, limit int) (int, error)

	// SyncKey returns the key that signs change-feed tokens, shared by
	// every process using the database: the stored one, or candidate when
	// none was stored yet (then it is stored).
	SyncKey(ctx context.Context, candidate []byte) ([]byte, error)

	// ServiceKey returns the secret stored under name, storing candidate
	// there first when none is stored yet. Get-or-create is atomic: every
	// replica, however many ask at once, gets the same secret, for good.
	ServiceKey(ctx context.Context, name string, candidate []byte) ([]byte, error)

	// ClaimReminders claims, for this process until until, at most limit
	// reminders that are due at now (pending, of an open task, at or before
	// now) and that no one holds a live claim on, the earliest ones, and
	// returns them in no particular order. Concurrent claimers, in this process or another, never
	// get the same reminder while its claim lasts; a claim that lapses (its
	// process died) can be taken again. A claim only says who tries first:
	// sending stays conditional (StoreTx.Remind).
	ClaimReminders(ctx context.Context, now, until time.Time, limit int) ([]ReminderClaim, error)

	// NextReminder returns the earliest time after which ClaimReminders at
	// now could claim something: the earliest pending reminder of an open
	// task that is not claimed, or the earliest end of a claim on a due
	// one; ok is false when there is no pending reminder.
	NextReminder(ctx context.Context, now time.Time) (at time.Time, ok bool, err error)

	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// ReminderClaim names a due reminder that a store claimed for this
// process.
type ReminderClaim struct {
	UserID string
	TaskID int64
}

// StoreTx is one write's view of a user's tasks inside Store.Write. Each
// write step takes the user's next sequence number and records the change
// under it, with the write itself, so that no write can be stored without
// its entry in the change feed.
type StoreTx interface {
	// Task reads the user's task.
	Task(ctx context.Context, id int64) (Task, error)

	// MultiStep reports whether this write's steps commit together, so
	// that it may take several (completing a recurring task saves it and
	// inserts its next occurrence). When it is false a write may take one
	// step; one that needs more returns ErrNeedsTransaction before its
	// first, and Store.Write runs it again where MultiStep is true.
	MultiStep() bool

	// Insert stores t (whose UserID is the user's) as a new task with
	// Version 1 and returns it with its assigned ID, unless the user
	// already holds maxTasks tasks: then it stores nothing and returns
	// ErrQuotaExceeded. Concurrent inserts never overshoot maxTasks.
	Insert(ctx context.Context, t Task, maxTasks int) (Task, error)

	// Save replaces the stored values of the user's task t.ID by t's,
	// provided its stored version is still t.Version-1; it stores
	// t.Version. ErrStale means the stored version is another (or the task
	// was deleted) since it was read.
	Save(ctx context.Context, t Task) (Task, error)

	// Delete removes the user's task id, provided its stored version is
	// still version (ErrStale otherwise), and keeps a tombstone dated at.
	Delete(ctx context.Context, id, version int64, at time.Time) error

	// Remind records that the reminder of the user's task id was sent,
	// provided the task is still at version and its reminder still
	// pending (ErrStale otherwise): it clears ReminderPending and takes
	// the user's next sequence number for the task, as the change that the
	// feed reports as a reminder (ChangeEntry.RemindedSeq). The task's
	// version stays: the owner's data did not change, and an edit based on
	// it must not fail because a reminder went out meanwhile.
	Remind(ctx context.Context, id, version int64) error
}

// ChangeLog is a range of a user's change feed as a store reads it.
type ChangeLog struct {
	Entries []ChangeEntry
	// HasMore reports that more entries follow the last one.
	HasMore bool
	// Last is the highest sequence number the user's feed had when it was
	// read (its collection version).
	Last int64
	// Purged is the highest sequence number of a tombstone removed from
	// the user's feed: a reader positioned before it may have missed a
	// deletion.
	Purged int64
}

// ChangeEntry is one entry of ChangeLog: a live task, or a tombstone when
// Task is nil.
type ChangeEntry struct {
	// Seq is the sequence number of the task's latest change.
	Seq int64
	// CreatedSeq is the sequence number of the task's creation (live tasks).
	CreatedSeq int64
	// RemindedSeq is the sequence number under which the task's latest
	// reminder was sent, or 0 (live tasks).
	RemindedSeq int64
	Task        *Task
	// ID and DeletedAt describe a tombstone.
	ID        int64
	DeletedAt time.Time
}
