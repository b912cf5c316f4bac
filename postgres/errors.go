package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/todoapi/todoapi"
)

// fail wraps err with what was being done, mapping a missing row to
// ErrNotFound and a lost or refused connection to ErrDatabaseUnavailable.
func fail(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, todoapi.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, classify(err))
}

// classify marks err as ErrDatabaseUnavailable, keeping it in the chain, when it says
// the database cannot be used right now but might be later. A canceled
// context, or a deadline that expired other than while connecting, is the
// caller's doing and is left alone, as are errors the server reports about
// the statement itself.
func classify(err error) error {
	if unavailable(err) {
		return fmt.Errorf("%w: %w", todoapi.ErrDatabaseUnavailable, err)
	}
	return err
}

func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception; PgBouncer's errors too
			strings.HasPrefix(pgErr.Code, "53"), // insufficient resources: too many connections, out of memory
			pgErr.Code == "57P01",               // admin_shutdown: restart, or scaled to zero
			pgErr.Code == "57P02",               // crash_shutdown
			pgErr.Code == "57P03",               // cannot_connect_now: starting up
			pgErr.Code == "25P03":               // idle_in_transaction_session_timeout ended the session
			return true
		case pgErr.Code == "55000": // object_not_in_prerequisite_state
			// While connecting, this is "database is not currently accepting
			// connections": an operator closed it for a while.
			var connectErr *pgconn.ConnectError
			return errors.As(err, &connectErr)
		}
		// Anything else, including a refused password or a missing
		// database, will not get better by retrying.
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// A connection attempt that ran out of time (connect_timeout) means
		// the server is unreachable or still waking up; any other expired
		// deadline is the caller's.
		var connectErr *pgconn.ConnectError
		return errors.As(err, &connectErr)
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, puddle.ErrClosedPool) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// redact removes password from err's message, keeping err in the chain for
// errors.Is, and folds the message onto one line: pgconn lists the hosts it
// tried on separate lines, and this error is printed once at start-up.
func redact(err error, password string) error {
	msg := err.Error()
	var lines []string
	for line := range strings.Lines(msg) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	clean := strings.ReplaceAll(strings.Join(lines, "; "), ":; ", ": ")
	if password != "" {
		clean = strings.ReplaceAll(clean, password, "xxxxx")
	}
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
