package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// notifier tells other processes, through NOTIFY on ChangesChannel, which
// users' change feeds moved, right after the writes commit.
//
// The notification is not sent inside the write's own transaction, though
// that would tie it to the commit: PostgreSQL serialises the commits of
// every transaction that notified, across the whole database, with a lock
// held until the commit record is flushed to disk, so writes could no
// longer share a flush; measured with the load tool, in-transaction NOTIFY
// made updates and creates five to six times slower. Sent afterwards, in
// batches, one statement per batch notifies every user whose feed moved,
// in a transaction that writes nothing and so flushes nothing.
//
// A notification only wakes followers, who then read the feed, which holds
// everything committed: a notification that is lost (the process died
// between commit and send, the database was unreachable) delays a wake-up
// until the user's next change or the follower's reconnection, and never
// loses a change.
type notifier struct {
	pool *pgxpool.Pool

	mu      sync.Mutex
	pending map[string]struct{}

	wake     chan struct{} // capacity 1: a send is pending
	stop     chan struct{}
	stopOnce sync.Once
	stopped  chan struct{}
}

// notifyRetry is how long the notifier waits after a failed send before
// trying the same users again.
const notifyRetry = time.Second

func newNotifier(pool *pgxpool.Pool) *notifier {
	n := &notifier{
		pool:    pool,
		pending: map[string]struct{}{},
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go n.run()
	return n
}

// add schedules a notification for userID. It never blocks.
func (n *notifier) add(userID string) {
	n.mu.Lock()
	n.pending[userID] = struct{}{}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// notifyWindow is how long the notifier gathers users after the first
// write that wakes it, so that a busy process sends one statement for many
// writes (at most one per window) instead of one per write, which measured
// a fifth of the throughput of small writes. It adds at most this much to
// the time a change takes to reach the streams of other processes.
const notifyWindow = 10 * time.Millisecond

func (n *notifier) run() {
	defer close(n.stopped)
	window := time.NewTimer(0)
	<-window.C
	for {
		select {
		case <-n.wake:
		case <-n.stop:
			n.send() // what was committed before Close
			return
		}
		window.Reset(notifyWindow)
		select {
		case <-window.C:
		case <-n.stop:
			window.Stop()
		}
		n.send()
	}
}

// send notifies every pending user in one statement.
func (n *notifier) send() {
	n.mu.Lock()
	if len(n.pending) == 0 {
		n.mu.Unlock()
		return
	}
	users := make([]string, 0, len(n.pending))
	for u := range n.pending {
		users = append(users, u)
	}
	clear(n.pending)
	n.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := n.pool.Exec(ctx, `SELECT pg_notify($1, u) FROM unnest($2::text[]) AS u`, ChangesChannel, users)
	if err == nil {
		return
	}
	// Keep them for another try, unless the store is closing.
	n.mu.Lock()
	for _, u := range users {
		n.pending[u] = struct{}{}
	}
	n.mu.Unlock()
	select {
	case <-n.stop:
	default:
		time.AfterFunc(notifyRetry, func() {
			select {
			case n.wake <- struct{}{}:
			default:
			}
		})
	}
}

// close sends what is pending and stops the notifier. Closing again
// (Store.Close twice) does nothing more.
func (n *notifier) close() {
	n.stopOnce.Do(func() { close(n.stop) })
	<-n.stopped
}
