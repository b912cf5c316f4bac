package main

// A frontend written for the Python design, in a real browser: a page in
// headless Chromium, on its own origin, signed in with Better Auth (the
// real server in testdata/betterauth, with its bearer plugin), sends what
// such a frontend sends, with the Better Auth session token as its bearer.

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/todoapi/todoapi/internal/browsertest"
)

// frontendPage does what the frontend does, in the order a user would:
// add three tasks, see them newest first, search, tick one, sort by
// priority. It returns what each step showed.
const frontendPage = `<!doctype html><html><body><script>
async function frontend(api, token, userId) {
  const auth = {"Authorization": "Bearer " + token};
  const json = {...auth, "Content-Type": "application/json"};
  const out = {};
  try {
    const ids = [];
    for (const [title, priority] of [["Water the plants", "low"], ["Pay the rent", "high"], ["Call the plumber", "medium"]]) {
      const r = await fetch(api + "/api/" + userId + "/tasks", {method: "POST", headers: json,
        body: JSON.stringify({title, priority: priority.toUpperCase()})});
      ids.push((await r.json()).id);
    }
    let r = await fetch(api + "/api/tasks?sort=created_date", {headers: auth});
    out.newest = {status: r.status, titles: (await r.json()).map(t => t.title)};
    r = await fetch(api + "/api/" + userId + "/tasks/search?q=" + encodeURIComponent("PLUMBER"), {headers: auth});
    out.search = {status: r.status, titles: (await r.json()).map(t => t.title)};
    r = await fetch(api + "/api/tasks/search?q=the&sort_by=title&sort_order=desc", {headers: auth});
    out.searchSorted = {status: r.status, titles: (await r.json()).map(t => t.title)};
    r = await fetch(api + "/api/" + userId + "/tasks/" + ids[1] + "/toggle", {method: "PATCH", headers: auth});
    const ticked = await r.json();
    out.tick = {status: r.status, id: ticked.task.id, completed: ticked.task.completed,
      nextOccurrence: ticked.next_occurrence};
    r = await fetch(api + "/api/tasks?sort_by=priority", {headers: auth});
    out.byPriority = {status: r.status, priorities: (await r.json()).map(t => t.priority)};
    r = await fetch(api + "/api/tasks?sort=-priority", {headers: auth});
    out.byPriorityReversed = {status: r.status, priorities: (await r.json()).map(t => t.priority)};
    r = await fetch(api + "/api/tasks?status=completed", {headers: auth});
    out.done = {status: r.status, ids: (await r.json()).map(t => t.id)};
    out.ids = ids;
  } catch (e) {
    out.error = String(e);
  }
  return out;
}
</script></body></html>`

type frontendRun struct {
	Newest, Search, SearchSorted *struct {
		Status int      `json:"status"`
		Titles []string `json:"titles"`
	}
	Tick *struct {
		Status         int             `json:"status"`
		ID             int64           `json:"id"`
		Completed      bool            `json:"completed"`
		NextOccurrence json.RawMessage `json:"nextOccurrence"`
	}
	ByPriority, ByPriorityReversed *struct {
		Status     int      `json:"status"`
		Priorities []string `json:"priorities"`
	}
	Done *struct {
		Status int     `json:"status"`
		IDs    []int64 `json:"ids"`
	}
	IDs   []int64 `json:"ids"`
	Error string  `json:"error"`
}

// TestFrontendInBrowser: the frontend's calls, from its page in Chromium,
// with a Better Auth session token: sort=created_date lists newest first,
// /tasks/search searches, ticking a task answers response.task, and
// sort_by=priority lists high first.
func TestFrontendInBrowser(t *testing.T) {
	browser := browsertest.Start(t)
	ba := sharedBetterAuth(t)
	origin := browsertest.ServePage(t, frontendPage)
	api := startTodoapiE2E(t, sessionEnv(ba, "CORS_ORIGINS", origin))
	alice := ba.signUp(t, baEmail(t, "alice"), "Alice")

	if err := chromedp.Do(browser, chromedp.Navigate(origin+"/")); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	raw, err := chromedp.Run(browser, chromedp.Evaluate[[]byte](
		fmt.Sprintf("frontend(%q, %q, %q)", api, alice.session, alice.id), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run the page: %v", err)
	}
	t.Logf("the page saw: %s", raw)
	var got frontendRun
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("page result %s: %v", raw, err)
	}
	if got.Error != "" || len(got.IDs) != 3 {
		t.Fatalf("the page failed: %s", raw)
	}
	titles := func(name string, r *struct {
		Status int      `json:"status"`
		Titles []string `json:"titles"`
	}, want ...string) {
		t.Helper()
		if r == nil || r.Status != 200 || !slices.Equal(r.Titles, want) {
			t.Errorf("%s: %+v, want 200 and %q", name, r, want)
		}
	}
	titles("sort=created_date", got.Newest, "Call the plumber", "Pay the rent", "Water the plants")
	titles("/tasks/search?q=PLUMBER", got.Search, "Call the plumber")
	titles("/api/tasks/search?q=the&sort_by=title&sort_order=desc", got.SearchSorted, "Water the plants", "Pay the rent", "Call the plumber")
	if tk := got.Tick; tk == nil || tk.Status != 200 || tk.ID != got.IDs[1] || !tk.Completed || string(tk.NextOccurrence) != "null" {
		t.Errorf("tick: response.task = %+v, want task %d completed and next_occurrence null", tk, got.IDs[1])
	}
	if p := got.ByPriority; p == nil || p.Status != 200 || !slices.Equal(p.Priorities, []string{"high", "medium", "low"}) {
		t.Errorf("sort_by=priority: %+v, want high, medium, low", p)
	}
	if p := got.ByPriorityReversed; p == nil || p.Status != 200 || !slices.Equal(p.Priorities, []string{"low", "medium", "high"}) {
		t.Errorf("sort=-priority: %+v, want low, medium, high", p)
	}
	if d := got.Done; d == nil || d.Status != 200 || !slices.Equal(d.IDs, got.IDs[1:2]) {
		t.Errorf("completed tasks after the tick: %+v, want [%d]", d, got.IDs[1])
	}
}
