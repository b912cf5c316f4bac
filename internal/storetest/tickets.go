package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// Tickets is the contract of a todoapi.TicketStore, run through
// todoapi.Tickets with a clock the test moves: a ticket names its user,
// works once, and not after it expires. open must return a new, empty,
// migrated store for every call.
func Tickets(t *testing.T, open func(t *testing.T) todoapi.TicketStore) {
	t.Run("SingleUse", func(t *testing.T) {
		ctx := t.Context()
		tickets, _ := clockedTickets(open(t))
		alice := todoapi.User{ID: "alice", Email: "alice@example.com", Name: "Alice"}
		ticket, _, err := tickets.Issue(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		bob, _, err := tickets.Issue(ctx, todoapi.User{ID: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if ticket == bob {
			t.Fatal("two tickets are equal")
		}
		got, err := tickets.Redeem(ctx, ticket)
		if err != nil || got != alice {
			t.Fatalf("Redeem = %+v, %v; want %+v", got, err, alice)
		}
		if _, err := tickets.Redeem(ctx, ticket); !errors.Is(err, todoapi.ErrInvalidTicket) {
			t.Fatalf("second Redeem: %v, want ErrInvalidTicket", err)
		}
		// Using one ticket leaves the others alone.
		if got, err := tickets.Redeem(ctx, bob); err != nil || got.ID != "bob" {
			t.Fatalf("Redeem(bob's ticket) = %+v, %v", got, err)
		}
		for _, bad := range []string{"", "evt_", ticket + "x", "evt_" + ticket[4:len(ticket)-1] + "A", "Bearer x"} {
			if _, err := tickets.Redeem(ctx, bad); !errors.Is(err, todoapi.ErrInvalidTicket) {
				t.Errorf("Redeem(%q): %v, want ErrInvalidTicket", bad, err)
			}
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		ctx := t.Context()
		tickets, clock := clockedTickets(open(t))
		user := todoapi.User{ID: "alice"}
		early, _, err := tickets.Issue(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		late, expires, err := tickets.Issue(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if want := clock.now().Add(todoapi.TicketTTL); !expires.Equal(want) {
			t.Fatalf("expires %v, want %v", expires, want)
		}
		clock.advance(todoapi.TicketTTL - time.Microsecond)
		if _, err := tickets.Redeem(ctx, early); err != nil {
			t.Fatalf("Redeem just before expiry: %v", err)
		}
		clock.advance(time.Microsecond)
		if _, err := tickets.Redeem(ctx, late); !errors.Is(err, todoapi.ErrInvalidTicket) {
			t.Fatalf("Redeem at expiry: %v, want ErrInvalidTicket", err)
		}
	})
	t.Run("ExpiredAreRemoved", func(t *testing.T) {
		ctx := t.Context()
		tickets, clock := clockedTickets(open(t))
		old, _, err := tickets.Issue(ctx, todoapi.User{ID: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		clock.advance(2 * todoapi.TicketTTL)
		if _, _, err := tickets.Issue(ctx, todoapi.User{ID: "alice"}); err != nil {
			t.Fatal(err)
		}
		// Back in time: had the old row survived the second Issue, it
		// would redeem now.
		clock.advance(-2 * todoapi.TicketTTL)
		if _, err := tickets.Redeem(ctx, old); !errors.Is(err, todoapi.ErrInvalidTicket) {
			t.Fatalf("an expired ticket survived the next Issue: %v", err)
		}
	})
	t.Run("ConcurrentRedeems", func(t *testing.T) {
		ctx := t.Context()
		tickets, _ := clockedTickets(open(t))
		ticket, _, err := tickets.Issue(ctx, todoapi.User{ID: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := tickets.Redeem(ctx, ticket)
				switch {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, todoapi.ErrInvalidTicket):
					t.Errorf("Redeem: %v", err)
				}
			})
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("%d of 8 concurrent redeems of one ticket succeeded, want 1", n)
		}
	})
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func clockedTickets(s todoapi.TicketStore) (*todoapi.Tickets, *testClock) {
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	tickets := todoapi.NewTickets(s)
	tickets.Now = clock.now
	return tickets, clock
}
