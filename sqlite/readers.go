package sqlite

import (
	"context"
	"sync"
)

// readerGate bounds how many of the read pool's connections one user's
// calls hold at once, so that one user's slow reads (searches that scan
// every one of 10 000 tasks, the largest pages), however many are sent in
// parallel, always leave connections for everyone else: without it, eight
// parallel searches of one user held all four readers and every other
// user's reads queued behind them. A user's calls beyond the bound wait
// here, in the order they came, and give up when their context ends.
type readerGate struct {
	perUser int
	mu      sync.Mutex
	users   map[string]*userReaders
}

// userReaders holds a user's places: a call holds one while it reads. refs
// counts the calls holding or waiting for one, so that the entry goes when
// the last of them does and the map never outgrows the calls in progress.
type userReaders struct {
	places chan struct{}
	refs   int
}

// readersPerUser is the bound for a read pool of poolSize connections:
// half of it, so that one user always leaves the other half free.
func readersPerUser(poolSize int) int { return max(1, poolSize/2) }

func newReaderGate(perUser int) *readerGate {
	return &readerGate{perUser: perUser, users: make(map[string]*userReaders)}
}

// enter waits for one of user's places and returns the function that gives
// it back, or ctx's error if ctx ends first.
func (g *readerGate) enter(ctx context.Context, user string) (release func(), err error) {
	g.mu.Lock()
	u := g.users[user]
	if u == nil {
		u = &userReaders{places: make(chan struct{}, g.perUser)}
		g.users[user] = u
	}
	u.refs++
	g.mu.Unlock()
	select {
	case u.places <- struct{}{}:
		return func() {
			<-u.places
			g.leave(user, u)
		}, nil
	case <-ctx.Done():
		g.leave(user, u)
		return nil, ctx.Err()
	}
}

func (g *readerGate) leave(user string, u *userReaders) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u.refs--; u.refs == 0 {
		delete(g.users, user)
	}
}
