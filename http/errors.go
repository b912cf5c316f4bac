package http

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/todoapi/todoapi"
)

// problem is the body of every error response: an RFC 9457 problem document
// that also carries the text in "message", because some existing frontends
// read "detail" (as FastAPI sends it) and others read "message".
type problem struct {
	Type    string        `json:"type,omitempty" doc:"A URI reference that identifies the problem type."`
	Title   string        `json:"title" doc:"Short summary of the problem type, the HTTP status text."`
	Status  int           `json:"status" doc:"HTTP status code."`
	Detail  string        `json:"detail" doc:"What went wrong, for people."`
	Message string        `json:"message" doc:"The same text as detail."`
	Errors  []*fieldError `json:"errors,omitempty" doc:"Every invalid field or parameter, for validation errors (422)."`
	headers map[string]string
}

// fieldError names one invalid part of a request.
type fieldError struct {
	Location string `json:"location" doc:"Where the problem is, e.g. body.title or query.status."`
	Message  string `json:"message" doc:"What is wrong with it."`
}

func (e *fieldError) Error() string { return e.Location + ": " + e.Message }

func (p *problem) Error() string  { return p.Detail }
func (p *problem) GetStatus() int { return p.Status }

// GetHeaders lets huma copy response headers such as WWW-Authenticate.
func (p *problem) GetHeaders() http.Header {
	h := http.Header{}
	for k, v := range p.headers {
		h.Set(k, v)
	}
	return h
}

// newProblem replaces huma's error constructor so that huma's own errors
// (validation, unsupported media type, body too large) share our shape.
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	for _, err := range errs {
		var mb *malformedBody
		if errors.As(err, &mb) {
			// huma reports every failed body read as a 500 with the
			// reader's error; this one is the client's.
			return newProblem(http.StatusBadRequest, mb.Error())
		}
	}
	p := &problem{Status: status, Title: http.StatusText(status), Detail: msg, Message: msg}
	for _, err := range errs {
		var d *huma.ErrorDetail
		switch {
		case err == nil:
			continue
		case errors.As(err, &d):
			p.Errors = append(p.Errors, &fieldError{Location: d.Location, Message: d.Message})
		default:
			var fe *fieldError
			if errors.As(err, &fe) {
				p.Errors = append(p.Errors, fe)
			} else {
				p.Errors = append(p.Errors, &fieldError{Message: err.Error()})
			}
		}
	}
	if len(p.Errors) > 0 {
		// Clients that show only detail still learn what to fix.
		parts := make([]string, len(p.Errors))
		for i, e := range p.Errors {
			parts[i] = e.Error()
		}
		p.Detail = strings.Join(parts, "; ")
		if status == http.StatusUnprocessableEntity {
			p.Detail = "validation failed: " + p.Detail
		} else {
			p.Errors = nil // the list is for validation errors only
		}
		p.Message = p.Detail
	}
	return p
}

func init() {
	// huma builds its own errors through this hook; there is no per-API option.
	huma.NewError = newProblem
}

// problemContentType picks the error media type from the request's Accept
// header: application/problem+json for clients that ask for it, otherwise
// application/json, which every JSON client parses.
func problemContentType(accept string) string {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "application/problem+json" {
			return "application/problem+json"
		}
	}
	return "application/json"
}

// setProblemContentType is a huma transformer that applies problemContentType
// to every error huma writes, its own and ours.
func setProblemContentType(ctx huma.Context, _ string, v any) (any, error) {
	if _, ok := v.(*problem); ok {
		ctx.SetHeader("Content-Type", problemContentType(ctx.Header("Accept")))
	}
	return v, nil
}

// errPanicked stands for a handler that panicked; the panic and its stack
// are logged where it is recovered.
var errPanicked = newProblem(http.StatusInternalServerError, "an unexpected error occurred")

// errNoToken is a request to an operation that needs a bearer token
// without one.
var errNoToken = errors.New("missing bearer token")

// limited is a request refused because a budget is spent (the user's rate,
// an address's failed tokens); wait is how long until it refills enough.
type limited struct {
	reason string
	wait   time.Duration
}

func (e *limited) Error() string { return e.reason }

// retryAfterUnavailable is the Retry-After of every 503: the outages behind
// them (a database failing over, an auth server restarting, a lookup budget
// refilling) last seconds, and clients that wait this long between tries
// neither hammer a recovering server nor keep their users waiting.
const retryAfterUnavailable = "1"

// unavailable is a 503 saying why, with the Retry-After every 503 carries.
func unavailable(why string) *problem {
	return withHeader(newProblem(http.StatusServiceUnavailable, why), "Retry-After", retryAfterUnavailable)
}

// problemFor is the one mapping from an error to the problem a client sees.
// Every error response goes through it: huma operations return its result,
// and writeProblem (middleware, routing, panics, streams) calls it. A
// transport that is not HTTP (an MCP tool result) takes Detail and Errors
// from it, so that it names bad fields with the same words.
//
// Only known errors reveal anything; everything else becomes a generic 500
// and the cause goes to the log with the request id. location prefixes the
// names of invalid fields ("body", "query", "path"); an error that is
// already a problem is returned as it is.
func (s *server) problemFor(ctx context.Context, err error, location string) *problem {
	if bp := s.bodyProblem(err); bp != nil {
		return bp
	}
	return explain(ctx, s.log, err, location)
}

// Problem is the RFC 9457 problem document of every error response. The MCP
// tools carry it too, as the structured content of a failed call.
type Problem = problem

// Explain is problemFor for transports that are not HTTP handlers of this
// package (the MCP tools): the problem a client is told about err, with
// log receiving the causes that must not reach the client. location
// prefixes the names of invalid fields; empty, the names stand alone.
func Explain(ctx context.Context, log *slog.Logger, err error, location string) *Problem {
	return explain(ctx, log, err, location)
}

func explain(ctx context.Context, log *slog.Logger, err error, location string) *problem {
	var (
		p       *problem
		invalid *todoapi.ValidationError
		lim     *limited
		stale   *todoapi.PreconditionFailedError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &invalid):
		errs := make([]error, 0, len(invalid.Fields))
		for _, name := range invalid.Names() {
			loc := name
			if location != "" {
				loc = location + "." + name
			}
			errs = append(errs, &fieldError{Location: loc, Message: invalid.Fields[name]})
		}
		return newProblem(http.StatusUnprocessableEntity, "validation failed", errs...).(*problem)
	case errors.Is(err, errNoToken):
		// RFC 6750: a request without credentials gets the bare challenge.
		return withHeader(newProblem(http.StatusUnauthorized, "missing bearer token"), "WWW-Authenticate", "Bearer")
	case errors.Is(err, todoapi.ErrUnauthenticated):
		return withHeader(newProblem(http.StatusUnauthorized, "invalid or expired token"),
			"WWW-Authenticate", `Bearer error="invalid_token"`)
	case errors.As(err, &lim):
		// Retry-After in whole seconds, rounded up and at least 1, as RFC
		// 9110 asks; the detail repeats it for people.
		secs := strconv.Itoa(max(1, int(math.Ceil(lim.wait.Seconds()))))
		return withHeader(newProblem(http.StatusTooManyRequests, lim.reason+"; retry after "+secs+"s"), "Retry-After", secs)
	case errors.Is(err, todoapi.ErrNotFound):
		return newProblem(http.StatusNotFound, "task not found").(*problem)
	case errors.As(err, &stale):
		etag := `"` + strconv.FormatInt(stale.Current, 10) + `"`
		return withHeader(newProblem(http.StatusPreconditionFailed,
			"the task was changed meanwhile: its ETag is now "+etag+"; read it again and retry"), "ETag", etag)
	case errors.Is(err, todoapi.ErrChangesExpired):
		return newProblem(http.StatusGone, "since is older than the changes this service keeps: "+
			"sync from scratch by reading the changes without since").(*problem)
	case errors.Is(err, todoapi.ErrForbidden):
		return newProblem(http.StatusForbidden, "you may only access your own tasks").(*problem)
	case errors.Is(err, todoapi.ErrQuotaExceeded):
		return newProblem(http.StatusUnprocessableEntity, "task quota reached: delete some tasks before creating more").(*problem)
	case errors.Is(err, todoapi.ErrDatabaseUnavailable):
		log.WarnContext(ctx, "database unavailable", "request_id", requestID(ctx), "err", err)
		return unavailable("the database is unavailable; try again shortly")
	case errors.Is(err, todoapi.ErrAuthUnavailable):
		// No verdict on the token: neither a 401, which would sign the user
		// out, nor (see authenticate) a failure counted against the address.
		log.DebugContext(ctx, "token not verified", "request_id", requestID(ctx), "reason", err)
		return unavailable("the authentication server is unavailable; try again shortly")
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client went away; nobody reads this response.
		return newProblem(499, "request canceled").(*problem)
	case errors.Is(err, context.Canceled):
		// The client is still waiting: what was cancelled was the
		// database's work (a connection attempt another waiter gave up,
		// say), so the database did not answer this request in time.
		log.WarnContext(ctx, "database work cancelled", "request_id", requestID(ctx), "err", err)
		return unavailable("the database is unavailable; try again shortly")
	case errors.Is(err, context.DeadlineExceeded):
		log.WarnContext(ctx, "request timed out", "request_id", requestID(ctx), "err", err)
		return unavailable("the request took too long; try again shortly")
	}
	log.ErrorContext(ctx, "unexpected error", "request_id", requestID(ctx), "err", err)
	return newProblem(http.StatusInternalServerError, "an unexpected error occurred").(*problem)
}

// withHeader adds a response header to a problem.
func withHeader(err huma.StatusError, name, value string) *problem {
	p := err.(*problem)
	if p.headers == nil {
		p.headers = map[string]string{}
	}
	p.headers[name] = value
	return p
}

// writeProblem is the one writer of error responses for everything that is
// not a huma operation's return value: middleware, the route fallback, the
// docs files, panics, and streams that fail before they start. It writes
// what huma writes for an operation's error (tested by
// TestProblemWritersAgree): problemFor's status, headers and body, the
// Content-Type problemContentType picks, and a Content-Length.
func (s *server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problemFor(r.Context(), err, "")
	buf := bufferPool.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		bufferPool.Put(buf)
	}()
	_ = encodeJSON(buf, p) // a problem always encodes
	h := w.Header()
	for k, v := range p.headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", problemContentType(r.Header.Get("Accept")))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(p.Status)
	_, _ = w.Write(buf.Bytes())
}

// writeHumaProblem is writeProblem for huma middleware, which hold a
// huma.Context instead of the request and its writer.
func (s *server) writeHumaProblem(ctx huma.Context, err error) {
	r, w := humago.Unwrap(ctx)
	s.writeProblem(w, r.WithContext(ctx.Context()), err)
}
