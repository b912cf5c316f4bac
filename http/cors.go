package http

import (
	"net/http"

	"github.com/rs/cors"
)

// corsExposed are the response headers a browser script may read besides
// the CORS-safelisted ones: where a created task lives, list paging and
// counts, when to retry, the id to quote in a bug report, the version to
// make an edit conditional on, and a 401's challenge, from which an MCP
// client in a browser learns where to get a token for /mcp.
var corsExposed = []string{"Location", "Link", "X-Total-Count", "Retry-After", "X-Request-ID", "ETag", "WWW-Authenticate"}

// withCORS answers CORS for the configured origins only: other
// origins get no CORS headers at all, so browsers keep their pages from
// reading responses. With no origins configured it adds nothing.
//
// It uses github.com/rs/cors, a small dependency-free and widely used
// implementation of the Fetch standard's CORS protocol, rather than a
// hand-written one: the protocol has many corners (preflight detection,
// Vary for caches, case rules for origins and header lists, gateways that
// split Access-Control-Request-Headers) that it already gets right.
//
// Choices:
//   - Preflights for the API's methods succeed and name the requested
//     method, as the Fetch standard suggests; the requested headers are
//     echoed, whatever they are: the origins are trusted, and frontends
//     written for the old backend (whose CORS allowed any header) send
//     headers of their own besides Authorization and Content-Type.
//   - Credentials are allowed, because such frontends may fetch with
//     credentials: "include". This grants nothing: the API reads no cookie,
//     only the Authorization header, which a page must set itself.
//   - Browsers may cache a preflight for 10 minutes.
func withCORS(origins []string) middleware {
	if len(origins) == 0 {
		return func(h http.Handler) http.Handler { return h }
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{
			http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
			http.MethodPatch, http.MethodDelete,
		},
		AllowedHeaders:   []string{"*"},
		ExposedHeaders:   corsExposed,
		AllowCredentials: true,
		MaxAge:           600,
	})
	return c.Handler
}
