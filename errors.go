package todoapi

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Errors a caller can act on. Stores and the auth package wrap these so the
// transport layer can map them to responses without knowing where they came
// from.
var (
	// ErrNotFound means the task does not exist or belongs to another user;
	// the two cases are deliberately indistinguishable.
	ErrNotFound = errors.New("task not found")

	// ErrUnauthenticated means the request carried no usable credentials.
	ErrUnauthenticated = errors.New("not authenticated")

	// ErrForbidden means the authenticated user may not act on the resource.
	ErrForbidden = errors.New("forbidden")

	// ErrDatabaseUnavailable means the database could not be reached or
	// used right now; the request may succeed if retried later.
	ErrDatabaseUnavailable = errors.New("database unavailable")

	// ErrAuthUnavailable means a credential could not be checked because
	// the server that vouches for it (Better Auth) could not be asked, or
	// was asked too often. It is no verdict on the credential: a client
	// should retry, not sign its user out.
	ErrAuthUnavailable = errors.New("authentication server unavailable")

	// ErrQuotaExceeded means the user already holds as many tasks as one
	// user may; deleting some makes room.
	ErrQuotaExceeded = errors.New("task quota reached")

	// ErrStale means a store found a task changed or deleted since it was
	// read within the same write; the write is run again with fresh reads.
	ErrStale = errors.New("task changed since it was read")

	// ErrChangesExpired means a change-feed position is older than the
	// tombstones kept: the client must sync from scratch.
	ErrChangesExpired = errors.New("change-feed position has expired")
)

// PreconditionFailedError means a conditional write (If-Match) named a
// version the task no longer has; nothing was changed. Current is the
// task's version now.
type PreconditionFailedError struct {
	Current int64
}

func (e *PreconditionFailedError) Error() string {
	return "task version is " + strconv.FormatInt(e.Current, 10) + ", not the one expected"
}

// ValidationError reports every invalid field of an input at once, keyed by
// field or parameter name, so a client can fix them all in one round trip.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid input: ")
	for i, name := range e.Names() {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name + ": " + e.Fields[name])
	}
	return b.String()
}

// Names returns the invalid field names in a stable order.
func (e *ValidationError) Names() []string {
	return slices.Sorted(maps.Keys(e.Fields))
}

// problems collects field errors while an input is checked.
type problems map[string]string

// add records msg for field unless the field already has a message; the first
// problem found is the most useful one to report.
func (p problems) add(field, msg string) {
	if _, ok := p[field]; !ok {
		p[field] = msg
	}
}

// err returns nil when nothing was recorded, so callers can return it directly.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Fields: p}
}
