package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/todoapi/todoapi"
)

var _ todoapi.TicketStore = (*Store)(nil)

// SaveTicket stores a ticket and, in the same statement, removes the
// expired ones, so the table holds about a minute's worth of tickets
// without a scheduler.
func (s *Store) SaveTicket(ctx context.Context, hash []byte, u todoapi.User, expires, now time.Time) error {
	_, err := s.pool.Exec(ctx, `
		WITH expired AS (DELETE FROM event_tickets WHERE expires_at < $6)
		INSERT INTO event_tickets (hash, user_id, email, name, expires_at)
		VALUES ($1, $2, $3, $4, $5)`,
		hash, u.ID, u.Email, u.Name, expires, now)
	if err != nil {
		return fail("save ticket", err)
	}
	return nil
}

// TakeTicket deletes the ticket and returns its user if it was still
// valid. Deleting is what makes a ticket single-use: of two concurrent
// deletes of one row, only one returns it.
func (s *Store) TakeTicket(ctx context.Context, hash []byte, now time.Time) (todoapi.User, error) {
	var u todoapi.User
	var valid bool
	err := s.pool.QueryRow(ctx, `
		DELETE FROM event_tickets WHERE hash = $1
		RETURNING user_id, email, name, expires_at > $2`,
		hash, now).Scan(&u.ID, &u.Email, &u.Name, &valid)
	if err != nil {
		return todoapi.User{}, fail("take ticket", err)
	}
	if !valid {
		return todoapi.User{}, fmt.Errorf("take ticket: expired: %w", todoapi.ErrNotFound)
	}
	return u, nil
}
