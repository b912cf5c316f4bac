package http

import (
	"net/http"
	"testing"

	"github.com/todoapi/todoapi"
)

func withTaskQuota(n int) option {
	return func(c *Config) { c.Tasks.(*todoapi.Service).TaskQuota = n }
}

// TestTaskQuota: creating a task beyond TASK_QUOTA is a 422 that stores
// nothing, and deleting one makes room again.
func TestTaskQuota(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		tok := token(t, "alice")
		first := e.create(t, tok, `{"title":"one"}`)
		e.create(t, tok, `{"title":"two"}`)

		p := e.do(t, http.MethodPost, tasksPath("me"), tok, `{"title":"three"}`).problem(t, http.StatusUnprocessableEntity)
		if p.Detail == "" || len(p.Errors) != 0 {
			t.Errorf("quota problem = %+v; want a detail and no field errors", p)
		}
		if n := e.count(t, tok); n != 2 {
			t.Fatalf("%d tasks after the refused create; want 2", n)
		}
		// The quota is per user.
		e.create(t, token(t, "bob"), `{"title":"bob's"}`)

		e.do(t, http.MethodDelete, taskPath("me", first.ID), tok, "").want(t, http.StatusNoContent)
		e.create(t, tok, `{"title":"three"}`)
	}, withTaskQuota(2))
}
