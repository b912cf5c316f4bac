package todoapi

import "sync"

// Hub is the in-process ChangeHub. Each subscriber owns a wake channel with
// room for one value: Publish puts a value there unless one is already
// waiting, so a burst of writes costs a follower one feed read, a
// subscriber that is slow to read never blocks a writer, and memory stays
// one small channel per subscriber whatever the write rate.
//
// Across replicas a Hub is fed by whatever carries "user U changed" between
// processes (PostgreSQL's LISTEN/NOTIFY); on a single process the service's
// own Publish calls are all it needs.
type Hub struct {
	mu    sync.RWMutex
	users map[string]map[*hubSub]struct{}
	n     int // subscriptions open
	// followed receives a value when the first subscription opens.
	followed chan struct{}
}

type hubSub struct {
	wake chan struct{}
}

var _ ChangeHub = (*Hub)(nil)

// NewHub returns an empty Hub.
func NewHub() *Hub {
	return &Hub{users: make(map[string]map[*hubSub]struct{}), followed: make(chan struct{}, 1)}
}

// Publish wakes every subscriber of userID. It never blocks.
func (h *Hub) Publish(userID string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.users[userID] {
		s.notify()
	}
}

// PublishAll wakes every subscriber of every user. A follower that may have
// missed notifications (a dropped LISTEN connection) calls it: each stream
// then reads its feed once, which covers whatever was missed.
func (h *Hub) PublishAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, subs := range h.users {
		for s := range subs {
			s.notify()
		}
	}
}

func (s *hubSub) notify() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already pending; this one merges into it
	}
}

// Subscribe implements ChangeHub. cancel may be called more than once.
func (h *Hub) Subscribe(userID string) (<-chan struct{}, func()) {
	s := &hubSub{wake: make(chan struct{}, 1)}
	h.mu.Lock()
	subs := h.users[userID]
	if subs == nil {
		subs = make(map[*hubSub]struct{})
		h.users[userID] = subs
	}
	subs[s] = struct{}{}
	if h.n++; h.n == 1 {
		select {
		case h.followed <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
	var once sync.Once
	return s.wake, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(subs, s)
			h.n--
			// Test the map in place, not subs: after its last subscriber
			// left, a new Subscribe may have made a new one.
			if len(h.users[userID]) == 0 {
				// The user's map goes with its last subscriber, so users
				// who come and go leave nothing behind.
				delete(h.users, userID)
			}
		})
	}
}

// Subscribers reports how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

// Followed receives a value when a subscription opens while none was open
// (possibly long before it is read), so that a feeder that stops when no
// one follows (a LISTEN that lets a serverless database sleep) knows when
// to start again. Check Subscribers after a value: it may be stale.
func (h *Hub) Followed() <-chan struct{} { return h.followed }
