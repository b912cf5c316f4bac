package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/todoapi/todoapi"
	"github.com/todoapi/todoapi/auth"
	todohttp "github.com/todoapi/todoapi/http"
	"github.com/todoapi/todoapi/postgres"
)

// config is everything todoapi reads from its environment, in one place.
// Every field is filled by a row of settingsOf; the few that are not (the
// JWKS issuer and audience, the session URL) are derived from those rows
// in loadConfig.
type config struct {
	DatabaseURL    string
	DatabaseDirect string           // DATABASE_DIRECT_URL: a session URL for LISTEN; "" = derived or DATABASE_URL
	DB             postgres.Options // the DB_* pool settings; zero fields defer to DATABASE_URL, then to the store's defaults
	AuthSecret     string
	Issuer         string
	Audience       string
	JWTLeeway      time.Duration
	BetterAuthURL  string
	JWKSURL        string // explicit, or derived from BetterAuthURL
	JWKSIssuer     string // iss required of JWKS tokens; "" = not checked
	JWKSAudience   string // aud required of JWKS tokens; "" = not checked
	// AccessTokenIssuer is a second iss accepted on OAuth access tokens
	// signed by the JWKS: Better Auth's auth base URL (see resolveJWKS).
	AccessTokenIssuer string
	// AuthorizationServer is the issuer of the tokens MCP clients get for
	// /mcp, as its protected resource metadata names it; "" = none known.
	AuthorizationServer string
	// PublicURL is the base URL clients reach the server at; "" until
	// serve knows the port it listens on (PUBLIC_URL unset).
	PublicURL      string
	JWKSRefresh    time.Duration
	JWKSMinRefresh time.Duration
	JWKSTimeout    time.Duration
	Sessions       sessionSettings // BETTER_AUTH_SESSION_*: session tokens looked up at Better Auth
	Host           string
	Port           int
	LogLevel       slog.Level
	LogFormat      string // "" = text on a terminal, else json
	Production     bool
	MaxBodyBytes   int64
	TaskQuota      int
	// TombstoneRetention is how long the change feed keeps deletions.
	TombstoneRetention time.Duration
	// ReminderPoll is how often a busy process asks the database for
	// reminders set through other processes; 0 runs no scheduler in this
	// process.
	ReminderPoll    time.Duration
	ShutdownTimeout time.Duration
	DebugAddr       string     // where to serve net/http/pprof; "" = nowhere
	Edge            edgeConfig // CORS, rate limits, proxies, timeouts (edge.go)
	Events          todohttp.EventsConfig
}

// sessionSettings are the BETTER_AUTH_SESSION_* variables.
type sessionSettings struct {
	On          bool
	URL         string // get-session; "" when On is false
	CacheTTL    time.Duration
	NegativeTTL time.Duration
	CacheSize   int
	LookupRPS   float64
	LookupBurst int
}

// setting is one environment variable. The table in settingsOf is the only
// place a variable is named and its default written: loadConfig parses
// every row, --help prints them, and TestREADMEConfiguration holds the
// README's table to them. Adding a setting is adding a row (and a README
// line, which that test asks for).
type setting struct {
	name string
	// def is the value parsed when the variable is unset or blank; "" means
	// that nothing is parsed and the field keeps its zero value.
	def string
	// shown, when not empty, is the default --help and the README give
	// instead of def: for a default that is derived from other settings,
	// or one a lower layer applies (the DB_* defaults, which a DATABASE_URL
	// parameter may override, live in the postgres package).
	shown string
	doc   string
	// exact keeps the value's surrounding spaces: a secret's bytes are
	// the key, whatever they are.
	exact bool
	// parse stores a value in the config settingsOf was given, or says
	// what is wrong with it.
	parse func(v string) error
}

// defaultShown is the default as --help and the README show it.
func (s setting) defaultShown() string {
	switch {
	case s.shown != "":
		return s.shown
	case s.def != "":
		return s.def
	}
	return "unset"
}

// settingsOf is the table of every setting, each parsing into c. Rows are
// parsed in order: FRONTEND_URL adds to the origins CORS_ORIGINS gave.
func settingsOf(c *config) []setting {
	return []setting{
		{name: "DATABASE_URL", def: "sqlite:todo.db", parse: text(&c.DatabaseURL),
			doc: "postgres://… or postgresql://… (Neon URLs as printed), or sqlite:PATH / file:PATH"},
		{name: "DATABASE_DIRECT_URL", parse: text(&c.DatabaseDirect),
			doc: "a session (not pooled) postgres:// URL of the same database, for the LISTEN that carries live events between replicas; needed when DATABASE_URL is a transaction-mode pooler (unset: a Neon -pooler host gives its direct host by itself, otherwise DATABASE_URL)"},
		{name: "DB_MAX_CONNS", shown: strconv.Itoa(postgres.DefaultMaxConns), parse: integer(&c.DB.MaxConns, 1, 10_000),
			doc: "most PostgreSQL connections per process (also pool_max_conns in DATABASE_URL)"},
		{name: "DB_MAX_CONN_IDLE_TIME", shown: formatDuration(postgres.DefaultMaxConnIdleTime), parse: duration(&c.DB.MaxConnIdleTime, positive),
			doc: "close PostgreSQL connections idle this long, so the database can scale to zero"},
		{name: "DB_MAX_CONN_LIFETIME", shown: formatDuration(postgres.DefaultMaxConnLifetime), parse: duration(&c.DB.MaxConnLifetime, positive),
			doc: "replace PostgreSQL connections this old (plus up to " + formatDuration(postgres.DefaultMaxConnLifetimeJitter) + " of jitter)"},
		{name: "DB_HEALTH_CHECK_PERIOD", shown: formatDuration(postgres.DefaultHealthCheckPeriod), parse: duration(&c.DB.HealthCheckPeriod, positive),
			doc: "how often idle and expired PostgreSQL connections are closed"},
		{name: "DB_CONNECT_TIMEOUT", shown: formatDuration(postgres.DefaultConnectTimeout), parse: duration(&c.DB.ConnectTimeout, positive),
			doc: "time limit for opening a PostgreSQL connection (TLS and login included); past it a request gets 503"},
		{name: "DB_QUERY_TIMEOUT", shown: formatDuration(postgres.DefaultQueryTimeout), parse: duration(&c.DB.QueryTimeout, positive),
			doc: "time limit for each statement (a pooler's queue, a hung server; a statement whose client hung up runs on until it ends or this passes, rather than cost its connection), and for checking an idle connection before reuse; past it a request gets 503"},
		{name: "BETTER_AUTH_SECRET", exact: true, parse: text(&c.AuthSecret),
			doc: "shared secret; HS256 tokens signed with it are accepted"},
		{name: "BETTER_AUTH_URL", parse: text(&c.BetterAuthURL),
			doc: "Better Auth base URL; tokens signed by its JWKS (BETTER_AUTH_URL/api/auth/jwks) are accepted"},
		{name: "JWKS_URL", shown: "BETTER_AUTH_URL/api/auth/jwks", parse: text(&c.JWKSURL),
			doc: "JWKS to verify EdDSA/ES256/ES512/RS256/PS256 tokens with"},
		{name: "JWT_ISSUER", parse: text(&c.Issuer),
			doc: "required iss claim (unset: the origin of BETTER_AUTH_URL for JWKS tokens; not checked for HS256 tokens)"},
		{name: "JWT_AUDIENCE", parse: text(&c.Audience),
			doc: "required aud claim (unset: the origin of BETTER_AUTH_URL for JWKS tokens; not checked for HS256 tokens)"},
		{name: "JWT_LEEWAY", def: formatDuration(auth.DefaultLeeway), parse: duration(&c.JWTLeeway, positive),
			doc: "clock skew allowed when checking exp, nbf and iat"},
		{name: "JWKS_REFRESH_INTERVAL", def: formatDuration(auth.DefaultJWKSRefreshInterval), parse: duration(&c.JWKSRefresh, positive),
			doc: "how often the JWKS is re-read"},
		{name: "JWKS_MIN_REFRESH_INTERVAL", def: formatDuration(auth.DefaultJWKSMinRefreshInterval), parse: duration(&c.JWKSMinRefresh, positive),
			doc: "how long a kid a JWKS fetch did not find is refused without another fetch; unknown kids may cause 5 fetches per this period"},
		{name: "JWKS_TIMEOUT", def: formatDuration(auth.DefaultJWKSTimeout), parse: duration(&c.JWKSTimeout, positive),
			doc: "time limit of one JWKS fetch"},
		{name: "BETTER_AUTH_SESSION_TOKENS", def: "false", parse: boolean(&c.Sessions.On),
			doc: "true: also accept Better Auth session tokens (bearer values that are not JWTs), looked up at BETTER_AUTH_URL/api/auth/get-session (needs Better Auth's bearer plugin)"},
		{name: "BETTER_AUTH_SESSION_CACHE_TTL", def: formatDuration(auth.DefaultSessionCacheTTL), parse: duration(&c.Sessions.CacheTTL, positive),
			doc: "how long a session lookup is remembered (never past the session's expiry); a signed-out session keeps working this long"},
		{name: "BETTER_AUTH_SESSION_NEGATIVE_TTL", def: formatDuration(auth.DefaultSessionNegativeTTL), parse: duration(&c.Sessions.NegativeTTL, positive),
			doc: "how long a token Better Auth does not know is remembered as unknown"},
		{name: "BETTER_AUTH_SESSION_CACHE_SIZE", def: strconv.Itoa(auth.DefaultSessionCacheSize), parse: integer(&c.Sessions.CacheSize, 1, 1<<31-1),
			doc: "sessions remembered, and separately unknown tokens"},
		{name: "BETTER_AUTH_SESSION_LOOKUP_RPS", def: strconv.Itoa(auth.DefaultSessionLookupRPS), parse: rate(&c.Sessions.LookupRPS, false),
			doc: "calls to Better Auth per second per process; past them and the burst, requests with tokens not in the cache get 503"},
		{name: "BETTER_AUTH_SESSION_LOOKUP_BURST", def: strconv.Itoa(auth.DefaultSessionLookupBurst), parse: integer(&c.Sessions.LookupBurst, 1, 1_000_000),
			doc: "calls to Better Auth at once"},
		{name: "HOST", def: "127.0.0.1", parse: text(&c.Host),
			doc: "listen address"},
		{name: "PORT", def: "8000", parse: integer(&c.Port, 0, 65535),
			doc: "listen port"},
		{name: "PUBLIC_URL", shown: "http://HOST:PORT", parse: publicURL(&c.PublicURL),
			doc: "base URL clients reach this server at (scheme://host[:port], behind a proxy its public address); the MCP endpoint's OAuth resource is PUBLIC_URL/mcp"},
		{name: "LOG_LEVEL", def: "info", parse: func(v string) error {
			if c.LogLevel.UnmarshalText([]byte(v)) != nil {
				return errors.New("debug, info, warn or error")
			}
			return nil
		},
			doc: "debug, info, warn or error"},
		{name: "LOG_FORMAT", shown: "text on a terminal, else json", parse: oneOf(&c.LogFormat, "text", "json"),
			doc: "text or json"},
		{name: "APP_ENV", def: "development", parse: func(v string) error {
			c.Production = strings.EqualFold(v, "production")
			return nil
		}, doc: "production refuses to start without BETTER_AUTH_SECRET or BETTER_AUTH_URL/JWKS_URL"},
		{name: "MAX_BODY_BYTES", def: strconv.Itoa(todohttp.DefaultMaxBodyBytes), parse: integer(&c.MaxBodyBytes, 1, 1<<30),
			doc: "largest request body accepted"},
		{name: "TASK_QUOTA", def: strconv.Itoa(todoapi.DefaultTaskQuota), parse: integer(&c.TaskQuota, 1, 1<<31-1),
			doc: "most tasks one user may hold; creating one more is a 422"},
		{name: "TOMBSTONE_RETENTION", def: formatDuration(todoapi.DefaultTombstoneRetention), parse: duration(&c.TombstoneRetention, positive),
			doc: "how long the change feed remembers deleted tasks; a client away longer gets 410 and syncs from scratch"},
		{name: "REMINDER_POLL", def: formatDuration(todoapi.DefaultReminderPoll), parse: duration(&c.ReminderPoll, orZero),
			doc: "while this process serves requests, how often it looks for reminders set through other replicas (those it knows of go out on time regardless; an idle process looks for none); 0 sends no reminders from this process"},
		{name: "SHUTDOWN_TIMEOUT", def: "15s", parse: duration(&c.ShutdownTimeout, positive),
			doc: "how long in-flight requests may take to finish on SIGTERM"},
		{name: "DEBUG_ADDR", parse: text(&c.DebugAddr),
			doc: "host:port of a second listener serving Go's profiler (/debug/pprof/), for performance work; keep it on loopback (unset: off)"},
		{name: "CORS_ORIGINS", def: "http://localhost:3000", parse: origins(&c.Edge.CORSOrigins),
			doc: "comma-separated browser origins allowed to call the API (scheme://host[:port]; * for any)"},
		{name: "FRONTEND_URL", parse: origins(&c.Edge.CORSOrigins),
			doc: "one more allowed browser origin, the frontend's"},
		{name: "RATE_LIMIT_RPS", def: "50", parse: rate(&c.Edge.UserRateLimit.RPS, true),
			doc: "requests per second per user (token bucket); 0 turns the limit off"},
		{name: "RATE_LIMIT_BURST", def: "100", parse: integer(&c.Edge.UserRateLimit.Burst, 1, 1_000_000),
			doc: "requests a user may make at once before RATE_LIMIT_RPS applies"},
		{name: "USER_MAX_IN_FLIGHT", def: strconv.Itoa(todohttp.DefaultUserMaxInFlight), parse: integer(&c.Edge.UserMaxInFlight, 0, 1_000_000),
			doc: "requests one user may have in flight at once (event streams not counted); one more gets 429; 0 turns the limit off"},
		{name: "AUTH_FAILURE_RPS", def: "1", parse: rate(&c.Edge.AuthFailureLimit.RPS, true),
			doc: "failed bearer tokens answered 401 per second per client address; beyond AUTH_FAILURE_BURST its failing tokens get 429 (valid tokens are always served); 0 turns it off"},
		{name: "AUTH_FAILURE_BURST", def: "20", parse: integer(&c.Edge.AuthFailureLimit.Burst, 1, 1_000_000),
			doc: "failed bearer tokens a client address may send at once"},
		{name: "TRUSTED_PROXIES", parse: func(v string) (err error) {
			c.Edge.TrustedProxies, err = parseProxies(v)
			return err
		}, doc: "addresses or CIDRs of proxies whose X-Forwarded-For names the client address (unset: the header is ignored)"},
		// Zero would mean "no limit" to net/http: exactly what these
		// timeouts exist to prevent.
		{name: "READ_HEADER_TIMEOUT", def: "5s", parse: duration(&c.Edge.ReadHeaderTimeout, positive),
			doc: "time a client may take to send a request's headers"},
		{name: "READ_TIMEOUT", def: "15s", parse: duration(&c.Edge.ReadTimeout, positive),
			doc: "time a client may take to send a whole request, and its body"},
		{name: "WRITE_TIMEOUT", def: "30s", parse: duration(&c.Edge.WriteTimeout, positive),
			doc: "time from the end of a request's headers to the end of its response"},
		{name: "IDLE_TIMEOUT", def: "2m", parse: duration(&c.Edge.IdleTimeout, positive),
			doc: "how long an idle keep-alive connection stays open"},
		{name: "EVENTS_HEARTBEAT", def: formatDuration(todohttp.DefaultEventsHeartbeat), parse: duration(&c.Events.Heartbeat, positive),
			doc: "how often an idle live event stream sends a comment line, so that proxies keep it open"},
		{name: "EVENTS_MAX_STREAMS_PER_USER", def: strconv.Itoa(todohttp.DefaultEventsMaxStreamsPerUser), parse: integer(&c.Events.MaxStreamsPerUser, 1, 1<<20),
			doc: "most live event streams one user may hold open at once; one more is a 429"},
		{name: "EVENTS_MAX_STREAMS", def: strconv.Itoa(todohttp.DefaultEventsMaxStreams), parse: integer(&c.Events.MaxStreams, 1, 1<<24),
			doc: "most live event streams open in this process; one more is a 429"},
		{name: "SHUTDOWN_DELAY", def: "1s", parse: duration(&c.Edge.ShutdownDelay, orZero),
			doc: "after SIGTERM, how long to keep serving with /readyz at 503 and connections closed after each response, before refusing new connections (part of SHUTDOWN_TIMEOUT)"},
	}
}

// settings is the table for --help and the tests; its rows parse into a
// config nobody reads.
var settings = settingsOf(&config{})

// loadConfig reads .env from the working directory when present (the real
// environment wins over it) and then the environment. It reports every bad
// value at once, so that a deployment is fixed in one round.
func loadConfig(getenv func(string) string) (config, error) {
	// The file is read, not loaded into the process environment, so that
	// getenv stays the one source and the process is left as it was.
	dotenv, err := godotenv.Read()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return config{}, fmt.Errorf("read .env: %w", err)
	}
	var c config
	var bad []string
	for _, s := range settingsOf(&c) {
		v := getenv(s.name)
		if v == "" {
			v = dotenv[s.name]
		}
		if !s.exact {
			v = strings.TrimSpace(v)
		}
		if v == "" {
			v = s.def
		}
		if v == "" {
			continue
		}
		if err := s.parse(v); err != nil {
			bad = append(bad, s.name+" must be "+err.Error())
		}
	}
	bad = append(bad, c.resolveJWKS()...)
	bad = append(bad, c.resolveSessions()...)
	if len(bad) > 0 {
		return c, errors.New(strings.Join(bad, "; "))
	}
	return c, nil
}

// The parsers of the settings table. Each returns what a valid value looks
// like when v is not one; loadConfig puts the variable's name in front.

func text(dst *string) func(string) error {
	return func(v string) error { *dst = v; return nil }
}

func oneOf(dst *string, values ...string) func(string) error {
	return func(v string) error {
		v = strings.ToLower(v)
		if !slices.Contains(values, v) {
			return errors.New(strings.Join(values, " or "))
		}
		*dst = v
		return nil
	}
}

func boolean(dst *bool) func(string) error {
	return func(v string) (err error) {
		if *dst, err = strconv.ParseBool(v); err != nil {
			return errors.New("true or false")
		}
		return nil
	}
}

func integer[T int | int32 | int64](dst *T, lo, hi int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("a whole number from %d to %d", lo, hi)
		}
		*dst = T(n)
		return nil
	}
}

// rate reads requests per second, at most a million; off allows 0, which
// turns a limit off.
func rate(dst *float64, off bool) func(string) error {
	return func(v string) error {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r > 1e6 || r < 0 || (r == 0 && !off) || math.IsNaN(r) {
			if off {
				return errors.New("a number of requests per second from 0 (off) to 1000000")
			}
			return errors.New("a positive number of requests per second, at most 1000000")
		}
		*dst = r
		return nil
	}
}

// Whether a duration setting may be zero. Every duration but a delay must
// be positive: zero would silently mean "the default" to some consumers and
// "no limit at all" to others.
const (
	positive = false
	orZero   = true
)

// duration is the one duration parser of the settings.
func duration(dst *time.Duration, zeroOK bool) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil || d < 0:
			return errors.New("a duration such as 30s or 2m")
		case d == 0 && !zeroOK:
			return errors.New("a positive duration such as 30s or 2m")
		}
		*dst = d
		return nil
	}
}

// publicURL reads a base URL: http or https, a host, nothing after the
// path; a trailing slash is dropped.
func publicURL(dst *string) func(string) error {
	return func(v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return errors.New("an http:// or https:// URL such as https://todo.example.com")
		}
		*dst = strings.TrimRight(v, "/")
		return nil
	}
}

func origins(dst *[]string) func(string) error {
	return func(v string) error {
		o, err := parseOrigins(v)
		*dst = append(*dst, o...)
		return err
	}
}

// formatDuration writes d as a person would (30s, 10m, 1h30m), for the
// defaults --help and the README show.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// authBase is the Better Auth endpoint base for BETTER_AUTH_URL: its origin
// and path, or origin/api/auth when it has no path. Better Auth takes a
// base URL that already has a path as its auth base path itself (…/api/auth).
func authBase(u *url.URL) string {
	base := strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	if strings.Trim(u.EscapedPath(), "/") == "" {
		base += "/api/auth"
	}
	return base
}

// resolveJWKS derives the JWKS URL and the iss/aud required of JWKS tokens
// from BETTER_AUTH_URL, JWKS_URL, JWT_ISSUER and JWT_AUDIENCE, and returns
// what is wrong with them.
//
// Better Auth serves its key set at BETTER_AUTH_URL/api/auth/jwks and signs
// tokens with iss and aud set to the origin of its base URL
// (scheme://host[:port], without path or trailing slash), so that origin is
// the default issuer and audience for JWKS tokens. JWKS_URL overrides the
// URL; JWT_ISSUER and JWT_AUDIENCE override iss and aud for every token.
func (c *config) resolveJWKS() (bad []string) {
	c.JWKSIssuer, c.JWKSAudience = c.Issuer, c.Audience
	if c.BetterAuthURL != "" {
		u, err := url.Parse(c.BetterAuthURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return []string{"BETTER_AUTH_URL must be an http:// or https:// URL such as https://app.example.com"}
		}
		origin := u.Scheme + "://" + u.Host
		if c.JWKSURL == "" {
			c.JWKSURL = authBase(u) + "/jwks"
		}
		if c.JWKSIssuer == "" {
			c.JWKSIssuer = origin
			// Better Auth's OAuth provider (the authorization server MCP
			// clients get tokens from) names itself by the auth base URL,
			// and signs its access tokens so.
			c.AccessTokenIssuer = authBase(u)
		}
		if c.JWKSAudience == "" {
			c.JWKSAudience = origin
		}
	}
	c.AuthorizationServer = c.JWKSIssuer
	if c.AccessTokenIssuer != "" {
		c.AuthorizationServer = c.AccessTokenIssuer
	}
	if c.JWKSURL != "" {
		u, err := url.Parse(c.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad = append(bad, "JWKS_URL must be an http:// or https:// URL")
		}
	}
	if c.JWKSMinRefresh > c.JWKSRefresh {
		bad = append(bad, "JWKS_MIN_REFRESH_INTERVAL must not exceed JWKS_REFRESH_INTERVAL")
	}
	return bad
}

// resolveSessions derives the get-session URL from BETTER_AUTH_URL as
// resolveJWKS derives the JWKS URL, when session tokens are turned on.
func (c *config) resolveSessions() (bad []string) {
	if !c.Sessions.On {
		return nil
	}
	u, err := url.Parse(c.BetterAuthURL)
	if c.BetterAuthURL == "" || err != nil {
		return []string{"BETTER_AUTH_SESSION_TOKENS=true needs BETTER_AUTH_URL, where the sessions are looked up"}
	}
	c.Sessions.URL = authBase(u) + "/get-session"
	return nil
}

// authConfig is the verifier configuration: HS256 with BETTER_AUTH_SECRET
// when set, JWKS when a URL is known, session tokens when turned on. log
// receives JWKS refresh outcomes and session lookup failures.
func (c config) authConfig(log *slog.Logger) auth.Config {
	ac := auth.Config{
		Secret: c.AuthSecret, Issuer: c.Issuer, Audience: c.Audience, Leeway: c.JWTLeeway,
	}
	if c.JWKSURL != "" {
		ac.JWKS = auth.JWKSConfig{
			URL:                c.JWKSURL,
			Issuer:             c.JWKSIssuer,
			Audience:           c.JWKSAudience,
			AccessTokenIssuer:  c.AccessTokenIssuer,
			RefreshInterval:    c.JWKSRefresh,
			MinRefreshInterval: c.JWKSMinRefresh,
			Timeout:            c.JWKSTimeout,
			Logger:             log,
		}
	}
	if c.Sessions.URL != "" {
		ac.Sessions = auth.SessionConfig{
			URL:         c.Sessions.URL,
			CacheTTL:    c.Sessions.CacheTTL,
			NegativeTTL: c.Sessions.NegativeTTL,
			CacheSize:   c.Sessions.CacheSize,
			LookupRPS:   c.Sessions.LookupRPS,
			LookupBurst: c.Sessions.LookupBurst,
			Logger:      log,
		}
	}
	return ac
}

// newLogger writes text to a terminal and JSON otherwise, unless LOG_FORMAT
// says which.
func (c config) newLogger() *slog.Logger {
	format := c.LogFormat
	if format == "" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	out, wrap := bufferedLog(os.Stderr) // logbuf.go: lines are written in batches
	if format == "text" {
		return slog.New(wrap(slog.NewTextHandler(out, opts)))
	}
	return slog.New(wrap(slog.NewJSONHandler(out, opts)))
}
