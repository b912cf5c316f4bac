// Package mcp serves the task tools to AI agents over the Model Context
// Protocol (Streamable HTTP, stateless), built with the official Go SDK.
//
// It is a transport over the same todoapi.TaskService as the REST API:
// every rule (validation, quota, isolation, completion, timestamps) is the
// domain's, every error is worded by the REST layer's mapping (http.Explain),
// and results carry the same task JSON. Authentication, the failed-token
// throttle and the per-user rate limit are the REST API's too: package http
// mounts this handler behind them, and the tools read the authenticated user
// from the request's context (todoapi.UserFromContext).
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/todoapi/todoapi"
	todohttp "github.com/todoapi/todoapi/http"
	"github.com/todoapi/todoapi/metrics"
)

// Config is what the MCP endpoint needs from the rest of the program.
type Config struct {
	Tasks   todoapi.TaskService
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Version is reported to clients when they initialize.
	Version string
	// MaxBodyBytes is the largest request body accepted; the SDK answers
	// 413 beyond it. Zero means the REST API's default.
	MaxBodyBytes int64
}

// NewHandler returns the /mcp endpoint. Each request must reach it with the
// authenticated user in its context; a request without one is refused with
// 401 (package http never lets one through).
func NewHandler(c Config) http.Handler {
	t := &tools{tasks: c.Tasks, log: c.Logger, metrics: c.Metrics}
	if t.log == nil {
		t.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	server := sdk.NewServer(&sdk.Implementation{Name: "todoapi", Version: c.Version}, &sdk.ServerOptions{
		Instructions: "Tools for the signed-in user's to-do list. Tasks are identified by task_id; " +
			"a tool result with isError names each bad argument and what is wrong with it.",
		// No listChanged notifications: the tool set never changes.
		Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}},
	})
	t.metrics.ToolCallsKnown(t.register(server), outcomes)
	maxBody := c.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = todohttp.DefaultMaxBodyBytes
	}
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return server }, &sdk.StreamableHTTPOptions{
		// Any replica answers any call: nothing is kept between requests.
		Stateless: true,
		// One JSON answer per call rather than an event stream: every tool
		// answers at once, and proxies and clients handle JSON best.
		JSONResponse:        true,
		MaxRequestBodyBytes: maxBody,
		// The SDK's DNS-rebinding guard refuses loopback connections whose
		// Host is not loopback, which is every request a reverse proxy on
		// the same machine forwards. It protects servers that trust the
		// network; this one trusts only bearer tokens, which a rebinding
		// page cannot send.
		DisableLocalhostProtection: true,
		Logger:                     t.log,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := todoapi.UserFromContext(r.Context()); !ok {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "not authenticated", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tools holds what every tool call needs.
type tools struct {
	tasks   todoapi.TaskService
	log     *slog.Logger
	metrics *metrics.Metrics
}

// Outcomes of a tool call, as logs and metrics name them.
const (
	outcomeOK        = "ok"
	outcomeInvalid   = "invalid"   // bad arguments, or a failed validation
	outcomeNotFound  = "not_found" // no such task for this user
	outcomeForbidden = "forbidden" // a user_id that is not the token's user
	outcomeQuota     = "quota"     // the user holds as many tasks as allowed
	outcomeConflict  = "conflict"  // the task's version was not the one given
	outcomeError     = "error"     // the service failed (database, timeout, bug)
)

// outcomes lists every outcome, for metrics that start at zero.
var outcomes = []string{outcomeOK, outcomeInvalid, outcomeNotFound, outcomeForbidden, outcomeQuota, outcomeConflict, outcomeError}

// handler is a tool's body: it reads the arguments and returns the
// structured result with its one-line summary, or an error for the caller
// to explain.
type handler func(ctx context.Context, user todoapi.User, args arguments) (any, string, error)

// call wraps a tool's body with what every call shares: the user, the
// user_id check, the error mapping, one log line and the metrics. It never
// returns a Go error, which the SDK would turn into a protocol error: every
// failure is a tool result with isError, which an agent can read and act on.
func (t *tools) call(name string, h handler) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		start := time.Now()
		user, _ := todoapi.UserFromContext(ctx)
		var (
			out     any
			summary string
			err     error
		)
		args, err := parseArguments(req.Params.Arguments)
		if err == nil {
			err = args.checkUser(user)
		}
		if err == nil {
			out, summary, err = h(ctx, user, args)
		}
		outcome := outcomeOK
		var res *sdk.CallToolResult
		if err != nil {
			p := todohttp.Explain(ctx, t.log, err, "")
			outcome = outcomeOf(err, p.Status)
			res = &sdk.CallToolResult{
				IsError:           true,
				Content:           []sdk.Content{&sdk.TextContent{Text: p.Detail}},
				StructuredContent: p,
			}
		} else {
			res = &sdk.CallToolResult{
				Content:           []sdk.Content{&sdk.TextContent{Text: summary}},
				StructuredContent: out,
			}
		}
		elapsed := time.Since(start)
		t.metrics.ToolCall(name, outcome, elapsed)
		level := slog.LevelInfo
		if outcome == outcomeError {
			level = slog.LevelError
		}
		// Never the arguments: they are the user's text.
		t.log.LogAttrs(ctx, level, "tool call",
			slog.String("tool", name),
			slog.String("outcome", outcome),
			slog.String("user_id", user.ID),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("request_id", todohttp.RequestID(ctx)),
		)
		return res, nil
	}
}

// outcomeOf names the outcome of a failed call; status is what the REST
// API would have answered.
func outcomeOf(err error, status int) string {
	switch {
	case errors.Is(err, todoapi.ErrQuotaExceeded):
		return outcomeQuota
	case status == http.StatusForbidden:
		return outcomeForbidden
	case status == http.StatusNotFound:
		return outcomeNotFound
	case status == http.StatusUnprocessableEntity:
		return outcomeInvalid
	case status == http.StatusPreconditionFailed:
		return outcomeConflict
	}
	return outcomeError
}

// arguments is a tool call's argument object, one raw value per key.
type arguments struct {
	raw map[string]json.RawMessage
	// bad collects argument errors found while reading, so that one result
	// names every bad argument, as the REST API's 422 does.
	bad map[string]string
}

func parseArguments(data json.RawMessage) (arguments, error) {
	a := arguments{raw: map[string]json.RawMessage{}, bad: map[string]string{}}
	if len(data) == 0 || string(data) == "null" {
		return a, nil
	}
	if err := json.Unmarshal(data, &a.raw); err != nil || a.raw == nil {
		return a, &todoapi.ValidationError{Fields: map[string]string{"arguments": "must be a JSON object"}}
	}
	return a, nil
}

// checkUser enforces the optional user_id argument: agent code written for
// the Python design passes the user's id, and it must be the token's user
// (or "me"). The user acted for is always the token's.
func (a arguments) checkUser(user todoapi.User) error {
	raw, ok := a.raw["user_id"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return &todoapi.ValidationError{Fields: map[string]string{"user_id": "must be a string"}}
	}
	if id != "" && id != "me" && id != user.ID {
		return todoapi.ErrForbidden
	}
	return nil
}

// invalid returns the argument errors collected so far, if any.
func (a arguments) invalid() error {
	if len(a.bad) > 0 {
		return &todoapi.ValidationError{Fields: a.bad}
	}
	return nil
}

// taskID reads the required task_id argument. An id that cannot name a
// task is answered like a task that does not exist, as the REST API
// answers such a path.
func (a arguments) taskID() (int64, error) {
	raw, ok := a.raw["task_id"]
	if !ok || string(raw) == "null" {
		a.bad["task_id"] = "is required"
		return 0, a.invalid()
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		// Some agents send numbers as strings.
		var s string
		if json.Unmarshal(raw, &s) != nil {
			a.bad["task_id"] = "must be an integer"
			return 0, a.invalid()
		}
		n = json.Number(s)
	}
	id, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || id <= 0 {
		return 0, todoapi.ErrNotFound
	}
	return id, nil
}

// precondition reads the optional version argument of a write: the write
// happens only if the task still has that version, as If-Match makes a
// REST write conditional.
func (a arguments) precondition() []todoapi.Precondition {
	raw, ok := a.raw["version"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil || v < 1 {
		a.bad["version"] = "must be a positive integer, the version of the task as last read"
		return nil
	}
	return []todoapi.Precondition{todoapi.IfVersion(v)}
}

// field decodes the argument named key into f, as a REST body field is
// decoded; a value of the wrong type is left for validation to report.
func (a arguments) field(key string, f json.Unmarshaler) {
	if raw, ok := a.raw[key]; ok {
		_ = f.UnmarshalJSON(raw) // Field records problems instead of failing
	}
}

// patch reads the task fields of add_task and update_task.
func (a arguments) patch() todoapi.TaskPatch {
	var p todoapi.TaskPatch
	a.field("title", &p.Title)
	a.field("description", &p.Description)
	a.field("completed", &p.Completed)
	a.field("priority", &p.Priority)
	a.field("tags", &p.Tags)
	a.field("due_date", &p.DueDate)
	a.field("recurrence", &p.Recurrence)
	a.field("timezone", &p.Timezone)
	a.field("remind_at", &p.RemindAt)
	return p
}

// text reads an optional string argument for a list parameter.
func (a arguments) text(key string) string {
	raw, ok := a.raw[key]
	if !ok || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		a.bad[key] = "must be a string"
	}
	return s
}

// texts reads a list parameter that may repeat: one string or an array
// of strings.
func (a arguments) texts(key string) []string {
	raw, ok := a.raw[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		a.bad[key] = "must be a string or an array of strings"
		return nil
	}
	return []string{s}
}

// number reads a whole-number list parameter as the text the domain
// parses, so that its range check and message are the REST API's.
func (a arguments) number(key string) string {
	raw, ok := a.raw[key]
	if !ok || string(raw) == "null" {
		return ""
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	return a.text(key)
}

// taskLine is the one-line summary of a result that is one task.
func taskLine(verb string, t todoapi.Task) string {
	state := "open"
	if t.Completed {
		state = "completed"
	}
	return fmt.Sprintf("%s task %d (%s, %s priority)", verb, t.ID, state, t.Priority)
}
