package http

// Tests of GET /api/{user_id}/tasks through the real handler,
// verifier, service and store, once per store: filtering, ordering and
// paging are computed by each store's SQL.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/todoapi/todoapi"
)

// listResult is a successful list response.
type listResult struct {
	tasks []wireTask
	total int
	next  string // the Link target, "" without one
}

var linkHeader = regexp.MustCompile(`^<([^<>]+)>; rel="next"$`)

// list GETs path and checks what every list response must have: 200, a
// JSON array, X-Total-Count, and at most a well-formed Link header.
func (e *env) page(t *testing.T, tok, path string) listResult {
	t.Helper()
	rec := e.do(t, http.MethodGet, path, tok, "")
	if rec.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Status, rec.Body)
	}
	var r listResult
	if err := json.Unmarshal(rec.Body, &r.tasks); err != nil || r.tasks == nil {
		t.Fatalf("GET %s: body is not a JSON array (%v): %s", path, err, rec.Body)
	}
	total := rec.Header.Values("X-Total-Count")
	n, err := strconv.Atoi(strings.Join(total, ","))
	if err != nil || n < len(r.tasks) {
		t.Fatalf("GET %s: X-Total-Count = %q with %d tasks", path, total, len(r.tasks))
	}
	r.total = n
	if links := rec.Header.Values("Link"); len(links) > 0 {
		m := linkHeader.FindStringSubmatch(strings.Join(links, ", "))
		if m == nil {
			t.Fatalf("GET %s: Link = %q, want one <…>; rel=\"next\"", path, links)
		}
		r.next = m[1]
	}
	return r
}

// invalid GETs path and checks that the answer is a 422 naming exactly
// the locations given.
func (e *env) invalidList(t *testing.T, tok, path string, locations ...string) {
	t.Helper()
	rec := e.do(t, http.MethodGet, path, tok, "")
	if rec.Status != http.StatusUnprocessableEntity {
		t.Fatalf("GET %s: %d %s, want 422", path, rec.Status, rec.Body)
	}
	var p struct {
		Detail string `json:"detail"`
		Errors []struct {
			Location string `json:"location"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body, &p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Errors {
		got = append(got, e.Location)
		if e.Message == "" {
			t.Errorf("GET %s: no message for %s", path, e.Location)
		}
	}
	slices.Sort(got)
	slices.Sort(locations)
	if !slices.Equal(got, locations) {
		t.Errorf("GET %s: errors at %v, want %v; body %s", path, got, locations, rec.Body)
	}
}

func listIDs(tasks []wireTask) []int64 {
	out := make([]int64, len(tasks))
	for i, task := range tasks {
		out[i] = task.ID
	}
	return out
}

// seedHTTP creates tasks for alice and bob through the API and returns
// alice's, oldest first.
func seedHTTP(t *testing.T, e *env) []wireTask {
	alice, bob := token(t, "alice"), token(t, "bob")
	var out []wireTask
	for _, body := range []string{
		`{"title":"Buy milk","priority":"high","tags":["Home"],"due_date":"2026-01-05"}`,
		`{"title":"buy MILK","priority":"low","tags":["home","Shop"]}`,
		`{"title":"50% off","description":"sale","priority":"medium","tags":["shop"],"due_date":"2026-01-02"}`,
		`{"title":"500 off","priority":"medium","due_date":"2026-01-03T12:00:00Z"}`,
		`{"title":"snake_case","priority":"high","tags":["code","a,b"]}`,
		`{"title":"Ärger","description":"with umlaut","priority":"low","tags":["ÄRGER"],"due_date":"2026-02-01"}`,
		`{"title":"done","priority":"high","completed":true,"tags":["Home","code"],"due_date":"2026-01-01"}`,
	} {
		out = append(out, e.create(t, alice, body))
		e.create(t, bob, body)
	}
	return out
}

func TestListFilterParams(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		a := seedHTTP(t, e)
		alice := token(t, "alice")
		newest := func(tasks ...wireTask) []int64 {
			ids := listIDs(tasks)
			slices.Reverse(ids)
			return ids
		}
		for path, want := range map[string][]int64{
			"":                                newest(a...),
			"?status=all":                     newest(a...),
			"?status=pending":                 newest(a[:6]...),
			"?status=completed":               {a[6].ID},
			"?priority=high":                  newest(a[0], a[4], a[6]),
			"?priority=low&priority=HIGH":     newest(a[0], a[1], a[4], a[5], a[6]),
			"?tag=home":                       newest(a[0], a[1], a[6]),
			"?tag=HOME&tag=code":              {a[6].ID},
			"?tag=&tag=shop":                  newest(a[1], a[2]),
			"?tag=a,b":                        {a[4].ID},
			"?tag=a":                          {},
			"?tag=%C3%A4rger":                 {a[5].ID},
			"?q=milk":                         newest(a[0], a[1]),
			"?q=%25":                          {a[2].ID},
			"?q=_":                            {a[4].ID},
			"?q=%C3%84RGER":                   {a[5].ID},
			"?q=SALE":                         {a[2].ID},
			"?due_before=2026-01-03":          newest(a[2], a[6]),
			"?due_after=2026-01-03T12:00:00Z": newest(a[0], a[5]),
			"?due_after=2026-01-01&due_before=2026-01-04T00:00": newest(a[2], a[3]),
			// "50% off" < "500 off" as '%' < '0'; "buy milk" twice, by id;
			// "ärger" after every ASCII title.
			"?sort=title":     {a[2].ID, a[3].ID, a[0].ID, a[1].ID, a[6].ID, a[4].ID, a[5].ID},
			"?sort=-title":    {a[5].ID, a[4].ID, a[6].ID, a[1].ID, a[0].ID, a[3].ID, a[2].ID},
			"?sort=due_date":  {a[6].ID, a[2].ID, a[3].ID, a[0].ID, a[5].ID, a[1].ID, a[4].ID},
			"?sort=-due_date": {a[5].ID, a[0].ID, a[3].ID, a[2].ID, a[6].ID, a[4].ID, a[1].ID},
			// priority: high first, ties newest first; -priority reverses.
			"?sort=priority":             {a[6].ID, a[4].ID, a[0].ID, a[3].ID, a[2].ID, a[5].ID, a[1].ID},
			"?sort=-priority":            {a[1].ID, a[5].ID, a[2].ID, a[3].ID, a[0].ID, a[4].ID, a[6].ID},
			"?sort=created":              listIDs(a),
			"?sort=created_at":           newest(a...),
			"?sort=created_date":         newest(a...),
			"?sort=created_at&order=asc": listIDs(a),
			"?sort=-updated_at":          newest(a...),
			"?status=&priority=&tag=&q=&due_before=&due_after=&sort=&limit=&cursor=": newest(a...),
			"?unknown=1&done=maybe&owner=bob":                                        newest(a...),
			"?status=pending&priority=high&tag=home&q=MILK&due_after=2026-01-04":     {a[0].ID},
		} {
			r := e.page(t, alice, "/api/me/tasks"+path)
			if got := listIDs(r.tasks); !slices.Equal(got, want) {
				t.Errorf("GET %s: ids %v, want %v", path, got, want)
			}
			if r.total != len(want) || r.next != "" {
				t.Errorf("GET %s: X-Total-Count %d, Link %q; want %d and none", path, r.total, r.next, len(want))
			}
			for _, task := range r.tasks {
				if task.UserID != "alice" {
					t.Errorf("GET %s: task %d of %s", path, task.ID, task.UserID)
				}
			}
		}
		// The real user id works as well as me.
		if r := e.page(t, alice, "/api/alice/tasks?tag=home"); r.total != 3 {
			t.Errorf("/api/alice/tasks?tag=home: X-Total-Count %d, want 3", r.total)
		}
		// A user with no tasks gets an empty array and a count of 0.
		if r := e.page(t, token(t, "carol"), "/api/me/tasks"); len(r.tasks) != 0 || r.total != 0 || r.next != "" {
			t.Errorf("carol: %d tasks, X-Total-Count %d, Link %q", len(r.tasks), r.total, r.next)
		}
	})
}

func TestListInvalidParams(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice := token(t, "alice")
		e.create(t, alice, `{"title":"x"}`)
		e.create(t, alice, `{"title":"y"}`)
		good := e.page(t, alice, "/api/me/tasks?limit=1&sort=title")
		if good.next == "" {
			t.Fatal("no Link with limit=1 and two tasks")
		}
		titleCursor := cursorOf(t, good.next)
		for path, locations := range map[string][]string{
			"?status=done":                       {"query.status"},
			"?status=Pending":                    {"query.status"},
			"?priority=urgent":                   {"query.priority"},
			"?priority=low&priority=x":           {"query.priority"},
			"?tag=" + strings.Repeat("t", 51):    {"query.tag"},
			"?q=%00":                             {"query.q"},
			"?q=%FF":                             {"query.q"},
			"?due_before=tomorrow":               {"query.due_before"},
			"?due_after=2026-02-30":              {"query.due_after"},
			"?sort=owner":                        {"query.sort"},
			"?sort=id":                           {"query.sort"},
			"?limit=0":                           {"query.limit"},
			"?limit=1001":                        {"query.limit"},
			"?limit=-1":                          {"query.limit"},
			"?limit=ten":                         {"query.limit"},
			"?cursor=garbage":                    {"query.cursor"},
			"?cursor=" + titleCursor:             {"query.cursor"}, // from sort=title, sent with the default sort
			"?sort=-title&cursor=" + titleCursor: {"query.cursor"},
			"?status=done&limit=0&sort=owner&cursor=x&due_before=x&due_after=x&priority=x&q=%01&tag=%02": {
				"query.status", "query.limit", "query.sort", "query.cursor", "query.due_before",
				"query.due_after", "query.priority", "query.q", "query.tag"},
		} {
			e.invalidList(t, alice, "/api/me/tasks"+path, locations...)
		}
		for _, limit := range []string{"1", "1000"} {
			e.page(t, alice, "/api/me/tasks?limit="+limit)
		}
	})
}

// cursorOf returns the cursor parameter of a Link target.
func cursorOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("Link target %q: %v", link, err)
	}
	if c := u.Query()["cursor"]; len(c) == 1 && c[0] != "" {
		return c[0]
	}
	t.Fatalf("Link target %q has no single cursor", link)
	return ""
}

// Following Link headers from the first page returns every task once, in
// order; every page has X-Total-Count, the last has no Link, and each link
// keeps the request's other parameters.
func TestListLinkWalk(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice := token(t, "alice")
		var all []wireTask
		for i := range 11 {
			all = append(all, e.create(t, alice, fmt.Sprintf(`{"title":"Task %02d","tags":["Walk"],"priority":"%s"}`,
				i, todoapi.Priorities[i%3])))
		}
		e.create(t, alice, `{"title":"not tagged"}`)
		for _, sort := range []string{"", "title", "-title", "priority", "-priority", "created", "due_date", "-updated"} {
			first := "/api/me/tasks?tag=walk&limit=3&extra=kept"
			if sort != "" {
				first += "&sort=" + sort
			}
			full := e.page(t, alice, strings.Replace(first, "limit=3", "limit=1000", 1))
			if len(full.tasks) != len(all) {
				t.Fatalf("sort=%s: %d tasks, want %d", sort, len(full.tasks), len(all))
			}
			var walked []wireTask
			pages := 0
			for path := first; path != ""; pages++ {
				if pages > len(all) {
					t.Fatalf("sort=%s: the Link walk does not end", sort)
				}
				r := e.page(t, alice, path)
				if r.total != len(all) {
					t.Errorf("sort=%s: page %d: X-Total-Count %d, want %d", sort, pages, r.total, len(all))
				}
				walked = append(walked, r.tasks...)
				if r.next != "" {
					u, err := url.Parse(r.next)
					if err != nil || u.Path != "/api/me/tasks" || u.Host != "" {
						t.Fatalf("sort=%s: Link target %q is not a path on this server", sort, r.next)
					}
					q := u.Query()
					if q.Get("tag") != "walk" || q.Get("limit") != "3" || q.Get("extra") != "kept" ||
						q.Get("sort") != sort || len(q["cursor"]) != 1 || len(q["limit"]) != 1 {
						t.Errorf("sort=%s: Link target %q does not repeat the request with one new cursor", sort, r.next)
					}
				}
				path = r.next
			}
			if pages != 4 {
				t.Errorf("sort=%s: %d pages of 3 for 11 tasks, want 4", sort, pages)
			}
			if !slices.Equal(listIDs(walked), listIDs(full.tasks)) {
				t.Errorf("sort=%s: walked %v, want %v", sort, listIDs(walked), listIDs(full.tasks))
			}
		}
	})
}

// A tampered cursor is a 422 on query.cursor, never a 500 and never
// another position's tasks by accident of decoding.
func TestListCursorTampering(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice := token(t, "alice")
		for i := range 4 {
			e.create(t, alice, fmt.Sprintf(`{"title":"t%d","due_date":"2026-01-0%d"}`, i, i+1))
		}
		key, err := e.store.ServiceKey(t.Context(), todoapi.CursorKeyName, make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		sealer, err := todoapi.NewCursorSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		for _, sort := range []string{"-created", "title", "due_date", "-priority", "updated"} {
			r := e.page(t, alice, "/api/me/tasks?limit=2&sort="+sort)
			cursor := cursorOf(t, r.next)
			inner, err := sealer.Open(cursor)
			if err != nil {
				t.Fatalf("sort=%s: the Link's cursor does not open with the stored key: %v", sort, err)
			}
			plain := inner.Encode()
			raw, err := base64.RawURLEncoding.DecodeString(plain)
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]any
			if err := json.Unmarshal(raw, &fields); err != nil {
				t.Fatalf("cursor %q: %v", raw, err)
			}
			// edit changes the cursor's fields and seals the result with the
			// real key: what someone who stole the key could send.
			edit := func(change func(map[string]any)) string {
				m := map[string]any{}
				for k, v := range fields {
					m[k] = v
				}
				change(m)
				b, _ := json.Marshal(m)
				return sealRaw(t, key, base64.RawURLEncoding.EncodeToString(b))
			}
			sealedBytes, _ := base64.RawURLEncoding.DecodeString(cursor)
			flip := func(i int) string {
				b := slices.Clone(sealedBytes)
				b[i] ^= 1
				return base64.RawURLEncoding.EncodeToString(b)
			}
			for name, bad := range map[string]string{
				"truncated":          cursor[:len(cursor)/2],
				"extra byte":         cursor + "A",
				"not base64":         "***",
				"nonce flipped":      flip(0),
				"ciphertext flipped": flip(len(sealedBytes) / 2),
				"tag flipped":        flip(len(sealedBytes) - 1),
				"plain form":         plain,
				"plain NUL title":    base64.RawURLEncoding.EncodeToString([]byte(`{"s":"title","v":"a\u0000b","id":1}`)),
				"sealed NUL title":   sealRaw(t, key, base64.RawURLEncoding.EncodeToString([]byte(`{"s":"`+sort+`","v":"a\u0000b","id":1}`))),
				"id is a string":     edit(func(m map[string]any) { m["id"] = "1 OR 1=1" }),
				"id is negative":     edit(func(m map[string]any) { m["id"] = -1 }),
				"value is SQL":       edit(func(m map[string]any) { m["v"] = "'; DROP TABLE tasks; --" }),
				"value is object":    edit(func(m map[string]any) { m["v"] = map[string]any{"x": 1} }),
				"user added":         edit(func(m map[string]any) { m["user_id"] = "bob" }),
				"sort changed":       edit(func(m map[string]any) { m["s"] = "-id" }),
				"fields missing":     edit(func(m map[string]any) { delete(m, "v") }),
				"huge":               strings.Repeat("A", 10000),
			} {
				if sort == "title" && name == "value is SQL" {
					continue // a title may read like SQL; stores bind it as a value
				}
				rec := e.do(t, http.MethodGet, "/api/me/tasks?sort="+sort+"&cursor="+url.QueryEscape(bad), alice, "")
				if rec.Status != http.StatusUnprocessableEntity || !strings.Contains(string(rec.Body), `"query.cursor"`) {
					t.Errorf("sort=%s, %s cursor: %d %s; want 422 at query.cursor", sort, name, rec.Status, rec.Body)
				}
			}
		}
	})
}

// sealRaw seals a plain cursor string with key as the service does, for
// cursors the service would never make.
func sealRaw(t *testing.T, key []byte, plain string) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plain), []byte("todoapi list cursor v1")))
}

// Cursors are opaque: a list sorted by title continues with a cursor from
// which no title can be read, and each replica on the same database (two
// services here) understands the other's cursors.
func TestListCursorOpaque(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice := token(t, "alice")
		const secret = "Surprise party for Bob"
		e.create(t, alice, `{"title":"`+secret+`"}`)
		e.create(t, alice, `{"title":"Tax return"}`)
		e.create(t, alice, `{"title":"Zebra food"}`)
		r := e.page(t, alice, "/api/me/tasks?limit=1&sort=title")
		cursor := cursorOf(t, r.next)
		raw, _ := base64.RawURLEncoding.DecodeString(cursor)
		for _, text := range []string{secret, todoapi.Fold(secret), "surprise", `"s"`, "title"} {
			if strings.Contains(cursor, text) || bytes.Contains(raw, []byte(text)) {
				t.Errorf("cursor %q reveals %q", cursor, text)
			}
		}
		// Sealing is randomised: the same position gives another string.
		if again := cursorOf(t, e.page(t, alice, "/api/me/tasks?limit=1&sort=title").next); again == cursor {
			t.Errorf("the same page's cursor twice: %q", cursor)
		}

		// Another replica: its own Service and handler on the same store.
		other := newEnvOn(t, e.store)
		next := other.page(t, alice, "/api/me/tasks?limit=1&sort=title&cursor="+url.QueryEscape(cursor))
		if got := next.tasks; len(got) != 1 || got[0].Title != "Tax return" {
			t.Errorf("the other replica continued with %+v, want Tax return", got)
		}
		// Bound to its sort.
		rec := other.do(t, http.MethodGet, "/api/me/tasks?sort=-created&cursor="+url.QueryEscape(cursor), alice, "")
		if rec.Status != http.StatusUnprocessableEntity || !strings.Contains(string(rec.Body), "sort=title") {
			t.Errorf("title cursor with sort=-created: %d %s", rec.Status, rec.Body)
		}
	})
}

// A cursor says where to continue, not whose tasks: bob replaying alice's
// cursor sees only his own tasks (after that position), and the count is
// his.
func TestListCursorOfAnotherUser(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		alice, bob := token(t, "alice"), token(t, "bob")
		seedHTTP(t, e)
		e.create(t, bob, `{"title":"bob only"}`)
		for _, sort := range []string{"-created", "title", "-due_date", "priority"} {
			r := e.page(t, alice, "/api/me/tasks?limit=2&sort="+sort)
			if r.next == "" {
				t.Fatalf("sort=%s: no Link", sort)
			}
			stolen := e.page(t, bob, r.next)
			if stolen.total != 8 {
				t.Errorf("sort=%s: bob with alice's cursor: X-Total-Count %d, want his 8", sort, stolen.total)
			}
			for _, task := range stolen.tasks {
				if task.UserID != "bob" {
					t.Errorf("sort=%s: bob with alice's cursor got task %d of %s", sort, task.ID, task.UserID)
				}
			}
			// The same link on /api/alice/… is forbidden to bob outright.
			if rec := e.do(t, http.MethodGet, strings.Replace(r.next, "/api/me/", "/api/alice/", 1), bob, ""); rec.Status != http.StatusForbidden {
				t.Errorf("sort=%s: bob on alice's path: %d, want 403", sort, rec.Status)
			}
		}
	})
}

// The OpenAPI document describes every list parameter and both headers.
func TestListOpenAPI(t *testing.T) {
	t.Parallel()
	rec := newEnv(t).do(t, http.MethodGet, "/openapi.json", "", "")
	if rec.Status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", rec.Status)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In, Description string
				Explode               *bool
			}
			Responses map[string]struct {
				Headers map[string]struct {
					Schema struct{ Description string }
				}
			}
		}
	}
	if err := json.Unmarshal(rec.Body, &doc); err != nil {
		t.Fatal(err)
	}
	op := doc.Paths["/api/{user_id}/tasks"]["get"]
	documented := map[string]bool{}
	for _, p := range op.Parameters {
		if p.In == "query" && p.Description != "" {
			documented[p.Name] = true
		}
		if (p.Name == "tag" || p.Name == "priority") && (p.Explode == nil || !*p.Explode) {
			t.Errorf("parameter %s is repeatable but not documented with explode", p.Name)
		}
	}
	for _, name := range []string{"status", "priority", "tag", "q", "due_before", "due_after", "sort", "limit", "cursor"} {
		if !documented[name] {
			t.Errorf("query parameter %s is not documented", name)
		}
	}
	for _, name := range []string{"Link", "X-Total-Count"} {
		if op.Responses["200"].Headers[name].Schema.Description == "" {
			t.Errorf("response header %s is not documented", name)
		}
	}
}
