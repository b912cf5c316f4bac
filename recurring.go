package todoapi

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ErrNeedsTransaction is returned by a write function, before it has
// written anything, to a store whose StoreTx cannot hold several write
// steps in one commit (MultiStep is false): the store then runs it again in
// a transaction where it can.
var ErrNeedsTransaction = errors.New("write needs a transaction of several steps")

// nextOccurrence returns the task that completing t creates: the next
// occurrence of its series, due at the rule's first occurrence after t's
// due date and otherwise a copy of what the owner wrote (title,
// description, priority, tags, rule, zone), open, with its reminder as far
// before its due date as t's was. It returns nil when t creates none: t
// does not recur, already created its next occurrence (completing it,
// reopening it and completing it again creates one), or its series ended
// (COUNT, UNTIL).
func (s *Service) nextOccurrence(t *Task, now time.Time) (*Task, error) {
	if t.Recurrence == nil || t.DueDate == nil || t.NextOccurrenceID != nil {
		return nil, nil
	}
	if s.Rules == nil {
		return nil, errors.New("next occurrence: no rule engine configured")
	}
	loc, err := LoadTimezone(t.Timezone)
	if err != nil {
		return nil, fmt.Errorf("next occurrence of task %d: zone %q: %w", t.ID, t.Timezone, err)
	}
	start := *t.DueDate
	if t.SeriesStart != nil {
		start = *t.SeriesStart
	}
	due, ok, err := s.Rules.Next(*t.Recurrence, loc, start, *t.DueDate)
	if err != nil {
		return nil, fmt.Errorf("next occurrence of task %d: %w", t.ID, err)
	}
	if !ok {
		return nil, nil
	}
	due = due.UTC().Truncate(time.Microsecond)
	next := &Task{
		UserID:      t.UserID,
		Title:       t.Title,
		Description: clonePtr(t.Description),
		Priority:    t.Priority,
		Tags:        slices.Clone(t.Tags),
		DueDate:     &due,
		Recurrence:  clonePtr(t.Recurrence),
		Timezone:    t.Timezone,
		SeriesStart: &start,
		CreatedAt:   now,
		UpdatedAt:   now,
		Version:     1,
	}
	if next.Tags == nil {
		next.Tags = []string{}
	}
	if t.RemindAt != nil {
		at := t.RemindAt.Add(due.Sub(*t.DueDate))
		next.RemindAt, next.ReminderPending = &at, true
	}
	return next, nil
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// joinProblems merges the field problems of two validation errors, so that
// a client learns of every invalid field at once; any other error wins.
func joinProblems(a, b error) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	var va, vb *ValidationError
	if !errors.As(a, &va) {
		return a
	}
	if !errors.As(b, &vb) {
		return b
	}
	fields := maps.Clone(va.Fields)
	for k, v := range vb.Fields {
		if _, ok := fields[k]; !ok {
			fields[k] = v
		}
	}
	return &ValidationError{Fields: fields}
}
