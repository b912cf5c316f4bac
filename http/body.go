package http

import (
	"encoding/json"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
)

// optional is a body field that tells an absent key apart from an explicit
// null, which JSON merge patch (RFC 7396) gives different meanings.
type optional[T any] struct {
	todoapi.Field[T]
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// Schema documents the field as its value type; the nullable tag on the
// struct field says whether null is allowed.
func (optional[T]) Schema(r huma.Registry) *huma.Schema {
	return r.Schema(reflect.TypeFor[T](), true, "")
}

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
}

func (f TaskFields) patch(title optional[string]) todoapi.TaskPatch {
	return todoapi.TaskPatch{
		Title:       title.Field,
		Description: f.Description.Field,
		Completed:   f.Completed.Field,
		Priority:    f.Priority.Field,
		Tags:        f.Tags.Field,
		DueDate:     f.DueDate.Field,
	}
}
