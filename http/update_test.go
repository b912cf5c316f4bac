package http

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// fullTask is a create body that sets every field.
const fullTask = `{"title":"Buy milk","description":"Two litres","priority":"high",` +
	`"tags":["home","shop"],"due_date":"2026-12-01T17:00:00Z"}`

// later fails unless timestamp b is after a.
func later(t *testing.T, name, a, b string) {
	t.Helper()
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	if err1 != nil || err2 != nil || !tb.After(ta) {
		t.Errorf("%s = %s, want later than %s", name, b, a)
	}
}

// TestPutIsPartial: PUT replaces the fields present and keeps the rest.
func TestPutIsPartial(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		t.Run("only completed", func(t *testing.T) {
			orig := e.create(t, tok, fullTask)
			got := e.do(t, http.MethodPut, taskPath("me", orig.ID), tok, `{"completed":true}`).want(t, http.StatusOK).task(t)
			want := orig
			want.Completed = true
			want.CompletedAt, want.UpdatedAt = got.CompletedAt, got.UpdatedAt
			want.Version++ // one stored change
			equalTasks(t, got, want)
			if got.CompletedAt == nil {
				t.Error("completed_at = null after completing")
			}
			later(t, "updated_at", orig.UpdatedAt, got.UpdatedAt)
			equalTasks(t, e.get(t, tok, orig.ID), got)
		})
		t.Run("only title and description", func(t *testing.T) {
			orig := e.create(t, tok, fullTask)
			done := e.do(t, http.MethodPut, taskPath("me", orig.ID), tok, `{"completed":true}`).want(t, http.StatusOK).task(t)
			got := e.do(t, http.MethodPut, taskPath("me", orig.ID), tok, `{"title":"Buy oat milk","description":"One litre"}`).
				want(t, http.StatusOK).task(t)
			want := done
			want.Title, want.Description, want.UpdatedAt = "Buy oat milk", ptr("One litre"), got.UpdatedAt
			want.Version++ // one stored change
			equalTasks(t, got, want)
			if !got.Completed || deref(got.CompletedAt) != deref(done.CompletedAt) {
				t.Errorf("completed/completed_at = %v/%s, want true/%s", got.Completed, deref(got.CompletedAt), deref(done.CompletedAt))
			}
			later(t, "updated_at", done.UpdatedAt, got.UpdatedAt)
			equalTasks(t, e.get(t, tok, orig.ID), got)
		})
		for name, body := range map[string]string{
			"empty object":   `{}`,
			"unknown fields": `{"colour":"red"}`,
			"same values":    fullTask,
			"same spellings": `{"title":"  Buy milk ","priority":"HIGH","tags":[" home","shop","SHOP"," Home"],"due_date":"2026-12-01T18:00:00+01:00"}`,
		} {
			t.Run("no change: "+name, func(t *testing.T) {
				orig := e.create(t, tok, fullTask)
				got := e.do(t, http.MethodPut, taskPath("me", orig.ID), tok, body).want(t, http.StatusOK).task(t)
				equalTasks(t, got, orig)
				equalTasks(t, e.get(t, tok, orig.ID), orig)
			})
		}
		t.Run("every field", func(t *testing.T) {
			orig := e.create(t, tok, fullTask)
			got := e.do(t, http.MethodPut, taskPath("me", orig.ID), tok,
				`{"title":"New","description":"new","priority":"low","tags":["x"],"due_date":"2027-01-02","completed":true}`).
				want(t, http.StatusOK).task(t)
			if got.Title != "New" || deref(got.Description) != "new" || got.Priority != "low" ||
				!slices.Equal(got.Tags, []string{"x"}) || deref(got.DueDate) != "2027-01-02T00:00:00Z" || !got.Completed {
				t.Errorf("PUT did not apply every field: %+v", got)
			}
			if got.ID != orig.ID || got.CreatedAt != orig.CreatedAt || got.UserID != orig.UserID {
				t.Errorf("identity changed: %+v, was %+v", got, orig)
			}
			equalTasks(t, e.get(t, tok, orig.ID), got)
		})
		t.Run("invalid title changes nothing", func(t *testing.T) {
			orig := e.create(t, tok, fullTask)
			for _, body := range []string{`{"title":""}`, `{"title":"   "}`, `{"title":null}`, `{"title":"ok","priority":"urgent"}`} {
				e.do(t, http.MethodPut, taskPath("me", orig.ID), tok, body).want(t, http.StatusUnprocessableEntity)
			}
			equalTasks(t, e.get(t, tok, orig.ID), orig)
		})
	})
}

// TestPatchMergeSemantics: PATCH is a JSON merge patch; null clears
// description, due_date and tags, and is 422 for title, priority and
// completed.
func TestPatchMergeSemantics(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		patch := func(t *testing.T, id int64, body string) *response {
			t.Helper()
			return e.do(t, http.MethodPatch, taskPath("me", id), tok, body, "Content-Type", "application/merge-patch+json")
		}
		t.Run("null clears", func(t *testing.T) {
			orig := e.create(t, tok, fullTask)
			got := patch(t, orig.ID, `{"description":null,"due_date":null,"tags":null}`).want(t, http.StatusOK).task(t)
			if got.Description != nil || got.DueDate != nil || got.Tags == nil || len(got.Tags) != 0 {
				t.Errorf("after nulls: description=%s due_date=%s tags=%#v; want null, null, []",
					deref(got.Description), deref(got.DueDate), got.Tags)
			}
			want := orig
			want.Description, want.DueDate, want.Tags, want.UpdatedAt = nil, nil, []string{}, got.UpdatedAt
			want.Version++ // one stored change
			equalTasks(t, got, want)
			later(t, "updated_at", orig.UpdatedAt, got.UpdatedAt)
			equalTasks(t, e.get(t, tok, orig.ID), got)
		})
		for field, body := range map[string]string{
			"description": `{"description":null}`,
			"due_date":    `{"due_date":null}`,
			"tags":        `{"tags":null}`,
		} {
			t.Run("null "+field+" alone", func(t *testing.T) {
				orig := e.create(t, tok, fullTask)
				got := patch(t, orig.ID, body).want(t, http.StatusOK).task(t)
				want := orig
				switch field {
				case "description":
					want.Description = nil
				case "due_date":
					want.DueDate = nil
				case "tags":
					want.Tags = []string{}
				}
				want.UpdatedAt = got.UpdatedAt
				want.Version++ // one stored change
				equalTasks(t, got, want)
			})
		}
		t.Run("absent keeps", func(t *testing.T) {
			orig := e.create(t, tok, fullTask)
			got := patch(t, orig.ID, `{"priority":"low"}`).want(t, http.StatusOK).task(t)
			want := orig
			want.Priority, want.UpdatedAt = "low", got.UpdatedAt
			want.Version++ // one stored change
			equalTasks(t, got, want)
		})
		for name, body := range map[string]string{
			"title null":     `{"title":null}`,
			"title empty":    `{"title":""}`,
			"title blank":    `{"title":"  "}`,
			"priority null":  `{"priority":null}`,
			"completed null": `{"completed":null}`,
			"with valid":     `{"description":null,"title":null}`,
		} {
			t.Run(name+" is 422", func(t *testing.T) {
				orig := e.create(t, tok, fullTask)
				r := patch(t, orig.ID, body)
				loc := "body.title"
				switch name {
				case "priority null":
					loc = "body.priority"
				case "completed null":
					loc = "body.completed"
				}
				r.invalid(t, loc)
				equalTasks(t, e.get(t, tok, orig.ID), orig)
			})
		}
	})
}

// TestCompletedAt: completed_at follows completed; setting completed to the
// value it has changes nothing.
func TestCompletedAt(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodPut, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			e := newEnv(t)
			tok := token(t, "alice")
			set := func(t *testing.T, id int64, body string) wireTask {
				t.Helper()
				return e.do(t, method, taskPath("me", id), tok, body).want(t, http.StatusOK).task(t)
			}
			orig := e.create(t, tok, `{"title":"t"}`)
			if orig.Completed || orig.CompletedAt != nil {
				t.Fatalf("new task completed=%v completed_at=%s", orig.Completed, deref(orig.CompletedAt))
			}

			same := set(t, orig.ID, `{"completed":false}`)
			equalTasks(t, same, orig)

			done := set(t, orig.ID, `{"completed":true}`)
			if !done.Completed || done.CompletedAt == nil {
				t.Fatalf("after completing: completed=%v completed_at=%s", done.Completed, deref(done.CompletedAt))
			}
			checkUTC(t, "completed_at", *done.CompletedAt)
			later(t, "updated_at", orig.UpdatedAt, done.UpdatedAt)
			if *done.CompletedAt != done.UpdatedAt {
				t.Errorf("completed_at %s != updated_at %s of the change that completed it", *done.CompletedAt, done.UpdatedAt)
			}

			again := set(t, orig.ID, `{"completed":true}`)
			equalTasks(t, again, done)
			equalTasks(t, e.get(t, tok, orig.ID), done)

			reopened := set(t, orig.ID, `{"completed":false}`)
			if reopened.Completed || reopened.CompletedAt != nil {
				t.Errorf("after reopening: completed=%v completed_at=%s", reopened.Completed, deref(reopened.CompletedAt))
			}
			later(t, "updated_at", done.UpdatedAt, reopened.UpdatedAt)
			equalTasks(t, e.get(t, tok, orig.ID), reopened)
		})
	}
}

// TestToggle: PATCH …/complete flips without a body or with {}, and sets the
// given value idempotently.
func TestToggle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := token(t, "alice")
	toggle := func(t *testing.T, id int64, body string) wireTask {
		t.Helper()
		return e.do(t, http.MethodPatch, completePath("me", id), tok, body).want(t, http.StatusOK).completion(t)
	}
	check := func(t *testing.T, got wireTask, completed bool) {
		t.Helper()
		if got.Completed != completed || (got.CompletedAt != nil) != completed {
			t.Errorf("completed=%v completed_at=%s, want completed=%v", got.Completed, deref(got.CompletedAt), completed)
		}
	}
	for name, body := range map[string]string{"no body": "", "empty object": "{}", "unknown field": `{"x":1}`} {
		t.Run(name+" flips", func(t *testing.T) {
			orig := e.create(t, tok, fullTask)
			on := toggle(t, orig.ID, body)
			check(t, on, true)
			later(t, "updated_at", orig.UpdatedAt, on.UpdatedAt)
			want := orig
			want.Completed, want.CompletedAt, want.UpdatedAt = true, on.CompletedAt, on.UpdatedAt
			want.Version++ // one stored change
			equalTasks(t, on, want)
			off := toggle(t, orig.ID, body)
			check(t, off, false)
			later(t, "updated_at", on.UpdatedAt, off.UpdatedAt)
			equalTasks(t, e.get(t, tok, orig.ID), off)
		})
	}
	t.Run("completed true is idempotent", func(t *testing.T) {
		orig := e.create(t, tok, `{"title":"t"}`)
		first := toggle(t, orig.ID, `{"completed":true}`)
		check(t, first, true)
		second := toggle(t, orig.ID, `{"completed":true}`)
		equalTasks(t, second, first)
		equalTasks(t, e.get(t, tok, orig.ID), first)
	})
	t.Run("completed false", func(t *testing.T) {
		orig := e.create(t, tok, `{"title":"t","completed":true}`)
		check(t, orig, true)
		off := toggle(t, orig.ID, `{"completed":false}`)
		check(t, off, false)
		equalTasks(t, toggle(t, orig.ID, `{"completed":false}`), off)
	})
	t.Run("completed null is 422", func(t *testing.T) {
		orig := e.create(t, tok, `{"title":"t"}`)
		e.do(t, http.MethodPatch, completePath("me", orig.ID), tok, `{"completed":null}`).invalid(t, "body.completed")
		equalTasks(t, e.get(t, tok, orig.ID), orig)
	})
	t.Run("unknown id", func(t *testing.T) {
		orig := e.create(t, tok, `{"title":"t"}`)
		for _, body := range []string{"", "{}", `{"completed":true}`} {
			e.do(t, http.MethodPatch, completePath("me", orig.ID+1_000_000), tok, body).problem(t, http.StatusNotFound)
		}
	})
}
