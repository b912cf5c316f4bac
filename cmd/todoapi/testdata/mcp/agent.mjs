// An AI agent's MCP client, for cmd/todoapi/mcp_test.go: the official
// TypeScript MCP SDK's Client over its Streamable HTTP transport, driven by
// the Go test one JSON line at a time, so that one Node process serves a
// whole test run.
//
//   node agent.mjs
//
// Each line on stdin is a request; each answer is one line on stdout with
// the same "id":
//
//   {"id":1,"op":"tools","url":U,"token":T}
//       → {"id":1,"tools":[…]}           the tools/list result
//   {"id":2,"op":"call","url":U,"token":T,"tool":N,"args":{…}}
//       → {"id":2,"result":{…}}          the tools/call result as received
//   {"id":3,"op":"oauth","url":U,"cookie":C,"tool":N,"args":{…}}
//       → {"id":3,"result":{…},"token":A,"steps":[…]}
//   {"id":4,"op":"token","url":U,"cookie":C,"resource":R}
//       → {"id":4,"token":A,"steps":[…]}
//
// "oauth" is what an MCP client does with no token: its first request gets
// 401, and the SDK follows the resource metadata to the authorization
// server, registers itself there (dynamic client registration), and sends
// the user to authorize with PKCE. The user's browser is played here by
// requests carrying the session cookie C of a user signed in at Better
// Auth: authorize, consent, and the redirect back with the code, which the
// SDK exchanges for an access token for U's resource. The call is then
// made with that token, which the answer returns for the test to inspect.
// "token" runs the same flow but asks for a token for resource R instead of
// the one U's metadata names, and returns it unused.
//
// A failure answers {"id":…,"error":message,"status":HTTP status or null}.
// Clients are kept per (url, token), as an agent keeps its connection.
import readline from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, auth } from "@modelcontextprotocol/sdk/client/auth.js";

const clients = new Map();

async function connect(url, token) {
  const key = url + " " + token;
  let client = clients.get(key);
  if (!client) {
    client = new Client({ name: "todoapi-test-agent", version: "1.0.0" });
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    clients.set(key, client);
  }
  return client;
}

// browser plays the signed-in user's browser from the authorization URL to
// the redirect back to the client, and returns the authorization code.
async function browser(authorizationURL, cookie, redirectURL, steps) {
  let url = authorizationURL.toString();
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, { redirect: "manual", headers: { cookie } });
    let location = res.headers.get("location");
    steps.push(`GET ${new URL(url).pathname} → ${res.status}`);
    if (res.status === 200) {
      // Better Auth answers a fetch (rather than a page load) with the
      // redirect as JSON: {"redirect": true, "url": …}.
      const text = await res.text();
      try {
        const body = JSON.parse(text);
        if (body.redirect && body.url) location = body.url;
      } catch {}
      if (!location) throw new Error(`authorization stopped at ${new URL(url).pathname}: 200 ${text}`);
    } else if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`authorization stopped at ${new URL(url).pathname}: ${res.status} ${await res.text()}`);
    }
    const next = new URL(location, url);
    if (next.href.startsWith(redirectURL)) {
      const code = next.searchParams.get("code");
      if (!code) throw new Error(`redirected back without a code: ${next.search}`);
      return code;
    }
    if (next.pathname === "/consent") {
      // The consent page: the user accepts what the client asked for.
      const consent = await fetch(new URL("/api/auth/oauth2/consent", url), {
        method: "POST",
        headers: { cookie, "content-type": "application/json", origin: next.origin },
        body: JSON.stringify({ accept: true, oauth_query: next.search.slice(1) }),
      });
      const body = await consent.json();
      steps.push(`POST /api/auth/oauth2/consent → ${consent.status}`);
      url = body.redirect_uri ?? body.url ?? body.uri;
      if (!url) throw new Error(`consent answered ${consent.status} ${JSON.stringify(body)}`);
      if (url.startsWith(redirectURL)) {
        const code = new URL(url).searchParams.get("code");
        if (!code) throw new Error(`consent redirected without a code: ${url}`);
        return code;
      }
      continue;
    }
    url = next.href;
  }
  throw new Error("too many redirects");
}

// harnessProvider is the SDK's OAuthClientProvider of a test agent: it
// keeps its registration, PKCE verifier and tokens in memory, and sends
// the user to authorize through browser(). When resource is set it asks
// for a token for that resource instead of the one the server names.
function harnessProvider(cookie, steps, resource) {
  const redirectURL = "http://127.0.0.1:1/callback";
  return {
    client: undefined,
    saved: undefined,
    verifier: undefined,
    code: undefined,
    get redirectUrl() { return redirectURL; },
    get clientMetadata() {
      return {
        client_name: "todoapi test agent",
        // A local agent with a loopback redirect is a native app (RFC 8252).
        application_type: "native",
        redirect_uris: [redirectURL],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
      };
    },
    clientInformation() { return this.client; },
    saveClientInformation(info) { this.client = info; steps.push(`registered client ${info.client_id ? "ok" : "?"}`); },
    tokens() { return this.saved; },
    saveTokens(tokens) { this.saved = tokens; steps.push("token saved"); },
    saveCodeVerifier(v) { this.verifier = v; },
    codeVerifier() { return this.verifier; },
    ...(resource ? { async validateResourceURL() { return new URL(resource); } } : {}),
    async redirectToAuthorization(authorizationURL) {
      steps.push(`authorize with ${["code_challenge_method", "resource"].map((p) => `${p}=${authorizationURL.searchParams.get(p)}`).join(" ")}`);
      this.code = await browser(authorizationURL, cookie, redirectURL, steps);
    },
  };
}

// oauth runs the authorization-code flow with PKCE as the SDK's transport
// does on a 401, then calls the tool with the token it got.
async function oauth(url, cookie, tool, args) {
  const steps = [];
  const provider = harnessProvider(cookie, steps);
  let transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  let client = new Client({ name: "todoapi-test-agent", version: "1.0.0" });
  try {
    await client.connect(transport);
    throw new Error("connected without authorization");
  } catch (err) {
    if (!(err instanceof UnauthorizedError) || !provider.code) throw err;
  }
  await transport.finishAuth(provider.code);
  transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  client = new Client({ name: "todoapi-test-agent", version: "1.0.0" });
  await client.connect(transport);
  const result = await client.callTool({ name: tool, arguments: args ?? {} });
  await client.close();
  return { result, token: provider.saved?.access_token, steps };
}

// token runs the same flow with the SDK's auth() alone, for a token for
// another resource than url's, and returns it unused.
async function token(url, cookie, resource) {
  const steps = [];
  const provider = harnessProvider(cookie, steps, resource);
  if ((await auth(provider, { serverUrl: url })) !== "REDIRECT" || !provider.code) {
    throw new Error(`no authorization for ${resource}: ${steps.join("; ")}`);
  }
  if ((await auth(provider, { serverUrl: url, authorizationCode: provider.code })) !== "AUTHORIZED") {
    throw new Error(`no token for ${resource}: ${steps.join("; ")}`);
  }
  return { token: provider.saved?.access_token, steps };
}

async function handle(req) {
  switch (req.op) {
    case "tools":
      return { tools: (await (await connect(req.url, req.token)).listTools()).tools };
    case "call":
      return { result: await (await connect(req.url, req.token)).callTool({ name: req.tool, arguments: req.args ?? {} }) };
    case "oauth":
      return await oauth(req.url, req.cookie, req.tool, req.args);
    case "token":
      return await token(req.url, req.cookie, req.resource);
  }
  throw new Error(`unknown op ${req.op}`);
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  handle(req).then(
    (answer) => process.stdout.write(JSON.stringify({ id: req.id, ...answer }) + "\n"),
    (err) => process.stdout.write(JSON.stringify({ id: req.id, error: String(err?.message ?? err), status: err?.code ?? null }) + "\n"),
  );
});
rl.on("close", () => process.exit(0));
console.error("agent ready");
