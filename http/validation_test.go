package http

// The validation matrix: every body problem is a 422
// naming where it is (errors[].location), never a 500, and a refused request
// stores and changes nothing. A non-JSON Content-Type is 415, an oversized
// body 413.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// bodyOp is an operation that takes a body, aimed at a task id (ignored by
// POST).
type bodyOp struct {
	name, method string
	path         func(id int64) string
}

var (
	postOp     = bodyOp{"POST", http.MethodPost, func(int64) string { return tasksPath("me") }}
	putOp      = bodyOp{"PUT", http.MethodPut, func(id int64) string { return taskPath("me", id) }}
	patchOp    = bodyOp{"PATCH", http.MethodPatch, func(id int64) string { return taskPath("me", id) }}
	completeOp = bodyOp{"complete", http.MethodPatch, func(id int64) string { return completePath("me", id) }}

	// taskBodyOps take a task body; bodyOps are every operation with a body.
	taskBodyOps = []bodyOp{postOp, putOp, patchOp}
	bodyOps     = []bodyOp{postOp, putOp, patchOp, completeOp}
	updateOps   = []bodyOp{putOp, patchOp}
)

// success is the status op answers when it works.
func (op bodyOp) success() int {
	if op.method == http.MethodPost {
		return http.StatusCreated
	}
	return http.StatusOK
}

// bodyFor is a body for op that sets field to the JSON value; a POST body
// also gets a valid title unless field is the title.
func (op bodyOp) bodyFor(field, value string) string {
	if op.method == http.MethodPost && field != "title" {
		return fmt.Sprintf(`{"title":"ok",%q:%s}`, field, value)
	}
	return fmt.Sprintf(`{%q:%s}`, field, value)
}

// fixture is alice with one stored task that has every field set. Requests
// that must be refused are sent as her, against that task, and must leave
// her list exactly as it was.
type fixture struct {
	*env
	tok    string
	task   wireTask
	before []wireTask
}

func newFixture(t *testing.T, e *env) *fixture {
	t.Helper()
	tok := token(t, "alice")
	f := &fixture{env: e, tok: tok, task: e.create(t, tok, fullTask)}
	f.before = e.list(t, tok)
	return f
}

// send sends body with op against the fixture's task.
func (f *fixture) send(t *testing.T, op bodyOp, body string, headers ...string) *response {
	t.Helper()
	return f.do(t, op.method, op.path(f.task.ID), f.tok, body, headers...)
}

// unchanged fails unless alice's tasks are exactly what they were (nothing
// stored, nothing changed, updated_at included). It then takes the current
// list as the baseline, so that one failure does not spill into later cases.
func (f *fixture) unchanged(t *testing.T) {
	t.Helper()
	now := f.list(t, f.tok)
	if len(now) != len(f.before) {
		t.Errorf("alice has %d tasks, want %d: a refused request stored something", len(now), len(f.before))
	} else {
		for i := range now {
			equalTasks(t, now[i], f.before[i])
		}
	}
	f.before = now
}

// rejects sends body with op and expects a 422 whose errors name exactly
// locations, with nothing stored or changed.
func (f *fixture) rejects(t *testing.T, op bodyOp, body string, locations ...string) *response {
	t.Helper()
	defer f.unchanged(t) // also after a fatal status mismatch
	r := f.send(t, op, body)
	exactLocations(t, r, locations...)
	return r
}

// refuses sends body with op and expects status, with nothing stored or
// changed.
func (f *fixture) refuses(t *testing.T, op bodyOp, status int, body string, headers ...string) {
	t.Helper()
	defer f.unchanged(t)
	f.send(t, op, body, headers...).problem(t, status)
}

// exactLocations checks that r is a 422 whose errors name each of locations
// and nothing else.
func exactLocations(t *testing.T, r *response, locations ...string) {
	t.Helper()
	got := r.invalid(t, locations...)
	for _, g := range got {
		if !slices.ContainsFunc(locations, func(l string) bool { return g == l || strings.HasPrefix(g, l+"[") }) {
			t.Errorf("errors name %s too, want only %v; body: %s", g, locations, r.Body)
		}
	}
}

// messageAt is the error message at location in a 422.
func messageAt(t *testing.T, r *response, location string) string {
	t.Helper()
	for _, e := range r.problem(t, http.StatusUnprocessableEntity).Errors {
		if e.Location == location {
			return e.Message
		}
	}
	t.Errorf("no error at %s: %s", location, r.Body)
	return ""
}

// accepts sends body with op as the user of tok (against a fresh task
// created from fullTask, for PUT and PATCH), expects success and returns the
// task, after checking that GET returns the same.
func accepts(t *testing.T, e *env, tok string, op bodyOp, body string, headers ...string) wireTask {
	t.Helper()
	var id int64
	if op.method != http.MethodPost {
		id = e.create(t, tok, fullTask).ID
	}
	got := e.do(t, op.method, op.path(id), tok, body, headers...).want(t, op.success()).task(t)
	equalTasks(t, e.get(t, tok, got.ID), got)
	return got
}

// serveRaw serves req exactly as built, for requests do cannot make (no
// Content-Type on a body, a body of unknown length).
func (e *env) serveRaw(t *testing.T, req *http.Request) *response {
	t.Helper()
	rec := httptest.NewRecorder()
	if panicked := serve(e.handler, rec, req); panicked != nil {
		t.Fatalf("%s %s: handler panicked: %v", req.Method, req.URL, panicked)
	}
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// TestValidationTitle: required, trimmed of Unicode white space, 1–200 code
// points.
func TestValidationTitle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for _, body := range []string{`{}`, `{"description":"no title"}`} {
		t.Run("missing "+body, func(t *testing.T) {
			r := f.rejects(t, postOp, body, "body.title")
			if msg := messageAt(t, r, "body.title"); msg != "is required" {
				t.Errorf("message = %q, want %q", msg, "is required")
			}
		})
	}
	for name, value := range map[string]string{
		"empty":             `""`,
		"spaces":            `"   "`,
		"unicode blank":     jsonString(" \t\n\u00a0\u2003\u3000\u2028 "),
		"null":              `null`,
		"201 ascii":         jsonString(strings.Repeat("a", 201)),
		"201 é":             jsonString(strings.Repeat("é", 201)),
		"201 emoji":         jsonString(strings.Repeat("😀", 201)),
		"201 escaped emoji": `"` + strings.Repeat(`\ud83d\ude00`, 201) + `"`,
		"202 combining":     jsonString(strings.Repeat("e\u0301", 101)), // code points, not graphemes
	} {
		for _, op := range taskBodyOps {
			t.Run(name+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, op.bodyFor("title", value), "body.title")
			})
		}
	}

	tok := token(t, "carol")
	for name, c := range map[string]struct{ in, want string }{
		"200 ascii":           {strings.Repeat("a", 200), strings.Repeat("a", 200)},
		"200 é":               {strings.Repeat("é", 200), strings.Repeat("é", 200)},
		"200 emoji":           {strings.Repeat("😀", 200), strings.Repeat("😀", 200)},
		"200 combining":       {strings.Repeat("e\u0301", 100), strings.Repeat("e\u0301", 100)},
		"200 after trimming":  {" \u00a0" + strings.Repeat("é", 200) + "\u3000\n", strings.Repeat("é", 200)},
		"unicode white space": {"\u00a0\u2003\u3000\u2028\u2029\u0085\u000b\u000c Buy milk \t\r\n\u00a0", "Buy milk"},
		"inner space kept":    {"  a \u00a0 b  ", "a \u00a0 b"},
	} {
		for _, op := range taskBodyOps {
			t.Run("accepted "+name+"/"+op.name, func(t *testing.T) {
				if got := accepts(t, e, tok, op, op.bodyFor("title", jsonString(c.in))); got.Title != c.want {
					t.Errorf("title = %q, want %q", got.Title, c.want)
				}
			})
		}
	}
}

// TestValidationDescription: at most 1000 code points after trimming; blank
// is stored as null; line breaks and tabs inside are kept.
func TestValidationDescription(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for name, value := range map[string]string{
		"1001 ascii":          strings.Repeat("x", 1001),
		"1001 é":              strings.Repeat("é", 1001),
		"1001 inside padding": "  " + strings.Repeat("x", 1001) + "  ",
	} {
		for _, op := range taskBodyOps {
			t.Run(name+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, op.bodyFor("description", jsonString(value)), "body.description")
			})
		}
	}

	tok := token(t, "carol")
	for name, c := range map[string]struct {
		in   string
		want *string
	}{
		"1000 ascii":         {strings.Repeat("x", 1000), ptr(strings.Repeat("x", 1000))},
		"1000 é":             {strings.Repeat("é", 1000), ptr(strings.Repeat("é", 1000))},
		"1000 emoji":         {strings.Repeat("😀", 1000), ptr(strings.Repeat("😀", 1000))},
		"1000 after trim":    {"\n\u00a0" + strings.Repeat("x", 1000) + " \t", ptr(strings.Repeat("x", 1000))},
		"spaces are null":    {"   ", nil},
		"blank is null":      {"\n\t\r \u00a0\u3000", nil},
		"empty is null":      {"", nil},
		"line breaks kept":   {"line one\nline two\r\n\tindented\tand\rcr", ptr("line one\nline two\r\n\tindented\tand\rcr")},
		"edges trimmed only": {"\n\t  first\n\nlast \t\r\n", ptr("first\n\nlast")},
	} {
		for _, op := range taskBodyOps {
			t.Run("accepted "+name+"/"+op.name, func(t *testing.T) {
				got := accepts(t, e, tok, op, op.bodyFor("description", jsonString(c.in)))
				if deref(got.Description) != deref(c.want) {
					t.Errorf("description = %q, want %q", deref(got.Description), deref(c.want))
				}
			})
		}
	}
}

// TestValidationControlCharacters: a control character (category Cc) inside
// a title, a tag or a description is a 422, never a 500 (NUL in particular
// must not reach PostgreSQL); a description alone may hold \n, \r and \t.
func TestValidationControlCharacters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	everywhere := []rune{0x00, 0x01, 0x07, 0x1b, 0x1f, 0x7f, 0x80, 0x85, 0x9f}
	notInTitles := []rune{'\n', '\r', '\t', 0x0b, 0x0c}
	fields := map[string]func(s string) string{
		"title":       func(s string) string { return s },
		"tags":        func(s string) string { return `["ok",` + s + `]` },
		"description": func(s string) string { return s },
	}
	for field, value := range fields {
		chars := everywhere
		if field != "description" {
			chars = append(slices.Clone(everywhere), notInTitles...)
		}
		for _, c := range chars {
			// As encoding/json writes it (raw UTF-8 from U+007F on), and as
			// an explicit \u escape.
			forms := map[string]string{"as sent": jsonString("a" + string(c) + "b"), "escaped": fmt.Sprintf(`"a\u%04xb"`, c)}
			for form, s := range forms {
				for _, op := range taskBodyOps {
					t.Run(fmt.Sprintf("%s U+%04X %s/%s", field, c, form, op.name), func(t *testing.T) {
						f.rejects(t, op, op.bodyFor(field, value(s)), "body."+field)
					})
				}
			}
		}
	}
}

// TestValidationInvalidUTF8: a body that is not valid UTF-8, wherever the
// bad bytes are, is a 422 at "body" on every operation with a body, and
// nothing is stored or changed (README: every body problem is a
// 422).
func TestValidationInvalidUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	cases := map[string]string{
		"title":               "{\"title\":\"bad \xff title\"}",
		"title latin-1":       "{\"title\":\"caf\xe9\"}",
		"description":         "{\"title\":\"ok\",\"description\":\"caf\xe9 au lait\"}",
		"tag":                 "{\"title\":\"ok\",\"tags\":[\"a\",\"\xc3\x28\"]}",
		"unknown field value": "{\"title\":\"ok\",\"note\":\"\xfe\xfe\"}",
		"unknown field key":   "{\"title\":\"ok\",\"\xff\":\"x\"}",
		"truncated 3-byte":    "{\"title\":\"ok \xe2\x82\"}",
		"truncated emoji":     "{\"title\":\"ok \xf0\x9f\x98\"}",
		"truncated at end":    "{\"title\":\"ok\"}\xe2\x82",
		"overlong":            "{\"title\":\"\xc0\xaf\"}",
		"encoded surrogate":   "{\"title\":\"\xed\xa0\x80\"}",
		"lone continuation":   "{\"title\":\"ok\x80\"}",
	}
	for name, body := range cases {
		for _, op := range taskBodyOps {
			t.Run(name+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, body, "body")
			})
		}
	}
	t.Run("complete", func(t *testing.T) {
		f.rejects(t, completeOp, "{\"completed\":true,\"note\":\"\xff\"}", "body")
	})
}

// TestValidationSurrogateEscapes: a \u escape of an unpaired UTF-16
// surrogate is refused rather than silently replaced by U+FFFD; a pair is
// the character it encodes, and an escaped backslash before "ud800" is just
// text (README: Errors).
func TestValidationSurrogateEscapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for name, body := range map[string]string{
		"high alone":                 `{"title":"\ud800"}`,
		"low alone":                  `{"title":"\udfff"}`,
		"high of an emoji alone":     `{"title":"smile \ud83d"}`,
		"high then text":             `{"title":"\ud83dx"}`,
		"high then a non-surrogate":  `{"title":"\ud83d\u0041"}`,
		"high then high":             `{"title":"\ud83d\ud83d"}`,
		"pair reversed":              `{"title":"\ude00\ud83d"}`,
		"upper case hex":             `{"title":"\uD800"}`,
		"after an escaped backslash": `{"title":"\\\ud800"}`,
		"in a tag":                   `{"title":"ok","tags":["\udc00"]}`,
		"in a description":           `{"title":"ok","description":"\ud800"}`,
		"in an unknown field":        `{"title":"ok","note":"\ud800"}`,
		"in a key":                   `{"title":"ok","\ud800":1}`,
	} {
		for _, op := range taskBodyOps {
			t.Run(name+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, body, "body")
			})
		}
	}
	t.Run("complete", func(t *testing.T) {
		f.rejects(t, completeOp, `{"completed":true,"note":"\udfff"}`, "body")
	})

	tok := token(t, "carol")
	for name, c := range map[string]struct{ in, want string }{
		"pair":                  {`"\ud83d\ude00"`, "😀"},
		"pair upper case":       {`"a\uD83D\uDE00b"`, "a😀b"},
		"escaped backslash":     {`"\\ud800"`, `\ud800`},
		"two escaped backslash": {`"\\\\ud800"`, `\\ud800`},
		"backslash then pair":   {`"\\\ud83d\ude00"`, `\😀`},
	} {
		for _, op := range taskBodyOps {
			t.Run("accepted "+name+"/"+op.name, func(t *testing.T) {
				if got := accepts(t, e, tok, op, op.bodyFor("title", c.in)); got.Title != c.want {
					t.Errorf("title = %q, want %q", got.Title, c.want)
				}
			})
		}
	}
}

// TestValidationWrongTypes: a value of the wrong JSON type is a 422 naming
// that field, on every operation.
func TestValidationWrongTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for _, c := range []struct{ field, value string }{
		{"title", `5`},
		{"title", `true`},
		{"title", `["x"]`},
		{"title", `{"text":"x"}`},
		{"description", `true`},
		{"description", `5`},
		{"description", `["x"]`},
		{"completed", `"yes"`},
		{"completed", `"true"`},
		{"completed", `1`},
		{"priority", `3`},
		{"priority", `["high"]`},
		{"tags", `"a"`},
		{"tags", `[1]`},
		{"tags", `["a",null]`},
		{"tags", `[["a"]]`},
		{"tags", `{"a":1}`},
		{"due_date", `5`},
		{"due_date", `false`},
		{"due_date", `{"date":"2026-12-01"}`},
	} {
		for _, op := range taskBodyOps {
			t.Run(c.field+" "+c.value+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, op.bodyFor(c.field, c.value), "body."+c.field)
			})
		}
	}
	for _, value := range []string{`"yes"`, `"true"`, `1`, `[true]`, `{}`} {
		t.Run("complete "+value, func(t *testing.T) {
			f.rejects(t, completeOp, `{"completed":`+value+`}`, "body.completed")
		})
	}
}

// TestValidationManyFieldsAtOnce: one 422 lists every invalid field, type
// errors and value errors together.
func TestValidationManyFieldsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for _, c := range []struct {
		body      string
		locations []string
	}{
		{`{"title":5,"priority":"urgent","due_date":"tomorrow","tags":"x"}`,
			[]string{"body.title", "body.priority", "body.due_date", "body.tags"}},
		{`{"title":"","description":true,"completed":"no","priority":null,"tags":["ok",""],"due_date":"2026-13-01"}`,
			[]string{"body.title", "body.description", "body.completed", "body.priority", "body.tags", "body.due_date"}},
		{`{"title":"a\u0000b","description":"` + strings.Repeat("x", 1001) + `","tags":[1],"due_date":5,"priority":"low"}`,
			[]string{"body.title", "body.description", "body.tags", "body.due_date"}},
	} {
		for _, op := range taskBodyOps {
			t.Run(strings.Join(c.locations, ",")+"/"+op.name, func(t *testing.T) {
				r := f.rejects(t, op, c.body, c.locations...)
				p := r.problem(t, http.StatusUnprocessableEntity)
				for _, loc := range c.locations {
					if !strings.Contains(p.Detail, loc) {
						t.Errorf("detail %q does not mention %s", p.Detail, loc)
					}
				}
			})
		}
	}
}

// TestValidationBodyNotAnObject: a body that is not a JSON object, or not
// JSON at all, is a 422 at "body" on every operation with a body, and the
// task is unchanged (README: 422, not 400).
func TestValidationBodyNotAnObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	bodies := map[string]string{
		"empty array":        `[]`,
		"array of a task":    `[{"title":"x","completed":true}]`,
		"string":             `"string"`,
		"null":               `null`,
		"null with space":    " null\n",
		"number":             `5`,
		"true":               `true`,
		"false":              `false`,
		"truncated":          `{"title":`,
		"unclosed":           `{"title":"x"`,
		"trailing comma":     `{"title":"x","completed":true,}`,
		"unquoted key":       `{title:"x"}`,
		"trailing garbage":   `{"title":"x"} x`,
		"two objects":        `{"title":"x"}{"title":"y"}`,
		"single quotes":      `{'title':'x'}`,
		"wrong bracket":      `{"title":"x"]`,
		"bad escape":         `{"title":"x\q"}`,
		"raw newline in str": "{\"title\":\"a\nb\"}",
		"comment":            `{"title":"x" /* c */}`,
		"NaN":                `{"title":"x","priority":NaN}`,
	}
	for name, body := range bodies {
		for _, op := range bodyOps {
			t.Run(name+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, body, "body")
			})
		}
	}
}

// TestValidationExactKeys: JSON keys match exactly; another spelling is an
// unknown field, ignored, and never overrides the real one (README Errors).
func TestValidationExactKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for _, body := range []string{`{"Title":"x"}`, `{"TITLE":"x","Description":"d"}`} {
		t.Run("POST "+body, func(t *testing.T) {
			r := f.rejects(t, postOp, body, "body.title")
			if msg := messageAt(t, r, "body.title"); msg != "is required" {
				t.Errorf("message = %q, want %q", msg, "is required")
			}
		})
	}
	tok := token(t, "carol")
	for _, body := range []string{
		`{"title":"right","TITLE":"wrong","Title":"wrong"}`,
		`{"Title":"wrong","title":"right","tItLe":"wrong"}`,
	} {
		t.Run("POST "+body, func(t *testing.T) {
			got := accepts(t, e, tok, postOp, body)
			if got.Title != "right" {
				t.Errorf("title = %q, want %q", got.Title, "right")
			}
		})
	}
	hacks := `{"Title":"hacked","DESCRIPTION":null,"Completed":true,"Priority":"low",` +
		`"Tags":null,"Due_Date":null,"dueDate":null,"TITLE":""}`
	for _, op := range updateOps {
		t.Run(op.name+" other spellings change nothing", func(t *testing.T) {
			got := f.send(t, op, hacks).want(t, http.StatusOK).task(t)
			equalTasks(t, got, f.task)
			f.unchanged(t)
		})
	}
	t.Run("complete Completed is unknown: flips", func(t *testing.T) {
		orig := e.create(t, tok, `{"title":"t"}`)
		got := e.do(t, http.MethodPatch, completePath("me", orig.ID), tok, `{"Completed":false}`).want(t, http.StatusOK).completion(t)
		if !got.Completed {
			t.Errorf("completed = false; {\"Completed\":false} is an unknown field, so the toggle flips")
		}
	})
}

// TestValidationPriority: low, medium or high, matched case-insensitively
// and returned in lower case; medium by default.
func TestValidationPriority(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for _, value := range []string{"urgent", "", "hi", "highest", "none", "critical"} {
		for _, op := range taskBodyOps {
			t.Run(value+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, op.bodyFor("priority", jsonString(value)), "body.priority")
			})
		}
	}
	tok := token(t, "carol")
	t.Run("default", func(t *testing.T) {
		if got := e.create(t, tok, `{"title":"t"}`); got.Priority != "medium" {
			t.Errorf("priority = %q, want medium", got.Priority)
		}
	})
	for in, want := range map[string]string{
		"HIGH": "high", "High": "high", "Low": "low", "lOw": "low", "MEDIUM": "medium", "medium": "medium", "high": "high",
	} {
		for _, op := range taskBodyOps {
			t.Run(in+"/"+op.name, func(t *testing.T) {
				if got := accepts(t, e, tok, op, op.bodyFor("priority", jsonString(in))); got.Priority != want {
					t.Errorf("priority = %q, want %q", got.Priority, want)
				}
			})
		}
	}
}

// TestValidationTags: each tag trimmed, 1–50 code points; case-insensitive
// duplicates collapse to the first spelling, order kept; at most 20 after
// collapsing.
func TestValidationTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	distinct := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("tag%02d", i)
		}
		return out
	}
	f := newFixture(t, e)
	for name, tags := range map[string][]string{
		"21 distinct":         distinct(21),
		"21 after collapsing": append(distinct(20), "TAG00", "new"),
		"51 ascii":            {strings.Repeat("x", 51)},
		"51 é":                {"ok", strings.Repeat("é", 51)},
		"51 after trimming":   {" " + strings.Repeat("x", 51) + " "},
		"empty":               {"ok", ""},
		"blank":               {"   "},
		"unicode blank":       {"\u00a0\u3000"},
	} {
		for _, op := range taskBodyOps {
			t.Run(name+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, op.bodyFor("tags", jsonOf(t, tags)), "body.tags")
			})
		}
	}

	tok := token(t, "carol")
	upper := make([]string, 20)
	for i, tag := range distinct(20) {
		upper[i] = " " + strings.ToUpper(tag)
	}
	for name, c := range map[string]struct{ in, want []string }{
		"trimmed, collapsed, ordered": {
			[]string{"  home ", "Work", "HOME", "work ", "\u00a0errands\u3000", "Home", "Äpfel", "äpfel"},
			[]string{"home", "Work", "errands", "Äpfel"},
		},
		"20 distinct":                {distinct(20), distinct(20)},
		"20 distinct and their dups": {append(distinct(20), upper...), distinct(20)},
		"50 ascii":                   {[]string{strings.Repeat("x", 50)}, []string{strings.Repeat("x", 50)}},
		"50 é":                       {[]string{strings.Repeat("é", 50)}, []string{strings.Repeat("é", 50)}},
		"50 after trimming":          {[]string{"  " + strings.Repeat("😀", 50) + "\t"}, []string{strings.Repeat("😀", 50)}},
		"none":                       {[]string{}, []string{}},
	} {
		for _, op := range taskBodyOps {
			t.Run("accepted "+name+"/"+op.name, func(t *testing.T) {
				got := accepts(t, e, tok, op, op.bodyFor("tags", jsonOf(t, c.in)))
				if !slices.Equal(got.Tags, c.want) {
					t.Errorf("tags = %q, want %q", got.Tags, c.want)
				}
			})
		}
	}
}

// TestValidationDueDate: RFC 3339 with any offset, a plain date (midnight
// UTC) or a date-time without offset (UTC); returned in UTC. Anything else,
// or a time outside the years 0001–9999 once in UTC, is a 422, and the list
// keeps working.
func TestValidationDueDate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for _, value := range []string{
		"tomorrow", "2026-13-01", "12/01/2026", "2026-12-01 09:30", "", "2026-02-30", "2026-12-01T25:00",
		"2026-12-01T09:30:15+0100", "2026-12-01T09", "2026-12-01Z", "01-12-2026", "1764547200",
		"9999-12-31T23:30:00-01:00", "0000-01-01T00:00:00+01:00", "0001-01-01T00:30:00+01:00",
		"0000-12-31T23:00:00Z", "10000-01-01T00:00:00Z",
	} {
		for _, op := range taskBodyOps {
			t.Run(value+"/"+op.name, func(t *testing.T) {
				f.rejects(t, op, op.bodyFor("due_date", jsonString(value)), "body.due_date")
				f.list(t, f.tok) // still works
			})
		}
	}

	tok := token(t, "carol")
	for _, c := range []struct{ in, want string }{
		{"2026-12-01T10:00:00+05:00", "2026-12-01T05:00:00Z"},
		{"2026-12-01T10:00:00-08:00", "2026-12-01T18:00:00Z"},
		{"2026-12-01T23:30:00-01:00", "2026-12-02T00:30:00Z"},
		{"2026-12-01T17:00:00Z", "2026-12-01T17:00:00Z"},
		{"2026-12-01T17:00:00.123456+00:00", "2026-12-01T17:00:00.123456Z"},
		{"2026-12-01", "2026-12-01T00:00:00Z"},
		{"2026-12-01T09:30", "2026-12-01T09:30:00Z"},
		{"2026-12-01T09:30:15", "2026-12-01T09:30:15Z"},
		{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"},
		{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
		{"0001-01-01T01:00:00+01:00", "0001-01-01T00:00:00Z"},
	} {
		for _, op := range taskBodyOps {
			t.Run("accepted "+c.in+"/"+op.name, func(t *testing.T) {
				got := accepts(t, e, tok, op, op.bodyFor("due_date", jsonString(c.in)))
				if got.DueDate == nil {
					t.Fatalf("due_date = null, want %s", c.want)
				}
				checkUTC(t, "due_date", *got.DueDate)
				g, _ := time.Parse(time.RFC3339Nano, *got.DueDate)
				w, _ := time.Parse(time.RFC3339Nano, c.want)
				if !g.Equal(w) {
					t.Errorf("due_date = %s, want %s", *got.DueDate, c.want)
				}
			})
		}
	}
	t.Run("list after the extremes", func(t *testing.T) {
		for _, task := range e.list(t, tok) {
			checkUTC(t, "due_date", deref(task.DueDate))
		}
	})
}

// TestValidationIgnoredFields: unknown fields, and the fields the server
// owns, are ignored when sent, whatever their type.
func TestValidationIgnoredFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const owned = `"id":999999,"user_id":"bob","created_at":"2000-01-01T00:00:00Z",` +
		`"updated_at":"2000-01-01T00:00:00Z","completed_at":"2000-01-01T00:00:00Z"`
	const ownedWrongTypes = `"id":"abc","user_id":5,"created_at":true,"updated_at":[],"completed_at":{"x":1}`
	const unknown = `"colour":"red","nested":{"a":[1,null,{"b":false}]},"n":1.5e300,"z":null`
	alice, bob := token(t, "alice"), token(t, "bob")
	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano)

	for name, extra := range map[string]string{"owned": owned, "owned, wrong types": ownedWrongTypes, "unknown": unknown} {
		t.Run("POST "+name, func(t *testing.T) {
			got := e.create(t, alice, `{"title":"t",`+extra+`}`)
			if got.ID == 999999 || got.UserID != "alice" || got.Completed || got.CompletedAt != nil ||
				got.Title != "t" || got.Priority != "medium" || got.Description != nil {
				t.Errorf("created %+v", got)
			}
			later(t, "created_at", start, got.CreatedAt)
			if got.UpdatedAt != got.CreatedAt {
				t.Errorf("updated_at %s != created_at %s", got.UpdatedAt, got.CreatedAt)
			}
		})
		for _, op := range updateOps {
			t.Run(op.name+" "+name+" alone changes nothing", func(t *testing.T) {
				orig := e.create(t, alice, fullTask)
				got := e.do(t, op.method, op.path(orig.ID), alice, `{`+extra+`}`).want(t, http.StatusOK).task(t)
				equalTasks(t, got, orig)
				equalTasks(t, e.get(t, alice, orig.ID), orig)
			})
			t.Run(op.name+" "+name+" with a change", func(t *testing.T) {
				orig := e.create(t, alice, fullTask)
				got := e.do(t, op.method, op.path(orig.ID), alice, `{"title":"new",`+extra+`}`).want(t, http.StatusOK).task(t)
				want := orig
				want.Title, want.UpdatedAt = "new", got.UpdatedAt
				want.Version++ // one stored change
				equalTasks(t, got, want)
			})
		}
	}
	t.Run("bob got nothing", func(t *testing.T) {
		if n := e.count(t, bob); n != 0 {
			t.Errorf("bob has %d tasks", n)
		}
	})
}

// TestValidationContentType: a body sent as anything but JSON is a 415 and
// changes nothing; JSON with parameters, merge-patch+json on PATCH, and a
// body with no Content-Type at all are accepted.
func TestValidationContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for _, ct := range []string{
		"text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/xml", "text/html", "application/octet-stream",
	} {
		for _, op := range bodyOps {
			t.Run(ct+"/"+op.name, func(t *testing.T) {
				body := `{"title":"changed","completed":true,"tags":null}`
				if op.name == completeOp.name {
					body = `{"completed":true}`
				}
				f.refuses(t, op, http.StatusUnsupportedMediaType, body, "Content-Type", ct)
			})
		}
	}

	tok := token(t, "carol")
	for _, c := range []struct {
		op bodyOp
		ct string
	}{
		{postOp, "application/json; charset=utf-8"},
		{postOp, "application/json;charset=UTF-8"},
		// Media types are case-insensitive, and white space may precede
		// a parameter (RFC 9110 §8.3.1, §5.6.6).
		{postOp, "Application/JSON"},
		{postOp, "application/json ; charset=utf-8"},
		{postOp, `application/json; profile="urn:a+b"`},
		{patchOp, "APPLICATION/MERGE-PATCH+JSON"},
		{putOp, "application/json; charset=utf-8"},
		{patchOp, "application/json; charset=utf-8"},
		{patchOp, "application/merge-patch+json"},
		{patchOp, "application/merge-patch+json; charset=utf-8"},
	} {
		t.Run("accepted "+c.ct+"/"+c.op.name, func(t *testing.T) {
			got := accepts(t, e, tok, c.op, `{"title":"json","description":null}`, "Content-Type", c.ct)
			if got.Title != "json" || got.Description != nil {
				t.Errorf("title = %q, description = %s; want json, null", got.Title, deref(got.Description))
			}
		})
	}
	for _, op := range taskBodyOps {
		t.Run("no Content-Type/"+op.name, func(t *testing.T) {
			id := e.create(t, tok, fullTask).ID
			req := httptest.NewRequest(op.method, op.path(id), strings.NewReader(`{"title":"untyped","tags":["x"]}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			got := e.serveRaw(t, req).want(t, op.success()).task(t)
			if got.Title != "untyped" || !slices.Equal(got.Tags, []string{"x"}) {
				t.Errorf("got %+v", got)
			}
			equalTasks(t, e.get(t, tok, got.ID), got)
		})
	}
	t.Run("no Content-Type/complete", func(t *testing.T) {
		id := e.create(t, tok, `{"title":"t","completed":true}`).ID
		req := httptest.NewRequest(http.MethodPatch, completePath("me", id), strings.NewReader(`{"completed":true}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		if got := e.serveRaw(t, req).want(t, http.StatusOK).completion(t); !got.Completed {
			t.Error("completed = false after {\"completed\":true}")
		}
	})
}

// TestValidationEmptyBody: no body at all is "no fields": POST needs a
// title, PUT and PATCH change nothing, …/complete flips.
func TestValidationEmptyBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newFixture(t, e)
	for _, headers := range [][]string{nil, {"Content-Type", "application/json"}} {
		name := fmt.Sprintf("headers %q", headers)
		t.Run("POST "+name, func(t *testing.T) {
			defer f.unchanged(t)
			r := f.send(t, postOp, "", headers...)
			exactLocations(t, r, "body.title")
			if msg := messageAt(t, r, "body.title"); msg != "is required" {
				t.Errorf("message = %q, want %q", msg, "is required")
			}
		})
		for _, op := range updateOps {
			t.Run(op.name+" "+name, func(t *testing.T) {
				got := f.send(t, op, "", headers...).want(t, http.StatusOK).task(t)
				equalTasks(t, got, f.task)
				f.unchanged(t)
			})
		}
		t.Run("complete "+name, func(t *testing.T) {
			tok := token(t, "carol")
			orig := e.create(t, tok, `{"title":"t"}`)
			for _, want := range []bool{true, false} {
				got := e.do(t, http.MethodPatch, completePath("me", orig.ID), tok, "", headers...).want(t, http.StatusOK).completion(t)
				if got.Completed != want {
					t.Errorf("completed = %v, want %v", got.Completed, want)
				}
			}
		})
	}
}

// TestValidationBodySize: a body over MAX_BODY_BYTES is a 413 and nothing is
// stored or changed; a body of exactly the limit is accepted.
func TestValidationBodySize(t *testing.T) {
	t.Parallel()
	// sized is a valid body of exactly n bytes: the title, padded with an
	// unknown field.
	sized := func(t *testing.T, n int) string {
		const head, tail = `{"title":"sized","pad":"`, `"}`
		if n < len(head)+len(tail) {
			t.Fatalf("sized: %d bytes is too small", n)
		}
		return head + strings.Repeat("p", n-len(head)-len(tail)) + tail
	}
	check := func(t *testing.T, e *env, limit int) {
		f := newFixture(t, e)
		for _, op := range bodyOps {
			t.Run(fmt.Sprintf("%s limit+1", op.name), func(t *testing.T) {
				f.refuses(t, op, http.StatusRequestEntityTooLarge, sized(t, limit+1))
			})
			t.Run(fmt.Sprintf("%s limit+1 of unknown length", op.name), func(t *testing.T) {
				defer f.unchanged(t)
				req := httptest.NewRequest(op.method, op.path(f.task.ID), io.MultiReader(strings.NewReader(sized(t, limit+1))))
				req.Header.Set("Authorization", "Bearer "+f.tok)
				req.Header.Set("Content-Type", "application/json")
				if req.ContentLength != -1 {
					t.Fatalf("ContentLength = %d, want unknown", req.ContentLength)
				}
				f.serveRaw(t, req).problem(t, http.StatusRequestEntityTooLarge)
			})
		}
		tok := token(t, "carol")
		for _, op := range bodyOps {
			t.Run(fmt.Sprintf("%s exactly the limit", op.name), func(t *testing.T) {
				id := e.create(t, tok, `{"title":"t"}`).ID
				r := e.do(t, op.method, op.path(id), tok, sized(t, limit)).want(t, op.success())
				var got wireTask
				if op.name == completeOp.name {
					got = r.completion(t)
				} else {
					got = r.task(t)
				}
				if op.name != completeOp.name && got.Title != "sized" {
					t.Errorf("title = %q, want sized", got.Title)
				}
			})
		}
	}
	t.Run("configured", func(t *testing.T) {
		check(t, newEnv(t, withMaxBody(1024)), 1024)
	})
	t.Run("default", func(t *testing.T) {
		check(t, newEnv(t), 64<<10)
	})
}
