package main

// End-to-end tests of the MCP endpoint with real clients: the official
// TypeScript MCP SDK under Node (testdata/mcp/agent.mjs), driving the real
// binary (startProcess) on SQLite and on PostgreSQL, every effect checked
// through the REST API; and real Better Auth with its OAuth provider plugin
// (testdata/mcp/authserver.mjs) as the authorization server, issuing the
// agent's access token through the authorization-code flow with PKCE.
//
// They need node and the harness's node_modules (npm ci in
// cmd/todoapi/testdata/mcp, as .ci/run does); without them they skip, or
// fail under TODOAPI_NO_SKIP=1. One agent process serves the whole run.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/todoapi/todoapi/auth"
	"github.com/todoapi/todoapi/internal/testenv"
	"github.com/todoapi/todoapi/postgres/pgtest"
)

var mcpHarnessDir = func() string {
	dir, err := filepath.Abs(filepath.Join("testdata", "mcp"))
	if err != nil {
		panic(err)
	}
	return dir
}()

// mcpNode returns the path of node, or skips the test when node or the
// harness's packages are missing.
func mcpNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Skip(t, "node is not installed; the MCP end-to-end tests need Node.js 20+")
	}
	for _, pkg := range []string{"@modelcontextprotocol/sdk", "better-auth", "@better-auth/oauth-provider"} {
		if _, err := os.Stat(filepath.Join(mcpHarnessDir, "node_modules", pkg, "package.json")); err != nil {
			testenv.Skip(t, pkg+" is not installed for the MCP harness; run: npm ci --prefix cmd/todoapi/testdata/mcp")
		}
	}
	return node
}

// agentProcess is the running agent.mjs: requests go to its stdin, answers
// come back on its stdout, matched by id.
type agentProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer // its stderr

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan agentAnswer
	dead    chan struct{}
}

type agentAnswer struct {
	Result json.RawMessage   `json:"result"`
	Tools  []json.RawMessage `json:"tools"`
	Token  string            `json:"token"`
	Steps  []string          `json:"steps"`
	Error  string            `json:"error"`
	Status any               `json:"status"`
}

var (
	sharedAgentOnce sync.Once
	sharedAgent     *agentProcess
	sharedAgentErr  error
)

// theAgent starts the agent process on first use; TestMain stops it.
func theAgent(t *testing.T) *agentProcess {
	t.Helper()
	node := mcpNode(t)
	sharedAgentOnce.Do(func() { sharedAgent, sharedAgentErr = startAgent(node) })
	if sharedAgentErr != nil {
		t.Fatalf("start the MCP agent harness: %v", sharedAgentErr)
	}
	return sharedAgent
}

func startAgent(node string) (*agentProcess, error) {
	cmd := exec.Command(node, "agent.mjs")
	cmd.Dir = mcpHarnessDir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "NODE_NO_WARNINGS=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	a := &agentProcess{cmd: cmd, stdin: stdin, out: &syncBuffer{}, waiting: map[int]chan agentAnswer{}, dead: make(chan struct{})}
	cmd.Stderr = a.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var msg struct {
				ID int `json:"id"`
				agentAnswer
			}
			if json.Unmarshal(sc.Bytes(), &msg) != nil {
				continue
			}
			a.mu.Lock()
			ch := a.waiting[msg.ID]
			delete(a.waiting, msg.ID)
			a.mu.Unlock()
			if ch != nil {
				ch <- msg.agentAnswer
			}
		}
		_ = cmd.Wait()
		close(a.dead)
	}()
	return a, nil
}

// stopSharedAgent ends the agent process, if one was started.
func stopSharedAgent() {
	if sharedAgent != nil {
		_ = sharedAgent.stdin.Close() // it exits when its input ends
		select {
		case <-sharedAgent.dead:
		case <-time.After(5 * time.Second):
			_ = sharedAgent.cmd.Process.Kill()
		}
	}
}

// ask sends one request and waits for its answer.
func (a *agentProcess) ask(t *testing.T, req map[string]any) agentAnswer {
	t.Helper()
	a.mu.Lock()
	a.nextID++
	id := a.nextID
	ch := make(chan agentAnswer, 1)
	a.waiting[id] = ch
	req["id"] = id
	line, _ := json.Marshal(req)
	_, err := a.stdin.Write(append(line, '\n'))
	a.mu.Unlock()
	if err != nil {
		t.Fatalf("write to the agent: %v\n%s", err, a.out.String())
	}
	select {
	case ans := <-ch:
		return ans
	case <-a.dead:
		t.Fatalf("the agent exited:\n%s", a.out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the agent did not answer %s within 60s:\n%s", line, a.out.String())
	}
	return agentAnswer{}
}

// toolResult is a tools/call result as the TypeScript SDK hands it over.
type toolResult struct {
	Content []struct {
		Type, Text string
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
}

// mcpAgent is the agent acting for one token against one server.
type mcpAgent struct {
	t     *testing.T
	a     *agentProcess
	url   string
	token string
}

// call calls a tool, checks isError, and decodes the structured content
// into out when out is not nil.
func (m mcpAgent) call(tool string, args map[string]any, wantError bool, out any) toolResult {
	m.t.Helper()
	ans := m.a.ask(m.t, map[string]any{"op": "call", "url": m.url, "token": m.token, "tool": tool, "args": args})
	if ans.Error != "" {
		m.t.Fatalf("%s(%v): %s (status %v)", tool, args, ans.Error, ans.Status)
	}
	var res toolResult
	if err := json.Unmarshal(ans.Result, &res); err != nil {
		m.t.Fatalf("%s: result %s: %v", tool, ans.Result, err)
	}
	if res.IsError != wantError {
		m.t.Fatalf("%s(%v): isError %v, want %v: %s", tool, args, res.IsError, wantError, ans.Result)
	}
	if len(res.Content) != 1 || res.Content[0].Type != "text" || res.Content[0].Text == "" || strings.Contains(res.Content[0].Text, "\n") {
		m.t.Errorf("%s: content %+v, want one line of text", tool, res.Content)
	}
	if out != nil {
		if err := json.Unmarshal(res.StructuredContent, out); err != nil {
			m.t.Fatalf("%s: structured content %s: %v", tool, res.StructuredContent, err)
		}
	}
	return res
}

type mcpProblem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// TestMCPWithTheTypeScriptSDK drives every tool with the official
// TypeScript SDK against the real binary, on each store.
func TestMCPWithTheTypeScriptSDK(t *testing.T) {
	agent := theAgent(t)
	for _, store := range []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string {
			return []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "todo.db")}
		}},
		{"postgres", func(t *testing.T) []string { return []string{"DATABASE_URL=" + pgtest.NewDatabase(t)} }},
	} {
		t.Run(store.name, func(t *testing.T) {
			base := startProcess(t, store.env(t)...).ready(t)
			tok := func(sub string) string {
				s, err := auth.Mint(testSecret, auth.MintClaims{Subject: sub, TTL: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			aliceTok, bobTok := tok("alice"), tok("bob")
			alice := mcpAgent{t, agent, base + "/mcp", aliceTok}
			bob := mcpAgent{t, agent, base + "/mcp", bobTok}
			aliceREST, bobREST := e2eAPI{t, base, aliceTok}, e2eAPI{t, base, bobTok}

			// The tools as an agent framework lists them.
			listed := agent.ask(t, map[string]any{"op": "tools", "url": alice.url, "token": aliceTok})
			if listed.Error != "" {
				t.Fatal(listed.Error)
			}
			var names []string
			for _, raw := range listed.Tools {
				var tool struct {
					Name         string
					Description  string
					InputSchema  struct{ Properties map[string]any }
					OutputSchema map[string]any
					Annotations  map[string]any
				}
				_ = json.Unmarshal(raw, &tool)
				names = append(names, tool.Name)
				if tool.Description == "" || tool.OutputSchema == nil || tool.Annotations == nil || tool.InputSchema.Properties["user_id"] == nil {
					t.Errorf("tool %s as listed: %s", tool.Name, raw)
				}
			}
			slices.Sort(names)
			if want := []string{"add_task", "complete_task", "delete_task", "get_task", "list_tags", "list_tasks", "update_task"}; !slices.Equal(names, want) {
				t.Fatalf("tools %v, want %v", names, want)
			}

			// add_task, checked through the REST API.
			var created e2eTask
			alice.call("add_task", map[string]any{"title": " Buy milk ", "priority": "high", "tags": []string{"home"}, "user_id": "me"}, false, &created)
			var got e2eTask
			taskPath := fmt.Sprintf("/api/me/tasks/%d", created.ID)
			aliceREST.expect(200, "GET", taskPath, nil, &got)
			if got.Title != "Buy milk" || got.Priority != "high" || got.UserID != "alice" || !slices.Equal(got.Tags, []string{"home"}) {
				t.Fatalf("REST sees %+v after add_task", got)
			}
			aliceREST.expect(201, "POST", "/api/me/tasks", map[string]any{"title": "Call mum", "tags": []string{"family"}}, nil)

			// list_tasks and list_tags see what REST wrote too.
			var page struct {
				Tasks      []e2eTask `json:"tasks"`
				Total      int       `json:"total"`
				NextCursor *string   `json:"next_cursor"`
			}
			alice.call("list_tasks", map[string]any{"sort": "title", "limit": 1}, false, &page)
			if page.Total != 2 || len(page.Tasks) != 1 || page.Tasks[0].Title != "Buy milk" || page.NextCursor == nil {
				t.Fatalf("list_tasks: %+v", page)
			}
			alice.call("list_tasks", map[string]any{"sort": "title", "limit": 1, "cursor": *page.NextCursor, "user_id": "alice"}, false, &page)
			if len(page.Tasks) != 1 || page.Tasks[0].Title != "Call mum" || page.NextCursor != nil {
				t.Fatalf("list_tasks, page 2: %+v", page)
			}
			var tags struct{ Tags []string }
			alice.call("list_tags", nil, false, &tags)
			if !slices.Equal(tags.Tags, []string{"family", "home"}) {
				t.Fatalf("list_tags: %v", tags)
			}

			// get_task, update_task, complete_task.
			alice.call("get_task", map[string]any{"task_id": created.ID}, false, &got)
			if got.Title != "Buy milk" {
				t.Fatalf("get_task: %+v", got)
			}
			alice.call("update_task", map[string]any{"task_id": created.ID, "description": "Oat, two litres"}, false, nil)
			aliceREST.expect(200, "GET", taskPath, nil, &got)
			if got.Description == nil || *got.Description != "Oat, two litres" || got.Priority != "high" {
				t.Fatalf("REST sees %+v after update_task", got)
			}
			for range 2 { // a retried completion does not reopen the task
				alice.call("complete_task", map[string]any{"task_id": created.ID}, false, nil)
				aliceREST.expect(200, "GET", taskPath, nil, &got)
				if !got.Completed || got.CompletedAt == nil {
					t.Fatalf("REST sees %+v after complete_task", got)
				}
			}

			// Errors are tool results in the REST API's words.
			var p mcpProblem
			alice.call("add_task", map[string]any{"title": "", "priority": "urgent"}, true, &p)
			if p.Status != 422 || len(p.Errors) != 2 {
				t.Fatalf("add_task with two bad fields: %+v", p)
			}
			alice.call("get_task", map[string]any{"task_id": created.ID + 1000}, true, &p)
			if p.Status != 404 || p.Detail != "task not found" {
				t.Fatalf("get_task of a missing task: %+v", p)
			}

			// Isolation: bob's agent can list, read, change, complete or
			// delete nothing of alice's, whatever task_id or user_id it passes.
			for _, userID := range []any{nil, "me", "bob"} {
				for _, tool := range []string{"get_task", "update_task", "complete_task", "delete_task"} {
					args := map[string]any{"task_id": created.ID, "title": "mine", "completed": false}
					if userID != nil {
						args["user_id"] = userID
					}
					bob.call(tool, args, true, &p)
					if p.Status != 404 || p.Detail != "task not found" {
						t.Errorf("bob's %s on alice's task (user_id %v): %+v", tool, userID, p)
					}
				}
			}
			for _, tool := range []string{"get_task", "update_task", "complete_task", "delete_task", "list_tasks", "list_tags", "add_task"} {
				bob.call(tool, map[string]any{"task_id": created.ID, "title": "x", "user_id": "alice"}, true, &p)
				if p.Status != 403 {
					t.Errorf("bob's %s with user_id alice: %+v", tool, p)
				}
			}
			bob.call("list_tasks", nil, false, &page)
			bob.call("list_tags", nil, false, &tags)
			if page.Total != 0 || len(page.Tasks) != 0 || len(tags.Tags) != 0 {
				t.Fatalf("bob sees %+v and tags %v", page, tags)
			}
			aliceREST.expect(200, "GET", taskPath, nil, &got)
			if got.Title != "Buy milk" || !got.Completed {
				t.Fatalf("alice's task changed under bob's agent: %+v", got)
			}
			var bobs []e2eTask
			bobREST.expect(200, "GET", "/api/me/tasks", nil, &bobs)
			if len(bobs) != 0 {
				t.Fatalf("bob's agent created tasks: %+v", bobs)
			}

			// delete_task.
			var del struct {
				Deleted bool  `json:"deleted"`
				TaskID  int64 `json:"task_id"`
			}
			alice.call("delete_task", map[string]any{"task_id": created.ID}, false, &del)
			if !del.Deleted || del.TaskID != created.ID {
				t.Fatalf("delete_task: %+v", del)
			}
			aliceREST.expect(404, "GET", taskPath, nil, nil)

			// No token: 401 pointing at the resource metadata.
			none := agent.ask(t, map[string]any{"op": "tools", "url": alice.url, "token": ""})
			if none.Error == "" || fmt.Sprint(none.Status) != "401" {
				t.Fatalf("tools/list without a token: %+v", none)
			}
		})
	}
}

// TestMCPWithBetterAuthOAuth: real Better Auth, with its OAuth provider and
// jwt plugins, is the authorization server. The TypeScript SDK, starting
// from todoapi's 401, discovers it, registers, and gets an access token for
// the /mcp resource through the authorization-code flow with PKCE, which
// todoapi accepts at /mcp and not at /api. Tokens Better Auth issues for
// another audience, or to a client for itself, are refused at /mcp.
func TestMCPWithBetterAuthOAuth(t *testing.T) {
	node := mcpNode(t)
	agent := theAgent(t)
	authPort := e2eFreePort(t)
	authURL := fmt.Sprintf("http://127.0.0.1:%d", authPort)
	// At debug level todoapi logs why it refused each token.
	proc := startProcess(t, "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "todo.db"), "BETTER_AUTH_URL="+authURL, "LOG_LEVEL=debug")
	base := proc.ready(t)
	resource := base + "/mcp"
	startAuthServer(t, node, authPort, resource)

	// The protected resource metadata names Better Auth's issuer.
	resp, body := e2eCall(t, "GET", base+"/.well-known/oauth-protected-resource/mcp", "", "", nil)
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &prm) != nil || prm.Resource != resource ||
		!slices.Equal(prm.AuthorizationServers, []string{authURL + "/api/auth"}) {
		t.Fatalf("protected resource metadata: %d %s", resp.StatusCode, body)
	}

	ba := &betterAuth{url: authURL}
	alice := ba.signUp(t, "alice@example.com", "Alice")

	ans := agent.ask(t, map[string]any{"op": "oauth", "url": resource, "cookie": alice.cookie,
		"tool": "add_task", "args": map[string]any{"title": "Added through OAuth"}})
	if ans.Error != "" {
		t.Fatalf("OAuth flow: %s (%v)\n%v", ans.Error, ans.Status, ans.Steps)
	}
	t.Logf("OAuth flow: %s", strings.Join(ans.Steps, "; "))
	if !slices.ContainsFunc(ans.Steps, func(s string) bool { return strings.Contains(s, "code_challenge_method=S256") }) {
		t.Errorf("no PKCE in %v", ans.Steps)
	}
	var res toolResult
	var created e2eTask
	if json.Unmarshal(ans.Result, &res) != nil || res.IsError || json.Unmarshal(res.StructuredContent, &created) != nil {
		t.Fatalf("add_task with the OAuth token: %s", ans.Result)
	}
	if created.UserID != alice.id || created.Title != "Added through OAuth" {
		t.Fatalf("add_task made %+v for %s", created, alice.id)
	}

	// The token is an RFC 9068 access token for the /mcp resource.
	hdr, claims := jwtPart(t, ans.Token, 0), jwtPart(t, ans.Token, 1)
	if hdr["typ"] != "at+jwt" || !audHas(claims, resource) || claims["sub"] != alice.id || claims["iss"] != authURL+"/api/auth" {
		t.Fatalf("access token header %v, claims %v", hdr, claims)
	}
	// It opens /mcp only: at /api it is refused.
	agentTok := mcpAgent{t, agent, resource, ans.Token}
	agentTok.call("list_tasks", nil, false, nil)
	e2eAPI{t, base, ans.Token}.expect(401, "GET", "/api/me/tasks", nil, nil)

	// The frontend's own token (the jwt plugin's, for the REST API) sees the
	// agent's task through /api, and works at /mcp too.
	frontTok := ba.token(t, alice)
	var got e2eTask
	e2eAPI{t, base, frontTok}.expect(200, "GET", fmt.Sprintf("/api/me/tasks/%d", created.ID), nil, &got)
	if got.Title != "Added through OAuth" {
		t.Fatalf("REST sees %+v", got)
	}
	mcpAgent{t, agent, resource, frontTok}.call("get_task", map[string]any{"task_id": created.ID}, false, nil)

	// Better Auth tokens for another audience, and a client's own
	// (client credentials), are refused at /mcp.
	clientID, secret := registerConfidentialClient(t, authURL, alice)
	for name, res := range map[string]string{"another resource": "https://other.example.com/mcp", "the MCP resource": resource} {
		tok := clientCredentialsToken(t, authURL, clientID, secret, res)
		c := jwtPart(t, tok, 1)
		if c["sub"] != clientID || !audHas(c, res) {
			t.Fatalf("client credentials token for %s: %v", name, c)
		}
		out := agent.ask(t, map[string]any{"op": "tools", "url": resource, "token": tok})
		if out.Error == "" || fmt.Sprint(out.Status) != "401" {
			t.Errorf("client-credentials token for %s at /mcp: %+v", name, out)
		}
	}
	// Log lines are written in batches: wait for the one that says why.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(proc.stderr.String(), "access token of a client, not a user"); {
		if time.Now().After(deadline) {
			t.Fatalf("todoapi logged no rejection of the client's own token:\n%s", proc.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The same user's token, through the same flow, for another server's
	// resource: refused at /mcp (and at /api).
	otherTok := agent.ask(t, map[string]any{"op": "token", "url": resource, "cookie": alice.cookie, "resource": "https://other.example.com/mcp"})
	if otherTok.Error != "" {
		t.Fatalf("token for another resource: %s %v", otherTok.Error, otherTok.Steps)
	}
	if c := jwtPart(t, otherTok.Token, 1); c["sub"] != alice.id || !audHas(c, "https://other.example.com/mcp") || audHas(c, resource) {
		t.Fatalf("token for another resource: %v", c)
	}
	out := agent.ask(t, map[string]any{"op": "tools", "url": resource, "token": otherTok.Token})
	if out.Error == "" || fmt.Sprint(out.Status) != "401" {
		t.Errorf("a token for another resource at /mcp: %+v", out)
	}
	e2eAPI{t, base, otherTok.Token}.expect(401, "GET", "/api/me/tasks", nil, nil)
}

// audHas reports whether a token's aud (a string or a list) names aud.
func audHas(claims map[string]any, aud string) bool {
	switch v := claims["aud"].(type) {
	case string:
		return v == aud
	case []any:
		return slices.Contains(v, any(aud))
	}
	return false
}

// startAuthServer runs authserver.mjs on port for resource.
func startAuthServer(t *testing.T, node string, port int, resource string) {
	t.Helper()
	cmd := exec.Command(node, "authserver.mjs", strconv.Itoa(port), resource)
	cmd.Dir = mcpHarnessDir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "NODE_NO_WARNINGS=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("Better Auth OAuth harness output:\n%s", out.String())
		}
	})
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "listening on") {
		select {
		case <-exited:
			t.Fatalf("the Better Auth OAuth harness exited:\n%s", out.String())
		case <-deadline:
			t.Fatalf("the Better Auth OAuth harness did not start within 30s:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// registerConfidentialClient has Better Auth create, for owner, a
// confidential client allowed the client-credentials grant (through its
// server-side admin API, which only the harness can call), and returns its
// id and secret.
func registerConfidentialClient(t *testing.T, authURL string, owner baAccount) (id, secret string) {
	t.Helper()
	req, _ := http.NewRequest("POST", authURL+"/__harness/service-client", nil)
	req.Header.Set("Cookie", owner.cookie)
	resp, body := e2eDo(t, req)
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil || out.ClientID == "" || out.ClientSecret == "" {
		t.Fatalf("create a client-credentials client: %d %s", resp.StatusCode, body)
	}
	return out.ClientID, out.ClientSecret
}

// clientCredentialsToken gets a token for resource with the
// client-credentials grant.
func clientCredentialsToken(t *testing.T, authURL, id, secret, resource string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"resource": {resource}, "scope": {"service"}}
	req, _ := http.NewRequest("POST", authURL+"/api/auth/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := e2eDo(t, req)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil || strings.Count(out.AccessToken, ".") != 2 {
		t.Fatalf("client credentials token for %s: %d %s", resource, resp.StatusCode, body)
	}
	return out.AccessToken
}
