// Better Auth as the OAuth 2.1 authorization server of todoapi's MCP
// endpoint, for cmd/todoapi/mcp_test.go: email/password sign-in (with the
// bearer plugin, as a frontend using todoapi has it), the jwt
// plugin (whose JWKS todoapi reads), and the OAuth provider plugin, which
// issues RFC 9068 access tokens (typ at+jwt) signed by those keys, with aud
// set to the resource the client asked for. Everything is Better Auth's
// defaults but what a deployment has to choose: the resource it issues
// tokens for, open dynamic client registration (MCP clients register
// themselves), and where its login and consent pages are.
//
//   node authserver.mjs PORT RESOURCE
//
// PORT is where it listens on 127.0.0.1; RESOURCE is todoapi's MCP resource
// identifier (PUBLIC_URL/mcp); tokens may also be had for
// https://other.example.com/mcp, a resource that is not todoapi's. Besides Better Auth's routes under /api/auth
// it serves its authorization server metadata where RFC 8414 puts it for an
// issuer with a path (/.well-known/oauth-authorization-server/api/auth), as
// the plugin's documentation asks of the app that mounts it, and one
// test-only route:
//
//   POST /__harness/service-client  (with a signed-in user's cookie)
//       → {"client_id", "client_secret"} of a new confidential client
//         allowed the client-credentials grant
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { bearer, jwt } from "better-auth/plugins";
import { oauthProvider, oauthProviderAuthServerMetadata, oauthProviderOpenIdConfigMetadata } from "@better-auth/oauth-provider";

const port = Number.parseInt(process.argv[2] ?? "", 10);
const resource = process.argv[3] ?? "";
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !resource.startsWith("http")) {
  console.error("usage: node authserver.mjs PORT RESOURCE");
  process.exit(2);
}
const baseURL = `http://127.0.0.1:${port}`;
const otherResource = "https://other.example.com/mcp";

const db = {
  user: [], session: [], account: [], verification: [], jwks: [],
  oauthClient: [], oauthRefreshToken: [], oauthAccessToken: [], oauthConsent: [],
  oauthResource: [], oauthClientResource: [],
};

const auth = betterAuth({
  baseURL,
  secret: "todoapi-mcp-harness-secret-0123456789abcdef",
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true },
  plugins: [
    jwt(),
    bearer(),
    oauthProvider({
      loginPage: "/sign-in",
      consentPage: "/consent",
      // todoapi's MCP endpoint, and another server's, so that the test can
      // get tokens Better Auth issues for someone else.
      resources: [resource, otherResource],
      clientRegistrationDefaultResources: [resource, otherResource],
      allowDynamicClientRegistration: true,
      allowUnauthenticatedClientRegistration: true,
      // The default scopes, and one a service may hold for itself (the
      // client-credentials grant takes no user-delegated scope).
      scopes: ["openid", "profile", "email", "offline_access", "service"],
      // Test setting: any signed-in user may administer OAuth clients, so
      // that the test can create a confidential client-credentials client.
      clientPrivileges: () => true,
    }),
  ],
  logger: { level: process.env.HARNESS_LOG_LEVEL ?? "warn" },
  telemetry: { enabled: false },
});

const handler = toNodeHandler(auth);
const asMetadata = oauthProviderAuthServerMetadata(auth);
const oidcMetadata = oauthProviderOpenIdConfigMetadata(auth);

// serveFetch answers a node request with a fetch-style handler.
async function serveFetch(fetchHandler, req, res) {
  const response = await fetchHandler(new Request(baseURL + req.url, { method: req.method, headers: req.headers }));
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

// createServiceClient registers, for the signed-in user whose cookie the
// request carries, a confidential client that may use the
// client-credentials grant: only Better Auth's server-side admin API can
// grant such a client its scopes.
async function createServiceClient(req, res) {
  const client = await auth.api.adminCreateOAuthClient({
    headers: new Headers({ cookie: req.headers.cookie ?? "" }),
    body: {
      client_name: "todoapi test service",
      redirect_uris: ["https://service.example.com/callback"],
      grant_types: ["client_credentials"],
      token_endpoint_auth_method: "client_secret_post",
      client_credentials_scopes: ["service"],
    },
  });
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ client_id: client.client_id, client_secret: client.client_secret }));
}

const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  if (req.method === "POST" && path === "/__harness/service-client") {
    return createServiceClient(req, res).catch((err) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: String(err?.message ?? err), body: err?.body }));
    });
  }
  if (req.method === "GET" && path === "/.well-known/oauth-authorization-server/api/auth") {
    return serveFetch(asMetadata, req, res).catch(() => { res.writeHead(500); res.end(); });
  }
  if (req.method === "GET" && path === "/.well-known/openid-configuration/api/auth") {
    return serveFetch(oidcMetadata, req, res).catch(() => { res.writeHead(500); res.end(); });
  }
  return handler(req, res);
});

server.listen(port, "127.0.0.1", () => {
  // The Go test waits for this line.
  console.log(`better-auth oauth harness listening on ${baseURL}`);
});

function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
