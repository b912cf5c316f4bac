package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
)

func decodeComplete(t *testing.T, r *response) (task wireTask, next *wireTask) {
	t.Helper()
	m := r.object(t)
	raw, ok := m["next_occurrence"]
	if !ok {
		t.Fatalf("complete response has no next_occurrence: %s", r.Body)
	}
	var parts struct {
		Task           json.RawMessage `json:"task"`
		NextOccurrence json.RawMessage `json:"next_occurrence"`
	}
	if err := json.Unmarshal(r.Body, &parts); err != nil {
		t.Fatal(err)
	}
	task = decodeTask(t, parts.Task)
	if raw != nil {
		n := decodeTask(t, parts.NextOccurrence)
		next = &n
	}
	return task, next
}

// Completing a recurring task by any path creates its next occurrence once.
func TestCompletingCreatesNextOccurrence(t *testing.T) {
	t.Parallel()
	paths := []struct {
		name         string
		method, path string
		body         string
		answers      bool // the answer carries next_occurrence
	}{
		{"PUT", http.MethodPut, "", `{"completed":true}`, false},
		{"PUT is_completed", http.MethodPut, "", `{"is_completed":true}`, false},
		{"PATCH", http.MethodPatch, "", `{"completed":true}`, false},
		{"complete flip", http.MethodPatch, "/complete", ``, true},
		{"complete set", http.MethodPatch, "/complete", `{"completed":true}`, true},
		{"toggle POST", http.MethodPost, "/toggle", ``, true},
		{"toggle PATCH alias path", http.MethodPatch, "/toggle", `{"complete":true}`, true},
	}
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		for _, p := range paths {
			t.Run(p.name, func(t *testing.T) {
				orig := e.create(t, tok, berlinWeekdays)
				before := e.count(t, tok)
				res := e.do(t, p.method, taskPath("me", orig.ID)+p.path, tok, p.body).want(t, http.StatusOK)
				var done wireTask
				var answered *wireTask
				if p.answers {
					done, answered = decodeComplete(t, res)
					var top map[string]json.RawMessage
					_ = json.Unmarshal(res.Body, &top)
					if string(top["id"]) == "" || string(top["completed"]) != "true" {
						t.Errorf("complete answer is not the task itself: %s", res.Body)
					}
				} else {
					done = res.task(t)
				}
				if !done.Completed || done.NextID == nil {
					t.Fatalf("completed task: %s; want completed with next_occurrence_id", jsonOfTask(done))
				}
				if n := e.count(t, tok); n != before+1 {
					t.Fatalf("%d tasks after completing, want %d", n, before+1)
				}
				next := e.get(t, tok, *done.NextID)
				if p.answers {
					if answered == nil {
						t.Fatal("next_occurrence is null")
					}
					equalTasks(t, *answered, next)
				}
				// Friday 09:00 CET → Monday 09:00 CEST (07:00Z), reminder
				// still 15 minutes before.
				want := orig
				want.ID, want.CreatedAt, want.UpdatedAt = next.ID, next.CreatedAt, next.UpdatedAt
				want.DueDate, want.RemindAt = ptr("2026-03-30T07:00:00Z"), ptr("2026-03-30T06:45:00Z")
				equalTasks(t, next, want)

				// Reopening and completing again creates no second one.
				e.do(t, http.MethodPatch, completePath("me", orig.ID), tok, `{"completed":false}`).want(t, http.StatusOK)
				again := e.do(t, http.MethodPatch, completePath("me", orig.ID), tok, `{"completed":true}`).want(t, http.StatusOK)
				task, n := decodeComplete(t, again)
				if n != nil || deref64(task.NextID) != *done.NextID {
					t.Errorf("completing again: next_occurrence %v, next_occurrence_id %v; want null and %d", n, task.NextID, *done.NextID)
				}
				if n := e.count(t, tok); n != before+1 {
					t.Errorf("%d tasks after completing twice, want %d", n, before+1)
				}
			})
		}
		t.Run("plain task", func(t *testing.T) {
			plain := e.create(t, tok, `{"title":"once","due_date":"2026-03-01"}`)
			before := e.count(t, tok)
			task, next := decodeComplete(t, e.do(t, http.MethodPatch, completePath("me", plain.ID), tok, "").want(t, http.StatusOK))
			if next != nil || task.NextID != nil || !task.Completed || e.count(t, tok) != before {
				t.Errorf("completing a plain task: %s, next %v", jsonOfTask(task), next)
			}
		})
	})
}

func deref64(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// COUNT counts every task of the series, however it is completed; the last
// creates none.
func TestSeriesEnds(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		cur := e.create(t, tok, `{"title":"thrice","due_date":"2028-01-31T10:00:00Z","recurrence":"FREQ=MONTHLY;COUNT=3"}`)
		// January 31st, then March 31st (February has none), then May 31st.
		var dues []string
		for {
			dues = append(dues, deref(cur.DueDate))
			task, next := decodeComplete(t, e.do(t, http.MethodPatch, completePath("me", cur.ID), tok, "").want(t, http.StatusOK))
			if next == nil {
				if task.NextID != nil {
					t.Errorf("last task's next_occurrence_id = %d, want null", *task.NextID)
				}
				break
			}
			if len(dues) > 5 {
				t.Fatal("the series did not end")
			}
			cur = *next
		}
		want := []string{"2028-01-31T10:00:00Z", "2028-03-31T10:00:00Z", "2028-05-31T10:00:00Z"}
		if !slices.Equal(dues, want) {
			t.Errorf("due dates %v, want %v", dues, want)
		}
		if n := e.count(t, tok); n != 3 {
			t.Errorf("%d tasks, want 3", n)
		}
	})
}

// Two completions of one task at the same moment create one occurrence.
func TestConcurrentCompletionsCreateOne(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		const rounds = 10
		for range rounds {
			orig := e.create(t, tok, `{"title":"daily","due_date":"2026-03-01T09:00:00Z","recurrence":"FREQ=DAILY"}`)
			before := e.count(t, tok)
			var wg sync.WaitGroup
			results := make([]*response, 2)
			start := make(chan struct{})
			for i := range results {
				wg.Go(func() {
					<-start
					results[i] = e.do(t, http.MethodPatch, completePath("me", orig.ID), tok, `{"completed":true}`)
				})
			}
			close(start)
			wg.Wait()
			created := 0
			for _, r := range results {
				r.want(t, http.StatusOK)
				if _, next := decodeComplete(t, r); next != nil {
					created++
				}
			}
			if n := e.count(t, tok); n != before+1 || created != 1 {
				t.Fatalf("two concurrent completions: %d tasks (want %d), %d answers with a next occurrence (want 1)", n, before+1, created)
			}
		}
	})
}
