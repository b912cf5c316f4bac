package http

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
	"github.com/todoapi/todoapi/internal/browsertest"
)

// eventsEnv is a real HTTP server (the events stream needs a connection)
// over the real handler, service, hub and store.
type eventsEnv struct {
	srv     *httptest.Server
	store   testStore
	svc     *todoapi.Service
	hub     *todoapi.Hub
	tickets *todoapi.Tickets
	clock   *eventsClock
	ticks   chan time.Time
	stop    chan struct{}
}

type eventsClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *eventsClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *eventsClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type eventsOptions struct {
	maxPerUser, maxAll    int
	batch                 int
	maxInFlight           int
	readTimeout, writeTTL time.Duration
	cors                  []string
}

func newEventsEnv(t *testing.T, open func(*testing.T) testStore, o eventsOptions) *eventsEnv {
	t.Helper()
	store := open(t)
	verifier, err := auth.NewVerifier(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	e := &eventsEnv{
		hub:   todoapi.NewHub(),
		clock: &eventsClock{t: time.Now()},
		ticks: make(chan time.Time),
		stop:  make(chan struct{}),
	}
	svc := todoapi.NewService(store)
	svc.Hub = e.hub
	svc.Now = e.clock.now
	e.svc = svc
	e.store = store
	e.tickets = todoapi.NewTickets(store.(todoapi.TicketStore))
	e.tickets.Now = e.clock.now
	h := NewHandler(Config{
		Tasks: svc, Verifier: verifier, Database: store, Version: "test",
		Hub: e.hub, Tickets: e.tickets, CORSOrigins: o.cors,
		// As serve sets it: a request's read timeout bounds its body too.
		BodyReadTimeout: o.readTimeout,
		UserMaxInFlight: o.maxInFlight,
		Events: EventsConfig{
			MaxStreamsPerUser: o.maxPerUser, MaxStreams: o.maxAll, batch: o.batch,
			Stop: e.stop,
			Ticker: func(time.Duration) (<-chan time.Time, func()) {
				return e.ticks, func() {}
			},
		},
	})
	e.srv = httptest.NewUnstartedServer(h)
	// The headers get all the time a loaded machine may need; the
	// timeouts under test start after them.
	e.srv.Config.ReadHeaderTimeout = 30 * time.Second
	e.srv.Config.ReadTimeout = o.readTimeout
	e.srv.Config.WriteTimeout = o.writeTTL
	e.srv.Start()
	t.Cleanup(func() {
		select {
		case <-e.stop:
		default:
			close(e.stop) // ends the streams, so that Close does not wait
		}
		e.srv.Close()
	})
	return e
}

// call sends a request to the server and returns status, headers and body.
func (e *eventsEnv) call(t *testing.T, method, path, tok, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// sseEvent is one event as a client parses it.
type sseEvent struct {
	id, event, data string
	comment         bool
}

// sseStream reads events from an open stream in the background.
type sseStream struct {
	res    *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// openStream opens path (with headers as name, value pairs) and returns
// the response; a 200 stream is read in the background.
func (e *eventsEnv) openStream(t *testing.T, path string, headers ...string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &sseStream{res: res, events: make(chan sseEvent, 1000), cancel: cancel}
	t.Cleanup(s.close)
	if res.StatusCode != http.StatusOK {
		return s
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = true
			default:
				name, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch name {
				case "id":
					ev.id = value
				case "event":
					ev.event = value
				case "data":
					ev.data = value
				}
			}
		}
	}()
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next returns the next event that is not a bare id or comment, failing
// after a generous time.
func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	for {
		ev := s.nextAny(t)
		if ev.event != "" {
			return ev
		}
	}
}

// nextAny returns the next block, whatever it is.
func (s *sseStream) nextAny(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
	}
	return sseEvent{}
}

// ready opens a stream and waits for its ready event.
func (e *eventsEnv) ready(t *testing.T, path string, headers ...string) (*sseStream, sseEvent) {
	t.Helper()
	s := e.openStream(t, path, headers...)
	if s.res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(s.res.Body)
		t.Fatalf("GET %s: %d %s", path, s.res.StatusCode, b)
	}
	if ct := s.res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	ev := s.next(t)
	if ev.event != "ready" || ev.id == "" {
		t.Fatalf("first event %+v, want ready with an id", ev)
	}
	return s, ev
}

func eachEventsStore(t *testing.T, o eventsOptions, fn func(t *testing.T, e *eventsEnv)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEventsEnv(t, k.open, o))
		})
	}
}

// TestEventsCarryEachChange: created, updated and deleted events, with the
// task JSON exactly as the REST response that made the change.
func TestEventsCarryEachChange(t *testing.T) {
	t.Parallel()
	eachEventsStore(t, eventsOptions{}, func(t *testing.T, e *eventsEnv) {
		tok := token(t, "alice")
		s, _ := e.ready(t, "/api/me/events", "Authorization", "Bearer "+tok)

		status, _, created := e.call(t, "POST", "/api/me/tasks", tok, `{"title":"one","tags":["a"]}`)
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, created)
		}
		ev := s.next(t)
		if ev.event != "task.created" || ev.data != strings.TrimSpace(string(created)) {
			t.Fatalf("after a create: %+v, want task.created with %s", ev, created)
		}
		var task struct{ ID int64 }
		_ = json.Unmarshal(created, &task)

		status, _, updated := e.call(t, "PATCH", fmt.Sprintf("/api/me/tasks/%d", task.ID), tok, `{"title":"two"}`)
		if status != http.StatusOK {
			t.Fatalf("patch: %d %s", status, updated)
		}
		ev2 := s.next(t)
		if ev2.event != "task.updated" || ev2.data != strings.TrimSpace(string(updated)) {
			t.Fatalf("after a patch: %+v, want task.updated with %s", ev2, updated)
		}
		if ev2.id == ev.id {
			t.Fatal("two events share an id")
		}

		if status, _, body := e.call(t, "DELETE", fmt.Sprintf("/api/me/tasks/%d", task.ID), tok, ""); status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", status, body)
		}
		ev3 := s.next(t)
		if want := fmt.Sprintf(`{"id":%d}`, task.ID); ev3.event != "task.deleted" || ev3.data != want {
			t.Fatalf("after a delete: %+v, want task.deleted with %s", ev3, want)
		}

		// Another user's change reaches only that user's streams: bob's
		// create, then alice's, and alice sees only hers.
		e.call(t, "POST", "/api/me/tasks", token(t, "bob"), `{"title":"bob's"}`)
		e.call(t, "POST", "/api/me/tasks", tok, `{"title":"three"}`)
		if ev := s.next(t); !strings.Contains(ev.data, `"title":"three"`) {
			t.Fatalf("alice's stream got %+v", ev)
		}
	})
}

// TestEventsResume: a client that reconnects with the id of the last event
// it saw gets every later change once, none twice, in commit order.
func TestEventsResume(t *testing.T) {
	t.Parallel()
	eachEventsStore(t, eventsOptions{}, func(t *testing.T, e *eventsEnv) {
		tok := token(t, "alice")
		auth := []string{"Authorization", "Bearer " + tok}
		s, _ := e.ready(t, "/api/me/events", auth...)
		for i := range 3 {
			e.call(t, "POST", "/api/me/tasks", tok, fmt.Sprintf(`{"title":"t%d"}`, i))
		}
		var seen []sseEvent
		for range 3 {
			seen = append(seen, s.next(t))
		}
		s.close()
		// Two more while away.
		for i := 3; i < 5; i++ {
			e.call(t, "POST", "/api/me/tasks", tok, fmt.Sprintf(`{"title":"t%d"}`, i))
		}

		check := func(s *sseStream, from int) {
			t.Helper()
			for i := from; i < 5; i++ {
				ev := s.next(t)
				if want := fmt.Sprintf(`"title":"t%d"`, i); ev.event != "task.created" || !strings.Contains(ev.data, want) {
					t.Fatalf("event %d after resuming: %+v, want %s", i, ev, want)
				}
			}
			// Nothing else is pending: a fresh change comes next.
			e.call(t, "POST", "/api/me/tasks", tok, `{"title":"marker"}`)
			if ev := s.next(t); !strings.Contains(ev.data, `"title":"marker"`) {
				t.Fatalf("after the missed events: %+v, want the marker (a duplicate?)", ev)
			}
		}
		// Last-Event-ID (as EventSource sends it) after the second event.
		r1, ready := e.ready(t, "/api/me/events", append(auth, "Last-Event-ID", seen[1].id)...)
		if ready.id != seen[1].id {
			t.Fatalf("ready id %q, want the position resumed from %q", ready.id, seen[1].id)
		}
		check(r1, 2)
		r1.close()
		// ?since= after the third; the marker above is one more to see.
		r2, _ := e.ready(t, "/api/me/events?since="+seen[2].id, auth...)
		for i := 3; i < 5; i++ {
			if ev := r2.next(t); !strings.Contains(ev.data, fmt.Sprintf(`"title":"t%d"`, i)) {
				t.Fatalf("?since=: %+v", ev)
			}
		}
		if ev := r2.next(t); !strings.Contains(ev.data, `"title":"marker"`) {
			t.Fatalf("?since=: %+v, want the first marker", ev)
		}

		// A position that this service never issued is a 422 naming where
		// it came from.
		bad := e.openStream(t, "/api/me/events", append(auth, "Last-Event-ID", "forged")...)
		body, _ := io.ReadAll(bad.res.Body)
		if bad.res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "header.Last-Event-ID") {
			t.Fatalf("forged Last-Event-ID: %d %s", bad.res.StatusCode, body)
		}
		// Bob's position is not alice's.
		_, bobReady := e.ready(t, "/api/me/events", "Authorization", "Bearer "+token(t, "bob"))
		bad = e.openStream(t, "/api/me/events?since="+bobReady.id, auth...)
		body, _ = io.ReadAll(bad.res.Body)
		if bad.res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "query.since") {
			t.Fatalf("another user's position: %d %s", bad.res.StatusCode, body)
		}
	})
}

// TestEventsHeartbeat: each tick of the heartbeat writes a comment line.
func TestEventsHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, storeKinds[0].open, eventsOptions{})
	s, _ := e.ready(t, "/api/me/events", "Authorization", "Bearer "+token(t, "alice"))
	for range 2 {
		e.ticks <- time.Now()
		if ev := s.nextAny(t); !ev.comment || ev.event != "" {
			t.Fatalf("after a heartbeat tick: %+v, want a comment", ev)
		}
	}
}

// TestEventsHeartbeatReadsTheFeed: a change whose notification never came
// (another replica died between its commit and its NOTIFY) reaches the
// stream at the next heartbeat.
func TestEventsHeartbeatReadsTheFeed(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, storeKinds[0].open, eventsOptions{})
	s, _ := e.ready(t, "/api/me/events", "Authorization", "Bearer "+token(t, "alice"))

	// A service with no hub writes as a replica whose notification is lost.
	silent := todoapi.NewService(e.store)
	task, err := silent.CreateTask(context.Background(), todoapi.User{ID: "alice"}, todoapi.TaskPatch{Title: todoapi.Value("unannounced")})
	if err != nil {
		t.Fatal(err)
	}
	e.ticks <- time.Now()
	if ev := s.nextAny(t); !ev.comment {
		t.Fatalf("after a heartbeat tick: %+v, want the keep-alive comment first", ev)
	}
	if ev := s.next(t); ev.event != "task.created" || !strings.Contains(ev.data, fmt.Sprintf(`"id":%d,`, task.ID)) {
		t.Fatalf("after the heartbeat: %+v, want task.created for task %d", ev, task.ID)
	}
}

// TestEventsHead: HEAD answers the stream's headers and ends at once,
// holding none of the user's stream places.
func TestEventsHead(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, storeKinds[0].open, eventsOptions{maxPerUser: 1})
	tok := token(t, "alice")
	for range 3 {
		status, h, body := e.call(t, http.MethodHead, "/api/me/events", tok, "")
		if status != http.StatusOK || h.Get("Content-Type") != "text/event-stream" || len(body) != 0 {
			t.Fatalf("HEAD: %d %q %q", status, h.Get("Content-Type"), body)
		}
	}
	// The one place is still free.
	e.ready(t, "/api/me/events", "Authorization", "Bearer "+tok)
}

// TestEventsTickets: a ticket opens one stream once, only the events URL
// takes it, and it expires.
func TestEventsTickets(t *testing.T) {
	t.Parallel()
	eachEventsStore(t, eventsOptions{}, func(t *testing.T, e *eventsEnv) {
		tok := token(t, "alice")
		ticket := func() string {
			t.Helper()
			status, _, body := e.call(t, "POST", "/api/me/events/ticket", tok, "")
			var b struct {
				Ticket    string `json:"ticket"`
				ExpiresIn int    `json:"expires_in"`
			}
			if err := json.Unmarshal(body, &b); status != http.StatusOK || err != nil || b.Ticket == "" || b.ExpiresIn != 60 {
				t.Fatalf("POST ticket: %d %s", status, body)
			}
			return b.Ticket
		}
		tk := ticket()
		s, _ := e.ready(t, "/api/alice/events?ticket="+tk)
		e.call(t, "POST", "/api/me/tasks", tok, `{"title":"seen through a ticket"}`)
		if ev := s.next(t); !strings.Contains(ev.data, "seen through a ticket") {
			t.Fatalf("ticket stream: %+v", ev)
		}
		// Used once: the second use is refused, as an unusable token is.
		again := e.openStream(t, "/api/alice/events?ticket="+tk)
		if again.res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a used ticket: %d, want 401", again.res.StatusCode)
		}
		// Only the events URL takes a ticket.
		tk = ticket()
		if status, _, _ := e.call(t, "GET", "/api/me/tasks?ticket="+tk, "", ""); status != http.StatusUnauthorized {
			t.Fatalf("a ticket on the tasks URL: %d, want 401", status)
		}
		// A ticket names its user: it opens no one else's stream.
		if st := e.openStream(t, "/api/bob/events?ticket="+tk); st.res.StatusCode != http.StatusForbidden {
			t.Fatalf("alice's ticket on bob's events: %d, want 403", st.res.StatusCode)
		}
		// Expiry, on the service's clock.
		tk = ticket()
		e.clock.advance(todoapi.TicketTTL)
		if st := e.openStream(t, "/api/me/events?ticket="+tk); st.res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an expired ticket: %d, want 401", st.res.StatusCode)
		}
		// No token and no ticket.
		if st := e.openStream(t, "/api/me/events"); st.res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("no credentials: %d, want 401", st.res.StatusCode)
		}
	})
}

// TestEventsLimits: beyond the per-user bound a user's next stream is a
// 429 while another user still gets one; beyond the process bound
// everyone's is.
func TestEventsLimits(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, storeKinds[0].open, eventsOptions{maxPerUser: 2, maxAll: 3})
	open := func(user string) *sseStream {
		return e.openStream(t, "/api/me/events", "Authorization", "Bearer "+token(t, user))
	}
	for range 2 {
		if s := open("alice"); s.res.StatusCode != http.StatusOK {
			t.Fatalf("alice's stream: %d", s.res.StatusCode)
		}
	}
	s := open("alice")
	if s.res.StatusCode != http.StatusTooManyRequests || s.res.Header.Get("Retry-After") == "" {
		t.Fatalf("alice's third stream: %d (Retry-After %q), want 429 with Retry-After", s.res.StatusCode, s.res.Header.Get("Retry-After"))
	}
	// The bystander is unaffected by alice's streams.
	bob := open("bob")
	if bob.res.StatusCode != http.StatusOK {
		t.Fatalf("bob's stream while alice is at her bound: %d, want 200", bob.res.StatusCode)
	}
	// The process is full now.
	if s := open("carol"); s.res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a stream beyond the process bound: %d, want 429", s.res.StatusCode)
	}
	_, _, metrics := e.call(t, "GET", "/metrics", "", "")
	for _, want := range []string{"todoapi_event_streams_open 3\n", `todoapi_rate_limited_total{limit="event_streams"} 2`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Streams do not use up the rest of the API.
	if status, _, body := e.call(t, "GET", "/api/me/tasks", token(t, "alice"), ""); status != http.StatusOK {
		t.Fatalf("alice's list with her streams open: %d %s", status, body)
	}
}

// TestEventsOutliveServerTimeouts: a stream outlives the server's read and
// write timeouts many times over.
func TestEventsOutliveServerTimeouts(t *testing.T) {
	t.Parallel()
	const timeout = 20 * time.Millisecond
	e := newEventsEnv(t, storeKinds[0].open, eventsOptions{readTimeout: timeout, writeTTL: timeout})
	tok := token(t, "alice")
	start := time.Now()
	s, _ := e.ready(t, "/api/me/events", "Authorization", "Bearer "+tok)
	n := 0
	for time.Since(start) < 10*timeout || n < 3 {
		n++
		// Written through the service: a REST call would have to finish
		// within the server's tiny timeouts.
		if _, err := e.svc.CreateTask(t.Context(), todoapi.User{ID: "alice"},
			todoapi.TaskPatch{Title: todoapi.Value(fmt.Sprintf("t%d", n))}); err != nil {
			t.Fatal(err)
		}
		if ev := s.next(t); !strings.Contains(ev.data, fmt.Sprintf(`"title":"t%d"`, n)) {
			t.Fatalf("event %d: %+v", n, ev)
		}
	}
	t.Logf("the stream carried %d events over %v with read and write timeouts of %v", n, time.Since(start).Round(time.Millisecond), timeout)
}

// TestEventsStop: shutting down ends open streams at once and refuses new
// ones, so that clients reconnect elsewhere.
func TestEventsStop(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, storeKinds[0].open, eventsOptions{})
	s, _ := e.ready(t, "/api/me/events", "Authorization", "Bearer "+token(t, "alice"))
	close(e.stop)
	select {
	case _, ok := <-s.events:
		for ok {
			_, ok = <-s.events
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end within 30s of the stop")
	}
	n := e.openStream(t, "/api/me/events", "Authorization", "Bearer "+token(t, "alice"))
	if n.res.StatusCode != http.StatusServiceUnavailable || n.res.Header.Get("Retry-After") == "" {
		t.Fatalf("a stream while stopping: %d, want 503 with Retry-After", n.res.StatusCode)
	}
}

// TestEventsCORS: the stream answers an allowed origin with CORS headers,
// as the rest of the API does.
func TestEventsCORS(t *testing.T) {
	t.Parallel()
	const origin = "http://app.example"
	e := newEventsEnv(t, storeKinds[0].open, eventsOptions{cors: []string{origin}})
	s, _ := e.ready(t, "/api/me/events", "Authorization", "Bearer "+token(t, "alice"), "Origin", origin)
	if got := s.res.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, origin)
	}
	other := e.openStream(t, "/api/me/events", "Authorization", "Bearer "+token(t, "alice"), "Origin", "http://evil.example")
	if got := other.res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("another origin got Access-Control-Allow-Origin %q", got)
	}
}

// TestEventsAliases: /api/events and /api/events/ticket are the current
// user's, as /api/tasks is.
func TestEventsAliases(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, storeKinds[0].open, eventsOptions{})
	tok := token(t, "alice")
	status, _, body := e.call(t, "POST", "/api/events/ticket", tok, "")
	var b struct{ Ticket string }
	if err := json.Unmarshal(body, &b); status != http.StatusOK || err != nil {
		t.Fatalf("POST /api/events/ticket: %d %s", status, body)
	}
	s, _ := e.ready(t, "/api/events?ticket="+b.Ticket)
	e.call(t, "POST", "/api/tasks", tok, `{"title":"via the alias"}`)
	if ev := s.next(t); !strings.Contains(ev.data, "via the alias") || !strings.Contains(ev.data, `"user_id":"alice"`) {
		t.Fatalf("alias stream: %+v", ev)
	}
}

// eventsPage is a frontend that follows its user's tasks live, as the
// README tells frontends to: a ticket, then an EventSource.
const eventsPage = `<!doctype html><html><body><script>
window.events = [];
async function follow(api, token) {
  const res = await fetch(api + "/api/me/events/ticket", {
    method: "POST", headers: {Authorization: "Bearer " + token}});
  if (!res.ok) throw new Error("ticket: " + res.status);
  const {ticket} = await res.json();
  const source = new EventSource(api + "/api/me/events?ticket=" + encodeURIComponent(ticket));
  for (const type of ["task.created", "task.updated", "task.deleted", "task.reminder"]) {
    source.addEventListener(type, (e) => window.events.push({type, id: e.lastEventId, task: JSON.parse(e.data)}));
  }
  await new Promise((resolve, reject) => {
    source.addEventListener("ready", resolve, {once: true});
    source.onerror = () => reject(new Error("EventSource failed, readyState " + source.readyState));
  });
  return "following";
}
async function send(api, token, method, path, body) {
  const res = await fetch(api + path, {method, body: JSON.stringify(body),
    headers: {Authorization: "Bearer " + token, "Content-Type": "application/json"}});
  return (await res.json()).id;
}
function waitFor(type, title) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 30000;
    (function look() {
      const ev = window.events.find((e) => e.type === type && e.task.title === title);
      if (ev) return resolve(JSON.stringify(ev));
      if (Date.now() > deadline) return reject(new Error("no " + type + " for " + title + ": " + JSON.stringify(window.events)));
      setTimeout(look, 20);
    })();
  });
}
</script></body></html>`

// TestEventsInBrowser: two pages of one user in headless Chromium, each
// following the stream through an EventSource opened with a ticket, from
// an allowed origin; a change made in one appears in the other, and a
// reminder falling due appears in both.
func TestEventsInBrowser(t *testing.T) {
	t.Parallel()
	browser := browsertest.Start(t)
	origin := browsertest.ServePage(t, eventsPage)
	e := newEventsEnv(t, openSQLite, eventsOptions{cors: []string{origin}})
	tok := token(t, "alice")

	// Two tabs of the same browser, as a user with two windows open.
	tabA := browser
	tabB, cancelB := chromedp.NewContext(browser)
	defer cancelB()
	eval := func(tab context.Context, expr string) string {
		t.Helper()
		out, err := chromedp.Run(tab, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return out
	}
	for _, tab := range []context.Context{tabA, tabB} {
		if err := chromedp.Do(tab, chromedp.Navigate(origin+"/")); err != nil {
			t.Fatalf("open the page: %v", err)
		}
		if got := eval(tab, fmt.Sprintf("follow(%q, %q)", e.srv.URL, tok)); got != "following" {
			t.Fatalf("follow: %q", got)
		}
	}

	eval(tabA, fmt.Sprintf(`send(%q, %q, "POST", "/api/me/tasks", {title: "made in tab A"}).then(String)`, e.srv.URL, tok))
	seen := eval(tabB, `waitFor("task.created", "made in tab A")`)
	var ev struct {
		ID   string
		Task struct {
			ID     int64  `json:"id"`
			UserID string `json:"user_id"`
		}
	}
	if err := json.Unmarshal([]byte(seen), &ev); err != nil || ev.ID == "" || ev.Task.UserID != "alice" {
		t.Fatalf("tab B saw %s (%v)", seen, err)
	}
	t.Logf("tab B saw: %s", seen)

	eval(tabB, fmt.Sprintf(`send(%q, %q, "PATCH", "/api/me/tasks/%d", {title: "renamed in tab B"}).then(String)`, e.srv.URL, tok, ev.Task.ID))
	eval(tabA, `waitFor("task.updated", "renamed in tab B")`)

	// A reminder falling due reaches both tabs as task.reminder.
	due := e.clock.now().UTC().Format(time.RFC3339Nano)
	eval(tabA, fmt.Sprintf(`send(%q, %q, "POST", "/api/me/tasks", {title: "call the dentist", remind_at: %q}).then(String)`, e.srv.URL, tok, due))
	if n, err := e.svc.SendDueReminders(t.Context()); err != nil || n != 1 {
		t.Fatalf("SendDueReminders = %d, %v; want 1 sent", n, err)
	}
	for _, tab := range []context.Context{tabA, tabB} {
		eval(tab, `waitFor("task.reminder", "call the dentist")`)
	}
}

// TestEventsExpiredPosition: a position older than the deletions the feed
// keeps is a 410, so that the client knows to sync from scratch.
func TestEventsExpiredPosition(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, openSQLite, eventsOptions{})
	auth := []string{"Authorization", "Bearer " + token(t, "alice")}
	s, ready := e.ready(t, "/api/me/events", auth...)
	s.close()
	e.clock.advance(e.svc.TombstoneRetention + time.Hour)
	old := e.openStream(t, "/api/me/events", append(auth, "Last-Event-ID", ready.id)...)
	body, _ := io.ReadAll(old.res.Body)
	if old.res.StatusCode != http.StatusGone {
		t.Fatalf("a position past the retention: %d %s, want 410", old.res.StatusCode, body)
	}
}

// TestEventsCatchUpInBatches: a stream far behind reads the feed in several
// reads, on connect and after a wake-up, and still delivers every change
// once, in order.
func TestEventsCatchUpInBatches(t *testing.T) {
	t.Parallel()
	eachEventsStore(t, eventsOptions{batch: 2}, func(t *testing.T, e *eventsEnv) {
		tok := token(t, "alice")
		auth := []string{"Authorization", "Bearer " + tok}
		s, ready := e.ready(t, "/api/me/events", auth...)
		s.close()
		create := func(i int) {
			t.Helper()
			if status, _, body := e.call(t, "POST", "/api/me/tasks", tok, fmt.Sprintf(`{"title":"t%d"}`, i)); status != http.StatusCreated {
				t.Fatalf("create: %d %s", status, body)
			}
		}
		for i := range 7 {
			create(i)
		}
		r, _ := e.ready(t, "/api/me/events", append(auth, "Last-Event-ID", ready.id)...)
		next := func(i int) {
			t.Helper()
			if ev := r.next(t); !strings.Contains(ev.data, fmt.Sprintf(`"title":"t%d"`, i)) {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		for i := range 7 {
			next(i)
		}
		// A burst while connected: its wake-ups merge, and reads take two at a time.
		for i := 7; i < 12; i++ {
			create(i)
		}
		for i := 7; i < 12; i++ {
			next(i)
		}
	})
}

// TestEventsAndChangeFeedShareTokens: an event id reads the change feed
// from there, and the feed's next opens a stream from there.
func TestEventsAndChangeFeedShareTokens(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, openSQLite, eventsOptions{})
	tok := token(t, "alice")
	auth := []string{"Authorization", "Bearer " + tok}
	s, _ := e.ready(t, "/api/me/events", auth...)
	e.call(t, "POST", "/api/me/tasks", tok, `{"title":"one"}`)
	first := s.next(t)
	e.call(t, "POST", "/api/me/tasks", tok, `{"title":"two"}`)
	s.next(t)

	status, _, body := e.call(t, "GET", "/api/me/changes?since="+first.id, tok, "")
	var page struct {
		Changes []struct {
			Op   string `json:"op"`
			Task struct {
				Title string `json:"title"`
			} `json:"task"`
		} `json:"changes"`
		Next string `json:"next"`
	}
	if err := json.Unmarshal(body, &page); status != http.StatusOK || err != nil ||
		len(page.Changes) != 1 || page.Changes[0].Task.Title != "two" {
		t.Fatalf("/changes from an event id: %d %s", status, body)
	}
	e.call(t, "POST", "/api/me/tasks", tok, `{"title":"three"}`)
	r, _ := e.ready(t, "/api/me/events?since="+page.Next, auth...)
	if ev := r.next(t); !strings.Contains(ev.data, `"title":"three"`) {
		t.Fatalf("a stream from the feed's next: %+v", ev)
	}
}

// TestEventsDoNotHoldInFlightPlaces: open streams are not requests in
// flight; a user with streams open still gets every place for requests.
func TestEventsDoNotHoldInFlightPlaces(t *testing.T) {
	t.Parallel()
	e := newEventsEnv(t, openSQLite, eventsOptions{maxInFlight: 1})
	tok := token(t, "alice")
	for range 3 {
		e.ready(t, "/api/me/events", "Authorization", "Bearer "+tok)
	}
	if status, _, body := e.call(t, "GET", "/api/me/tasks", tok, ""); status != http.StatusOK {
		t.Fatalf("a list with three streams open and one place in flight: %d %s", status, body)
	}
}
