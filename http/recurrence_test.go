package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// berlinWeekdays is what a frontend sends for "every weekday at 9:00 in
// Berlin, remind me 15 minutes before", first due on Friday 2026-03-27
// (09:00 CET is 08:00Z).
const berlinWeekdays = `{"title":"Stand-up","due_date":"2026-03-27T08:00:00Z",` +
	`"recurrence":"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR","timezone":"Europe/Berlin","reminder_minutes":15}`

func TestRecurringTaskFields(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		plain := e.create(t, tok, `{"title":"plain"}`)
		if plain.Recurrence != nil || plain.Timezone != "UTC" || plain.RemindAt != nil || plain.NextID != nil {
			t.Errorf("a plain task has recurrence %v, timezone %q, remind_at %v, next_occurrence_id %v; want null, UTC, null, null",
				plain.Recurrence, plain.Timezone, plain.RemindAt, plain.NextID)
		}
		got := e.create(t, tok, berlinWeekdays)
		if deref(got.Recurrence) != "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" || got.Timezone != "Europe/Berlin" ||
			deref(got.RemindAt) != "2026-03-27T07:45:00Z" {
			t.Errorf("created %s; want the rule, Europe/Berlin and remind_at 07:45Z", jsonOfTask(got))
		}
		equalTasks(t, e.get(t, tok, got.ID), got)

		// PATCH null clears the rule and the reminder, and resets the zone.
		patched := e.do(t, http.MethodPatch, taskPath("me", got.ID), tok,
			`{"recurrence":null,"remind_at":null,"timezone":null}`).want(t, http.StatusOK).task(t)
		if patched.Recurrence != nil || patched.RemindAt != nil || patched.Timezone != "UTC" {
			t.Errorf("after clearing: %s", jsonOfTask(patched))
		}
		// A rule is stored in its canonical spelling.
		put := e.do(t, http.MethodPut, taskPath("me", got.ID), tok,
			`{"recurrence":"rrule:freq=monthly;bymonthday=-1","remind_at":"2026-03-27T10:00:00+02:00"}`).want(t, http.StatusOK).task(t)
		if deref(put.Recurrence) != "FREQ=MONTHLY;BYMONTHDAY=-1" || deref(put.RemindAt) != "2026-03-27T08:00:00Z" {
			t.Errorf("after PUT: %s", jsonOfTask(put))
		}
	})
}

func TestRecurrenceValidation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		for name, c := range map[string]struct {
			body  string
			where []string
		}{
			"rule without due date":   {`{"title":"x","recurrence":"FREQ=DAILY"}`, []string{"body.recurrence"}},
			"bad rule":                {`{"title":"x","due_date":"2026-03-01","recurrence":"FREQ=HOURLY"}`, []string{"body.recurrence"}},
			"rule not a string":       {`{"title":"x","due_date":"2026-03-01","recurrence":7}`, []string{"body.recurrence"}},
			"bad zone":                {`{"title":"x","timezone":"Mars/Olympus"}`, []string{"body.timezone"}},
			"bad remind_at":           {`{"title":"x","remind_at":"soon"}`, []string{"body.remind_at"}},
			"minutes without due":     {`{"title":"x","reminder_minutes":15}`, []string{"body.reminder_minutes"}},
			"negative minutes":        {`{"title":"x","due_date":"2026-03-01","reminder_minutes":-5}`, []string{"body.reminder_minutes"}},
			"minutes not a number":    {`{"title":"x","due_date":"2026-03-01","reminder_minutes":"15"}`, []string{"body.reminder_minutes"}},
			"minutes and remind_at":   {`{"title":"x","due_date":"2026-03-01","reminder_minutes":5,"remind_at":"2026-03-01"}`, []string{"body.reminder_minutes"}},
			"bad alias rule":          {`{"title":"x","due_date":"2026-03-01","recurrence_rule":"FREQ=NEVER"}`, []string{"body.recurrence_rule"}},
			"bad pattern":             {`{"title":"x","due_date":"2026-03-01","recurrence_pattern":"hourly"}`, []string{"body.recurrence_pattern"}},
			"every problem at once":   {`{"title":"","recurrence":"FREQ=DAILY","timezone":"Nowhere"}`, []string{"body.title", "body.recurrence", "body.timezone"}},
			"bad reminder_time alias": {`{"title":"x","reminder_time":"later"}`, []string{"body.reminder_time"}},
		} {
			t.Run(name, func(t *testing.T) {
				before := e.count(t, tok)
				e.do(t, http.MethodPost, tasksPath("me"), tok, c.body).invalid(t, c.where...)
				if n := e.count(t, tok); n != before {
					t.Errorf("a refused create stored a task: %d tasks, want %d", n, before)
				}
			})
		}
		// Clearing the due date of a recurring task names due_date.
		rec := e.create(t, tok, `{"title":"r","due_date":"2026-03-01T09:00:00Z","recurrence":"FREQ=DAILY"}`)
		e.do(t, http.MethodPatch, taskPath("me", rec.ID), tok, `{"due_date":null}`).invalid(t, "body.due_date")
		equalTasks(t, e.get(t, tok, rec.ID), rec)
	})
}

func TestRecurrenceAliases(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		for body, want := range map[string]struct{ rule, remind string }{
			`{"title":"a","due_date":"2026-03-01T09:00:00Z","recurrence_rule":"FREQ=WEEKLY;BYDAY=MO"}`:                                                {"FREQ=WEEKLY;BYDAY=MO", "<null>"},
			`{"title":"a","due_date":"2026-03-01T09:00:00Z","recurrence_pattern":"Monthly"}`:                                                          {"FREQ=MONTHLY", "<null>"},
			`{"title":"a","due_date":"2026-03-01T09:00:00Z","recurrence_pattern":"none"}`:                                                             {"<null>", "<null>"},
			`{"title":"a","due_date":"2026-03-01T09:00:00Z","reminder_time":"2026-03-01T08:00:00Z"}`:                                                  {"<null>", "2026-03-01T08:00:00Z"},
			`{"title":"a","due_date":"2026-03-01T09:00:00Z","reminder_minutes":90}`:                                                                   {"<null>", "2026-03-01T07:30:00Z"},
			`{"title":"a","due_date":"2026-03-01T09:00:00Z","recurrence":"FREQ=DAILY","recurrence_rule":"FREQ=YEARLY","recurrence_pattern":"weekly"}`: {"FREQ=DAILY", "<null>"},
		} {
			got := e.create(t, tok, body)
			if deref(got.Recurrence) != want.rule || deref(got.RemindAt) != want.remind {
				t.Errorf("%s → recurrence %s, remind_at %s; want %s, %s", body, deref(got.Recurrence), deref(got.RemindAt), want.rule, want.remind)
			}
		}
	})
}

func TestListRecurringAndReminders(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		plain := e.create(t, tok, `{"title":"plain","remind_at":"2026-03-01T08:00:00Z"}`)
		rec := e.create(t, tok, `{"title":"rec","due_date":"2026-03-02T09:00:00Z","recurrence":"FREQ=DAILY","reminder_minutes":60}`)
		none := e.create(t, tok, `{"title":"none"}`)
		e.create(t, token(t, "bob"), `{"title":"bob's","due_date":"2026-03-02T09:00:00Z","recurrence":"FREQ=DAILY","remind_at":"2026-03-01T12:00:00Z"}`)
		ids := func(q string) []int64 {
			var out []int64
			for _, task := range e.do(t, http.MethodGet, tasksPath("me")+"?"+q, tok, "").want(t, http.StatusOK).tasks(t) {
				out = append(out, task.ID)
			}
			slices.Sort(out)
			return out
		}
		for q, want := range map[string][]int64{
			"recurring=true":                                   {rec.ID},
			"recurring=false":                                  {plain.ID, none.ID},
			"remind_before=2026-03-02T08:00:01Z":               {plain.ID, rec.ID},
			"remind_before=2026-03-02T08:00:00Z":               {plain.ID},
			"remind_after=2026-03-01T08:00:00Z":                {rec.ID},
			"remind_after=2026-03-01&remind_before=2026-03-03": {plain.ID, rec.ID},
			"recurring=false&remind_after=2026-02-01":          {plain.ID},
			"recurring=": {plain.ID, rec.ID, none.ID},
		} {
			if got := ids(q); !slices.Equal(got, want) {
				t.Errorf("?%s → %v, want %v", q, got, want)
			}
		}
		// A page smaller than the matches counts them all, not the user's
		// whole list.
		for q, want := range map[string]string{
			"recurring=false&limit=1":                    "2",
			"recurring=true&limit=1&status=pending":      "1",
			"remind_after=2026-01-01&limit=1":            "2",
			"remind_before=2026-03-02T00:00:00Z&limit=1": "1",
		} {
			r := e.do(t, http.MethodGet, tasksPath("me")+"?"+q, tok, "").want(t, http.StatusOK)
			if got := r.Header.Get("X-Total-Count"); got != want {
				t.Errorf("?%s: X-Total-Count %s, want %s", q, got, want)
			}
		}
		e.do(t, http.MethodGet, tasksPath("me")+"?recurring=maybe&remind_before=soon&remind_after=x", tok, "").
			invalid(t, "query.recurring", "query.remind_before", "query.remind_after")
	})
}

// The toggle's body documents completed (and its aliases) only: the task
// fields a create or update takes are not the toggle's.
func TestToggleBodyDocumentsCompletedOnly(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		var doc struct {
			Components struct {
				Schemas map[string]struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(e.do(t, http.MethodGet, "/openapi.json", "", "").want(t, http.StatusOK).Body, &doc); err != nil {
			t.Fatal(err)
		}
		found := false
		for name, schema := range doc.Components.Schemas {
			if _, ok := schema.Properties["completed"]; !ok {
				continue
			}
			if _, hasTitle := schema.Properties["title"]; hasTitle {
				continue
			}
			found = true
			for _, key := range []string{"recurrence", "timezone", "remind_at", "reminder_minutes"} {
				if _, ok := schema.Properties[key]; ok {
					t.Errorf("schema %s (the toggle's body) documents %s", name, key)
				}
			}
		}
		if !found {
			t.Error("no schema with completed and no title: the toggle's body was not found")
		}
	})
}
