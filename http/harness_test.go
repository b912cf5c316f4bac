package http

// The one harness of the HTTP tests. Every test drives the real handler
// (NewHandler) with a real auth.Verifier, the real todoapi.Service and a
// real store, through the real router and middleware:
//
//	e := newEnv(t)                 // one server on a fresh SQLite store
//	e := newEnv(t, func(c *Config) { c.CORSOrigins = … })
//	eachStore(t, func(t *testing.T, e *env) { … }) // once per store
//	res := e.do(t, "GET", "/api/me/tasks", token(t, "alice"), "")
//	res := e.serve(t, req)         // a request built by hand
//
// HTTP behaviour (headers, CORS, problem documents, auth errors, limits)
// does not depend on the store and is tested once, on SQLite; eachStore is
// for what a store computes (listing, counting, quotas), which the store
// contract suite (internal/storetest) covers in depth as well.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
	"github.com/todoapi/todoapi/postgres"
	"github.com/todoapi/todoapi/postgres/pgtest"
	"github.com/todoapi/todoapi/recur"
	"github.com/todoapi/todoapi/sqlite"
)

// testSecret is the BETTER_AUTH_SECRET of every test server.
const testSecret = "http-test-secret-0123456789abcdef"

// testStore is what both stores offer.
type testStore interface {
	todoapi.Store
	Migrate(ctx context.Context) error
	Close() error
}

// storeKinds open an empty, migrated store of each kind; the store is
// closed when the test ends.
var storeKinds = []struct {
	name string
	open func(t *testing.T) testStore
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func openSQLite(t *testing.T) testStore {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "todo.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	return migrated(t, s)
}

// openPostgres opens a fresh database on the test server (pgtest), or
// skips the test (fails it under TODOAPI_NO_SKIP=1) when there is none.
func openPostgres(t *testing.T) testStore {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	return migrated(t, s)
}

func migrated(t *testing.T, s testStore) testStore {
	t.Helper()
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// env is one server under test.
type env struct {
	handler http.Handler
	store   testStore
	// logs holds every line the server logged, debug lines included, in
	// the service's JSON format.
	logs   *logBuffer
	config Config
}

// option adjusts the server configuration of an env.
type option = func(*Config)

func withMaxBody(n int64) option { return func(c *Config) { c.MaxBodyBytes = n } }

// newEnv starts a server on a fresh SQLite store.
func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	return newEnvOn(t, openSQLite(t), opts...)
}

// newEnvOn starts a server on store, which the test opened and migrated.
func newEnvOn(t *testing.T, store testStore, opts ...option) *env {
	t.Helper()
	verifier, err := auth.NewVerifier(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	logs := &logBuffer{}
	service := todoapi.NewService(store)
	service.Now = steppingClock()
	service.Rules = recur.Engine{}
	cfg := Config{
		Tasks:    service,
		Verifier: verifier,
		Database: store,
		Logger:   newJSONLogger(logs),
		Version:  "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	return &env{handler: NewHandler(cfg), store: store, logs: logs, config: cfg}
}

// eachStore runs fn as one subtest per store, each with a fresh server.
// The subtests run in parallel: fn must touch nothing but its own env.
func eachStore(t *testing.T, fn func(t *testing.T, e *env), opts ...option) {
	t.Helper()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnvOn(t, k.open(t), opts...))
		})
	}
}

// logBuffer is a goroutine-safe buffer for a JSON slog handler.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newJSONLogger logs everything, debug lines included, as the service's
// JSON log format does.
func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// response is what the handler answered.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends one request. token, when not empty, becomes "Authorization:
// Bearer token"; a non-empty body gets Content-Type application/json unless
// headers (name, value pairs) set one. headers may also replace
// Authorization.
func (e *env) do(t testing.TB, method, path, token, body string, headers ...string) *response {
	t.Helper()
	if len(headers)%2 != 0 {
		t.Fatalf("do: headers must be name, value pairs: %q", headers)
	}
	req := newRequest(method, path, token, body)
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.serve(t, req)
}

// newRequest is a request as do sends it, for a test to adjust (its
// RemoteAddr, say) before serve.
func newRequest(method, path, token, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body == "" {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// serve runs req through the handler and returns what it answered.
func (e *env) serve(t testing.TB, req *http.Request) *response {
	t.Helper()
	rec := httptest.NewRecorder()
	if panicked := serve(e.handler, rec, req); panicked != nil {
		// A real server would drop the connection: the client gets no
		// response at all. Report it and carry on with the other cases.
		t.Errorf("%s %s: handler panicked: %v", req.Method, req.URL, panicked)
		return &response{Status: 0, Header: http.Header{}, Body: []byte("<no response: handler panicked>")}
	}
	res := rec.Result()
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: buf.Bytes()}
}

// serve runs h and returns what it panicked with, if it did.
func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (panicked any) {
	defer func() { panicked = recover() }()
	h.ServeHTTP(w, r)
	return nil
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.Status, r.Body)
}

// want fails the test unless the status is status.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// object decodes the body as a JSON object.
func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil || m == nil {
		t.Fatalf("body is not a JSON object (%v): %s", err, r.Body)
	}
	return m
}

// wireTask is a task exactly as sent: timestamps stay strings so that tests
// compare what clients see. Decoding refuses unknown fields.
type wireTask struct {
	ID          int64    `json:"id"`
	UserID      string   `json:"user_id"`
	Title       string   `json:"title"`
	Description *string  `json:"description"`
	Completed   bool     `json:"completed"`
	CompletedAt *string  `json:"completed_at"`
	Priority    string   `json:"priority"`
	Tags        []string `json:"tags"`
	DueDate     *string  `json:"due_date"`
	Recurrence  *string  `json:"recurrence"`
	Timezone    string   `json:"timezone"`
	RemindAt    *string  `json:"remind_at"`
	NextID      *int64   `json:"next_occurrence_id"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
	Version     int64    `json:"version"`
}

// taskFields are the JSON fields of a task, as the README's Tasks section
// lists them.
var taskFields = []string{"id", "user_id", "title", "description", "completed", "completed_at",
	"priority", "tags", "due_date", "recurrence", "timezone", "remind_at", "next_occurrence_id",
	"created_at", "updated_at", "version"}

// task decodes a task body and checks its shape: exactly the
// specified fields, tags an array, timestamps RFC 3339 in UTC.
func (r *response) task(t *testing.T) wireTask {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("task Content-Type = %q, want application/json", ct)
	}
	return decodeTask(t, withoutCompletion(t, r.Body))
}

// withoutCompletion returns the task of a completion toggle's answer
// (the task's fields, plus task, the same task again, and
// next_occurrence), after checking that task repeats the task exactly;
// any other body is returned as it is.
func withoutCompletion(t *testing.T, raw []byte) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	again, hasTask := m["task"]
	_, hasNext := m["next_occurrence"]
	if !hasTask && !hasNext {
		return raw
	}
	if !hasTask || !hasNext {
		t.Errorf("a completion answer has both task and next_occurrence, got one: %s", raw)
	}
	delete(m, "task")
	delete(m, "next_occurrence")
	rest, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal(rest, &a)
	_ = json.Unmarshal(again, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the answer's task is not the task answered:\n task %s\n body %s", again, rest)
	}
	return rest
}

// completion decodes the body of …/complete: a task with two more fields,
// next_occurrence (null: no task is recurring) and task, the same task
// again. It returns the task.
func (r *response) completion(t *testing.T) wireTask {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &fields); err != nil {
		t.Fatalf("completion body is not an object (%v): %s", err, r.Body)
	}
	inner, ok := fields["task"]
	if !ok {
		t.Fatalf("completion has no task field: %s", r.Body)
	}
	if next, ok := fields["next_occurrence"]; !ok || string(next) != "null" {
		t.Errorf("completion next_occurrence = %s (present %v), want null", next, ok)
	}
	delete(fields, "task")
	delete(fields, "next_occurrence")
	outer, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	got, same := decodeTask(t, outer), decodeTask(t, inner)
	if !reflect.DeepEqual(got, same) {
		t.Errorf("completion's task field %+v differs from the task %+v", same, got)
	}
	return got
}

func decodeTask(t *testing.T, raw []byte) wireTask {
	t.Helper()
	checkTaskShape(t, raw)
	var task wireTask
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&task); err != nil {
		t.Fatalf("decode task: %v: %s", err, raw)
	}
	return task
}

// tasks decodes a list body, which must be a JSON array of tasks.
func (r *response) tasks(t *testing.T) []wireTask {
	t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal(r.Body, &raws); err != nil || raws == nil {
		t.Fatalf("list body is not a JSON array (%v): %s", err, r.Body)
	}
	out := make([]wireTask, len(raws))
	for i, raw := range raws {
		out[i] = decodeTask(t, raw)
	}
	return out
}

func checkTaskShape(t *testing.T, raw []byte) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("task is not a JSON object: %v: %s", err, raw)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := slices.Sorted(slices.Values(taskFields))
	if !slices.Equal(keys, want) {
		t.Errorf("task fields = %v, want exactly %v", keys, want)
	}
	if tags := m["tags"]; len(tags) == 0 || tags[0] != '[' {
		t.Errorf("tags = %s, want a JSON array", tags)
	}
	for _, name := range []string{"created_at", "updated_at", "completed_at", "due_date", "remind_at"} {
		v := m[name]
		if string(v) == "null" && name != "created_at" && name != "updated_at" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			t.Errorf("%s = %s, want an RFC 3339 string", name, v)
			continue
		}
		checkUTC(t, name, s)
	}
}

// checkUTC checks that s is an RFC 3339 timestamp in UTC, written with Z.
func checkUTC(t *testing.T, name, s string) {
	t.Helper()
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
		t.Errorf("%s = %q, want an RFC 3339 timestamp in UTC ending in Z", name, s)
	}
}

// problemDoc is an error body: an RFC 9457 problem with message (README:
// Errors).
type problemDoc struct {
	Status  int    `json:"status"`
	Title   string `json:"title"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
	Errors  []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// problem checks that r is an error response with status and a complete
// problem document, sent as application/json (no Accept header asked for
// anything else), and returns the document.
func (r *response) problem(t *testing.T, status int) problemDoc {
	t.Helper()
	return r.problemAs(t, status, "application/json")
}

// problemAs is problem with an expected Content-Type.
func (r *response) problemAs(t *testing.T, status int, contentType string) problemDoc {
	t.Helper()
	r.want(t, status)
	if ct := r.Header.Get("Content-Type"); mediaType(ct) != contentType {
		t.Errorf("Content-Type = %q, want %s", ct, contentType)
	}
	m := r.object(t)
	for _, key := range []string{"status", "title", "detail", "message"} {
		if _, ok := m[key]; !ok {
			t.Errorf("problem has no %q: %s", key, r.Body)
		}
	}
	var p problemDoc
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("decode problem: %v: %s", err, r.Body)
	}
	if p.Status != status {
		t.Errorf("problem status = %d, want %d", p.Status, status)
	}
	if p.Title == "" {
		t.Errorf("problem title is empty: %s", r.Body)
	}
	if strings.TrimSpace(p.Detail) == "" {
		t.Errorf("problem detail is empty: %s", r.Body)
	}
	if p.Message != p.Detail {
		t.Errorf("problem message %q != detail %q", p.Message, p.Detail)
	}
	return p
}

func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(strings.ToLower(mt))
}

// invalid checks that r is a 422 whose errors name (at least) every one of
// locations, and returns the locations it names.
func (r *response) invalid(t *testing.T, locations ...string) []string {
	t.Helper()
	p := r.problem(t, http.StatusUnprocessableEntity)
	got := make([]string, 0, len(p.Errors))
	for _, e := range p.Errors {
		got = append(got, e.Location)
		if e.Message == "" {
			t.Errorf("error at %s has no message", e.Location)
		}
	}
	for _, loc := range locations {
		if !slices.ContainsFunc(got, func(g string) bool { return g == loc || strings.HasPrefix(g, loc+"[") }) {
			t.Errorf("errors %v do not name %s; body: %s", got, loc, r.Body)
		}
	}
	return got
}

// token mints a valid token for sub with auth.Mint, as `todoapi token` does.
func token(t testing.TB, sub string) string {
	t.Helper()
	tok, err := auth.Mint(testSecret, auth.MintClaims{Subject: sub, TTL: time.Hour})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

// claims are valid claims for sub: issued now, expiring in an hour.
func claims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// signHS256 signs c with secret.
func signHS256(t *testing.T, secret string, c jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

// jsonString encodes s as a JSON string literal.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// jsonOf encodes v.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// Paths.

func tasksPath(user string) string { return "/api/" + user + "/tasks" }

func taskPath(user string, id any) string { return fmt.Sprintf("/api/%s/tasks/%v", user, id) }

func completePath(user string, id any) string { return taskPath(user, id) + "/complete" }

// create posts body as the user of tok and returns the created task.
func (e *env) create(t *testing.T, tok, body string) wireTask {
	t.Helper()
	return e.do(t, http.MethodPost, tasksPath("me"), tok, body).want(t, http.StatusCreated).task(t)
}

// get returns the task id of the user of tok.
func (e *env) get(t *testing.T, tok string, id int64) wireTask {
	t.Helper()
	return e.do(t, http.MethodGet, taskPath("me", id), tok, "").want(t, http.StatusOK).task(t)
}

// list returns every task of the user of tok.
func (e *env) list(t *testing.T, tok string) []wireTask {
	t.Helper()
	return e.do(t, http.MethodGet, tasksPath("me"), tok, "").want(t, http.StatusOK).tasks(t)
}

// count is how many tasks the user of tok has.
func (e *env) count(t *testing.T, tok string) int {
	t.Helper()
	return len(e.list(t, tok))
}

// equalTasks fails unless got and want are the same task, field by field.
func equalTasks(t *testing.T, got, want wireTask) {
	t.Helper()
	if g, w := jsonOfTask(got), jsonOfTask(want); g != w {
		t.Errorf("task changed:\n got %s\nwant %s", g, w)
	}
}

func jsonOfTask(task wireTask) string {
	b, _ := json.Marshal(task)
	return string(b)
}

// steppingClock is the service's clock in tests: it starts at the real
// time and moves a millisecond forward each time it is read, so that every
// change gets a later updated_at than the one before without a test
// waiting for the wall clock to move.
func steppingClock() func() time.Time {
	var mu sync.Mutex
	now := time.Now().UTC().Truncate(time.Millisecond)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}
