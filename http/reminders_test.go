package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEventsReminders: a reminder that falls due reaches a live stream as
// the task's usual event followed by task.reminder (the id on the second
// only), once; the change feed marks the entry; a reminder moved later, or
// of a task completed or deleted before its time, is not sent.
func TestEventsReminders(t *testing.T) {
	eachEventsStore(t, eventsOptions{}, func(t *testing.T, e *eventsEnv) {
		tok := token(t, "alice")
		s, ready := e.ready(t, "/api/me/events", "Authorization", "Bearer "+tok)
		at := func(d time.Duration) string {
			return e.clock.now().Add(d).UTC().Format(time.RFC3339Nano)
		}
		create := func(title string, remind time.Duration) int64 {
			t.Helper()
			status, _, body := e.call(t, "POST", "/api/me/tasks", tok,
				fmt.Sprintf(`{"title":%q,"remind_at":%q}`, title, at(remind)))
			if status != http.StatusCreated {
				t.Fatalf("create %s: %d %s", title, status, body)
			}
			if ev := s.next(t); ev.event != "task.created" {
				t.Fatalf("after creating %s: %+v", title, ev)
			}
			var task struct{ ID int64 }
			_ = json.Unmarshal(body, &task)
			return task.ID
		}
		first := create("first", time.Hour)
		second := create("second", time.Hour)
		moved := create("moved", time.Hour)
		completed := create("completed", time.Hour)
		deleted := create("deleted", time.Hour)
		later := create("later", 2*time.Hour)
		patch := func(id int64, body string) {
			t.Helper()
			if status, _, b := e.call(t, "PATCH", fmt.Sprintf("/api/me/tasks/%d", id), tok, body); status != http.StatusOK {
				t.Fatalf("PATCH %d: %d %s", id, status, b)
			}
			s.next(t)
		}
		patch(moved, fmt.Sprintf(`{"remind_at":%q}`, at(3*time.Hour)))
		patch(completed, `{"completed":true}`)
		if status, _, b := e.call(t, "DELETE", fmt.Sprintf("/api/me/tasks/%d", deleted), tok, ""); status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", status, b)
		}
		s.next(t)

		send := func(want int) {
			t.Helper()
			n, err := e.svc.SendDueReminders(t.Context())
			if err != nil || n != want {
				t.Fatalf("SendDueReminders = %d, %v; want %d sent", n, err, want)
			}
		}
		send(0) // nothing is due yet
		e.clock.advance(time.Hour)
		send(2)
		send(0) // each once

		got := map[int64]bool{} // sent in parallel: in either order
		for range 2 {
			upd := s.nextAny(t)
			rem := s.nextAny(t)
			if upd.event != "task.updated" || upd.id != "" {
				t.Fatalf("first event of a reminder: %+v, want task.updated without an id", upd)
			}
			if rem.event != "task.reminder" || rem.id == "" || rem.data != upd.data {
				t.Fatalf("second event of a reminder: %+v, want task.reminder with an id and the same task as %+v", rem, upd)
			}
			var task struct{ ID int64 }
			_ = json.Unmarshal([]byte(rem.data), &task)
			got[task.ID] = true
		}
		if len(got) != 2 || !got[first] || !got[second] {
			t.Fatalf("reminders of tasks %v, want %d and %d", got, first, second)
		}
		// Nothing else was sent: the next event is a fresh change.
		e.call(t, "POST", "/api/me/tasks", tok, `{"title":"marker"}`)
		if ev := s.next(t); ev.event != "task.created" || !strings.Contains(ev.data, `"title":"marker"`) {
			t.Fatalf("after the reminders: %+v, want the marker", ev)
		}

		// The change feed read from before the reminders marks them.
		status, _, body := e.call(t, "GET", "/api/me/changes?since="+ready.id, tok, "")
		if status != http.StatusOK {
			t.Fatalf("changes: %d %s", status, body)
		}
		var feed struct {
			Changes []struct {
				Op       string
				Task     struct{ ID int64 }
				ID       int64
				Reminder *bool
			}
		}
		if err := json.Unmarshal(body, &feed); err != nil {
			t.Fatal(err)
		}
		reminded := map[int64]bool{}
		for _, c := range feed.Changes {
			if c.Reminder != nil {
				if !*c.Reminder || c.Op != "upsert" {
					t.Errorf("feed entry %+v: reminder must be true on an upsert, or absent", c)
				}
				reminded[c.Task.ID] = true
			}
		}
		if len(reminded) != 2 || !reminded[first] || !reminded[second] {
			t.Errorf("feed marks the reminders of %v, want tasks %d and %d", reminded, first, second)
		}

		// An initial sync marks none: it would show every reminder ever sent.
		if status, _, body := e.call(t, "GET", "/api/me/changes", tok, ""); status != http.StatusOK || strings.Contains(string(body), `"reminder"`) {
			t.Errorf("initial sync: %d %s; want no entry marked as a reminder", status, body)
		}

		// The later one goes out at its time; the moved one at its new time.
		e.clock.advance(time.Hour)
		send(1)
		if ev := s.next(t); ev.event != "task.updated" || !strings.Contains(ev.data, fmt.Sprintf(`"id":%d,`, later)) {
			t.Fatalf("%+v, want task %d's reminder", ev, later)
		}
		if ev := s.next(t); ev.event != "task.reminder" {
			t.Fatalf("%+v, want task.reminder", ev)
		}
		e.clock.advance(time.Hour)
		send(1)
		s.next(t)
		if ev := s.next(t); ev.event != "task.reminder" || !strings.Contains(ev.data, fmt.Sprintf(`"id":%d,`, moved)) {
			t.Fatalf("%+v, want the moved task %d's reminder", ev, moved)
		}
	})
}
