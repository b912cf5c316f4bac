package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/todoapi/todoapi"

	"github.com/todoapi/todoapi/auth"
	"github.com/todoapi/todoapi/postgres"
)

// config is everything todoapi reads from its environment, in one place.
type config struct {
	DatabaseURL   string
	DB            postgres.Options // the DB_* pool settings; zero fields defer to DATABASE_URL, then to the defaults
	AuthSecret    string
	Issuer        string
	Audience      string
	JWTLeeway     time.Duration
	BetterAuthURL string
	JWKSURL       string // explicit, or derived from BetterAuthURL
	JWKSIssuer    string // iss required of JWKS tokens; "" = not checked
	JWKSAudience  string // aud required of JWKS tokens; "" = not checked
	// AccessTokenIssuer is a second iss accepted on OAuth access tokens
	// signed by the JWKS: Better Auth's auth base URL (see resolveJWKS).
	AccessTokenIssuer string
	// AuthorizationServer is the issuer of the tokens MCP clients get for
	// /mcp, as its protected resource metadata names it; "" = none known.
	AuthorizationServer string
	// PublicURL is the base URL clients reach the server at; "" until
	// serve knows the port it listens on (PUBLIC_URL unset).
	PublicURL       string
	JWKSRefresh     time.Duration
	JWKSMinRefresh  time.Duration
	JWKSTimeout     time.Duration
	Sessions        sessionSettings // BETTER_AUTH_SESSION_*: session tokens looked up at Better Auth
	Host            string
	Port            int
	LogLevel        slog.Level
	LogFormat       string
	Production      bool
	MaxBodyBytes    int64
	TaskQuota       int
	ShutdownTimeout time.Duration
	DebugAddr       string     // where to serve net/http/pprof; "" = nowhere
	Edge            edgeConfig // CORS, rate limits, proxies, timeouts (edge.go)
}

// settings documents every variable for --help and the README, with its
// default.
var settings = []struct{ name, def, doc string }{
	{"DATABASE_URL", "sqlite:todo.db", "postgres://… or postgresql://… (Neon URLs as printed), or sqlite:PATH / file:PATH"},
	{"DB_MAX_CONNS", "10", "most PostgreSQL connections per process (also pool_max_conns in DATABASE_URL)"},
	{"DB_MAX_CONN_IDLE_TIME", "1m", "close PostgreSQL connections idle this long, so the database can scale to zero"},
	{"DB_MAX_CONN_LIFETIME", "30m", "replace PostgreSQL connections this old (plus up to 5m of jitter)"},
	{"DB_HEALTH_CHECK_PERIOD", "30s", "how often idle and expired PostgreSQL connections are closed"},
	{"DB_CONNECT_TIMEOUT", "5s", "time limit for opening a PostgreSQL connection (TLS and login included); past it a request gets 503"},
	{"DB_QUERY_TIMEOUT", "10s", "time limit for a statement outside a transaction or a transaction's first (a pooler's queue, a hung server), and for checking an idle connection before reuse; past it a request gets 503"},
	{"BETTER_AUTH_SECRET", "", "shared secret; HS256 tokens signed with it are accepted"},
	{"BETTER_AUTH_URL", "", "Better Auth base URL; tokens signed by its JWKS (BETTER_AUTH_URL/api/auth/jwks) are accepted"},
	{"JWKS_URL", "BETTER_AUTH_URL/api/auth/jwks", "JWKS to verify EdDSA/ES256/ES512/RS256/PS256 tokens with"},
	{"JWT_ISSUER", "", "required iss claim (default for JWKS tokens: the origin of BETTER_AUTH_URL; HS256 tokens: not checked)"},
	{"JWT_AUDIENCE", "", "required aud claim (default for JWKS tokens: the origin of BETTER_AUTH_URL; HS256 tokens: not checked)"},
	{"JWT_LEEWAY", "30s", "clock skew allowed when checking exp, nbf and iat"},
	{"JWKS_REFRESH_INTERVAL", "10m", "how often the JWKS is re-read"},
	{"JWKS_MIN_REFRESH_INTERVAL", "30s", "how long a kid a JWKS fetch did not find is refused without another fetch; unknown kids may cause 5 fetches per this period"},
	{"JWKS_TIMEOUT", "10s", "time limit of one JWKS fetch"},
	{"BETTER_AUTH_SESSION_TOKENS", "false", "true: also accept Better Auth session tokens (bearer values that are not JWTs), looked up at BETTER_AUTH_URL/api/auth/get-session (needs Better Auth's bearer plugin)"},
	{"BETTER_AUTH_SESSION_CACHE_TTL", "30s", "how long a session lookup is remembered (never past the session's expiry); a signed-out session keeps working this long"},
	{"BETTER_AUTH_SESSION_NEGATIVE_TTL", "5s", "how long a token Better Auth does not know is remembered as unknown"},
	{"BETTER_AUTH_SESSION_CACHE_SIZE", "10000", "sessions remembered, and separately unknown tokens"},
	{"BETTER_AUTH_SESSION_LOOKUP_RPS", "10", "calls to Better Auth per second per process; past them and the burst, requests with tokens not in the cache get 503"},
	{"BETTER_AUTH_SESSION_LOOKUP_BURST", "20", "calls to Better Auth at once"},
	{"HOST", "127.0.0.1", "listen address"},
	{"PUBLIC_URL", "http://HOST:PORT", "base URL clients reach this server at (scheme://host[:port], behind a proxy its public address); the MCP endpoint's OAuth resource is PUBLIC_URL/mcp"},
	{"PORT", "8000", "listen port"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"LOG_FORMAT", "text on a terminal, else json", "text or json"},
	{"APP_ENV", "development", "production refuses to start without BETTER_AUTH_SECRET or BETTER_AUTH_URL/JWKS_URL"},
	{"MAX_BODY_BYTES", "65536", "largest request body accepted"},
	{"TASK_QUOTA", "10000", "most tasks one user may hold; creating one more is a 422"},
	{"SHUTDOWN_TIMEOUT", "15s", "how long in-flight requests may take to finish on SIGTERM"},
	{"DEBUG_ADDR", "", "host:port of a second listener serving Go's profiler (/debug/pprof/), for performance work; keep it on loopback (unset: off)"},
	{"CORS_ORIGINS", defaultCORSOrigins, "comma-separated browser origins allowed to call the API (scheme://host[:port]; * for any)"},
	{"FRONTEND_URL", "", "one more allowed browser origin, the frontend's"},
	{"RATE_LIMIT_RPS", "50", "requests per second per user (token bucket); 0 turns the limit off"},
	{"RATE_LIMIT_BURST", "100", "requests a user may make at once before RATE_LIMIT_RPS applies"},
	{"AUTH_FAILURE_RPS", "1", "failed bearer tokens answered 401 per second per client address; beyond AUTH_FAILURE_BURST its failing tokens get 429 (valid tokens are always served); 0 turns it off"},
	{"AUTH_FAILURE_BURST", "20", "failed bearer tokens a client address may send at once"},
	{"TRUSTED_PROXIES", "", "addresses or CIDRs of proxies whose X-Forwarded-For names the client address (unset: the header is ignored)"},
	{"READ_HEADER_TIMEOUT", "5s", "time a client may take to send a request's headers"},
	{"READ_TIMEOUT", "15s", "time a client may take to send a whole request, and its body"},
	{"WRITE_TIMEOUT", "30s", "time from the end of a request's headers to the end of its response"},
	{"IDLE_TIMEOUT", "2m", "how long an idle keep-alive connection stays open"},
	{"SHUTDOWN_DELAY", "1s", "after SIGTERM, how long to keep serving with /readyz at 503 and connections closed after each response, before refusing new connections (part of SHUTDOWN_TIMEOUT)"},
}

// loadConfig reads .env from the working directory when present (the real
// environment wins over it) and then the environment. It reports every bad
// value at once.
func loadConfig(getenv func(string) string) (config, error) {
	// The file is read, not loaded into the process environment, so that
	// getenv stays the one source and the process is left as it was.
	dotenv, err := godotenv.Read()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return config{}, fmt.Errorf("read .env: %w", err)
	}
	realEnv := getenv
	getenv = func(name string) string {
		if v := realEnv(name); v != "" {
			return v
		}
		return dotenv[name]
	}
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var bad []string
	intVar := func(name string, def, min, max int64) int64 {
		v, err := strconv.ParseInt(env(name, strconv.FormatInt(def, 10)), 10, 64)
		if err != nil || v < min || v > max {
			bad = append(bad, fmt.Sprintf("%s must be a whole number from %d to %d", name, min, max))
		}
		return v
	}
	// Every duration here must be positive: zero would silently mean "the
	// default" to some consumers and "nothing at all" to others.
	durationVar := func(name string, def time.Duration) time.Duration {
		v, err := time.ParseDuration(env(name, def.String()))
		if err != nil || v <= 0 {
			bad = append(bad, fmt.Sprintf("%s must be a positive duration such as 30s or 2m", name))
		}
		return v
	}

	c := config{
		DatabaseURL:     env("DATABASE_URL", "sqlite:todo.db"),
		AuthSecret:      getenv("BETTER_AUTH_SECRET"), // the exact bytes are the key: no trimming
		Issuer:          env("JWT_ISSUER", ""),
		Audience:        env("JWT_AUDIENCE", ""),
		JWTLeeway:       durationVar("JWT_LEEWAY", 30*time.Second),
		BetterAuthURL:   env("BETTER_AUTH_URL", ""),
		JWKSURL:         env("JWKS_URL", ""),
		JWKSRefresh:     durationVar("JWKS_REFRESH_INTERVAL", auth.DefaultJWKSRefreshInterval),
		JWKSMinRefresh:  durationVar("JWKS_MIN_REFRESH_INTERVAL", auth.DefaultJWKSMinRefreshInterval),
		JWKSTimeout:     durationVar("JWKS_TIMEOUT", auth.DefaultJWKSTimeout),
		Host:            env("HOST", "127.0.0.1"),
		Port:            int(intVar("PORT", 8000, 0, 65535)),
		LogFormat:       strings.ToLower(env("LOG_FORMAT", "")),
		MaxBodyBytes:    intVar("MAX_BODY_BYTES", 64<<10, 1, 1<<30),
		TaskQuota:       int(intVar("TASK_QUOTA", todoapi.DefaultTaskQuota, 1, 1<<31-1)),
		ShutdownTimeout: durationVar("SHUTDOWN_TIMEOUT", 15*time.Second),
		DebugAddr:       env("DEBUG_ADDR", ""),
		PublicURL:       strings.TrimRight(env("PUBLIC_URL", ""), "/"),
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			bad = append(bad, "PUBLIC_URL must be an http:// or https:// URL such as https://todo.example.com")
		}
	}
	c.DB = dbOptions(env, &bad)
	if err := c.LogLevel.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		bad = append(bad, "LOG_LEVEL must be debug, info, warn or error")
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		bad = append(bad, "LOG_FORMAT must be text or json")
	}
	c.Production = strings.EqualFold(env("APP_ENV", "development"), "production")
	c.Edge = loadEdge(env, &bad)
	bad = append(bad, c.resolveJWKS()...)
	c.Sessions = loadSessions(env, c.BetterAuthURL, &bad)
	if len(bad) > 0 {
		return c, errors.New(strings.Join(bad, "; "))
	}
	return c, nil
}

// resolveJWKS derives the JWKS URL and the iss/aud required of JWKS tokens
// from BETTER_AUTH_URL, JWKS_URL, JWT_ISSUER and JWT_AUDIENCE (SPEC §1), and
// returns what is wrong with them.
//
// Better Auth serves its key set at BETTER_AUTH_URL/api/auth/jwks and signs
// tokens with iss and aud set to the origin of its base URL
// (scheme://host[:port], without path or trailing slash), so that origin is
// the default issuer and audience for JWKS tokens. Like Better Auth, a
// BETTER_AUTH_URL that already has a path is taken as the auth base path
// itself (…/api/auth → …/api/auth/jwks). JWKS_URL overrides the URL;
// JWT_ISSUER and JWT_AUDIENCE override iss and aud for every token.
func (c *config) resolveJWKS() (bad []string) {
	c.JWKSIssuer, c.JWKSAudience = c.Issuer, c.Audience
	if c.BetterAuthURL != "" {
		u, err := url.Parse(c.BetterAuthURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return []string{"BETTER_AUTH_URL must be an http:// or https:// URL such as https://app.example.com"}
		}
		origin := u.Scheme + "://" + u.Host
		base := strings.TrimRight(origin+u.EscapedPath(), "/")
		if strings.Trim(u.EscapedPath(), "/") == "" {
			base += "/api/auth"
		}
		if c.JWKSURL == "" {
			c.JWKSURL = base + "/jwks"
		}
		if c.JWKSIssuer == "" {
			c.JWKSIssuer = origin
			// Better Auth's OAuth provider (the authorization server MCP
			// clients get tokens from) names itself by the auth base URL,
			// and signs its access tokens so.
			c.AccessTokenIssuer = base
		}
		c.AuthorizationServer = c.JWKSIssuer
		if c.AccessTokenIssuer != "" {
			c.AuthorizationServer = c.AccessTokenIssuer
		}
		if c.JWKSAudience == "" {
			c.JWKSAudience = origin
		}
	}
	if c.JWKSURL != "" {
		u, err := url.Parse(c.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad = append(bad, "JWKS_URL must be an http:// or https:// URL")
		}
	}
	if c.JWKSRefresh <= 0 || c.JWKSMinRefresh <= 0 || c.JWKSTimeout <= 0 {
		bad = append(bad, "JWKS_REFRESH_INTERVAL, JWKS_MIN_REFRESH_INTERVAL and JWKS_TIMEOUT must be positive")
	} else if c.JWKSMinRefresh > c.JWKSRefresh {
		bad = append(bad, "JWKS_MIN_REFRESH_INTERVAL must not exceed JWKS_REFRESH_INTERVAL")
	}
	return bad
}

// sessionSettings are the BETTER_AUTH_SESSION_* variables.
type sessionSettings struct {
	URL         string // get-session; "" when BETTER_AUTH_SESSION_TOKENS is off
	CacheTTL    time.Duration
	NegativeTTL time.Duration
	CacheSize   int
	LookupRPS   float64
	LookupBurst int
}

// loadSessions reads the session-token settings (SPEC §7). The get-session
// URL is derived from BETTER_AUTH_URL as the JWKS URL is:
// BETTER_AUTH_URL/api/auth/get-session, or …/get-session when
// BETTER_AUTH_URL already has a path.
func loadSessions(env func(name, def string) string, betterAuthURL string, bad *[]string) sessionSettings {
	on, err := strconv.ParseBool(env("BETTER_AUTH_SESSION_TOKENS", "false"))
	if err != nil {
		*bad = append(*bad, "BETTER_AUTH_SESSION_TOKENS must be true or false")
	}
	var s sessionSettings
	for _, d := range []struct {
		name string
		def  time.Duration
		dst  *time.Duration
	}{
		{"BETTER_AUTH_SESSION_CACHE_TTL", auth.DefaultSessionCacheTTL, &s.CacheTTL},
		{"BETTER_AUTH_SESSION_NEGATIVE_TTL", auth.DefaultSessionNegativeTTL, &s.NegativeTTL},
	} {
		v, err := time.ParseDuration(env(d.name, d.def.String()))
		if err != nil || v <= 0 {
			*bad = append(*bad, d.name+" must be a positive duration such as 30s or 2m")
		}
		*d.dst = v
	}
	size, err := strconv.Atoi(env("BETTER_AUTH_SESSION_CACHE_SIZE", strconv.Itoa(auth.DefaultSessionCacheSize)))
	if err != nil || size < 1 {
		*bad = append(*bad, "BETTER_AUTH_SESSION_CACHE_SIZE must be a positive whole number")
	}
	rps, err := strconv.ParseFloat(env("BETTER_AUTH_SESSION_LOOKUP_RPS", strconv.Itoa(auth.DefaultSessionLookupRPS)), 64)
	if err != nil || !(rps > 0) || math.IsInf(rps, 0) {
		*bad = append(*bad, "BETTER_AUTH_SESSION_LOOKUP_RPS must be a positive number")
	}
	burst, err := strconv.Atoi(env("BETTER_AUTH_SESSION_LOOKUP_BURST", strconv.Itoa(auth.DefaultSessionLookupBurst)))
	if err != nil || burst < 1 {
		*bad = append(*bad, "BETTER_AUTH_SESSION_LOOKUP_BURST must be a positive whole number")
	}
	s.CacheSize, s.LookupRPS, s.LookupBurst = size, rps, burst
	if !on {
		return s
	}
	u, err := url.Parse(betterAuthURL)
	if betterAuthURL == "" || err != nil {
		*bad = append(*bad, "BETTER_AUTH_SESSION_TOKENS=true needs BETTER_AUTH_URL, where the sessions are looked up")
		return s
	}
	base := strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	if strings.Trim(u.EscapedPath(), "/") == "" {
		base += "/api/auth"
	}
	s.URL = base + "/get-session"
	return s
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
