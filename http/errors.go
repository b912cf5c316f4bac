package http

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

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

// errorResponse is the one place that turns an error from the layers below
// into a response. Only known domain errors reveal anything; everything else
// becomes a generic 500 and the cause goes to the log.
func (s *server) errorResponse(ctx context.Context, err error, location string) error {
	var invalid *todoapi.ValidationError
	switch {
	case errors.As(err, &invalid):
		errs := make([]error, 0, len(invalid.Fields))
		for _, name := range invalid.Names() {
			errs = append(errs, &fieldError{Location: location + "." + name, Message: invalid.Fields[name]})
		}
		return newProblem(http.StatusUnprocessableEntity, "validation failed", errs...)
	case errors.Is(err, todoapi.ErrNotFound):
		return newProblem(http.StatusNotFound, "task not found")
	case errors.Is(err, todoapi.ErrForbidden):
		return newProblem(http.StatusForbidden, "you may only access your own tasks")
	case errors.Is(err, todoapi.ErrQuotaExceeded):
		return newProblem(http.StatusUnprocessableEntity, "task quota reached: delete some tasks before creating more")
	case errors.Is(err, todoapi.ErrUnavailable):
		s.log.WarnContext(ctx, "database unavailable", "request_id", requestID(ctx), "err", err)
		return newProblem(http.StatusServiceUnavailable, "the database is unavailable; try again shortly")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this response.
		return newProblem(499, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		s.log.WarnContext(ctx, "request timed out", "request_id", requestID(ctx), "err", err)
		return newProblem(http.StatusServiceUnavailable, "the request took too long; try again shortly")
	}
	s.log.ErrorContext(ctx, "unexpected error", "request_id", requestID(ctx), "err", err)
	return newProblem(http.StatusInternalServerError, "an unexpected error occurred")
}
