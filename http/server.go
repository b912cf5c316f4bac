// Package http serves the todoapi REST API over net/http. huma describes each
// operation once, in Go types, and derives both request validation and the
// OpenAPI document from that description.
package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/metrics"
)

// Verifier turns a bearer token into the user it was issued to.
type Verifier interface {
	Verify(ctx context.Context, token string) (todoapi.User, error)
}

// ResourceVerifier is a Verifier that also accepts tokens issued for one
// protected resource of this server (an OAuth access token whose audience
// is the MCP endpoint). /mcp uses it when the Verifier has it.
type ResourceVerifier interface {
	VerifyResource(ctx context.Context, token, resource string) (todoapi.User, error)
}

// Pinger reports whether the database is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is what the HTTP layer needs from the rest of the program.
type Config struct {
	Tasks    todoapi.TaskService
	Verifier Verifier
	Database Pinger
	Logger   *slog.Logger

	// MaxBodyBytes is the largest request body accepted; larger ones get 413.
	MaxBodyBytes int64
	// BodyReadTimeout bounds how long a client may take to send a request
	// body once its handler starts reading it; 0 means huma's 5 s. (huma
	// sets this per operation and so replaces http.Server.ReadTimeout for
	// bodies.)
	BodyReadTimeout time.Duration
	// Version is reported in the OpenAPI document.
	Version string

	// CORSOrigins are the browser origins (scheme://host[:port]) allowed to
	// call the API from another origin; "*" allows any. Empty: none.
	CORSOrigins []string
	// UserRateLimit is each user's token bucket; zero disables it.
	UserRateLimit RateLimit
	// UserMaxInFlight is how many requests one user may have in flight at
	// once (long-lived ones, such as event streams, not counted); beyond it
	// the user gets 429. Zero disables it; DefaultUserMaxInFlight is the
	// server's default.
	UserMaxInFlight int
	// AuthFailureLimit is each client address's budget of requests with an
	// unusable bearer token; when it is spent the address gets 429 until it
	// refills. Zero disables it.
	AuthFailureLimit RateLimit
	// TrustedProxies are the proxies whose X-Forwarded-For is believed when
	// finding a client's address. Empty: the header is ignored.
	TrustedProxies []netip.Prefix
	// Metrics records what /metrics serves; nil gives the handler its own.
	Metrics *metrics.Metrics
	// Draining reports that the process is shutting down: /readyz then
	// answers 503 and every response closes its connection, so that load
	// balancers and clients move to other replicas. Nil: never.
	Draining func() bool

	// MCP, when set, is served at /mcp behind the same authentication,
	// failed-token throttle and per-user rate limit as /api; it finds the
	// user with todoapi.UserFromContext. Nil: no /mcp.
	MCP http.Handler
	// PublicURL is the base URL clients reach this server at
	// (scheme://host[:port], no trailing slash). The MCP endpoint's
	// resource identifier is PublicURL/mcp: its tokens' audience and what
	// its OAuth protected resource metadata names.
	PublicURL string
	// AuthorizationServers are the issuers an MCP client may get a token
	// for /mcp from, as its protected resource metadata lists them.
	AuthorizationServers []string
	// Changes is the change feed the event streams read. Nil: Tasks, when
	// it is one.
	Changes todoapi.ChangeFeed
	// Hub wakes the event streams of a user whose feed moved. Nil: no
	// event streams.
	Hub todoapi.ChangeHub
	// Tickets issues and redeems the tickets that open an event stream
	// without an Authorization header. Nil: no tickets (503).
	Tickets *todoapi.Tickets
	// Events bounds and paces the event streams.
	Events EventsConfig
}

// DefaultMaxBodyBytes is used when Config.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 64 << 10

type server struct {
	tasks           todoapi.TaskService
	verifier        Verifier
	db              Pinger
	log             *slog.Logger
	maxBody         int64
	bodyReadTimeout time.Duration
	api             huma.API
	metrics         *metrics.Metrics
	userLimits      *limiterSet
	inFlight        *inFlight
	authFailures    *limiterSet
	trustedProxies  []netip.Prefix
	draining        func() bool
	mcp             mcpSettings
	feed            todoapi.ChangeFeed
	hub             todoapi.ChangeHub
	tickets         *todoapi.Tickets
	events          EventsConfig
	streams         *streamSlots
	version         string
}

// NewHandler returns the whole service as one http.Handler: the /api
// operations, the health endpoints, /metrics, /openapi.json and /docs,
// behind the edge middleware listed at its end.
func NewHandler(c Config) http.Handler {
	_, h := newServer(c)
	return h
}

// newServer builds the server and its handler; tests register operations
// of their own on the server's API.
func newServer(c Config) (*server, http.Handler) {
	s := &server{
		tasks:           c.Tasks,
		verifier:        c.Verifier,
		db:              c.Database,
		log:             c.Logger,
		maxBody:         c.MaxBodyBytes,
		bodyReadTimeout: c.BodyReadTimeout,
		metrics:         c.Metrics,
		userLimits:      newLimiterSet(c.UserRateLimit, maxLimiterKeys),
		inFlight:        newInFlight(c.UserMaxInFlight),
		authFailures:    newLimiterSet(c.AuthFailureLimit, maxLimiterKeys),
		trustedProxies:  c.TrustedProxies,
		draining:        c.Draining,
		mcp:             newMCPSettings(c),
		feed:            c.Changes,
		hub:             c.Hub,
		tickets:         c.Tickets,
		events:          c.Events.withDefaults(),
		version:         c.Version,
	}
	if s.feed == nil {
		s.feed, _ = c.Tasks.(todoapi.ChangeFeed)
	}
	s.streams = newStreamSlots(s.events.MaxStreamsPerUser, s.events.MaxStreams)
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.draining == nil {
		s.draining = func() bool { return false }
	}

	mux := http.NewServeMux()
	config := apiConfig(c.Version)
	// encodeBody comes last: it encodes what the others made.
	config.Transformers = append(config.Transformers, s.bodyLimitDetail, encodeBody)
	s.api = humago.New(mux, config)
	// Around every huma operation, in order: who is calling (401, or 429
	// for an address whose tokens keep failing), whether they are over
	// their rate or have too many requests in flight (429), and whether the
	// path is theirs (403).
	s.api.UseMiddleware(s.authenticate, s.limitUser, s.limitInFlight, s.authorizePath)
	s.registerTasks()
	s.registerEvents()
	s.registerHealth()
	s.documentAliases()
	mux.Handle("GET /metrics", s.metrics.Handler())
	newDocs(s.writeProblem).register(mux)
	s.registerMCP(mux, c.MCP)

	// The edge, outermost first. Each layer sees what the ones before it
	// set: every response, even a panic's 500, has a request id, security
	// headers and (for allowed origins) CORS headers, and is logged and
	// counted once. Alias paths become canonical right in front of the mux
	// (aliases.go), so routes, logs and metrics name canonical patterns.
	return s, chain(s.canonicalPaths(s.routeOrProblem(mux)),
		withRequestID,           // X-Request-ID, the client's when sane
		s.closeWhenDraining,     // Connection: close while shutting down
		s.observe,               // one log line and the request metrics
		securityHeaders,         // nosniff, no-referrer, no-store on /api
		withCORS(c.CORSOrigins), // CORS for the configured origins only
		s.recoverPanics,         // a panic becomes a logged 500 problem
		s.guardBody,             // 413 for an announced oversize body, 400 for broken framing
		guardReadDeadline,       // no read deadline outlives the body, so none cancels a waiting request
	)
}

// apiConfig is huma's default configuration minus what would change the
// wire format: no $schema fields in bodies, no CDN-hosted docs page.
func apiConfig(version string) huma.Config {
	config := huma.DefaultConfig("todoapi", version)
	config.Info.Description = "A multi-user to-do list API. Every /api operation needs " +
		"`Authorization: Bearer <JWT>`; `{user_id}` must be the token's user, or `me`."
	config.CreateHooks = nil // adds $schema to every response body
	config.DocsPath = ""
	config.SchemasPath = ""
	config.OpenAPIPath = "/openapi"
	config.Formats = map[string]huma.Format{
		"application/json": jsonFormat,
		"json":             jsonFormat,
	}
	config.Transformers = append(config.Transformers, setProblemContentType)
	config.OnAddOperation = append(config.OnAddOperation, documentProblemTypes)
	config.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	return config
}

// documentProblemTypes lists both media types an error response can have
// (problemContentType picks one from Accept) for every error response of
// every operation, whoever registers it and whenever.
func documentProblemTypes(_ *huma.OpenAPI, op *huma.Operation) {
	for code, resp := range op.Responses {
		if code != "default" && code < "400" {
			continue
		}
		if mt := resp.Content["application/json"]; mt != nil && resp.Content["application/problem+json"] == nil {
			resp.Content["application/problem+json"] = mt
		}
	}
}

// bodyLimitDetail restates huma's 413 with the configured limit. Operations
// are registered with one byte more than MaxBodyBytes, because huma refuses
// a body that fills its limit exactly, so huma's own message names a number
// one too high.
func (s *server) bodyLimitDetail(_ huma.Context, _ string, v any) (any, error) {
	if p, ok := v.(*problem); ok && p.Status == http.StatusRequestEntityTooLarge {
		p.Detail = "the request body is larger than the limit of " + strconv.FormatInt(s.maxBody, 10) + " bytes"
		p.Message = p.Detail
	}
	return v, nil
}

// routeOrProblem answers requests the mux has no route for with a problem
// document instead of the mux's plain-text 404 and 405 pages, keeping the
// Allow header the mux computes for 405.
func (s *server) routeOrProblem(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			// "GET /api/{user_id}/tasks" → "/api/{user_id}/tasks"
			route := pattern
			if _, path, ok := strings.Cut(pattern, " "); ok {
				route = path
			}
			infoFrom(r.Context()).route = route
			mux.ServeHTTP(w, r) // unlike h, this fills in r.PathValue
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		status, detail := http.StatusNotFound, "no such endpoint"
		if rec.status == http.StatusMethodNotAllowed {
			status, detail = rec.status, "method "+r.Method+" is not allowed here"
			w.Header().Set("Allow", rec.header.Get("Allow"))
		}
		s.writeProblem(w, r, newProblem(status, detail))
	})
}

// statusRecorder captures what the mux's fallback handler would answer.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(status int)      { r.status = status }

type requestIDKey struct{}

// withRequestID gives every request an id, reusing the client's X-Request-ID
// when it is sane, and returns it in the response so a report can be matched
// to the log.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !saneRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// saneRequestID accepts short ids of URL-safe characters only, so a client
// cannot inject text into logs or headers.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RequestID returns the id withRequestID gave the request ctx belongs to,
// so that a handler mounted behind this package's edge (the MCP endpoint)
// logs under the same id as the request's own log line.
func RequestID(ctx context.Context) string { return requestID(ctx) }
