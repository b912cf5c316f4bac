package http

import (
	"encoding/json"

	"github.com/todoapi/todoapi"
)

// TaskFields are the fields a client may send for a task, besides the title.
// Unknown keys, and the ones the server owns (id, user_id, timestamps), are
// ignored. (Exported only because huma skips unexported embedded structs.)
type TaskFields struct {
	_           struct{}           `json:"-" additionalProperties:"true"`
	Description optional[string]   `json:"description,omitempty" nullable:"true" doc:"Up to 1000 characters after trimming; empty or null clears it." example:"Two litres"`
	Completed   optional[bool]     `json:"completed,omitempty" doc:"Whether the task is done; completed_at follows it."`
	Priority    optional[string]   `json:"priority,omitempty" doc:"low, medium or high (case-insensitive). New tasks default to medium." example:"high"`
	Tags        optional[[]string] `json:"tags,omitempty" nullable:"true" doc:"Up to 20 tags of 1 to 50 characters; case-insensitive duplicates collapse to the first spelling; null empties the list." example:"[\"home\"]"`
	DueDate     optional[string]   `json:"due_date,omitempty" nullable:"true" doc:"RFC 3339 timestamp, a date YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM[:SS] (UTC); null clears it." example:"2026-12-01T17:00:00Z"`
	Recurrence  optional[string]   `json:"recurrence,omitempty" nullable:"true" doc:"An RFC 5545 recurrence rule (the value of an RRULE line), such as FREQ=WEEKLY;BYDAY=MO,WE; null: the task does not repeat. Needs a due_date: the series starts there. Completing the task creates its next occurrence." example:"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"`
	Timezone    optional[string]   `json:"timezone,omitempty" nullable:"true" doc:"The IANA time zone occurrences are computed in, so that a task stays at its local time across daylight-saving changes. Default UTC; null resets it to UTC." example:"Europe/Berlin"`
	RemindAt    optional[string]   `json:"remind_at,omitempty" nullable:"true" doc:"When the owner wants to be reminded, in the same forms as due_date; null: no reminder. Stored and listed (remind_before, remind_after) and moved with a recurring task's next occurrence." example:"2026-12-01T08:45:00Z"`
	// RemindMinutes has no canonical key of its own: it sets remind_at.
	RemindMinutes optional[int] `json:"reminder_minutes,omitempty" nullable:"true" doc:"Sets remind_at this many minutes before due_date (0 to 527040); not with remind_at." example:"15"`
	// sentAs names the alias keys the body used (see decodeObject).
	sentAs map[string]string
}

// newTaskBody is the body of POST: a title is required.
type newTaskBody struct {
	Title optional[string] `json:"title" required:"true" doc:"1 to 200 characters after trimming white space." example:"Buy milk"`
	TaskFields
}

// taskPatchBody is the body of PUT and PATCH: fields present replace the
// stored values, fields absent keep theirs.
type taskPatchBody struct {
	Title optional[string] `json:"title,omitempty" doc:"1 to 200 characters after trimming white space." example:"Buy milk"`
	TaskFields
}

// completeBody is the optional body of the completion toggle.
type completeBody struct {
	_         struct{}       `json:"-" additionalProperties:"true"`
	Completed optional[bool] `json:"completed,omitempty" doc:"Set completed to this value; without it the toggle flips completed."`
	// sentAs names the alias keys the body used (see decodeObject).
	sentAs map[string]string
}

func (b *newTaskBody) UnmarshalJSON(data []byte) (err error) {
	b.sentAs, err = decodeObject(data, b.fields(&b.Title))
	return err
}

func (b *taskPatchBody) UnmarshalJSON(data []byte) (err error) {
	b.sentAs, err = decodeObject(data, b.fields(&b.Title))
	return err
}

func (b *completeBody) UnmarshalJSON(data []byte) (err error) {
	b.sentAs, err = decodeObject(data, map[string]json.Unmarshaler{"completed": &b.Completed})
	return err
}

// aliases returns the alias keys the body used, for sentNames; nil for no
// body.
func (b *newTaskBody) aliases() map[string]string {
	if b == nil {
		return nil
	}
	return b.sentAs
}

func (b *taskPatchBody) aliases() map[string]string {
	if b == nil {
		return nil
	}
	return b.sentAs
}

// fields names each body field by its exact JSON key, for decodeObject.
func (f *TaskFields) fields(title *optional[string]) map[string]json.Unmarshaler {
	return map[string]json.Unmarshaler{
		"title":            title,
		"description":      &f.Description,
		"completed":        &f.Completed,
		"priority":         &f.Priority,
		"tags":             &f.Tags,
		"due_date":         &f.DueDate,
		"recurrence":       &f.Recurrence,
		"timezone":         &f.Timezone,
		"remind_at":        &f.RemindAt,
		"reminder_minutes": &f.RemindMinutes,
	}
}

// patch is the body as the domain reads it; a request without a body
// (nil) sends no fields.
func (b *newTaskBody) patch() todoapi.TaskPatch {
	if b == nil {
		return todoapi.TaskPatch{}
	}
	return b.TaskFields.patch(b.Title)
}

func (b *taskPatchBody) patch() todoapi.TaskPatch {
	if b == nil {
		return todoapi.TaskPatch{}
	}
	return b.TaskFields.patch(b.Title)
}

func (f *TaskFields) patch(title optional[string]) todoapi.TaskPatch {
	canonicalRecurrence(&f.Recurrence.Field, f.sentAs)
	return todoapi.TaskPatch{
		Title:               title.Field,
		Description:         f.Description.Field,
		Completed:           f.Completed.Field,
		Priority:            f.Priority.Field,
		Tags:                f.Tags.Field,
		DueDate:             f.DueDate.Field,
		Recurrence:          f.Recurrence.Field,
		Timezone:            f.Timezone.Field,
		RemindAt:            f.RemindAt.Field,
		RemindMinutesBefore: f.RemindMinutes.Field,
	}
}
