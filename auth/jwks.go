package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWKS defaults; JWKSConfig's zero values select them.
const (
	// DefaultJWKSRefreshInterval is how often the key set is re-read when
	// nothing asks for it sooner. Better Auth publishes a new key well
	// before it signs with it only when rotation is configured; an unknown
	// kid triggers a refresh anyway, so this mostly retires removed keys.
	DefaultJWKSRefreshInterval = 10 * time.Minute

	// DefaultJWKSMinRefreshInterval is how long a kid that a fetch did not
	// find is refused without another fetch, and the period of the budget
	// of fetches for unknown kids (UnknownKidRefreshes per period). A new
	// kid is fetched for on first sight — a key rotation is followed at once
	// — while made-up kids cost the auth server at most that budget.
	DefaultJWKSMinRefreshInterval = 30 * time.Second

	// DefaultJWKSUnknownKidRefreshes is how many fetches tokens naming
	// unknown kids may cause per MinRefreshInterval, per replica, and at
	// once: with the defaults a flood of random kids costs the auth server
	// at most 5 requests at once and one every 6 s after that.
	DefaultJWKSUnknownKidRefreshes = 5

	// maxMissedKids bounds how many kids a fetch did not find are
	// remembered. Past it the memory is cleared: forgetting costs at most
	// a fetch, which the global budget still bounds.
	maxMissedKids = 4096

	// DefaultJWKSTimeout bounds one fetch: connecting, sending and reading
	// the whole response.
	DefaultJWKSTimeout = 10 * time.Second

	// DefaultJWKSMaxBytes bounds a JWKS response body. Better Auth's set
	// with a few RSA keys is a few KiB.
	DefaultJWKSMaxBytes = 1 << 20

	// firstRetry is the first delay after a failed fetch; it doubles up to
	// the refresh interval. An auth server that comes up after todoapi is
	// noticed at the first token that names one of its keys anyway (an
	// unknown kid asks for a fetch), so a long back-off costs nothing, and
	// one that never serves a JWKS (Better Auth used for session tokens
	// only, without its JWT plugin) is asked rarely.
	firstRetry = time.Second
)

// JWKSConfig configures verification with keys read from a JSON Web Key Set,
// such as Better Auth's BETTER_AUTH_URL/api/auth/jwks.
type JWKSConfig struct {
	// URL of the key set. Empty: no JWKS source.
	URL string

	// Issuer and Audience, when non-empty, must match the iss claim and be
	// contained in the aud claim of tokens verified by these keys. Better
	// Auth sets both to its base URL's origin.
	Issuer, Audience string

	// AccessTokenIssuer, when non-empty, is accepted as the iss of OAuth
	// access tokens (RFC 9068, typ at+jwt) besides Issuer. Better Auth's
	// OAuth provider signs them with its auth base URL (…/api/auth) as
	// issuer, while its jwt plugin signs session JWTs with the origin.
	AccessTokenIssuer string

	// RefreshInterval is how often the set is re-read; zero means
	// DefaultJWKSRefreshInterval.
	RefreshInterval time.Duration

	// MinRefreshInterval is how long a kid that a fetch did not find is
	// refused without another fetch, and the period of the budget of
	// fetches for unknown kids; zero means DefaultJWKSMinRefreshInterval.
	// It must not exceed RefreshInterval.
	MinRefreshInterval time.Duration

	// UnknownKidRefreshes is how many fetches tokens naming unknown kids
	// may cause per MinRefreshInterval (and at once); zero means
	// DefaultJWKSUnknownKidRefreshes.
	UnknownKidRefreshes int

	// Timeout bounds one fetch; zero means DefaultJWKSTimeout. Ignored when
	// Client is set (the client's own Timeout applies).
	Timeout time.Duration

	// MaxBytes bounds the response body; zero means DefaultJWKSMaxBytes.
	MaxBytes int64

	// Client, when set, replaces the default client (a plain transport with
	// Timeout). Tests use it; so could a deployment needing a proxy.
	Client *http.Client

	// Logger receives refresh outcomes; nil discards them.
	Logger *slog.Logger

	// OnRefresh, when set, is called after every fetch with its outcome
	// (nil on success), for metrics.
	OnRefresh func(err error)
}

// jwksSource verifies EdDSA, ES256, ES512, RS256 and PS256 tokens with the
// keys of a JWKS, selected by the token's kid and alg.
//
// One goroutine owns every fetch: the periodic refresh, retries after a
// failure, and refreshes asked for by tokens with an unknown kid. Asking
// for a refresh while one is pending joins it, so concurrent misses share
// one request. Refreshes for unknown kids are bounded two ways, neither of
// which can delay a real key rotation behind a made-up kid: per kid (a
// kid a fetch did not find is refused without a fetch for
// MinRefreshInterval) and in total (a token bucket of UnknownKidRefreshes
// per MinRefreshInterval, so random kids cannot hammer the auth server).
type jwksSource struct {
	url         string
	client      *http.Client
	maxBytes    int64
	interval    time.Duration
	minInterval time.Duration
	log         *slog.Logger
	onRefresh   func(error)
	// onChange is called after a fetched set replaced a different one; the
	// Verifier flushes its token cache there.
	onChange func()

	keys atomic.Pointer[keySet]

	mu      sync.Mutex
	pending *fetchCall // the fetch that askers join; nil when none
	closed  bool
	// budget bounds fetches asked for by unknown kids.
	budget *rate.Limiter
	// missed remembers when a fetch last failed to find a kid.
	missed map[string]time.Time

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	now    func() time.Time
}

// fetchCall is one fetch that callers can wait for.
type fetchCall struct {
	done chan struct{}
	err  error
	// started is when the fetch began (zero while it waits for the loop):
	// a key published before then is in its answer.
	started time.Time
}

func newJWKSSource(cfg JWKSConfig) (*jwksSource, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("auth: JWKS URL must be an absolute http:// or https:// URL")
	}
	s := &jwksSource{
		url:         cfg.URL,
		client:      cfg.Client,
		maxBytes:    cfg.MaxBytes,
		interval:    cfg.RefreshInterval,
		minInterval: cfg.MinRefreshInterval,
		log:         cfg.Logger,
		onRefresh:   cfg.OnRefresh,
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		now:         time.Now,
		missed:      make(map[string]time.Time),
	}
	if s.interval == 0 {
		s.interval = DefaultJWKSRefreshInterval
	}
	if s.minInterval == 0 {
		s.minInterval = min(DefaultJWKSMinRefreshInterval, s.interval)
	}
	if s.interval < 0 || s.minInterval < 0 || s.minInterval > s.interval {
		return nil, fmt.Errorf("auth: JWKS refresh interval %s and cool-down %s must be positive, the cool-down no longer than the interval", s.interval, s.minInterval)
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultJWKSMaxBytes
	}
	refreshes := cfg.UnknownKidRefreshes
	if refreshes == 0 {
		refreshes = DefaultJWKSUnknownKidRefreshes
	}
	if refreshes < 0 {
		return nil, fmt.Errorf("auth: JWKS unknown-kid refreshes %d must be positive", refreshes)
	}
	s.budget = rate.NewLimiter(rate.Every(s.minInterval/time.Duration(refreshes)), refreshes)
	if s.client == nil {
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = DefaultJWKSTimeout
		}
		s.client = &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				TLSHandshakeTimeout:   timeout,
				ResponseHeaderTimeout: timeout,
				MaxIdleConns:          2,
				IdleConnTimeout:       time.Minute,
				ForceAttemptHTTP2:     true,
			},
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// start begins fetching: once now, then periodically, until close.
func (s *jwksSource) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.loop(ctx)
}

// close stops the refresh goroutine and waits for it; a fetch in progress
// is aborted. Later lookups use the keys already known and fetch no more.
func (s *jwksSource) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	<-s.done
	// Keep-alive connections have goroutines of their own.
	s.client.CloseIdleConnections()
}

func (s *jwksSource) algorithms() []string { return slices.Clone(jwksAlgorithms) }

// key returns the public key for t's kid and alg, fetching the set once more
// when the kid is unknown and neither bound on such fetches forbids it.
func (s *jwksSource) key(ctx context.Context, t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, reject("missing kid")
	}
	if len(kid) > maxKIDBytes {
		return nil, reject("unknown key id")
	}
	alg := t.Method.Alg()
	arrived := s.now()
	// A fetch that started before this token arrived may predate its key;
	// one more may then be asked for. Two rounds at most.
	for range 2 {
		k, known := s.keys.Load().lookup(kid, alg)
		if k.key != nil {
			return k.key, nil
		}
		if known {
			// The set has this kid for another algorithm: a refresh would
			// not change that, and the key must not verify a different alg.
			return nil, reject("key algorithm mismatch")
		}
		call := s.requestFetch(kid)
		if call == nil {
			return nil, reject("unknown key id")
		}
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, reject("unknown key id")
		}
		if k, known = s.keys.Load().lookup(kid, alg); k.key != nil {
			return k.key, nil
		} else if known {
			return nil, reject("key algorithm mismatch")
		}
		if call.err == nil && !call.started.Before(arrived) {
			// A fetch that began after the token arrived has no such kid.
			s.miss(kid)
			break
		}
		if call.err != nil {
			break // the auth server did not answer; no verdict on the kid
		}
	}
	return nil, reject("unknown key id")
}

// requestFetch returns the pending fetch, or creates one unless kid was
// missed less than MinRefreshInterval ago or the budget of unknown-kid
// fetches is spent; nil means no fetch will happen.
func (s *jwksSource) requestFetch(kid string) *fetchCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	now := s.now()
	if at, ok := s.missed[kid]; ok && now.Sub(at) < s.minInterval {
		return nil
	}
	if s.pending != nil {
		return s.pending // joining costs the auth server nothing
	}
	if !s.budget.AllowN(now, 1) {
		return nil
	}
	s.pending = &fetchCall{done: make(chan struct{})}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return s.pending
}

// miss records that a fresh fetch did not find kid.
func (s *jwksSource) miss(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.missed) >= maxMissedKids {
		for k, at := range s.missed {
			if now.Sub(at) >= s.minInterval {
				delete(s.missed, k)
			}
		}
		if len(s.missed) >= maxMissedKids {
			clear(s.missed)
		}
	}
	s.missed[kid] = now
}

// loop performs every fetch. It fetches at once, then when the refresh
// interval elapses or a lookup asks, and after a failure retries with a
// delay that doubles from one second up to the cool-down.
func (s *jwksSource) loop(ctx context.Context) {
	defer close(s.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures, lastErr := 0, ""
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			if call := s.pending; call != nil {
				s.pending = nil
				call.err = ctx.Err()
				close(call.done)
			}
			s.mu.Unlock()
			return
		case <-timer.C:
		case <-s.wake:
		}

		s.mu.Lock()
		call := s.pending
		if call == nil {
			// A timed refresh: lookups that miss meanwhile join it.
			call = &fetchCall{done: make(chan struct{})}
			s.pending = call
		}
		// This fetch serves whoever asked: drop a wake-up that raced with
		// the timer, or it would cause a second fetch right after.
		select {
		case <-s.wake:
		default:
		}
		call.started = s.now()
		s.mu.Unlock()

		err := s.fetch(ctx)

		s.mu.Lock()
		s.pending = nil
		s.mu.Unlock()
		call.err = err
		close(call.done)

		if s.onRefresh != nil && ctx.Err() == nil {
			s.onRefresh(err)
		}
		next := s.interval
		if err != nil {
			failures++
			next = min(firstRetry<<min(failures-1, 20), s.interval)
			if ctx.Err() == nil {
				s.logFailure(err, lastErr, next)
			}
			lastErr = err.Error()
		} else {
			if failures > 0 && ctx.Err() == nil {
				s.log.Info("JWKS available again", "url", s.url, "failed_fetches", failures)
			}
			failures, lastErr = 0, ""
		}
		// Since Go 1.23 Reset discards a pending expiry, so the timer
		// fires once, next from now.
		timer.Reset(next)
	}
}

// logFailure logs a failed fetch: at warning level when it fails in a new
// way (the first failure, or another error than the last), at debug level
// when it repeats the last one. A JWKS that never exists (Better Auth used
// for session tokens only, without its JWT plugin, answers 404) is then
// one warning, not one every retry forever.
func (s *jwksSource) logFailure(err error, last string, retry time.Duration) {
	known := s.keys.Load()
	attrs := []any{"url", s.url, "err", err, "retry_in", retry}
	level := slog.LevelWarn
	if err.Error() == last {
		level = slog.LevelDebug
	}
	if known == nil {
		// Expected while the auth server starts after todoapi; tokens are
		// rejected until the first fetch succeeds.
		s.log.Log(context.Background(), level, "JWKS not available; tokens signed by its keys are rejected until it is", attrs...)
		return
	}
	s.log.Log(context.Background(), level, "JWKS refresh failed; keeping the keys already known", append(attrs, "kids", known.kids)...)
}

// fetch reads the key set and installs it when it is usable.
func (s *jwksSource) fetch(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("fetch JWKS: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBytes+1))
	if err != nil {
		return fmt.Errorf("read JWKS: %w", err)
	}
	if int64(len(body)) > s.maxBytes {
		return fmt.Errorf("JWKS response larger than %d bytes", s.maxBytes)
	}
	ks, skipped, err := parseKeySet(body)
	old := s.keys.Load()
	if err == nil && old != nil && old.fingerprint == ks.fingerprint {
		// Unchanged; its unusable keys, if any, were reported when it
		// was first read.
		s.log.Debug("JWKS unchanged", "url", s.url, "kids", ks.kids)
		return nil
	}
	for _, msg := range skipped {
		s.log.Warn("JWKS key ignored", "url", s.url, "reason", msg)
	}
	if err != nil {
		return err
	}
	s.keys.Store(ks)
	if old == nil {
		s.log.Info("JWKS loaded", "url", s.url, "kids", ks.kids)
	} else {
		s.log.Info("JWKS changed", "url", s.url, "kids", ks.kids, "previous_kids", old.kids)
	}
	if old != nil && s.onChange != nil {
		s.onChange()
	}
	return nil
}

// redactURLError drops the URL from a client error; the URL is logged
// separately and once is enough.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
