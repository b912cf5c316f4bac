package postgres

import (
	"context"
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

// TakeTicket deletes the ticket and returns its user and expiry.
// Deleting is what makes a ticket single-use: of two concurrent deletes of
// one row, only one returns it.
func (s *Store) TakeTicket(ctx context.Context, hash []byte) (todoapi.User, time.Time, error) {
	var u todoapi.User
	var expires time.Time
	err := s.pool.QueryRow(ctx, `
		DELETE FROM event_tickets WHERE hash = $1
		RETURNING user_id, email, name, expires_at`,
		hash).Scan(&u.ID, &u.Email, &u.Name, &expires)
	if err != nil {
		return todoapi.User{}, time.Time{}, fail("take ticket", err)
	}
	return u, expires, nil
}
