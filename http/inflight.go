package http

import (
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/todoapi/todoapi/metrics"
)

// DefaultUserMaxInFlight is Config.UserMaxInFlight's default: more than a
// browser opens to one server at once (six connections) with room for a
// second device, few enough that one user's largest pages cannot fill the
// server's memory or its database connections.
const DefaultUserMaxInFlight = 8

// inFlightRetry is the Retry-After of a request refused for too many in
// flight: requests that hold the user's places finish in well under it.
const inFlightRetry = time.Second

// metaLongLived is the operation metadata key that marks an operation whose
// requests stay open for as long as the client listens (an event stream):
// they do not count against the per-user in-flight limit, which is about
// work being done, and would otherwise let a user's open streams lock that
// user out.
const metaLongLived = "todoapi.longLived"

// longLived marks op as long-lived (metaLongLived); register it before
// huma.Register.
func longLived(op *huma.Operation) {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[metaLongLived] = true
}

// inFlight counts each user's requests being served. A user's entry exists
// only while that user has a request in flight, so the map is bounded by
// the requests in flight, not by the users ever seen.
type inFlight struct {
	max   int
	mu    sync.Mutex
	count map[string]int
}

// newInFlight returns nil, which admits everything, when max is 0 or less.
func newInFlight(max int) *inFlight {
	if max <= 0 {
		return nil
	}
	return &inFlight{max: max, count: make(map[string]int)}
}

// enter takes one of user's places and reports whether there was one; the
// caller calls leave when it has answered.
func (f *inFlight) enter(user string) bool {
	if f == nil {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.count[user] >= f.max {
		return false
	}
	f.count[user]++
	return true
}

func (f *inFlight) leave(user string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.count[user]--; f.count[user] <= 0 {
		delete(f.count, user)
	}
}

// limitInFlight answers 429 to a user who already has the most requests in
// flight that one user may, so that one user's many slow requests (the
// largest pages, searches of every task) cannot take the memory and
// database connections that everyone else's requests need. It runs after
// authenticate, so it counts users, not addresses, and lets long-lived
// operations through uncounted.
func (s *server) limitInFlight(ctx huma.Context, next func(huma.Context)) {
	user := userFrom(ctx.Context())
	if user.ID == "" || s.inFlight == nil {
		next(ctx)
		return
	}
	if op := ctx.Operation(); op != nil && op.Metadata[metaLongLived] == true {
		next(ctx)
		return
	}
	if !s.inFlight.enter(user.ID) {
		s.metrics.RateLimited(metrics.LimitInFlight)
		s.writeHumaProblem(ctx, &limited{"too many requests in flight", inFlightRetry})
		return
	}
	defer s.inFlight.leave(user.ID)
	next(ctx)
}
