package sqlite

import (
	"context"
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

// TakeTicket deletes the ticket and returns its user and expiry. Writes
// go through the one writer connection, so of two takes of one ticket only
// the first finds its row.
func (s *Store) TakeTicket(ctx context.Context, hash []byte) (todoapi.User, time.Time, error) {
	var u todoapi.User
	var expires int64
	err := s.writer.QueryRowContext(ctx, `
		DELETE FROM event_tickets WHERE hash = ?
		RETURNING user_id, email, name, expires_at`,
		hash).Scan(&u.ID, &u.Email, &u.Name, &expires)
	if err != nil {
		return todoapi.User{}, time.Time{}, s.fail("take ticket", err)
	}
	return u, time.UnixMicro(expires).UTC(), nil
}
