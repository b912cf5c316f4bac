// Better Auth, standalone, for todoapi's end-to-end test
// (cmd/todoapi/betterauth_test.go). It is the real library with the
// configuration a Next.js frontend uses with todoapi: email/password sign-up,
// the jwt plugin, and the bearer plugin (which lets a session token be sent
// as "Authorization: Bearer …", as todoapi's session-token lookups do), here
// on the in-memory adapter and plain node:http.
//
//   node server.mjs PORT [ALG]
//
// PORT is required (the test picks it, so that todoapi can be pointed at
// this server before it is up). ALG is the jwt plugin's key algorithm:
// EdDSA (Better Auth's default), RS256, PS256, ES256 or ES512; the JWT_ALG
// environment variable is read when the argument is absent.
//
// Besides Better Auth's own routes under /api/auth, two test-only routes
// manipulate the jwt plugin's key table in the memory store:
//
//   POST /__harness/rotate  expires every live signing key, exactly as the
//                           plugin's own jwks.rotationInterval would when it
//                           elapses: the next token is signed by a key the
//                           plugin mints then, under a new kid, and the
//                           expired key stays in /api/auth/jwks (its grace
//                           period has not passed) so tokens it signed still
//                           verify.
//   POST /__harness/retire  deletes the expired keys, as the end of the
//                           grace period does: they leave /api/auth/jwks.
//
// Both answer {"kids": [...]} with the kids they touched.
//
//   GET /__harness/calls    {"getSession": N}: how many requests reached
//                           /api/auth/get-session so far, so that a test can
//                           count todoapi's session lookups.
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { bearer, jwt } from "better-auth/plugins";

const port = Number.parseInt(process.argv[2] ?? process.env.PORT ?? "", 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: node server.mjs PORT [EdDSA|RS256|PS256|ES256|ES512]");
  process.exit(2);
}
const alg = process.argv[3] ?? process.env.JWT_ALG ?? "EdDSA";
const keyPairConfigs = {
  EdDSA: { alg: "EdDSA", crv: "Ed25519" },
  RS256: { alg: "RS256", modulusLength: 2048 },
  PS256: { alg: "PS256", modulusLength: 2048 },
  ES256: { alg: "ES256" },
  ES512: { alg: "ES512" },
};
if (!(alg in keyPairConfigs)) {
  console.error(`unsupported algorithm ${alg}; use one of ${Object.keys(keyPairConfigs).join(", ")}`);
  process.exit(2);
}

const baseURL = `http://127.0.0.1:${port}`;

// The memory adapter reads and writes these tables in place; the harness
// routes below edit db.jwks the same way.
const db = { user: [], session: [], account: [], verification: [], jwks: [] };

const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET ?? "todoapi-e2e-harness-secret-0123456789abcdef",
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true },
  plugins: [
    jwt({
      jwks: { keyPairConfig: keyPairConfigs[alg] },
      // The defaults, spelled out: iss and aud are the base URL's origin,
      // tokens live 15 minutes.
      jwt: { issuer: baseURL, audience: baseURL, expirationTime: "15m" },
    }),
    bearer(),
  ],
  logger: { level: process.env.HARNESS_LOG_LEVEL ?? "warn" },
  telemetry: { enabled: false },
});

const betterAuthHandler = toNodeHandler(auth);

// Better Auth mints a signing key lazily, when it first signs and finds no
// live key. Two requests signing at the same moment (two sign-ins, or a
// token request racing another) can each mint one, and the set then holds
// a key the tests did not expect. The harness therefore serves Better
// Auth's requests one at a time; its speed does not matter.
let previous = Promise.resolve();
function authHandler(req, res) {
  const done = new Promise((resolve) => res.on("close", resolve));
  const turn = previous.then(() => {
    betterAuthHandler(req, res).catch(() => {});
    return done;
  });
  previous = turn;
  return turn;
}

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

let getSessionCalls = 0;

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/__harness/calls") {
    return json(res, 200, { getSession: getSessionCalls });
  }
  if (req.url.startsWith("/api/auth/get-session")) getSessionCalls++;
  if (req.method === "POST" && req.url === "/__harness/rotate") {
    const now = new Date();
    const kids = [];
    db.jwks = db.jwks.map((key) => {
      if (key.expiresAt && key.expiresAt <= now) return key;
      kids.push(key.id);
      return { ...key, expiresAt: new Date(now.getTime() - 1000) };
    });
    return json(res, 200, { kids });
  }
  if (req.method === "POST" && req.url === "/__harness/retire") {
    const now = new Date();
    const kids = db.jwks.filter((key) => key.expiresAt && key.expiresAt <= now).map((key) => key.id);
    db.jwks = db.jwks.filter((key) => !kids.includes(key.id));
    return json(res, 200, { kids });
  }
  return authHandler(req, res);
});

server.listen(port, "127.0.0.1", () => {
  // The Go test waits for this line.
  console.log(`better-auth harness (${alg}) listening on ${baseURL}`);
});

function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
