package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/todoapi/todoapi/internal/browsertest"
)

const edgeFrontend = "http://localhost:3000"

func withEdgeCORS(origins ...string) func(*Config) {
	return func(c *Config) { c.CORSOrigins = origins }
}

// corsHeaders returns the response's Access-Control-* headers.
func corsHeaders(h http.Header) []string {
	var names []string
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// headerList splits comma-separated header values, lower-cased.
func headerList(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if p := strings.ToLower(strings.TrimSpace(part)); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func TestCORSPreflightAllowedOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEdgeCORS(edgeFrontend))
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		rec := e.do(t, http.MethodOptions, "/api/me/tasks/1", "", "",
			"Origin", edgeFrontend,
			"Access-Control-Request-Method", method,
			"Access-Control-Request-Headers", "authorization,content-type")
		h := rec.Header
		if rec.Status != http.StatusNoContent && rec.Status != http.StatusOK {
			t.Errorf("%s preflight: status %d, want 204", method, rec.Status)
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != edgeFrontend {
			t.Errorf("%s preflight: Allow-Origin %q, want %q", method, got, edgeFrontend)
		}
		if !slices.Contains(headerList(h, "Access-Control-Allow-Methods"), strings.ToLower(method)) {
			t.Errorf("%s preflight: Allow-Methods %q lacks %s", method, h.Values("Access-Control-Allow-Methods"), method)
		}
		allowed := headerList(h, "Access-Control-Allow-Headers")
		for _, want := range []string{"authorization", "content-type"} {
			if !slices.Contains(allowed, want) {
				t.Errorf("%s preflight: Allow-Headers %q lacks %s", method, allowed, want)
			}
		}
		if !slices.Contains(headerList(h, "Vary"), "origin") {
			t.Errorf("%s preflight: Vary %q lacks Origin", method, h.Values("Vary"))
		}
		if h.Get("Access-Control-Max-Age") == "" {
			t.Errorf("%s preflight: no Access-Control-Max-Age", method)
		}
		if h.Get("X-Request-ID") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s preflight lacks the edge headers: %v", method, h)
		}
	}
}

func TestCORSOtherOriginsGetNoCORSHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEdgeCORS(edgeFrontend, "https://app.example.com"))
	tok := token(t, "alice")
	for _, origin := range []string{"http://localhost:3001", "https://evil.example", "http://127.0.0.1:3000", "null", "https://app.example.com.evil.example"} {
		pre := e.do(t, http.MethodOptions, "/api/me/tasks", "", "",
			"Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization,content-type")
		if names := corsHeaders(pre.Header); len(names) > 0 {
			t.Errorf("preflight from %s got CORS headers %v", origin, names)
		}
		got := e.do(t, http.MethodGet, "/api/me/tasks", tok, "", "Origin", origin)
		if got.Status != http.StatusOK {
			t.Errorf("GET from %s: status %d; CORS must not change the server's answer", origin, got.Status)
		}
		if names := corsHeaders(got.Header); len(names) > 0 {
			t.Errorf("GET from %s got CORS headers %v", origin, names)
		}
		if !slices.Contains(headerList(got.Header, "Vary"), "origin") {
			t.Errorf("GET from %s: Vary %q lacks Origin, so a cache could serve another origin's answer", origin, got.Header.Values("Vary"))
		}
	}
	// The second configured origin works as well as the first.
	got := e.do(t, http.MethodGet, "/api/me/tasks", tok, "", "Origin", "https://app.example.com")
	if got.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("second configured origin not allowed: %v", got.Header)
	}
}

func TestCORSExposesHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEdgeCORS(edgeFrontend))
	tok := token(t, "alice")
	for name, rec := range map[string]*response{
		"201":                e.do(t, http.MethodPost, "/api/me/tasks", tok, `{"title":"x"}`, "Origin", edgeFrontend),
		"401 (no token)":     e.do(t, http.MethodGet, "/api/me/tasks", "", "", "Origin", edgeFrontend),
		"403 (other's path)": e.do(t, http.MethodGet, "/api/bob/tasks", tok, "", "Origin", edgeFrontend),
		"404":                e.do(t, http.MethodGet, "/api/me/tasks/999", tok, "", "Origin", edgeFrontend),
	} {
		h := rec.Header
		// A frontend must be able to read error statuses (to send a signed-out
		// user to the login page) as well as successes.
		if h.Get("Access-Control-Allow-Origin") != edgeFrontend {
			t.Errorf("%s: Allow-Origin %q", name, h.Get("Access-Control-Allow-Origin"))
		}
		exposed := headerList(h, "Access-Control-Expose-Headers")
		for _, want := range []string{"location", "link", "x-total-count", "retry-after", "x-request-id"} {
			if !slices.Contains(exposed, want) {
				t.Errorf("%s: Expose-Headers %q lacks %s", name, exposed, want)
			}
		}
	}
}

func TestCORSNothingConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.do(t, http.MethodOptions, "/api/me/tasks", "", "",
		"Origin", edgeFrontend, "Access-Control-Request-Method", "GET")
	if names := corsHeaders(rec.Header); len(names) > 0 {
		t.Errorf("no origins configured, yet the preflight got %v", names)
	}
}

// corsPage is what a frontend does: create, list, toggle and delete a task
// with fetch and a bearer token, reading the exposed headers.
const corsPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>frontend</title></head><body>
<script>
async function runAll(api, token) {
  const auth = {"Authorization": "Bearer " + token};
  const out = {};
  try {
    let r = await fetch(api + "/api/me/tasks", {method: "POST",
      headers: {...auth, "Content-Type": "application/json"},
      body: JSON.stringify({title: "from the browser"})});
    out.create = {status: r.status, location: r.headers.get("Location"),
      requestId: r.headers.get("X-Request-ID"), body: await r.json()};
    const id = out.create.body.id;
    r = await fetch(api + "/api/me/tasks", {headers: auth});
    out.list = {status: r.status, titles: (await r.json()).map(t => t.title)};
    r = await fetch(api + "/api/me/tasks/" + id + "/complete", {method: "PATCH", headers: auth});
    out.toggle = {status: r.status, completed: (await r.json()).completed};
    r = await fetch(api + "/api/me/tasks/" + id, {method: "DELETE", headers: auth});
    out.remove = {status: r.status};
    r = await fetch(api + "/api/me/tasks", {headers: {"Authorization": "Bearer not-a-token"}});
    out.rejected = {status: r.status};
  } catch (e) {
    out.error = String(e);
  }
  return out;
}
</script></body></html>`

type corsRun struct {
	Create *struct {
		Status    int    `json:"status"`
		Location  string `json:"location"`
		RequestID string `json:"requestId"`
		Body      struct {
			ID    int64  `json:"id"`
			Title string `json:"title"`
		} `json:"body"`
	} `json:"create"`
	List *struct {
		Status int      `json:"status"`
		Titles []string `json:"titles"`
	} `json:"list"`
	Toggle *struct {
		Status    int  `json:"status"`
		Completed bool `json:"completed"`
	} `json:"toggle"`
	Remove   *struct{ Status int } `json:"remove"`
	Rejected *struct{ Status int } `json:"rejected"`
	Error    string                `json:"error"`
}

// TestCORSInBrowser has headless Chromium run a frontend's calls from an
// allowed origin, where they all succeed, and from another origin, where the
// browser blocks them before the request is even sent.
func TestCORSInBrowser(t *testing.T) {
	t.Parallel()
	browser := browsertest.Start(t)
	allowed, blocked := browsertest.ServePage(t, corsPage), browsertest.ServePage(t, corsPage)
	e := newEnv(t, withEdgeCORS(allowed))
	api := httptest.NewServer(e.handler)
	t.Cleanup(api.Close)
	tok := token(t, "alice")

	run := func(origin string) corsRun {
		t.Helper()
		if err := chromedp.Do(browser, chromedp.Navigate(origin+"/")); err != nil {
			t.Fatalf("open the page at %s: %v", origin, err)
		}
		raw, err := chromedp.Run(browser, chromedp.Evaluate[[]byte](
			fmt.Sprintf("runAll(%q, %q)", api.URL, tok), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("run the page from %s: %v", origin, err)
		}
		var out corsRun
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("page result %s: %v", raw, err)
		}
		t.Logf("from %s: %s", origin, raw)
		return out
	}

	got := run(allowed)
	switch {
	case got.Error != "":
		t.Fatalf("from the allowed origin the browser failed: %s\nserver log:\n%s", got.Error, e.logs.String())
	case got.Create == nil || got.Create.Status != 201 || got.Create.Body.Title != "from the browser":
		t.Errorf("create: %+v", got.Create)
	case got.Create.Location != fmt.Sprintf("/api/alice/tasks/%d", got.Create.Body.ID):
		t.Errorf("the page could not read Location: %q", got.Create.Location)
	case got.Create.RequestID == "":
		t.Errorf("the page could not read X-Request-ID")
	case got.List == nil || got.List.Status != 200 || !slices.Contains(got.List.Titles, "from the browser"):
		t.Errorf("list: %+v", got.List)
	case got.Toggle == nil || got.Toggle.Status != 200 || !got.Toggle.Completed:
		t.Errorf("toggle: %+v", got.Toggle)
	case got.Remove == nil || got.Remove.Status != 204:
		t.Errorf("delete: %+v", got.Remove)
	case got.Rejected == nil || got.Rejected.Status != 401:
		t.Errorf("a bad token's 401 was not readable by the page: %+v", got.Rejected)
	}

	posts := strings.Count(e.logs.String(), `"method":"POST"`)
	got = run(blocked)
	if got.Error == "" || got.Create != nil {
		t.Fatalf("from a non-allowed origin the browser let the page call the API: %+v", got)
	}
	if n := strings.Count(e.logs.String(), `"method":"POST"`); n != posts {
		t.Errorf("the blocked page's POST reached the server (%d POSTs logged, %d before)", n, posts)
	}
	if !strings.Contains(e.logs.String(), `"route":"preflight"`) {
		t.Errorf("no preflight was logged; was the request blocked for another reason?")
	}
}
