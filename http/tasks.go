package http

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi"
)

// UserPath and TaskPath are the path parameters of the /api operations. They
// are exported only because huma skips unexported embedded structs.
type UserPath struct {
	UserID string `path:"user_id" doc:"The id of the token's user, or me." example:"me"`
}

type TaskPath struct {
	UserPath
	ID string `path:"id" doc:"The task's id." example:"42"`
}

// taskID parses the id segment. An id that cannot name a task is answered
// like a task that does not exist.
func (p TaskPath) taskID() (int64, error) {
	if p.ID == "" || p.ID[0] < '0' || p.ID[0] > '9' {
		return 0, todoapi.ErrNotFound
	}
	id, err := strconv.ParseInt(p.ID, 10, 64)
	if err != nil || id <= 0 {
		return 0, todoapi.ErrNotFound
	}
	return id, nil
}

type createInput struct {
	UserPath
	Body *newTaskBody // no body gets "title is required"
}

// Conditional headers (RFC 9110 §13). A task's ETag is its version.
// IfMatchHeader is exported only because huma skips unexported embedded
// structs.
type IfMatchHeader struct {
	IfMatch string `header:"If-Match" doc:"Change the task only if its ETag is one of these (or *: only if it exists); else 412 and nothing changes. Protects an edit from overwriting a change made meanwhile elsewhere." example:"\"3\""`
}

type getInput struct {
	TaskPath
	IfNoneMatch string `header:"If-None-Match" doc:"304 with no body when the task's ETag is one of these." example:"\"3\""`
}

type updateInput struct {
	TaskPath
	IfMatchHeader
	Body *taskPatchBody // no body changes nothing
}

type completeInput struct {
	TaskPath
	IfMatchHeader
	Body *completeBody // no body flips completed
}

type deleteInput struct {
	TaskPath
	IfMatchHeader
}

type taskOutput struct {
	ETag string `header:"ETag" doc:"The task's version, a strong entity tag: send it as If-Match to change the task only if nobody else did meanwhile."`
	Body todoapi.Task
}

func newTaskOutput(t todoapi.Task) *taskOutput {
	return &taskOutput{ETag: taskETag(t), Body: t}
}

// completion is the body of …/complete: the task as saved, with the task
// again under "task" and the next occurrence this completion created (or
// null) under "next_occurrence", which frontends written for the Python
// design's recurring variant read.
type completion struct {
	todoapi.Task
	NextOccurrence *todoapi.Task `json:"next_occurrence" doc:"The task this completion created as the next occurrence of a recurring task, or null."`
	Same           todoapi.Task  `json:"task" doc:"The same task again, for clients that read response.task."`
}

type completeOutput struct {
	ETag string `header:"ETag" doc:"The task's version, a strong entity tag: send it as If-Match to change the task only if nobody else did meanwhile."`
	Body completion
}

type createdOutput struct {
	Location string `header:"Location" doc:"The new task's URL."`
	ETag     string `header:"ETag" doc:"The task's version, a strong entity tag."`
	Body     todoapi.Task
}

func (s *server) registerTasks() {
	const collection = "/api/{user_id}/tasks"
	const item = collection + "/{id}"
	// Every /api operation can answer these; slices.Concat below gives each
	// operation a list of its own.
	authErrors := []int{http.StatusUnauthorized, http.StatusForbidden,
		http.StatusTooManyRequests, http.StatusServiceUnavailable}
	itemErrors := slices.Concat(authErrors, []int{http.StatusNotFound})
	bodyErrors := []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity}
	// Writes with If-Match can fail their precondition.
	writeErrors := slices.Concat(itemErrors, []int{http.StatusPreconditionFailed})

	register(s, huma.Operation{
		OperationID: "list-tasks", Method: http.MethodGet, Path: collection,
		Summary: "List tasks",
		Description: "The user's tasks, filtered, sorted (newest first by default) and paginated. " +
			"X-Total-Count is the number of matches; Link rel=\"next\" gives the next page.",
		Errors:    slices.Concat(authErrors, []int{http.StatusUnprocessableEntity}),
		Responses: notModifiedResponse(),
	}, s.listTasks)
	register(s, huma.Operation{
		OperationID: "create-task", Method: http.MethodPost, Path: collection,
		Summary: "Create a task", DefaultStatus: http.StatusCreated,
		Errors: slices.Concat(authErrors, bodyErrors),
	}, s.createTask)
	register(s, huma.Operation{
		OperationID: "get-task", Method: http.MethodGet, Path: item,
		Summary: "Get a task", Errors: itemErrors, Responses: notModifiedResponse(),
	}, s.getTask)
	register(s, huma.Operation{
		OperationID: "update-task", Method: http.MethodPut, Path: item,
		Summary:     "Update a task",
		Description: "A partial update: fields present replace the stored values, absent fields keep theirs.",
		Errors:      slices.Concat(writeErrors, bodyErrors),
	}, s.updateTask)
	register(s, huma.Operation{
		OperationID: "patch-task", Method: http.MethodPatch, Path: item,
		Summary:     "Patch a task",
		Description: "A JSON merge patch (RFC 7396): null clears description, due_date and tags.",
		Errors:      slices.Concat(writeErrors, bodyErrors),
		RequestBody: s.mergePatchBody(),
	}, s.updateTask)
	register(s, huma.Operation{
		OperationID: "complete-task", Method: http.MethodPatch, Path: item + "/complete",
		Summary: "Toggle completion",
		Description: "Without a body, flips completed. With {\"completed\": true|false}, sets it, so retries are safe. " +
			"The answer is the task, with the same task again under task and the next occurrence this completion created (or null) under next_occurrence.",
		Errors: slices.Concat(writeErrors, bodyErrors),
	}, s.completeTask)
	register(s, huma.Operation{
		OperationID: "delete-task", Method: http.MethodDelete, Path: item,
		Summary: "Delete a task", DefaultStatus: http.StatusNoContent, Errors: writeErrors,
	}, s.deleteTask)
	register(s, huma.Operation{
		OperationID: "list-tags", Method: http.MethodGet, Path: "/api/{user_id}/tags",
		Summary: "List tags",
		Description: "The user's distinct tags, for tag pickers: each once (compared case-insensitively), " +
			"spelled as on the oldest task that has it, sorted case-insensitively.",
		Errors: authErrors,
	}, s.listTags)
	register(s, huma.Operation{
		OperationID: "list-changes", Method: http.MethodGet, Path: "/api/{user_id}/changes",
		Summary: "Read the change feed",
		Description: "What changed in the user's tasks since a token from an earlier read, in commit order, " +
			"one entry per task (its latest state), deletions included: how an offline client catches up. " +
			"Without since, every task, then a token. Read again with since=next while has_more is true. " +
			"410 means since is older than the deletions kept: sync from scratch (omit since).",
		Errors: slices.Concat(authErrors, []int{http.StatusGone, http.StatusUnprocessableEntity}),
	}, s.listChanges)

	describeTask(s.api.OpenAPI().Components.Schemas)
}

// notModifiedResponse documents the 304 of a GET with If-None-Match.
func notModifiedResponse() map[string]*huma.Response {
	return map[string]*huma.Response{"304": {
		Description: "Not Modified: If-None-Match named the current ETag. No body.",
		Headers:     map[string]*huma.Param{"ETag": {Description: "The current entity tag.", Schema: &huma.Schema{Type: "string"}}},
	}}
}

// mergePatchBody documents that PATCH takes the patch body as either media
// type; huma would otherwise list only application/json.
func (s *server) mergePatchBody() *huma.RequestBody {
	schema := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[taskPatchBody](), true, "")
	return &huma.RequestBody{Content: map[string]*huma.MediaType{
		"application/merge-patch+json": {Schema: schema},
		"application/json":             {Schema: schema},
	}}
}

// describeTask adds to the generated Task schema what the domain type's Go
// fields cannot say, keeping huma out of the domain package.
func describeTask(registry huma.Registry) {
	task := registry.Map()["Task"]
	if task == nil {
		return
	}
	docs := map[string]string{
		"id":                 "Server-assigned, unique across the service.",
		"user_id":            "The owner: the token's user.",
		"title":              "1 to 200 characters.",
		"description":        "Up to 1000 characters, or null.",
		"completed":          "Whether the task is done.",
		"completed_at":       "When the task was last completed (UTC); null while it is open.",
		"priority":           "low, medium or high.",
		"tags":               "Up to 20 distinct tags, in the order given.",
		"due_date":           "When the task is due (UTC), or null.",
		"recurrence":         "The RFC 5545 recurrence rule (RRULE value), or null for a task that does not repeat.",
		"timezone":           "The IANA time zone occurrences are computed in; UTC unless set.",
		"remind_at":          "When the owner wants to be reminded (UTC), or null.",
		"next_occurrence_id": "The task that completing this recurring task created, or null. Set once: completing the task again after reopening it creates no second occurrence.",
		"created_at":         "When the task was created (UTC).",
		"updated_at":         "When a stored value last changed (UTC).",
		"version":            "1 when created, one more with every stored change; the ETag of responses that return the task.",
	}
	for name, doc := range docs {
		if p := task.Properties[name]; p != nil {
			p.Description = doc
		}
	}
	if p := task.Properties["priority"]; p != nil {
		for _, prio := range todoapi.Priorities {
			p.Enum = append(p.Enum, string(prio))
		}
	}
	if p := task.Properties["tags"]; p != nil {
		p.Nullable = false // the service always returns a list
	}
}

// register adds an /api operation: tagged, token-protected and bounded in
// body size.
func register[I, O any](s *server, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	op.Tags = []string{"Tasks"}
	op.Security = requireBearer
	// huma refuses a body of exactly MaxBodyBytes; the limit itself is allowed.
	op.MaxBodyBytes = s.maxBody + 1
	op.BodyReadTimeout = s.bodyReadTimeout
	if op.Method != http.MethodGet && op.Method != http.MethodDelete {
		// Bodies are checked by decodeObject and the domain, which report
		// every invalid field at once; huma's schema check would stop at the
		// first type error.
		op.SkipValidateBody = true
		op.Middlewares = append(op.Middlewares, s.requireJSON)
	}
	huma.Register(s.api, op, h)
}

func (s *server) createTask(ctx context.Context, in *createInput) (*createdOutput, error) {
	user := userFrom(ctx)
	task, err := s.tasks.CreateTask(ctx, user, in.Body.patch())
	if err != nil {
		return nil, s.problemFor(ctx, sentNames(err, in.Body.aliases()), "body")
	}
	return &createdOutput{Location: taskURL(task), ETag: taskETag(task), Body: task}, nil
}

func (s *server) getTask(ctx context.Context, in *getInput) (*taskOutput, error) {
	id, err := in.taskID()
	if err == nil {
		var task todoapi.Task
		if task, err = s.tasks.Task(ctx, userFrom(ctx), id); err == nil {
			if etag := taskETag(task); in.IfNoneMatch != "" && noneMatch(in.IfNoneMatch, etag) {
				return nil, notModified(etag)
			}
			return newTaskOutput(task), nil
		}
	}
	return nil, s.problemFor(ctx, err, "path")
}

func (s *server) updateTask(ctx context.Context, in *updateInput) (*taskOutput, error) {
	id, err := in.taskID()
	if err == nil {
		var task todoapi.Task
		if task, err = s.tasks.UpdateTask(ctx, userFrom(ctx), id, in.Body.patch(), ifMatch(in.IfMatch)); err == nil {
			return newTaskOutput(task), nil
		}
	}
	return nil, s.problemFor(ctx, sentNames(err, in.Body.aliases()), "body")
}

func (s *server) completeTask(ctx context.Context, in *completeInput) (*completeOutput, error) {
	id, err := in.taskID()
	if err != nil {
		return nil, s.problemFor(ctx, err, "path")
	}
	if in.Body == nil {
		in.Body = &completeBody{} // no body: flip
	}
	done, err := s.tasks.CompleteTask(ctx, userFrom(ctx), id, in.Body.Completed.Field, ifMatch(in.IfMatch))
	if err != nil {
		return nil, s.problemFor(ctx, sentNames(err, in.Body.sentAs), "body")
	}
	return &completeOutput{ETag: taskETag(done.Task),
		Body: completion{Task: done.Task, NextOccurrence: done.NextOccurrence, Same: done.Task}}, nil
}

func (s *server) deleteTask(ctx context.Context, in *deleteInput) (*struct{}, error) {
	id, err := in.taskID()
	if err == nil {
		err = s.tasks.DeleteTask(ctx, userFrom(ctx), id, ifMatch(in.IfMatch))
	}
	if err != nil {
		return nil, s.problemFor(ctx, err, "path")
	}
	return nil, nil
}

type tagsOutput struct {
	Body []string `nullable:"false" example:"[\"home\",\"Work\"]"`
}

func (s *server) listTags(ctx context.Context, _ *UserPath) (*tagsOutput, error) {
	tags, err := s.tasks.ListTags(ctx, userFrom(ctx))
	if err != nil {
		return nil, s.problemFor(ctx, err, "path")
	}
	return &tagsOutput{Body: tags}, nil
}

// taskURL is the canonical location of t, with the real user id even when
// the request said "me" — unless that id cannot stand in the path and still
// lead to t: "." and ".." are dot segments, which clients remove before
// sending (RFC 3986 §5.2.4, escaped or not), and an id such as "tasks"
// would make the path an alias of another route. Those owners get "me",
// which leads them, and only them, to the same task.
func taskURL(t todoapi.Task) string {
	rest := "/tasks/" + strconv.FormatInt(t.ID, 10)
	path := "/api/" + url.PathEscape(t.UserID) + rest
	if _, _, alias := canonicalPath(http.MethodGet, path); alias || t.UserID == "." || t.UserID == ".." || t.UserID == "" {
		return "/api/me" + rest
	}
	return path
}
