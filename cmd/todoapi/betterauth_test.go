package main

// End-to-end tests against the real Better Auth library: testdata/betterauth
// runs it standalone under node (email/password and the jwt plugin on the
// in-memory adapter), users sign up and in through its HTTP endpoints, and
// the JWTs it hands out at /api/auth/token drive todoapi, started through
// run() with BETTER_AUTH_URL pointing at it.
//
// They need node and the harness's node_modules (npm ci in
// cmd/todoapi/testdata/betterauth, as .ci/run does); without them they skip,
// or fail under TODOAPI_NO_SKIP=1.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/todoapi/todoapi/internal/testenv"
)

// harnessDir is absolute: tests chdir into temporary directories (isolate).
var harnessDir = func() string {
	dir, err := filepath.Abs(filepath.Join("testdata", "betterauth"))
	if err != nil {
		panic(err)
	}
	return dir
}()

// baHarness returns the absolute paths of node and the harness script, or
// skips the test.
func baHarness(t *testing.T) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Skip(t, "node is not installed; the Better Auth end-to-end tests need Node.js 20+")
	}
	if _, err := os.Stat(filepath.Join(harnessDir, "node_modules", "better-auth", "package.json")); err != nil {
		testenv.Skip(t, "better-auth is not installed for the harness; run: npm ci --prefix cmd/todoapi/testdata/betterauth")
	}
	return node, filepath.Join(harnessDir, "server.mjs")
}

// e2eFreePort returns a loopback port nothing listens on, so that todoapi can
// be pointed at a Better Auth server before it starts.
func e2eFreePort(t *testing.T) int {
	t.Helper()
	port, err := freeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// betterAuth is a running harness.
type betterAuth struct {
	url  string
	out  *syncBuffer
	stop func() // ends the process and waits for it
}

// startBetterAuth runs the harness on port with the jwt plugin signing with
// alg, waits until it listens, and stops it when the test ends. Tests that
// rotate or retire keys, pick the port, or count the calls that reach the
// harness start their own; the others share one (sharedBetterAuth).
func startBetterAuth(t *testing.T, port int, alg string) *betterAuth {
	t.Helper()
	node, script := baHarness(t)
	ba, err := launchBetterAuth(node, script, port, alg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ba.stop()
		if t.Failed() {
			t.Logf("Better Auth harness output:\n%s", ba.out.String())
		}
	})
	return ba
}

// launchBetterAuth starts the harness and waits until it listens; the
// caller stops it.
func launchBetterAuth(node, script string, port int, alg string) (*betterAuth, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, script, strconv.Itoa(port), alg)
	cmd.Dir = filepath.Dir(script)
	// A clean environment: the test's own BETTER_AUTH_* settings are for
	// todoapi, not for Better Auth.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "NODE_NO_WARNINGS=1"}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start the Better Auth harness: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cancel()
		err := <-exited
		exited <- err // a second stop returns at once
	}

	ready := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.After(30 * time.Second)
	for !ready.MatchString(out.String()) {
		select {
		case err := <-exited:
			exited <- err
			cancel()
			return nil, fmt.Errorf("the Better Auth harness exited (%v):\n%s", err, out.String())
		case <-deadline:
			stop()
			return nil, fmt.Errorf("the Better Auth harness did not start within 30s:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return &betterAuth{url: ready.FindStringSubmatch(out.String())[1], out: out, stop: stop}, nil
}

var (
	sharedBAOnce sync.Once
	sharedBA     *betterAuth
	sharedBAErr  error
)

// sharedBetterAuth is one harness (EdDSA, on a port of its own choosing)
// for the tests that only sign users up and in and ask for their tokens:
// it starts on first use, and TestMain stops it. Its users are the tests'
// together, so each test signs up addresses of its own (baEmail).
func sharedBetterAuth(t *testing.T) *betterAuth {
	t.Helper()
	node, script := baHarness(t)
	sharedBAOnce.Do(func() {
		port, err := freeLoopbackPort()
		if err == nil {
			sharedBA, err = launchBetterAuth(node, script, port, "EdDSA")
		}
		sharedBAErr = err
	})
	if sharedBAErr != nil {
		t.Fatalf("the shared Better Auth harness: %v", sharedBAErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("shared Better Auth harness output so far:\n%s", sharedBA.out.String())
		}
	})
	return sharedBA
}

// stopSharedBetterAuth ends the shared harness, if one was started.
func stopSharedBetterAuth() {
	if sharedBA != nil {
		sharedBA.stop()
	}
}

// baEmail is an address for user that no other test signs up, for the
// shared harness: the test's name makes it unique.
func baEmail(t *testing.T, user string) string {
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	return user + "-" + strings.Trim(name, "-") + "@example.com"
}

// baAccount is a Better Auth user with a session: its cookie, and the
// session token as the bearer plugin hands it out, both raw (the sign-in
// answer's token) and signed (its set-auth-token header).
type baAccount struct {
	id, email, cookie string
	session, signed   string
}

// signUp creates a user with email/password; Better Auth signs them in.
func (b *betterAuth) signUp(t *testing.T, email, name string) baAccount {
	t.Helper()
	return b.session(t, "/api/auth/sign-up/email", map[string]string{"email": email, "password": "correct horse battery", "name": name})
}

// signIn opens another session for an existing user.
func (b *betterAuth) signIn(t *testing.T, email string) baAccount {
	t.Helper()
	return b.session(t, "/api/auth/sign-in/email", map[string]string{"email": email, "password": "correct horse battery"})
}

func (b *betterAuth) session(t *testing.T, path string, body map[string]string) baAccount {
	t.Helper()
	resp, data := e2eCall(t, http.MethodPost, b.url+path, "", "application/json", e2eJSON(t, body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, data)
	}
	var out struct {
		Token string
		User  struct{ ID, Email string }
	}
	if err := json.Unmarshal(data, &out); err != nil || out.User.ID == "" || out.Token == "" {
		t.Fatalf("POST %s: no user or token in %s", path, data)
	}
	signed := resp.Header.Get("Set-Auth-Token")
	if !strings.HasPrefix(signed, out.Token+".") {
		t.Fatalf("POST %s: set-auth-token %q is not the signed session token %q", path, signed, out.Token)
	}
	var cookie string
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "session_token") {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("POST %s set no session cookie: %v", path, resp.Header.Values("Set-Cookie"))
	}
	return baAccount{id: out.User.ID, email: out.User.Email, cookie: cookie, session: out.Token, signed: signed}
}

// signOut ends a's session at Better Auth, as the frontend's signOut() does.
func (b *betterAuth) signOut(t *testing.T, a baAccount) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+"/api/auth/sign-out", nil)
	req.Header.Set("Cookie", a.cookie)
	req.Header.Set("Origin", b.url)
	resp, data := e2eDo(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/auth/sign-out: %d %s", resp.StatusCode, data)
	}
}

// getSessionCalls is how many requests have reached Better Auth's
// get-session endpoint so far, as the harness counts them.
func (b *betterAuth) getSessionCalls(t *testing.T) int {
	t.Helper()
	resp, data := e2eCall(t, http.MethodGet, b.url+"/__harness/calls", "", "", nil)
	var out struct{ GetSession *int }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil || out.GetSession == nil {
		t.Fatalf("GET /__harness/calls: %d %s", resp.StatusCode, data)
	}
	return *out.GetSession
}

// token asks Better Auth for a JWT for a's session, as authClient.token()
// does in the frontend.
func (b *betterAuth) token(t *testing.T, a baAccount) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.url+"/api/auth/token", nil)
	req.Header.Set("Cookie", a.cookie)
	resp, data := e2eDo(t, req)
	var out struct{ Token string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil || strings.Count(out.Token, ".") != 2 {
		t.Fatalf("GET /api/auth/token: %d %s", resp.StatusCode, data)
	}
	return out.Token
}

// admin calls one of the harness's test-only key routes.
func (b *betterAuth) admin(t *testing.T, action string) []string {
	t.Helper()
	resp, data := e2eCall(t, http.MethodPost, b.url+"/__harness/"+action, "", "", nil)
	var out struct{ Kids []string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil {
		t.Fatalf("POST /__harness/%s: %d %s", action, resp.StatusCode, data)
	}
	return out.Kids
}

// kids lists the key ids Better Auth publishes.
func (b *betterAuth) kids(t *testing.T) []string {
	t.Helper()
	resp, data := e2eCall(t, http.MethodGet, b.url+"/api/auth/jwks", "", "", nil)
	var set struct{ Keys []struct{ Kid string } }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &set) != nil {
		t.Fatalf("GET /api/auth/jwks: %d %s", resp.StatusCode, data)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// startTodoapiE2E runs todoapi through runWith, as main does, with env as
// its only settings (besides a SQLite file in a temporary directory, any
// free port and quiet logs), and returns its base URL. It stops when the
// test ends. The process's environment is neither read nor changed, so
// tests that use it can run in parallel.
func startTodoapiE2E(t *testing.T, env map[string]string) string {
	t.Helper()
	url, printed := serveInProcess(t, e2eEnv(t, env))
	if strings.Contains(printed(), "DEVELOPMENT MODE") {
		t.Fatalf("todoapi started in development mode with %v", env)
	}
	return url
}

// e2eEnv is the getenv of an end-to-end todoapi with env as its settings.
func e2eEnv(t *testing.T, env map[string]string) func(string) string {
	all := map[string]string{
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "todo.db"),
		"LOG_LEVEL":    "error",
		"PORT":         "0",
	}
	maps.Copy(all, env)
	return func(name string) string { return all[name] }
}

func e2eJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var e2eClient = &http.Client{Timeout: 30 * time.Second}

func e2eDo(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := e2eClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// e2eCall sends a request with an optional bearer token and body.
func e2eCall(t *testing.T, method, url, token, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e2eDo(t, req)
}

// e2eAPI is a todoapi client for one bearer token.
type e2eAPI struct {
	t     *testing.T
	base  string
	token string
}

// expect sends a request and checks the status; it decodes a JSON answer
// into out when out is not nil.
func (a e2eAPI) expect(want int, method, path string, body any, out any) *http.Response {
	a.t.Helper()
	var data []byte
	ct := ""
	if body != nil {
		data, ct = e2eJSON(a.t, body), "application/json"
		if method == http.MethodPatch && !strings.HasSuffix(path, "/complete") {
			ct = "application/merge-patch+json"
		}
	}
	resp, got := e2eCall(a.t, method, a.base+path, a.token, ct, data)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, got)
		}
	}
	return resp
}

// status returns the status of an authenticated GET.
func (a e2eAPI) status(path string) int {
	a.t.Helper()
	resp, _ := e2eCall(a.t, http.MethodGet, a.base+path, a.token, "", nil)
	return resp.StatusCode
}

type e2eTask struct {
	ID          int64    `json:"id"`
	UserID      string   `json:"user_id"`
	Title       string   `json:"title"`
	Description *string  `json:"description"`
	Completed   bool     `json:"completed"`
	CompletedAt *string  `json:"completed_at"`
	Priority    string   `json:"priority"`
	Tags        []string `json:"tags"`
}

// jwtPart decodes the header (0) or payload (1) of a token.
func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// e2eWaitStatus polls an authenticated GET until it answers want.
func e2eWaitStatus(t *testing.T, a e2eAPI, path string, want int, within time.Duration, why string) time.Duration {
	t.Helper()
	begin := time.Now()
	for {
		got := a.status(path)
		if got == want {
			return time.Since(begin)
		}
		if time.Since(begin) > within {
			t.Fatalf("%s: GET %s still %d after %s, want %d", why, path, got, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBetterAuthEndToEnd signs users up and in with the real Better Auth,
// for each key algorithm todoapi is meant to meet, and drives every todoapi
// endpoint with the JWTs it issues; then rotates Better Auth's signing key
// under a running todoapi.
func TestBetterAuthEndToEnd(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"EdDSA", "RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			ba := startBetterAuth(t, e2eFreePort(t), alg) // its own: its algorithm, and it rotates keys
			base := startTodoapiE2E(t, map[string]string{
				"BETTER_AUTH_URL": ba.url,
				// Short, so the rotation below is seen quickly.
				"JWKS_REFRESH_INTERVAL":     "1s",
				"JWKS_MIN_REFRESH_INTERVAL": "250ms",
			})

			alice := ba.signUp(t, "alice-"+strings.ToLower(alg)+"@example.com", "Alice")
			bob := ba.signUp(t, "bob@example.com", "Bob")
			alice = ba.signIn(t, alice.email) // a second session, through sign-in
			aliceTok, bobTok := ba.token(t, alice), ba.token(t, bob)

			hdr, claims := jwtPart(t, aliceTok, 0), jwtPart(t, aliceTok, 1)
			if hdr["alg"] != alg || hdr["kid"] == "" {
				t.Fatalf("Better Auth token header %v, want alg %s and a kid", hdr, alg)
			}
			if claims["sub"] != alice.id || claims["iss"] != ba.url || claims["aud"] != ba.url {
				t.Fatalf("Better Auth token claims %v", claims)
			}

			driveEveryEndpoint(t, base, alice, bob, aliceTok, bobTok)
			forgeries(t, ba, base, aliceTok)
			rotateKeys(t, ba, base, alice)
		})
	}
}

// driveEveryEndpoint exercises every /api operation with Better Auth tokens,
// and checks that bob can neither see nor touch alice's tasks.
func driveEveryEndpoint(t *testing.T, base string, alice, bob baAccount, aliceTok, bobTok string) {
	a := e2eAPI{t, base, aliceTok}
	b := e2eAPI{t, base, bobTok}
	aPath := "/api/" + alice.id + "/tasks"

	var list []e2eTask
	a.expect(200, "GET", aPath, nil, &list)
	if len(list) != 0 {
		t.Fatalf("new user has tasks: %v", list)
	}

	var created e2eTask
	resp := a.expect(201, "POST", aPath, map[string]any{
		"title": "  Buy milk ", "description": "Two litres", "priority": "high", "tags": []string{"home"},
	}, &created)
	if created.UserID != alice.id || created.Title != "Buy milk" || created.Priority != "high" {
		t.Fatalf("created %+v", created)
	}
	taskPath := fmt.Sprintf("%s/%d", aPath, created.ID)
	if loc := resp.Header.Get("Location"); loc != taskPath {
		t.Errorf("Location %q, want %q", loc, taskPath)
	}
	a.expect(201, "POST", "/api/me/tasks", map[string]any{"title": "Second"}, nil)

	a.expect(200, "GET", aPath, nil, &list)
	if len(list) != 2 {
		t.Fatalf("list: %d tasks, want 2", len(list))
	}
	var got e2eTask
	a.expect(200, "GET", taskPath, nil, &got)
	a.expect(200, "GET", fmt.Sprintf("/api/me/tasks/%d", created.ID), nil, &got)
	if got.ID != created.ID {
		t.Fatalf("get: %+v", got)
	}

	a.expect(200, "PUT", taskPath, map[string]any{"title": "Buy oat milk"}, &got)
	if got.Title != "Buy oat milk" || got.Priority != "high" || got.Description == nil {
		t.Fatalf("PUT replaced more than the title: %+v", got)
	}
	a.expect(200, "PATCH", taskPath, map[string]any{"description": nil, "tags": []string{"shop"}}, &got)
	if got.Description != nil || !slices.Equal(got.Tags, []string{"shop"}) {
		t.Fatalf("PATCH: %+v", got)
	}
	a.expect(200, "PATCH", taskPath+"/complete", nil, &got)
	if !got.Completed || got.CompletedAt == nil {
		t.Fatalf("complete: %+v", got)
	}
	a.expect(200, "PATCH", taskPath+"/complete", map[string]any{"completed": false}, &got)
	if got.Completed || got.CompletedAt != nil {
		t.Fatalf("reopen: %+v", got)
	}

	// Bob: alice's path is forbidden, alice's task does not exist for him.
	b.expect(403, "GET", aPath, nil, nil)
	b.expect(403, "POST", aPath, map[string]any{"title": "intrusion"}, nil)
	b.expect(403, "GET", taskPath, nil, nil)
	bobTask := fmt.Sprintf("/api/%s/tasks/%d", bob.id, created.ID)
	var p404 map[string]any
	b.expect(404, "GET", bobTask, nil, &p404)
	b.expect(404, "GET", fmt.Sprintf("/api/me/tasks/%d", created.ID), nil, nil)
	b.expect(404, "PUT", bobTask, map[string]any{"title": "mine"}, nil)
	b.expect(404, "PATCH", bobTask, map[string]any{"title": "mine"}, nil)
	b.expect(404, "PATCH", bobTask+"/complete", nil, nil)
	b.expect(404, "DELETE", bobTask, nil, nil)
	// …and the 404 is the one a task that never existed gets.
	var never map[string]any
	b.expect(404, "GET", fmt.Sprintf("/api/%s/tasks/%d", bob.id, created.ID+1000), nil, &never)
	if p404["detail"] != never["detail"] {
		t.Errorf("404 for another user's task %v differs from a missing task's %v", p404, never)
	}
	b.expect(200, "GET", "/api/me/tasks", nil, &list)
	if len(list) != 0 {
		t.Fatalf("bob sees %d tasks", len(list))
	}
	a.expect(200, "GET", taskPath, nil, &got)
	if got.Title != "Buy oat milk" {
		t.Fatalf("bob changed alice's task: %+v", got)
	}

	a.expect(204, "DELETE", taskPath, nil, nil)
	a.expect(404, "GET", taskPath, nil, nil)

	// Bad tokens.
	none := e2eAPI{t, base, ""}
	resp = none.expect(401, "GET", "/api/me/tasks", nil, nil)
	if resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("no token: WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
	parts := strings.Split(aliceTok, ".")
	claims := jwtPart(t, aliceTok, 1)
	claims["sub"] = bob.id
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(e2eJSON(t, claims)) + "." + parts[2]
	resp = e2eAPI{t, base, tampered}.expect(401, "GET", "/api/me/tasks", nil, nil)
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("tampered token: WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
}

// forgeries: tokens an attacker can make from what Better Auth publishes
// (its JWKS) and a genuine token are all refused.
func forgeries(t *testing.T, ba *betterAuth, base, genuine string) {
	enc := base64.RawURLEncoding.EncodeToString
	kid := jwtPart(t, genuine, 0)["kid"].(string)
	claims := jwtPart(t, genuine, 1)
	payload := enc(e2eJSON(t, claims))

	resp, jwks := e2eCall(t, http.MethodGet, ba.url+"/api/auth/jwks", "", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET jwks: %d", resp.StatusCode)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	var key map[string]any
	for _, k := range set.Keys {
		if k["kid"] == kid {
			key = k
		}
	}
	if key == nil {
		t.Fatalf("kid %s not in the JWKS %s", kid, jwks)
	}

	// HS256 "signed" with every public form of the key.
	secrets := map[string][]byte{"JWK": e2eJSON(t, key), "JWKS document": jwks}
	for _, member := range []string{"x", "y", "n"} {
		if v, ok := key[member].(string); ok {
			raw, _ := base64.RawURLEncoding.DecodeString(v)
			secrets["raw "+member] = raw
			secrets["text "+member] = []byte(v)
		}
	}
	refused := func(what, tok string) {
		t.Helper()
		resp, body := e2eCall(t, http.MethodGet, base+"/api/me/tasks", tok, "", nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("%s: %d %s, want 401 invalid_token", what, resp.StatusCode, body)
		}
	}
	for name, secret := range secrets {
		head := enc(e2eJSON(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}))
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(head + "." + payload))
		refused("HS256 signed with the public key's "+name, head+"."+payload+"."+enc(mac.Sum(nil)))
	}

	// alg none, with and without the kid.
	for _, h := range []map[string]any{{"alg": "none", "kid": kid}, {"alg": "none"}, {"alg": "None", "kid": kid}} {
		refused(fmt.Sprintf("alg %v", h["alg"]), enc(e2eJSON(t, h))+"."+payload+".")
	}

	// The genuine signature under another header or payload.
	parts := strings.Split(genuine, ".")
	hdr := jwtPart(t, genuine, 0)
	for _, alg := range []string{"EdDSA", "ES256", "ES512", "RS256", "PS256"} {
		if alg != hdr["alg"] {
			hdr2 := map[string]any{"alg": alg, "kid": kid}
			refused("header switched to "+alg, enc(e2eJSON(t, hdr2))+"."+parts[1]+"."+parts[2])
		}
	}
	claims["exp"] = claims["exp"].(float64) + 3600
	refused("exp extended", parts[0]+"."+enc(e2eJSON(t, claims))+"."+parts[2])
}

// rotateKeys expires Better Auth's signing key the way its rotationInterval
// does, so it signs with a new kid, and later retires the old key the way the
// end of the grace period does, all while todoapi keeps running.
func rotateKeys(t *testing.T, ba *betterAuth, base string, alice baAccount) {
	oldTok := ba.token(t, alice)
	oldKid := jwtPart(t, oldTok, 0)["kid"]
	e2eAPI{t, base, oldTok}.expect(200, "GET", "/api/me/tasks", nil, nil)

	if expired := ba.admin(t, "rotate"); !slices.Contains(expired, oldKid.(string)) {
		t.Fatalf("rotate expired %v, not the signing key %v", expired, oldKid)
	}
	newTok := ba.token(t, alice)
	newKid := jwtPart(t, newTok, 0)["kid"]
	if newKid == oldKid {
		t.Fatalf("Better Auth still signs with %v after the rotation", oldKid)
	}
	if kids := ba.kids(t); len(kids) != 2 {
		t.Fatalf("JWKS during the grace period: %v, want old and new", kids)
	}

	// The new kid is unknown to todoapi until it refetches the set, which
	// the first token naming it triggers (once the cool-down allows).
	took := e2eWaitStatus(t, e2eAPI{t, base, newTok}, "/api/me/tasks", 200, 10*time.Second, "token signed by the new key")
	t.Logf("new kid accepted after %s", took.Round(time.Millisecond))
	// Tokens of the old key still verify while it is published.
	e2eAPI{t, base, oldTok}.expect(200, "GET", "/api/me/tasks", nil, nil)

	if retired := ba.admin(t, "retire"); !slices.Equal(retired, []string{oldKid.(string)}) {
		t.Fatalf("retire removed %v, want [%v]", retired, oldKid)
	}
	if kids := ba.kids(t); !slices.Equal(kids, []string{newKid.(string)}) {
		t.Fatalf("JWKS after retiring: %v, want [%v]", kids, newKid)
	}
	// At the next periodic refresh the old key leaves todoapi's set, and
	// the token it signed (which todoapi has been accepting, and caching)
	// is rejected.
	took = e2eWaitStatus(t, e2eAPI{t, base, oldTok}, "/api/me/tasks", 401, 10*time.Second, "token of the retired key")
	t.Logf("retired kid rejected after %s", took.Round(time.Millisecond))
	e2eAPI{t, base, newTok}.expect(200, "GET", "/api/me/tasks", nil, nil)
}

// TestBetterAuthStartsAfterTodoapi: todoapi starts while Better Auth is not
// up (start-up must not fail), and accepts its tokens once it is, with the
// default JWKS intervals.
func TestBetterAuthStartsAfterTodoapi(t *testing.T) {
	t.Parallel()
	port := e2eFreePort(t)
	authURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	base := startTodoapiE2E(t, map[string]string{"BETTER_AUTH_URL": authURL})

	// Up and answering, rejecting tokens, while the auth server is down.
	e2eAPI{t, base, "not.a.jwt"}.expect(401, "GET", "/api/me/tasks", nil, nil)

	ba := startBetterAuth(t, port, "EdDSA")
	up := time.Now()
	alice := ba.signUp(t, "alice@example.com", "Alice")
	tok := ba.token(t, alice)
	a := e2eAPI{t, base, tok}
	e2eWaitStatus(t, a, "/api/me/tasks", 200, 40*time.Second, "token from the auth server that came up late")
	t.Logf("accepted %s after Better Auth came up", time.Since(up).Round(time.Millisecond))
	a.expect(201, "POST", "/api/me/tasks", map[string]any{"title": "late but fine"}, nil)
}

// TestBetterAuthWithSecretSideBySide: BETTER_AUTH_SECRET and BETTER_AUTH_URL
// together; HS256 tokens from `todoapi token` and Better Auth's JWTs both
// work, each held to its own iss/aud rules.
func TestBetterAuthWithSecretSideBySide(t *testing.T) {
	t.Parallel()
	ba := sharedBetterAuth(t)
	const secret = "side-by-side-secret-0123456789abcdef"
	base := startTodoapiE2E(t, map[string]string{"BETTER_AUTH_URL": ba.url, "BETTER_AUTH_SECRET": secret})

	alice := ba.signUp(t, baEmail(t, "alice"), "Alice")
	e2eAPI{t, base, ba.token(t, alice)}.expect(200, "GET", "/api/me/tasks", nil, nil)

	var out bytes.Buffer
	if err := runWith(context.Background(), []string{"token", "--sub", "svc"}, &out, e2eEnv(t, map[string]string{"BETTER_AUTH_SECRET": secret})); err != nil {
		t.Fatal(err)
	}
	e2eAPI{t, base, strings.TrimSpace(out.String())}.expect(200, "GET", "/api/svc/tasks", nil, nil)

	// iss/aud are enforced: a todoapi expecting another audience or issuer
	// refuses Better Auth's tokens, whose aud and iss are its origin.
	for _, env := range []map[string]string{
		{"BETTER_AUTH_URL": ba.url, "JWT_AUDIENCE": "todo-api"},
		{"BETTER_AUTH_URL": ba.url, "JWT_ISSUER": "https://auth.example.com"},
		{"JWKS_URL": ba.url + "/api/auth/jwks", "JWT_AUDIENCE": "todo-api"},
	} {
		other := startTodoapiE2E(t, env)
		e2eAPI{t, other, ba.token(t, alice)}.expect(401, "GET", "/api/me/tasks", nil, nil)
	}
	// JWKS_URL alone checks no iss/aud.
	other := startTodoapiE2E(t, map[string]string{"JWKS_URL": ba.url + "/api/auth/jwks"})
	e2eAPI{t, other, ba.token(t, alice)}.expect(200, "GET", "/api/me/tasks", nil, nil)
}

// TestBetterAuthRotationAfterBogusKid: a token naming a made-up kid makes
// todoapi refetch the JWKS; Better Auth rotating its key right after must
// not leave the new key's tokens refused until some cool-down ends. With
// the default JWKS intervals the first request with the new key is a 200.
func TestBetterAuthRotationAfterBogusKid(t *testing.T) {
	t.Parallel()
	ba := startBetterAuth(t, e2eFreePort(t), "EdDSA") // its own: it rotates the signing key
	base := startTodoapiE2E(t, map[string]string{"BETTER_AUTH_URL": ba.url})
	alice := ba.signUp(t, "alice@example.com", "Alice")
	oldTok := ba.token(t, alice)
	e2eWaitStatus(t, e2eAPI{t, base, oldTok}, "/api/me/tasks", 200, 10*time.Second, "Better Auth's token before the rotation")

	// The genuine token with its kid changed: unknown to todoapi, which
	// refetches the set and still does not find it.
	enc := base64.RawURLEncoding.EncodeToString
	hdr := jwtPart(t, oldTok, 0)
	hdr["kid"] = "bogus-kid"
	parts := strings.Split(oldTok, ".")
	bogus := enc(e2eJSON(t, hdr)) + "." + parts[1] + "." + parts[2]
	if resp, body := e2eCall(t, http.MethodGet, base+"/api/me/tasks", bogus, "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token with a bogus kid: %d %s, want 401", resp.StatusCode, body)
	}

	ba.admin(t, "rotate")
	newTok := ba.token(t, alice)
	if jwtPart(t, newTok, 0)["kid"] == jwtPart(t, oldTok, 0)["kid"] {
		t.Fatal("Better Auth still signs with the old kid after the rotation")
	}
	start := time.Now()
	resp, body := e2eCall(t, http.MethodGet, base+"/api/me/tasks", newTok, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first request with the rotated key right after a bogus kid: %d %s, want 200", resp.StatusCode, body)
	}
	t.Logf("rotated key accepted on its first request, %s after the rotation", time.Since(start).Round(time.Millisecond))
}
