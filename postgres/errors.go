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
// ErrNotFound and a lost or refused connection to ErrUnavailable.
func fail(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, todoapi.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, classify(err))
}

// classify marks err as ErrUnavailable, keeping it in the chain, when it says
// the database cannot be used right now but might be later. A canceled or
// expired context is the caller's doing and is left alone, as are errors the
// server reports about the statement itself.
func classify(err error) error {
	if unavailable(err) {
		return fmt.Errorf("%w: %w", todoapi.ErrUnavailable, err)
	}
	return err
}

func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "53300", // too_many_connections
			pgErr.Code == "57P01", // admin_shutdown
			pgErr.Code == "57P02", // crash_shutdown
			pgErr.Code == "57P03": // cannot_connect_now: starting up
			return true
		}
		// Anything else, including a refused password or a missing
		// database, will not get better by retrying.
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
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
