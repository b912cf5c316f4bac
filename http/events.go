package http

// Live events: GET /api/{user_id}/events is a Server-Sent Events stream of
// the user's changes. The stream is a reader of the change feed that is
// woken up whenever the feed may have moved: on connect and after every
// wake-up it reads the feed from its position and writes one event per
// entry, whose id is the feed's position after that entry. So a client
// that reconnects with the last id it saw (Last-Event-ID, or ?since=)
// resumes exactly there, with no gap and no duplicate, whichever replica
// it reaches, and a lost or merged wake-up costs nothing but a read.

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/metrics"
)

// EventsConfig configures the live event streams.
type EventsConfig struct {
	// Heartbeat is how often an idle stream writes a comment line, so
	// that proxies and load balancers do not close it as idle. Default
	// 15 s.
	Heartbeat time.Duration
	// MaxStreamsPerUser and MaxStreams bound the open streams of one user
	// and of the process; beyond them a new stream gets 429. Defaults 10
	// and 10 000.
	MaxStreamsPerUser int
	MaxStreams        int
	// WriteTimeout bounds each write to a stream: a client that stops
	// reading is cut off after it, instead of holding its stream for ever.
	// It replaces the server's write timeout, which would otherwise end
	// every stream that lives longer than it. Default 30 s.
	WriteTimeout time.Duration
	// Stop ends every open stream when it is closed: the process is
	// shutting down, and its clients should reconnect to another replica
	// at once (with Last-Event-ID) rather than wait for the drain. New
	// streams are refused from then on. Nil: never.
	Stop <-chan struct{}
	// Ticker makes the heartbeat ticker; tests replace it. Nil:
	// time.NewTicker.
	Ticker func(d time.Duration) (ticks <-chan time.Time, stop func())

	// batch is how many feed entries one read takes (eventsBatch); tests
	// make it small.
	batch int
}

// Defaults of EventsConfig.
const (
	DefaultEventsHeartbeat         = 15 * time.Second
	DefaultEventsMaxStreamsPerUser = 10
	DefaultEventsMaxStreams        = 10_000
	defaultEventsWriteTimeout      = 30 * time.Second
)

// eventsBatch is how many feed entries one read takes (the most one read
// may ask for); a stream that is far behind catches up in reads of this
// size.
const eventsBatch = 1000

// maxIdleStreamBuffer is the most buffer an open stream keeps between
// writes.
const maxIdleStreamBuffer = 16 << 10

// streamRetryAfter is the Retry-After of a refused stream: streams are long
// and slots free up slowly, so a client retrying sooner would only be
// refused again.
const streamRetryAfter = 10 * time.Second

func (c EventsConfig) withDefaults() EventsConfig {
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultEventsHeartbeat
	}
	if c.MaxStreamsPerUser <= 0 {
		c.MaxStreamsPerUser = DefaultEventsMaxStreamsPerUser
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = DefaultEventsMaxStreams
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = defaultEventsWriteTimeout
	}
	if c.batch <= 0 {
		c.batch = eventsBatch
	}
	if c.Ticker == nil {
		c.Ticker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	return c
}

// streamSlots counts open streams per user and in all, refusing one more
// beyond either bound. The per-user bound keeps one user (or a stolen
// token) from taking the process's slots from everyone else.
type streamSlots struct {
	maxUser, maxAll int

	mu     sync.Mutex
	all    int
	byUser map[string]int
}

func newStreamSlots(maxUser, maxAll int) *streamSlots {
	return &streamSlots{maxUser: maxUser, maxAll: maxAll, byUser: make(map[string]int)}
}

// take reserves a slot for user, or says which bound is reached.
func (s *streamSlots) take(user string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.byUser[user] >= s.maxUser:
		return nil, &limited{"too many open event streams for this user (at most " + strconv.Itoa(s.maxUser) + "); close one first", streamRetryAfter}
	case s.all >= s.maxAll:
		return nil, &limited{"this server has too many open event streams", streamRetryAfter}
	}
	s.byUser[user]++
	s.all++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.all--
			if s.byUser[user]--; s.byUser[user] <= 0 {
				delete(s.byUser, user)
			}
		})
	}, nil
}

type eventsInput struct {
	UserPath
	LastEventID string `header:"Last-Event-ID" doc:"The id of the last event received: the stream resumes right after it. Browsers' EventSource sends it by itself when it reconnects."`
	Since       string `query:"since" doc:"Where to resume when Last-Event-ID is absent: an event id or a change-feed token (next of GET /changes). Without either, the stream starts at the current end of the feed."`
	Ticket      string `query:"ticket" doc:"A ticket from POST /api/{user_id}/events/ticket, for clients that cannot send an Authorization header (browsers' EventSource). Used up by this request."`
}

type eventsOutput struct {
	Body func(huma.Context)
}

type ticketOutput struct {
	Body ticketBody
}

type ticketBody struct {
	Ticket    string    `json:"ticket" doc:"Pass it as ?ticket= on the events URL, within expires_in seconds; it works once."`
	ExpiresIn int       `json:"expires_in" doc:"Seconds the ticket stays valid." example:"60"`
	ExpiresAt time.Time `json:"expires_at" doc:"When the ticket expires (UTC)."`
}

// eventsOperation is the operation id of the events stream.
const eventsOperation = "stream-events"

func (s *server) registerEvents() {
	if s.feed == nil || s.hub == nil {
		return
	}
	authErrors := []int{http.StatusUnauthorized, http.StatusForbidden,
		http.StatusTooManyRequests, http.StatusServiceUnavailable}
	register(s, huma.Operation{
		OperationID: eventsOperation, Method: http.MethodGet, Path: "/api/{user_id}/events",
		Summary: "Stream changes (Server-Sent Events)",
		Description: "A text/event-stream of the user's changes, one event per changed task: " +
			"`task.created` or `task.updated` with the task as data, `task.deleted` with `{\"id\": N}`; " +
			"when a task's reminder falls due, that task's usual event and then `task.reminder`, both with the task. " +
			"Each event's id is the change-feed position after it; reconnect with Last-Event-ID (or ?since=) " +
			"to resume with nothing missed and nothing repeated. The first event, `ready`, carries the " +
			"position the stream starts from. A comment line is sent every EVENTS_HEARTBEAT. " +
			"Authenticate with the bearer token, or (browsers' EventSource) with ?ticket=.",
		Errors: append(authErrors, http.StatusGone, http.StatusUnprocessableEntity),
		Responses: map[string]*huma.Response{
			"200": {Description: "The event stream.", Content: map[string]*huma.MediaType{
				"text/event-stream": {Schema: &huma.Schema{Type: "string"}},
			}},
		},
		// A stream stays open as long as its client listens: it must not
		// hold one of the user's places for requests in flight.
		Metadata: map[string]any{ticketAuth: true, metaLongLived: true},
	}, s.streamEvents)
	register(s, huma.Operation{
		OperationID: "create-events-ticket", Method: http.MethodPost, Path: "/api/{user_id}/events/ticket",
		Summary: "Get a ticket for the event stream",
		Description: "A single-use ticket, valid for 60 seconds, that opens the user's event stream as " +
			"?ticket= (browsers' EventSource cannot send an Authorization header; tokens never go into URLs). " +
			"It is accepted by the events URL only.",
		Errors: authErrors,
	}, s.createTicket)
}

// ticketAuth marks the operation whose ?ticket= authenticates.
const ticketAuth = "ticket-auth"

func (s *server) createTicket(ctx context.Context, _ *UserPath) (*ticketOutput, error) {
	if s.tickets == nil {
		return nil, s.problemFor(ctx, errNoTickets, "")
	}
	ticket, expires, err := s.tickets.Issue(ctx, userFrom(ctx))
	if err != nil {
		return nil, s.problemFor(ctx, err, "")
	}
	return &ticketOutput{Body: ticketBody{Ticket: ticket, ExpiresIn: int(s.tickets.TTL / time.Second), ExpiresAt: expires}}, nil
}

var errNoTickets = newProblem(http.StatusServiceUnavailable, "tickets are not available on this server")

// streamEvents checks what can be checked before the response starts (the
// stream slots, the resume position, a first read of the feed, so that a
// bad or expired position is a 422 or 410 and not a broken stream), then
// streams.
func (s *server) streamEvents(ctx context.Context, in *eventsInput) (*eventsOutput, error) {
	user := userFrom(ctx)
	select {
	case <-s.events.Stop:
		return nil, s.problemFor(ctx, errShuttingDown, "")
	default:
	}
	if s.draining() {
		return nil, s.problemFor(ctx, errShuttingDown, "")
	}
	release, err := s.streams.take(user.ID)
	if err != nil {
		s.metrics.RateLimited(metrics.LimitEventStreams)
		return nil, s.problemFor(ctx, err, "")
	}
	// Subscribe before the first read: a change committed after the read
	// began then also wakes the stream, so nothing falls between the two.
	wake, cancel := s.hub.Subscribe(user.ID)
	closed := s.metrics.StreamOpened()
	done := func() { cancel(); closed(); release() }

	pos, fromHeader := in.LastEventID, in.LastEventID != ""
	if pos == "" {
		pos = in.Since
	}
	if pos == "" {
		if pos, err = s.feedEnd(ctx, user); err != nil {
			done()
			return nil, s.problemFor(ctx, err, "query")
		}
	}
	first, err := s.feed.Changes(ctx, user, pos, s.events.batch)
	if err != nil {
		done()
		return nil, s.problemFor(ctx, renameSince(err, fromHeader), "")
	}
	return &eventsOutput{Body: func(hctx huma.Context) {
		defer done()
		r, w := humago.Unwrap(hctx)
		if r.Method == http.MethodHead {
			// HEAD learns the stream's headers; a body it never reads must
			// not hold a stream open.
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			return
		}
		st := &stream{s: s, w: w, rc: http.NewResponseController(w), user: user, pos: pos}
		st.run(r.Context(), first, wake)
	}}, nil
}

// renameSince makes an invalid position name the parameter it came in:
// the Last-Event-ID header or ?since=.
func renameSince(err error, fromHeader bool) error {
	var invalid *todoapi.ValidationError
	if !errors.As(err, &invalid) {
		return err
	}
	errs := make([]error, 0, len(invalid.Fields))
	for _, name := range invalid.Names() {
		loc := "query." + name
		if name == "since" && fromHeader {
			loc = "header.Last-Event-ID"
		}
		errs = append(errs, &fieldError{Location: loc, Message: invalid.Fields[name]})
	}
	return newProblem(http.StatusUnprocessableEntity, "validation failed", errs...)
}

var errShuttingDown = unavailable("this server is shutting down; reconnect to resume the stream")

// changesEnd is implemented by change feeds that can give the position at
// the current end of a user's feed in one read.
type changesEnd interface {
	ChangesEnd(ctx context.Context, user todoapi.User) (string, error)
}

// feedEnd returns the position at the current end of user's feed: a stream
// opened without a position starts there and reports only what changes
// from now on.
func (s *server) feedEnd(ctx context.Context, user todoapi.User) (string, error) {
	if f, ok := s.feed.(changesEnd); ok {
		return f.ChangesEnd(ctx, user)
	}
	since := ""
	for {
		page, err := s.feed.Changes(ctx, user, since, s.events.batch)
		if err != nil {
			return "", err
		}
		since = page.Next
		if !page.HasMore {
			return since, nil
		}
	}
}

// stream is one open event stream.
type stream struct {
	s    *server
	w    http.ResponseWriter
	rc   *http.ResponseController
	user todoapi.User
	pos  string
	buf  bytes.Buffer
}

func (st *stream) run(ctx context.Context, first todoapi.ChangePage, wake <-chan struct{}) {
	h := st.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	// Proxies such as nginx buffer responses unless told not to, which
	// would hold events back.
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	// A stream reads nothing after its headers, so no read deadline may
	// end it. (net/http clears the request's own once the handler runs
	// and the body is read; this clears any that a layer in between may
	// have set for reading a body.)
	_ = st.rc.SetReadDeadline(time.Time{})
	st.w.WriteHeader(http.StatusOK)

	// ready tells the client where the stream starts, so that a client
	// that connected without a position can resume from here.
	st.buf.WriteString("id: " + st.pos + "\nevent: ready\ndata: {\"next\":\"" + st.pos + "\"}\n\n")
	if !st.appendPage(first) || !st.flush() {
		return
	}
	more := first.HasMore
	ticks, stopTicks := st.s.events.Ticker(st.s.events.Heartbeat)
	defer stopTicks()
	for {
		if !more {
			select {
			case <-ctx.Done():
				return
			case <-st.s.events.Stop:
				return
			case <-ticks:
				// A heartbeat also reads the feed: a notification that was
				// never sent (a replica that died between its commit and
				// its NOTIFY) then delays a change by one heartbeat, no
				// more. With nothing new the read is one indexed range
				// that finds no row.
				st.buf.WriteString(": keep-alive\n\n")
				if !st.flush() {
					return
				}
			case <-wake:
			}
		}
		page, err := st.s.feed.Changes(ctx, st.user, st.pos, st.s.events.batch)
		if err != nil {
			// The client reconnects with its last id and resumes from the
			// feed, on this replica or another.
			if ctx.Err() == nil {
				st.s.log.WarnContext(ctx, "event stream ended by a failed read of the change feed",
					"request_id", requestID(ctx), "err", err)
			}
			return
		}
		more = page.HasMore
		if !st.appendPage(page) || !st.flush() {
			return
		}
	}
}

// appendPage adds one event per change to the buffer and moves the
// stream's position past them.
func (st *stream) appendPage(page todoapi.ChangePage) bool {
	for _, c := range page.Changes {
		if c.Task != nil && c.Reminder {
			// The task's state first, as for any change, so that a client
			// that only keeps its list in sync needs nothing more; then
			// the reminder, with the id. The first event has no id of its
			// own: a client cut off between the two resumes before both.
			st.appendTaskEvent(c.Created, c.Task)
			st.buf.WriteString("id: ")
			st.buf.WriteString(c.Token)
			st.buf.WriteString("\nevent: task.reminder\ndata: ")
			st.buf.Write(appendTask(st.buf.AvailableBuffer(), c.Task))
			st.buf.WriteString("\n\n")
			st.pos = c.Token
			continue
		}
		st.buf.WriteString("id: ")
		st.buf.WriteString(c.Token)
		st.buf.WriteString("\n")
		switch {
		case c.Op == todoapi.ChangeDelete:
			st.buf.WriteString("event: task.deleted\ndata: {\"id\":")
			st.buf.Write(strconv.AppendInt(st.buf.AvailableBuffer(), c.ID, 10))
			st.buf.WriteString("}\n\n")
		case c.Task != nil:
			st.appendTaskEvent(c.Created, c.Task)
		default:
			st.buf.WriteString("\n") // moves the client's position all the same
		}
		st.pos = c.Token
	}
	if page.Next != "" && page.Next != st.pos {
		// The feed moved past entries no one holds any more (or this read
		// found none): a bare id moves the client's last event id along
		// without an event.
		st.pos = page.Next
		st.buf.WriteString("id: " + st.pos + "\n\n")
	}
	return true
}

// appendTaskEvent adds a task.created or task.updated event, without its
// id line.
func (st *stream) appendTaskEvent(created bool, t *todoapi.Task) {
	if created {
		st.buf.WriteString("event: task.created\ndata: ")
	} else {
		st.buf.WriteString("event: task.updated\ndata: ")
	}
	st.buf.Write(appendTask(st.buf.AvailableBuffer(), t))
	st.buf.WriteString("\n\n")
}

// flush writes what is buffered within the write timeout and pushes it to
// the client; false means the client is gone or too slow.
func (st *stream) flush() bool {
	if st.buf.Len() == 0 {
		return true
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(st.s.events.WriteTimeout))
	_, err := st.w.Write(st.buf.Bytes())
	st.buf.Reset()
	if st.buf.Cap() > maxIdleStreamBuffer {
		// A catch-up of a long backlog must not pin its buffer for the
		// rest of a stream that will mostly idle.
		st.buf = bytes.Buffer{}
	}
	if err == nil {
		err = st.rc.Flush()
	}
	return err == nil
}
