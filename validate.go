package todoapi

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on task fields, in Unicode code points after trimming.
const (
	MaxTitleLen       = 200
	MaxDescriptionLen = 1000
	MaxTagLen         = 50
	MaxTags           = 20
)

// taskChange is a validated TaskPatch: every value is canonical and ready to
// store. A set Field with a nil pointer or slice clears that field.
type taskChange struct {
	title       Field[string]
	description Field[*string]
	completed   Field[bool]
	priority    Field[Priority]
	tags        Field[[]string]
	dueDate     Field[*time.Time]
	recurrence  Field[*string]
	timezone    Field[string]
	remindAt    Field[*time.Time]
	// remindBefore is resolved against the due date the task has after
	// the change, by check.
	remindBefore Field[time.Duration]
}

// MaxRemindMinutes bounds reminder_minutes: a year before the due date.
const MaxRemindMinutes = 366 * 24 * 60

// validate checks every field of p and returns its canonical form, or a
// *ValidationError naming each invalid field. A new task needs a title.
// rules reads recurrence rules; when it is nil, a patch that sets one is
// invalid. Rules between fields (a recurring task needs a due date) are
// checked against the task the change applies to, by check.
func (p TaskPatch) validate(isNew bool, rules RuleEngine) (taskChange, error) {
	var c taskChange
	bad := problems{}

	if isNew && !p.Title.Set {
		bad.add("title", "is required")
	}
	// Values of the wrong type are reported first; the checks below then
	// find nothing new to say about those fields.
	for name, msg := range map[string]string{
		"title": p.Title.Invalid, "description": p.Description.Invalid,
		"completed": p.Completed.Invalid, "priority": p.Priority.Invalid,
		"tags": p.Tags.Invalid, "due_date": p.DueDate.Invalid,
		"recurrence": p.Recurrence.Invalid, "timezone": p.Timezone.Invalid,
		"remind_at": p.RemindAt.Invalid, "reminder_minutes": p.RemindMinutesBefore.Invalid,
	} {
		if msg != "" {
			bad.add(name, msg)
		}
	}
	if f := p.Title; f.Set {
		switch title, msg := cleanText(f.Value, false); {
		case f.Null:
			bad.add("title", "must not be null")
		case msg != "":
			bad.add("title", msg)
		case title == "":
			bad.add("title", "must not be empty")
		case utf8.RuneCountInString(title) > MaxTitleLen:
			bad.add("title", fmt.Sprintf("must be at most %d characters", MaxTitleLen))
		default:
			c.title = Value(title)
		}
	}

	if f := p.Description; f.Set {
		switch desc, msg := cleanText(f.Value, true); {
		case msg != "":
			bad.add("description", msg)
		case utf8.RuneCountInString(desc) > MaxDescriptionLen:
			bad.add("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLen))
		case f.Null || desc == "":
			c.description = Value[*string](nil)
		default:
			c.description = Value(&desc)
		}
	}

	if f := p.Completed; f.Set {
		if f.Null {
			bad.add("completed", "must be true or false, not null")
		} else {
			c.completed = f
		}
	}

	if f := p.Priority; f.Set {
		if prio, ok := ParsePriority(f.Value); ok && !f.Null {
			c.priority = Value(prio)
		} else {
			bad.add("priority", `must be one of "low", "medium", "high"`)
		}
	}

	if f := p.Tags; f.Set {
		if tags, msg := cleanTags(f.Value); msg != "" {
			bad.add("tags", msg)
		} else {
			c.tags = Value(tags)
		}
	}

	if f := p.DueDate; f.Set {
		if f.Null {
			c.dueDate = Value[*time.Time](nil)
		} else if due, err := ParseTime(f.Value); err != nil {
			bad.add("due_date", err.Error())
		} else {
			c.dueDate = Value(&due)
		}
	}

	if f := p.Recurrence; f.Set && f.Invalid == "" {
		switch rule, msg := cleanText(f.Value, false); {
		case f.Null || (msg == "" && rule == ""):
			c.recurrence = Value[*string](nil)
		case msg != "":
			bad.add("recurrence", msg)
		case rules == nil:
			bad.add("recurrence", "recurring tasks are not enabled on this server")
		default:
			if canon, err := rules.CanonicalRule(rule); err != nil {
				bad.add("recurrence", err.Error())
			} else {
				c.recurrence = Value(&canon)
			}
		}
	}

	if f := p.Timezone; f.Set && f.Invalid == "" {
		name := strings.TrimSpace(f.Value)
		if f.Null || name == "" {
			c.timezone = Value(DefaultTimezone)
		} else if _, err := LoadTimezone(name); err != nil {
			bad.add("timezone", err.Error())
		} else {
			c.timezone = Value(name)
		}
	}

	if f := p.RemindAt; f.Set && f.Invalid == "" {
		if f.Null {
			c.remindAt = Value[*time.Time](nil)
		} else if at, err := ParseTime(f.Value); err != nil {
			bad.add("remind_at", err.Error())
		} else {
			c.remindAt = Value(&at)
		}
	}

	if f := p.RemindMinutesBefore; f.Set && f.Invalid == "" {
		switch {
		case f.Null:
			c.remindAt = Value[*time.Time](nil)
		case f.Value < 0 || f.Value > MaxRemindMinutes:
			bad.add("reminder_minutes", fmt.Sprintf("must be a whole number of minutes from 0 to %d", MaxRemindMinutes))
		case p.RemindAt.Set:
			bad.add("reminder_minutes", "must not be sent together with remind_at")
		default:
			c.remindBefore = Value(time.Duration(f.Value) * time.Minute)
		}
	}

	return c, bad.err()
}

// check applies the rules that tie fields together to the task t would
// become, and resolves a reminder given in minutes before the due date. A
// problem caused by clearing due_date alone is reported at due_date.
func (c *taskChange) check(t *Task) error {
	due := t.DueDate
	if c.dueDate.Set {
		due = c.dueDate.Value
	}
	recurring := t.Recurrence != nil
	if c.recurrence.Set {
		recurring = c.recurrence.Value != nil
	}
	bad := problems{}
	if recurring && due == nil {
		if c.dueDate.Set && !c.recurrence.Set {
			bad.add("due_date", "cannot be cleared while the task recurs; clear recurrence too")
		} else {
			bad.add("recurrence", "needs a due_date: a series starts at the task's due date")
		}
	}
	if c.remindBefore.Set {
		if due == nil {
			bad.add("reminder_minutes", "needs a due_date to count back from")
		} else {
			at := due.Add(-c.remindBefore.Value)
			c.remindAt = Value(&at)
		}
	}
	return bad.err()
}

// apply writes the change into t and reports whether any stored value
// changed. completed_at follows completed, and updated_at moves to now only
// when something changed.
func (c taskChange) apply(t *Task, now time.Time) bool {
	changed := false
	if c.title.Set && c.title.Value != t.Title {
		t.Title, changed = c.title.Value, true
	}
	if c.description.Set && !equalPtr(c.description.Value, t.Description) {
		t.Description, changed = c.description.Value, true
	}
	if c.completed.Set && c.completed.Value != t.Completed {
		t.Completed, changed = c.completed.Value, true
		t.CompletedAt = nil
		if t.Completed {
			t.CompletedAt = &now
		} else if t.ReminderPending && t.RemindAt != nil && !t.RemindAt.After(now) {
			// Reopened after its reminder's time: the reminder was not
			// sent while the task was done, and is not sent late now. A
			// reminder still ahead stays due.
			t.ReminderPending = false
		}
	}
	if c.priority.Set && c.priority.Value != t.Priority {
		t.Priority, changed = c.priority.Value, true
	}
	if c.tags.Set && !slices.Equal(c.tags.Value, t.Tags) {
		t.Tags, changed = c.tags.Value, true
	}
	if c.dueDate.Set && !equalTime(c.dueDate.Value, t.DueDate) {
		t.DueDate, changed = c.dueDate.Value, true
	}
	if c.recurrence.Set && !equalPtr(c.recurrence.Value, t.Recurrence) {
		// A new rule starts a new series, at the task's due date.
		t.Recurrence, t.SeriesStart, changed = c.recurrence.Value, nil, true
	}
	if c.timezone.Set && c.timezone.Value != t.Timezone {
		t.Timezone, changed = c.timezone.Value, true
	}
	if c.remindAt.Set && !equalTime(c.remindAt.Value, t.RemindAt) {
		// A reminder moved is due again, even if the old one was sent.
		t.RemindAt, t.ReminderPending, changed = c.remindAt.Value, c.remindAt.Value != nil, true
	}
	if changed {
		t.UpdatedAt = now
	}
	return changed
}

// ParsePriority matches a priority name case-insensitively.
func ParsePriority(s string) (Priority, bool) {
	for _, p := range Priorities {
		if strings.EqualFold(s, string(p)) {
			return p, true
		}
	}
	return "", false
}

// cleanText trims s and rejects invalid UTF-8 and control characters;
// multiline allows line breaks and tabs, as a description needs them.
func cleanText(s string, multiline bool) (string, string) {
	if !utf8.ValidString(s) {
		return "", "must be valid UTF-8"
	}
	s = strings.TrimSpace(s)
	if r, ok := ControlCharacter(s, multiline); ok {
		return "", fmt.Sprintf("must not contain control characters (found U+%04X)", r)
	}
	return s, ""
}

// ControlCharacter returns the first control character (Unicode category
// Cc) in s, if there is one; multiline lets tab, line feed and carriage
// return pass. It is the one rule of which characters text may not hold,
// for task fields and for the claims a token carries alike: control
// characters (NUL in particular, which PostgreSQL text cannot store) have
// no place in them and would corrupt log lines.
func ControlCharacter(s string, multiline bool) (rune, bool) {
	for _, r := range s {
		if isControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return r, true
		}
	}
	return 0, false
}

// isControl reports whether r is in Unicode category Cc.
func isControl(r rune) bool {
	return r <= 0x1F || (r >= 0x7F && r <= 0x9F)
}

// cleanTags trims each tag, collapses case-insensitive duplicates (equal
// under Fold, as the tag filter and the tag list compare them) onto their
// first spelling and keeps the order. The result is never nil, so a task with
// no tags stores and returns an empty list.
func cleanTags(in []string) ([]string, string) {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, raw := range in {
		tag, msg := cleanText(raw, false)
		switch {
		case msg != "":
			return nil, fmt.Sprintf("tag %d %s", i+1, msg)
		case tag == "" || utf8.RuneCountInString(tag) > MaxTagLen:
			return nil, fmt.Sprintf("tag %d must be 1 to %d characters", i+1, MaxTagLen)
		}
		if key := Fold(tag); !seen[key] {
			seen[key] = true
			out = append(out, tag)
		}
	}
	if len(out) > MaxTags {
		return nil, fmt.Sprintf("must have at most %d distinct tags", MaxTags)
	}
	return out, ""
}

// ParseTime reads a timestamp as clients send them: RFC 3339 with any offset,
// a plain date (midnight UTC), or a date-time without offset (read as UTC).
// The result is in UTC with microsecond precision, as stored.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if layout == time.RFC3339Nano && !validOffset(s) {
			return time.Time{}, errors.New("has an offset out of range: hours must be 00 to 23 and minutes 00 to 59")
		}
		// An offset can push a valid local time out of the years every
		// store and RFC 3339 itself can represent.
		if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
			return time.Time{}, errors.New("must be between the years 0001 and 9999 in UTC")
		}
		return t.Truncate(time.Microsecond), nil
	}
	return time.Time{}, errors.New("must be an RFC 3339 timestamp, a date YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS]")
}

// validOffset reports whether the numeric offset ending an RFC 3339
// timestamp, if any, is in range. time.Parse takes hours up to 24 (+24:00),
// which RFC 3339 does not allow and other parsers refuse; a stored value a
// client's own library cannot read back is worse than a 422.
func validOffset(s string) bool {
	if n := len(s); n >= 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':' {
		hh, err1 := strconv.Atoi(s[n-5 : n-3])
		mm, err2 := strconv.Atoi(s[n-2:])
		return err1 == nil && err2 == nil && hh <= 23 && mm <= 59
	}
	return true
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
}

func equalPtr[T comparable](a, b *T) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

func equalTime(a, b *time.Time) bool {
	return a == b || (a != nil && b != nil && a.Equal(*b))
}
