package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/todoapi/todoapi"
)

var _ todoapi.TicketStore = (*Store)(nil)

// SaveTicket stores a ticket and removes the expired ones, so the table
// holds about a minute's worth of tickets without a scheduler.
func (s *Store) SaveTicket(ctx context.Context, hash []byte, u todoapi.User, expires, now time.Time) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return s.fail("save ticket", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM event_tickets WHERE expires_at < ?`, now.UnixMicro()); err != nil {
		return s.fail("save ticket", err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO event_tickets (hash, user_id, email, name, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hash, u.ID, u.Email, u.Name, expires.UnixMicro()); err != nil {
		return s.fail("save ticket", err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail("save ticket", err)
	}
	return nil
}

// TakeTicket deletes the ticket and returns its user if it was still
// valid. Writes go through the one writer connection, so of two takes of
// one ticket only the first finds its row.
func (s *Store) TakeTicket(ctx context.Context, hash []byte, now time.Time) (todoapi.User, error) {
	var u todoapi.User
	var valid bool
	err := s.writer.QueryRowContext(ctx, `
		DELETE FROM event_tickets WHERE hash = ?
		RETURNING user_id, email, name, expires_at > ?`,
		hash, now.UnixMicro()).Scan(&u.ID, &u.Email, &u.Name, &valid)
	if err != nil {
		return todoapi.User{}, s.fail("take ticket", err)
	}
	if !valid {
		return todoapi.User{}, fmt.Errorf("take ticket: expired: %w", todoapi.ErrNotFound)
	}
	return u, nil
}
