package auth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/todoapi/todoapi"
)

// Session-token defaults; SessionConfig's zero values select them.
const (
	// DefaultSessionCacheTTL is the longest an answer about a session is
	// remembered, and so how long a session revoked at Better Auth (sign
	// out) can still be used here.
	DefaultSessionCacheTTL = 30 * time.Second

	// DefaultSessionNegativeTTL is how long "no such session" is
	// remembered, so that a client repeating a dead token costs Better
	// Auth one call per this period.
	DefaultSessionNegativeTTL = 5 * time.Second

	// DefaultSessionCacheSize bounds the remembered sessions, and
	// separately the remembered refusals, so that a flood of made-up tokens
	// cannot push real sessions out of the cache.
	DefaultSessionCacheSize = 10_000

	// DefaultSessionLookupRPS and DefaultSessionLookupBurst are the token
	// bucket of calls to Better Auth, for the whole process: however many
	// unknown tokens arrive, Better Auth gets at most the burst at once and
	// then this many calls per second from each replica.
	DefaultSessionLookupRPS   = 10
	DefaultSessionLookupBurst = 20

	// DefaultSessionTimeout bounds one call to Better Auth.
	DefaultSessionTimeout = 5 * time.Second

	// maxSessionBytes bounds a get-session answer (a session and a user
	// are well under 4 KiB).
	maxSessionBytes = 64 << 10
)

// SessionConfig configures session-token introspection: a bearer
// value that is not a JWT is taken for a Better Auth session token and
// looked up with Better Auth's get-session endpoint, which reads bearer
// tokens when Better Auth runs its bearer plugin.
type SessionConfig struct {
	// URL is the get-session endpoint, BETTER_AUTH_URL/api/auth/get-session.
	// Empty: session tokens are not accepted.
	URL string

	// CacheTTL bounds how long a session is remembered (never past its
	// expiresAt); zero means DefaultSessionCacheTTL.
	CacheTTL time.Duration
	// NegativeTTL is how long a token Better Auth does not know is
	// remembered as unknown; zero means DefaultSessionNegativeTTL.
	NegativeTTL time.Duration
	// CacheSize bounds the remembered sessions, and separately the
	// remembered unknown tokens; zero means DefaultSessionCacheSize.
	CacheSize int

	// LookupRPS and LookupBurst are the token bucket of calls to Better
	// Auth; zero means the defaults. A lookup that finds the bucket empty
	// fails with todoapi.ErrAuthUnavailable (the service answers 503) rather
	// than waiting.
	LookupRPS   float64
	LookupBurst int

	// Timeout bounds one call; zero means DefaultSessionTimeout. Ignored
	// when Client is set.
	Timeout time.Duration
	// Client, when set, replaces the default client.
	Client *http.Client
	// Logger receives lookup failures; nil discards them.
	Logger *slog.Logger
}

// sessionSource turns Better Auth session tokens into users by asking
// Better Auth, which alone knows whether a session is still alive.
//
// What keeps Better Auth safe from todoapi's traffic:
//   - answers are cached by SHA-256 of the token: a session until the
//     earlier of its expiresAt and CacheTTL, an unknown token for
//     NegativeTTL, each kind in its own bounded cache;
//   - concurrent requests with one token share one call (single flight);
//   - calls are rate-limited for the whole process; past the bucket a
//     lookup fails at once as unavailable, and is not cached.
//
// Only a definite answer is cached: a session (200 with one) or none (200
// with null, or 401/403). Anything else — Better Auth down, a 5xx, a
// malformed answer — is an unavailable error, not a refusal.
type sessionSource struct {
	url         string
	client      *http.Client
	ttl, negTTL time.Duration
	known       *tokenCache // sessions
	unknown     *tokenCache // tokens Better Auth does not know
	limiter     *rate.Limiter
	log         *slog.Logger
	now         func() time.Time

	mu       sync.Mutex
	inflight map[[32]byte]*sessionCall
}

// sessionCall is one lookup that concurrent requests with the same token
// wait for.
type sessionCall struct {
	done chan struct{}
	user todoapi.User
	err  error
}

func newSessionSource(cfg SessionConfig) (*sessionSource, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, errors.New("auth: the get-session URL must be an absolute http:// or https:// URL without a query")
	}
	// Read the session as it is, without extending it (Better Auth would
	// otherwise refresh it as a browser's visit does) and without its
	// cookie cache.
	u.RawQuery = "disableCookieCache=true&disableRefresh=true"
	s := &sessionSource{
		url:      u.String(),
		client:   cfg.Client,
		ttl:      cmp.Or(cfg.CacheTTL, DefaultSessionCacheTTL),
		negTTL:   cmp.Or(cfg.NegativeTTL, DefaultSessionNegativeTTL),
		log:      cfg.Logger,
		now:      time.Now,
		inflight: map[[32]byte]*sessionCall{},
	}
	size := cmp.Or(cfg.CacheSize, DefaultSessionCacheSize)
	rps := cmp.Or(cfg.LookupRPS, DefaultSessionLookupRPS)
	burst := cmp.Or(cfg.LookupBurst, DefaultSessionLookupBurst)
	if s.ttl < 0 || s.negTTL < 0 || size < 0 || rps < 0 || burst < 0 {
		return nil, fmt.Errorf("auth: session cache TTLs, cache size and lookup rate must not be negative")
	}
	s.known, s.unknown = newTokenCache(size), newTokenCache(size)
	s.limiter = rate.NewLimiter(rate.Limit(rps), burst)
	if s.client == nil {
		timeout := cmp.Or(cfg.Timeout, DefaultSessionTimeout)
		s.client = &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				TLSHandshakeTimeout:   timeout,
				ResponseHeaderTimeout: timeout,
				MaxIdleConns:          burst,
				MaxIdleConnsPerHost:   burst,
				IdleConnTimeout:       time.Minute,
				ForceAttemptHTTP2:     true,
			},
			// A redirect would send the token on to wherever it points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// close lets the client's idle connections go.
func (s *sessionSource) close() { s.client.CloseIdleConnections() }

// sessionToken reports whether token can be a Better Auth session token
// as its bearer plugin reads them: the token, or the signed cookie value
// token.signature, possibly URL-encoded. Anything else is refused without
// a call.
func sessionToken(token string) bool {
	for i := 0; i < len(token); i++ {
		c := token[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '%'
		if !ok {
			return false
		}
	}
	return token != ""
}

// errSessionUnavailable is returned when Better Auth could not be asked or
// gave no definite answer; it is not a verdict on the token.
var errSessionUnavailable = fmt.Errorf("%w: session lookup unavailable", todoapi.ErrAuthUnavailable)

// verify returns the user of a live session.
func (s *sessionSource) verify(ctx context.Context, token string) (todoapi.User, error) {
	if !sessionToken(token) {
		return todoapi.User{}, reject("malformed token")
	}
	key := cacheKey(token)
	now := s.now()
	if g, ok := s.known.get(key, now); ok {
		return g.user, nil
	}
	if _, ok := s.unknown.get(key, now); ok {
		return todoapi.User{}, reject("unknown session")
	}

	s.mu.Lock()
	call := s.inflight[key]
	if call == nil {
		// A lookup may have ended since the caches were read: it caches
		// its answer before it leaves inflight, so the caches have it now.
		if g, ok := s.known.get(key, now); ok {
			s.mu.Unlock()
			return g.user, nil
		}
		if _, ok := s.unknown.get(key, now); ok {
			s.mu.Unlock()
			return todoapi.User{}, reject("unknown session")
		}
		if !s.limiter.AllowN(now, 1) {
			s.mu.Unlock()
			s.log.Debug("session lookup rate-limited")
			return todoapi.User{}, fmt.Errorf("%w: rate-limited", errSessionUnavailable)
		}
		call = &sessionCall{done: make(chan struct{})}
		s.inflight[key] = call
		go s.lookup(key, token, call)
	}
	s.mu.Unlock()

	select {
	case <-call.done:
		return call.user, call.err
	case <-ctx.Done():
		return todoapi.User{}, fmt.Errorf("%w: %w", errSessionUnavailable, ctx.Err())
	}
}

// lookup asks Better Auth about token, caches a definite answer and
// completes call. It runs on its own, so that a caller that gives up does
// not cancel it for the others waiting.
func (s *sessionSource) lookup(key [32]byte, token string, call *sessionCall) {
	user, exp, err := s.ask(token)
	now := s.now()
	switch {
	case err == nil:
		if until := now.Add(s.ttl); until.Before(exp) {
			exp = until
		}
		s.known.put(key, grant{user: user, exp: exp}, s.known.generation(), now)
	case errors.Is(err, todoapi.ErrUnauthenticated):
		s.unknown.put(key, grant{exp: now.Add(s.negTTL)}, s.unknown.generation(), now)
	default:
		s.log.Warn("Better Auth session lookup failed; the request gets 503", "url", s.url, "err", err)
	}
	call.user, call.err = user, err
	s.mu.Lock()
	delete(s.inflight, key)
	s.mu.Unlock()
	close(call.done)
}

// sessionAnswer is the part of get-session's answer used here.
type sessionAnswer struct {
	Session *struct {
		UserID    json.RawMessage `json:"userId"`
		ExpiresAt *time.Time      `json:"expiresAt"`
	} `json:"session"`
	User *struct {
		ID    json.RawMessage `json:"id"`
		Email json.RawMessage `json:"email"`
		Name  json.RawMessage `json:"name"`
	} `json:"user"`
}

// ask calls get-session with token and returns the session's user and
// expiry, a rejection when Better Auth knows no such session, or an
// unavailable error.
func (s *sessionSource) ask(token string) (todoapi.User, time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(s.client.Timeout, DefaultSessionTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return todoapi.User{}, time.Time{}, fmt.Errorf("%w: %w", errSessionUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return todoapi.User{}, time.Time{}, fmt.Errorf("%w: %w", errSessionUnavailable, redactURLError(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return todoapi.User{}, time.Time{}, reject("unknown session")
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return todoapi.User{}, time.Time{}, fmt.Errorf("%w: HTTP status %d", errSessionUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSessionBytes+1))
	if err != nil || len(body) > maxSessionBytes {
		return todoapi.User{}, time.Time{}, fmt.Errorf("%w: unreadable answer", errSessionUnavailable)
	}
	var a *sessionAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return todoapi.User{}, time.Time{}, fmt.Errorf("%w: answer is not JSON", errSessionUnavailable)
	}
	if a == nil || a.Session == nil || a.User == nil {
		return todoapi.User{}, time.Time{}, reject("unknown session") // get-session's null
	}
	id, ok := subject(a.User.ID)
	if !ok || a.Session.ExpiresAt == nil {
		return todoapi.User{}, time.Time{}, fmt.Errorf("%w: answer without a usable user id or expiresAt", errSessionUnavailable)
	}
	if owner, ok := subject(a.Session.UserID); ok && owner != id {
		return todoapi.User{}, time.Time{}, fmt.Errorf("%w: session and user disagree", errSessionUnavailable)
	}
	if !s.now().Before(*a.Session.ExpiresAt) {
		return todoapi.User{}, time.Time{}, reject("session expired")
	}
	return todoapi.User{ID: id, Email: profile(a.User.Email), Name: profile(a.User.Name)}, *a.Session.ExpiresAt, nil
}
