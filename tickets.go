package todoapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Tickets let a browser open a live event stream. Its EventSource cannot
// send an Authorization header, and a long-lived token must never go into a
// URL (URLs end up in proxy logs, history and Referer headers). So a client
// trades its bearer token for a ticket: a random secret that names the
// user, works once, and only for 60 seconds.
//
// Tickets live in the database, not in a replica's memory, so that a ticket
// minted through one replica opens a stream on any other, and single use
// holds across replicas: redeeming deletes the row, and only one of two
// concurrent redeems can delete it. The database keeps only a hash of each
// secret, so a copy of the table opens no stream.

// TicketTTL is how long a ticket may wait to be used.
const TicketTTL = 60 * time.Second

// ticketPrefix marks tickets, so that one is recognisable in a bug report
// and never mistaken for a token.
const ticketPrefix = "evt_"

// ErrInvalidTicket means a ticket is unknown, used already, or expired.
var ErrInvalidTicket = errors.New("ticket is unknown, used or expired")

// TicketStore keeps tickets until they are used or expire.
type TicketStore interface {
	// SaveTicket stores a ticket for user, by the hash of its secret,
	// until expires; it may remove tickets that expired before now.
	SaveTicket(ctx context.Context, hash []byte, user User, expires, now time.Time) error
	// TakeTicket removes the ticket with hash and returns its user and
	// when it expires, or ErrNotFound when there is no such ticket. Of
	// concurrent calls for one ticket, at most one returns it. Whether it
	// is still valid is Redeem's to decide.
	TakeTicket(ctx context.Context, hash []byte) (User, time.Time, error)
}

// Tickets issues and redeems event-stream tickets.
type Tickets struct {
	store TicketStore
	// Now is the clock; tests replace it.
	Now func() time.Time
	// TTL is how long a ticket stays valid.
	TTL time.Duration
}

// NewTickets returns Tickets kept in store.
func NewTickets(store TicketStore) *Tickets {
	return &Tickets{store: store, Now: time.Now, TTL: TicketTTL}
}

// Issue returns a new ticket for user and when it expires.
func (t *Tickets) Issue(ctx context.Context, user User) (string, time.Time, error) {
	var secret [32]byte
	_, _ = rand.Read(secret[:]) // never fails (crypto/rand)
	ticket := ticketPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	now := t.Now().UTC()
	expires := now.Add(t.TTL).Truncate(time.Microsecond)
	if err := t.store.SaveTicket(ctx, ticketHash(ticket), user, expires, now); err != nil {
		return "", time.Time{}, fmt.Errorf("save ticket: %w", err)
	}
	return ticket, expires, nil
}

// Redeem uses up ticket and returns the user it was issued to, or
// ErrInvalidTicket.
func (t *Tickets) Redeem(ctx context.Context, ticket string) (User, error) {
	// A 32-byte secret in base64 is 43 characters; anything else was never
	// issued and costs no database round trip.
	if !strings.HasPrefix(ticket, ticketPrefix) || len(ticket) != len(ticketPrefix)+43 {
		return User{}, ErrInvalidTicket
	}
	u, expires, err := t.store.TakeTicket(ctx, ticketHash(ticket))
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrInvalidTicket
	}
	if err != nil {
		return User{}, fmt.Errorf("redeem ticket: %w", err)
	}
	// Taken either way: an expired ticket is used up too.
	if !t.Now().Before(expires) {
		return User{}, ErrInvalidTicket
	}
	return u, nil
}

func ticketHash(ticket string) []byte {
	h := sha256.Sum256([]byte(ticket))
	return h[:]
}
