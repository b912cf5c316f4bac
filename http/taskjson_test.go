package http

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/todoapi/todoapi"
)

// TestAppendTaskMatchesEncodingJSON checks that the hand-written task
// encoder writes exactly what encoding/json (as huma configures it, without
// HTML escaping) writes, for tasks with every kind of field value and text
// that needs escaping.
func TestAppendTaskMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	texts := []string{
		"", "plain", `quote " and backslash \`, "<b>html</b> & more", "tab\tnew\nline\rret",
		"\b\f\x00\x01\x1f\x7f", "Ünïcödé ✓ 日本語 🎉", "\u2028\u2029 separators", "bad utf8 \xff\xfe end",
		"\xe2\x82", "é\u0301", "ctrl \u0085 \u009f",
	}
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -8*3600)}
	r := rand.New(rand.NewPCG(1, 2))
	when := func() time.Time {
		return time.Date(1+r.IntN(9998), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60),
			[]int{0, 1000, 123456000, 999999999, 100}[r.IntN(5)], zones[r.IntN(len(zones))])
	}
	var tasks []todoapi.Task
	for i := range 500 {
		task := todoapi.Task{
			ID: r.Int64N(1 << 62), UserID: texts[r.IntN(len(texts))], Title: texts[i%len(texts)],
			Completed: r.IntN(2) == 0, Priority: todoapi.Priorities[r.IntN(3)], CreatedAt: when(), UpdatedAt: when(),
		}
		if r.IntN(3) > 0 {
			task.Description = &texts[r.IntN(len(texts))]
		}
		if r.IntN(2) == 0 {
			task.CompletedAt = new(when())
		}
		if r.IntN(2) == 0 {
			task.DueDate = new(when())
		}
		switch r.IntN(3) {
		case 0: // nil tags, which the service never returns, still match
		case 1:
			task.Tags = []string{}
		case 2:
			task.Tags = texts[:1+r.IntN(len(texts)-1)]
		}
		if r.IntN(2) == 0 {
			task.Recurrence, task.RemindAt = &texts[r.IntN(len(texts))], new(when())
			task.NextOccurrenceID = new(r.Int64N(1 << 62))
		}
		task.Timezone = texts[r.IntN(len(texts))]
		tasks = append(tasks, task)
	}
	want := func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	got := func(v any) string {
		var buf bytes.Buffer
		if err := encodeJSON(&buf, v); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for i := range tasks {
		if w, g := want(tasks[i]), got(tasks[i]); w != g {
			t.Fatalf("task %d:\n got %s\nwant %s", i, g, w)
		}
		if w, g := want(&tasks[i]), got(&tasks[i]); w != g {
			t.Fatalf("*task %d:\n got %s\nwant %s", i, g, w)
		}
	}
	for i := range 20 {
		c := completion{Task: tasks[i], Same: tasks[i]}
		if i%2 == 1 {
			c.NextOccurrence = &tasks[i+1]
		}
		if w, g := want(c), got(c); w != g {
			t.Fatalf("completion %d:\n got %s\nwant %s", i, g, w)
		}
	}
	for _, list := range [][]todoapi.Task{nil, {}, tasks[:1], tasks} {
		if w, g := want(list), got(list); w != g {
			t.Fatalf("list of %d:\n got %s\nwant %s", len(list), g, w)
		}
	}
	// Anything else goes through encoding/json.
	other := map[string]any{"a": "<&>", "b": []int{1}}
	if w, g := want(other), got(other); w != g {
		t.Fatalf("other value: got %s, want %s", g, w)
	}
}

// TestResponsesHaveContentLength checks that encoded responses say how long
// they are instead of being chunked, and that the length is right.
func TestResponsesHaveContentLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	long := strings.Repeat("x", 200)
	for range 30 { // a list far longer than net/http's 4 KiB buffer
		e.do(t, "POST", "/api/me/tasks", tok, `{"title":"`+long+`"}`).want(t, http.StatusCreated)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/me/tasks"}, {"GET", "/api/me/tasks/1"}, {"GET", "/api/me/tasks/999"},
		{"GET", "/healthz"},
	} {
		rec := e.do(t, c.method, c.path, tok, "")
		if got, want := rec.Header.Get("Content-Length"), len(rec.Body); got != strconv.Itoa(want) {
			t.Errorf("%s %s: Content-Length %q, body of %d bytes", c.method, c.path, got, want)
		}
	}
}
