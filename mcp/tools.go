package mcp

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/todoapi/todoapi"
)

// The tools' names and argument names are the ones agent code written for
// the Python design already calls; they must not change.

// register adds every tool to s and returns their names.
func (t *tools) register(s *sdk.Server) (names []string) {
	yes, no := true, false
	add := func(name, title, desc string, in, out *jsonschema.Schema, ann sdk.ToolAnnotations, h handler) {
		names = append(names, name)
		ann.Title = title
		// Every tool works on this service's data only.
		ann.OpenWorldHint = &no
		in.Properties["user_id"] = userIDSchema
		s.AddTool(&sdk.Tool{
			Name: name, Title: title, Description: desc,
			InputSchema: in, OutputSchema: orProblem(out), Annotations: &ann,
		}, t.call(name, h))
	}

	add("add_task", "Add a task",
		"Create a task on the user's to-do list. Only title is required; priority defaults to medium. "+
			"Returns the new task, whose id is the task_id the other tools take.",
		object(taskFields(), "title"), taskSchema,
		sdk.ToolAnnotations{DestructiveHint: &no},
		t.addTask)

	add("list_tasks", "List tasks",
		"List the user's tasks, newest first unless sort says otherwise. Every filter is optional and they combine. "+
			"Returns {tasks, total, next_cursor}: total counts every match; when next_cursor is not null, "+
			"call again with cursor set to it (and the same filters) for the next page.",
		object(listFields()), pageSchema,
		sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true},
		t.listTasks)

	add("get_task", "Get a task",
		"Get one of the user's tasks by task_id.",
		object(props{"task_id": taskIDSchema}, "task_id"), taskSchema,
		sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true},
		t.getTask)

	update := taskFields()
	update["task_id"] = taskIDSchema
	update["version"] = versionSchema
	update["title"] = withDesc(update["title"], "New title, 1 to 200 characters.")
	add("update_task", "Update a task",
		"Change fields of one of the user's tasks. Only the fields given change; omitted fields keep their values. "+
			"null clears description, due_date or tags. Returns the task as stored.",
		object(update, "task_id"), taskSchema,
		sdk.ToolAnnotations{DestructiveHint: &no, IdempotentHint: true},
		t.updateTask)

	add("complete_task", "Complete a task",
		"Mark one of the user's tasks completed (the default), or open again with completed: false. "+
			"Calling it again changes nothing, so it is safe to retry. Returns the task.",
		object(props{
			"task_id": taskIDSchema,
			"version": versionSchema,
			"completed": {Type: "boolean", Default: []byte("true"),
				Description: "true (the default) marks the task completed; false reopens it."},
		}, "task_id"), taskSchema,
		sdk.ToolAnnotations{DestructiveHint: &no, IdempotentHint: true},
		t.completeTask)

	add("delete_task", "Delete a task",
		"Delete one of the user's tasks for good. Returns {deleted: true, task_id}.",
		object(props{"task_id": taskIDSchema, "version": versionSchema}, "task_id"), deletedSchema,
		sdk.ToolAnnotations{DestructiveHint: &yes, IdempotentHint: true},
		t.deleteTask)

	add("list_tags", "List tags",
		"List the tags the user has put on tasks, each once (compared case-insensitively), sorted. "+
			"Useful before filtering list_tasks by tag.",
		object(props{}), tagsSchema,
		sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true},
		t.listTags)
	return names
}

func (t *tools) addTask(ctx context.Context, user todoapi.User, a arguments) (any, string, error) {
	task, err := t.tasks.CreateTask(ctx, user, a.patch())
	if err != nil {
		return nil, "", err
	}
	return task, taskLine("Created", task), nil
}

func (t *tools) getTask(ctx context.Context, user todoapi.User, a arguments) (any, string, error) {
	id, err := a.taskID()
	if err != nil {
		return nil, "", err
	}
	task, err := t.tasks.Task(ctx, user, id)
	if err != nil {
		return nil, "", err
	}
	return task, taskLine("Found", task), nil
}

func (t *tools) updateTask(ctx context.Context, user todoapi.User, a arguments) (any, string, error) {
	id, err := a.taskID()
	if err != nil {
		return nil, "", err
	}
	cond := a.precondition()
	if err := a.invalid(); err != nil {
		return nil, "", err
	}
	task, err := t.tasks.UpdateTask(ctx, user, id, a.patch(), cond...)
	if err != nil {
		return nil, "", err
	}
	return task, taskLine("Updated", task), nil
}

func (t *tools) completeTask(ctx context.Context, user todoapi.User, a arguments) (any, string, error) {
	id, err := a.taskID()
	if err != nil {
		return nil, "", err
	}
	var completed todoapi.Field[bool]
	a.field("completed", &completed)
	if !completed.Set || completed.Null {
		// An agent told to complete a task must not reopen it by retrying,
		// so absent means true rather than the REST toggle's flip.
		completed = todoapi.Value(true)
	}
	cond := a.precondition()
	if err := a.invalid(); err != nil {
		return nil, "", err
	}
	done, err := t.tasks.CompleteTask(ctx, user, id, completed, cond...)
	if err != nil {
		return nil, "", err
	}
	task := done.Task
	verb := "Completed"
	if !task.Completed {
		verb = "Reopened"
	}
	return task, taskLine(verb, task), nil
}

// deleted is delete_task's result.
type deleted struct {
	Deleted bool  `json:"deleted"`
	TaskID  int64 `json:"task_id"`
}

func (t *tools) deleteTask(ctx context.Context, user todoapi.User, a arguments) (any, string, error) {
	id, err := a.taskID()
	if err != nil {
		return nil, "", err
	}
	cond := a.precondition()
	if err := a.invalid(); err != nil {
		return nil, "", err
	}
	if err := t.tasks.DeleteTask(ctx, user, id, cond...); err != nil {
		return nil, "", err
	}
	return deleted{Deleted: true, TaskID: id}, "Deleted task " + strconv.FormatInt(id, 10) + ".", nil
}

// page is list_tasks' result.
type page struct {
	Tasks      []todoapi.Task `json:"tasks"`
	Total      int            `json:"total"`
	NextCursor *string        `json:"next_cursor"`
}

func (t *tools) listTasks(ctx context.Context, user todoapi.User, a arguments) (any, string, error) {
	q := todoapi.ListQuery{
		Status:    a.text("status"),
		Priority:  a.texts("priority"),
		Tag:       a.texts("tag"),
		Q:         a.text("q"),
		DueBefore: a.text("due_before"),
		DueAfter:  a.text("due_after"),
		Sort:      a.text("sort"),
		Limit:     a.number("limit"),
		Cursor:    a.text("cursor"),
	}
	// Arguments of the wrong type are reported with every other bad
	// argument, as the REST API's 422 does: the service parses them all.
	if len(a.bad) > 0 {
		q.Invalid = a.bad
	}
	p, err := t.tasks.ListTasks(ctx, user, q)
	if err != nil {
		return nil, "", err
	}
	out := page{Tasks: p.Tasks, Total: p.Total}
	if p.NextCursor != "" {
		next := p.NextCursor
		out.NextCursor = &next
	}
	line := fmt.Sprintf("%d of %d matching tasks.", len(p.Tasks), p.Total)
	if out.NextCursor != nil {
		line += " More follow: pass next_cursor as cursor."
	}
	return out, line, nil
}

// tagList is list_tags' result.
type tagList struct {
	Tags []string `json:"tags"`
}

func (t *tools) listTags(ctx context.Context, user todoapi.User, _ arguments) (any, string, error) {
	tags, err := t.tasks.ListTags(ctx, user)
	if err != nil {
		return nil, "", err
	}
	return tagList{Tags: tags}, fmt.Sprintf("%d tags.", len(tags)), nil
}

// Schemas. They are written out rather than derived from Go types: the
// arguments are decoded by hand (so that a value of the wrong type is named
// in the same words as the REST API names it), and an LLM acts on the
// descriptions, which are worth writing for it.

type props = map[string]*jsonschema.Schema

func object(p props, required ...string) *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", Properties: p, Required: required}
}

func withDesc(s *jsonschema.Schema, desc string) *jsonschema.Schema {
	c := *s
	c.Description = desc
	return &c
}

func ptr[T any](v T) *T { return &v }

var (
	userIDSchema = &jsonschema.Schema{Type: "string",
		Description: `Optional: the signed-in user's id, or "me". The tools always act for the signed-in user; any other value fails the call.`}
	taskIDSchema = &jsonschema.Schema{Type: "integer", Minimum: ptr(1.0),
		Description: "The task's id, as add_task and list_tasks return it."}
	versionSchema = &jsonschema.Schema{Type: "integer", Minimum: ptr(1.0),
		Description: "Optional: the task's version as you last read it. The change is made only if nobody changed the task since; " +
			"otherwise the call fails (status 412) and changes nothing: read the task again and decide anew."}
	timestampDesc = "RFC 3339 timestamp (2026-12-01T17:00:00Z, any offset), a date YYYY-MM-DD (midnight UTC), or YYYY-MM-DDTHH:MM[:SS] (UTC)."
	priorities    = []any{"low", "medium", "high"}
)

// taskFields are the arguments add_task and update_task share.
func taskFields() props {
	return props{
		"title": {Type: "string", MinLength: ptr(1), MaxLength: ptr(todoapi.MaxTitleLen),
			Description: "What to do, 1 to 200 characters."},
		"description": {Types: []string{"string", "null"}, MaxLength: ptr(todoapi.MaxDescriptionLen),
			Description: "Details, up to 1000 characters."},
		"completed": {Type: "boolean", Description: "Whether the task is done."},
		"priority": {Type: "string", Enum: priorities,
			Description: "low, medium or high; new tasks default to medium."},
		"tags": {Types: []string{"array", "null"}, Items: &jsonschema.Schema{Type: "string", MinLength: ptr(1), MaxLength: ptr(todoapi.MaxTagLen)},
			MaxItems: ptr(todoapi.MaxTags), Description: "Up to 20 labels such as home or work; duplicates (ignoring case) collapse."},
		"due_date": {Types: []string{"string", "null"}, Description: "When it is due: " + timestampDesc},
		"recurrence": {Types: []string{"string", "null"}, Description: "How the task repeats, as an iCalendar (RFC 5545) " +
			"recurrence rule such as FREQ=DAILY or FREQ=WEEKLY;BYDAY=MO,WE,FR; needs a due_date. " +
			"Completing a repeating task creates its next occurrence. null: it does not repeat."},
		"timezone": {Types: []string{"string", "null"}, Description: "The IANA time zone (such as Europe/Berlin) in which " +
			"a repeating task keeps its time of day; default UTC."},
		"remind_at": {Types: []string{"string", "null"}, Description: "When to remind the user: " + timestampDesc},
	}
}

func listFields() props {
	oneOrMany := func(desc string, item *jsonschema.Schema) *jsonschema.Schema {
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{item, {Type: "array", Items: item}}, Description: desc}
	}
	return props{
		"status": {Type: "string", Enum: []any{"all", "pending", "completed"},
			Description: "all (the default), pending (not completed) or completed."},
		"priority": oneOrMany("Only tasks with this priority, or any of these.",
			&jsonschema.Schema{Type: "string", Enum: priorities}),
		"tag": oneOrMany("Only tasks having this tag, or every one of these (ignoring case).",
			&jsonschema.Schema{Type: "string"}),
		"q":          {Type: "string", Description: "Only tasks whose title or description contains this text (ignoring case)."},
		"due_before": {Type: "string", Description: "Only tasks due before this time (exclusive): " + timestampDesc},
		"due_after":  {Type: "string", Description: "Only tasks due after this time (exclusive): " + timestampDesc},
		"sort": {Type: "string",
			Description: "created, updated, title, due_date or priority, ascending; a leading - reverses it. " +
				"Default -created (newest first). priority lists high first; -priority low first."},
		"limit":  {Type: "integer", Minimum: ptr(1.0), Maximum: ptr(float64(todoapi.MaxLimit)), Description: "Page size, 1 to 1000 (default 1000)."},
		"cursor": {Type: "string", Description: "next_cursor from the previous page, to continue the same list."},
	}
}

// taskSchema describes a task as the REST API returns it. It lists the
// fields every task has and allows more, so that fields added later do
// not break clients that validate results.
var taskSchema = func() *jsonschema.Schema {
	nullableTime := &jsonschema.Schema{Types: []string{"string", "null"}}
	p := props{
		"id":           {Type: "integer", Description: "The task_id the other tools take."},
		"version":      {Type: "integer", Description: "Grows with every change; pass it to a write to make it conditional."},
		"user_id":      {Type: "string"},
		"title":        {Type: "string"},
		"description":  {Types: []string{"string", "null"}},
		"completed":    {Type: "boolean"},
		"completed_at": withDesc(nullableTime, "When it was completed (UTC), or null while open."),
		"priority":     {Type: "string", Enum: priorities},
		"tags":         {Type: "array", Items: &jsonschema.Schema{Type: "string"}},
		"due_date":     withDesc(nullableTime, "When it is due (UTC), or null."),
		"created_at":   {Type: "string"},
		"updated_at":   {Type: "string"},
	}
	return object(p, "id", "user_id", "title", "description", "completed", "completed_at",
		"priority", "tags", "due_date", "created_at", "updated_at")
}()

var pageSchema = object(props{
	"tasks":       {Type: "array", Items: taskSchema},
	"total":       {Type: "integer", Description: "How many tasks match, on all pages."},
	"next_cursor": {Types: []string{"string", "null"}, Description: "Pass as cursor for the next page; null on the last."},
}, "tasks", "total", "next_cursor")

var deletedSchema = object(props{
	"deleted": {Type: "boolean"},
	"task_id": {Type: "integer"},
}, "deleted", "task_id")

// problemSchema describes the structured content of a failed call: the
// REST API's problem document.
var problemSchema = object(props{
	"status": {Type: "integer", Description: "The HTTP status the REST API answers the same failure with."},
	"title":  {Type: "string"},
	"detail": {Type: "string", Description: "What went wrong, for people and agents."},
	"errors": {Type: "array", Description: "For invalid arguments: each one, and what is wrong with it.",
		Items: object(props{"location": {Type: "string"}, "message": {Type: "string"}}, "location", "message")},
}, "status", "title", "detail")

// orProblem is a tool's output schema: its result, or (with isError) a
// problem document. Clients validate structured content against the
// output schema even on failed calls, so the schema names both.
func orProblem(result *jsonschema.Schema) *jsonschema.Schema {
	return &jsonschema.Schema{Type: "object", AnyOf: []*jsonschema.Schema{result, problemSchema}}
}

var tagsSchema = object(props{
	"tags": {Type: "array", Items: &jsonschema.Schema{Type: "string"}},
}, "tags")
